# SPDX-License-Identifier: MIT
"""The production nginx site (nginx/patchproof.conf.in) as the whole stack
runs it: which limit_req zone and which body cap each route family gets,
that /internal/ and /metrics refuse other addresses with a JSON 403, and that
every response, nginx's own errors included, carries the security headers
and exactly one request id.

Requests come from distinct loopback source addresses (127.0.0.x), so each
test has limiter buckets of its own and "a non-allowed address" is real. The
zones' rates and bursts are read from the template itself."""
import http.client
import json
import os
import re
import subprocess
import tempfile
import unittest

from service import ServiceStack, stackmod
from stackcase import StackCase

SECURITY_HEADERS = {
    'strict-transport-security': 'max-age=63072000; includeSubDomains',
    'x-content-type-options': 'nosniff',
    'x-frame-options': 'DENY',
    'referrer-policy': 'no-referrer',
    'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
}


def site_limits():
    """{zone: (rate r/s, burst)} and the location -> zone wiring, from the template."""
    with open(stackmod.SITE_TEMPLATE) as f:
        text = f.read()
    rates = {m.group(1): int(m.group(2))
             for m in re.finditer(r'limit_req_zone\s+\S+\s+zone=(\w+):\S+\s+rate=(\d+)r/s;', text)}
    bursts = {m.group(1): int(m.group(2))
              for m in re.finditer(r'limit_req\s+zone=(\w+)\s+burst=(\d+)', text)}
    return {z: (rates[z], bursts[z]) for z in rates}


class Site(StackCase):
    _next_source = 10

    prefix = 'pp-nginx-'

    @classmethod
    def make_stack(cls, base_dir):
        # App-side limits out of the way: every 429 here must be nginx's.
        return ServiceStack(base_dir, pools=1, workers=2,
                            env={'PUBLIC_API_MAX': '100000000', 'SVD_BEGIN_MAX': '1000000',
                                 'SVD_COMPLETE_MAX': '1000000'})

    @classmethod
    def stack_ready(cls):
        cls.port = cls.svc.st.nginx_port
        cls.limits = site_limits()

    # -- helpers
    def source(self):
        """A loopback address no other test uses (its own limiter buckets)."""
        Site._next_source += 1
        return f'127.0.0.{Site._next_source}'

    def request(self, method, path, body=None, src='127.0.0.1', headers=None, port=None):
        conn = http.client.HTTPConnection('127.0.0.1', port or self.port, timeout=30,
                                          source_address=(src, 0))
        try:
            hdrs = dict(headers or {})
            if body is not None:
                hdrs.setdefault('Content-Type', 'application/json')
            conn.request(method, path, body=body, headers=hdrs)
            r = conn.getresponse()
            return r.status, r.getheaders(), r.read()
        finally:
            conn.close()

    def header(self, headers, name):
        values = [v for k, v in headers if k.lower() == name]
        self.assertLessEqual(len(values), 1, f'{name} sent {len(values)} times: {values}')
        return values[0] if values else None

    def assert_secure(self, headers):
        for name, value in SECURITY_HEADERS.items():
            self.assertEqual(self.header(headers, name), value, name)
        self.assertRegex(self.header(headers, 'x-request-id') or '', r'^[0-9a-f]{32}$')

    def assert_json_error(self, resp, status, code):
        st, headers, raw = resp
        self.assertEqual(st, status, raw[:200])
        self.assertIn('application/json', self.header(headers, 'content-type') or '')
        body = json.loads(raw)
        self.assertEqual((body['error'], body['code'], body['status']), (code, code, status), body)
        self.assert_secure(headers)
        return body

    def reached_app(self, headers):
        """Did patchproof-fcgi see this request? (its log names every request id)"""
        rid = self.header(headers, 'x-request-id')
        return f'"request_id":"{rid}"' in self.svc.st.logs('fcgi0')

    def first_429(self, method, path, limit, src):
        """Requests in a row from src until nginx answers 429; returns how many
        passed before it (limit when none was refused)."""
        for n in range(limit):
            st, headers, raw = self.request(method, path, src=src)
            if st == 429:
                body = self.assert_json_error((st, headers, raw), 429, 'RATE_LIMITED')
                self.assertEqual(body['message'], 'Too many requests.')  # nginx's, not the app's
                self.assertEqual(self.header(headers, 'retry-after'), '1')
                self.assertFalse(self.reached_app(headers))
                return n
        return limit

    # -- body caps
    def test_svd_body_cap_is_8k_in_nginx(self):
        src = self.source()
        over = json.dumps({'userId': 'u', 'pad': 'x' * 8200})
        resp = self.request('POST', '/api/svd/begin', over, src=src)
        body = self.assert_json_error(resp, 413, 'PAYLOAD_TOO_LARGE')
        self.assertEqual(set(body), {'error', 'code', 'message', 'status'})
        self.assertFalse(self.reached_app(resp[1]), 'the 8 KiB cap must be nginx\'s')
        # Below the cap the app answers (its own validation).
        small = self.request('POST', '/api/svd/begin', json.dumps({'userId': 'u', 'pad': 'x' * 4000}), src=src)
        self.assertNotEqual(small[0], 413)
        self.assertTrue(self.reached_app(small[1]))

    def test_other_routes_body_cap_is_1m(self):
        src = self.source()
        # 64 KiB is far over SVD's cap and far under everyone else's.
        mid = json.dumps({'pad': 'x' * 65536})
        for path in ('/v1/patches', '/v1/pos/claim-intent', '/api/other'):
            with self.subTest(path=path):
                st, headers, _ = self.request('POST', path, mid, src=src)
                self.assertNotEqual(st, 413)
                self.assertTrue(self.reached_app(headers))
        over = json.dumps({'pad': 'x' * (1024 * 1024)})
        resp = self.request('POST', '/v1/patches', over, src=src)
        self.assert_json_error(resp, 413, 'PAYLOAD_TOO_LARGE')
        self.assertFalse(self.reached_app(resp[1]))

    # -- limit_req zones
    def test_svd_routes_use_the_svd_zone(self):
        svd_rate, svd_burst = self.limits['pp_svd']
        _, public_burst = self.limits['pp_public']
        self.assertLess(svd_burst, public_burst)  # else a burst cannot tell them apart
        for path in ('/api/svd/kid', '/api/svd/no-such-route'):
            with self.subTest(path=path):
                passed = self.first_429('GET', path, public_burst + 1, self.source())
                # Refused before the public zone's burst is used up, and not
                # before the SVD zone's burst is.
                self.assertLess(passed, public_burst + 1, 'no 429: not the SVD zone')
                self.assertGreaterEqual(passed, svd_burst + 1)

    def test_public_routes_use_the_public_zone(self):
        _, svd_burst = self.limits['pp_svd']
        _, public_burst = self.limits['pp_public']
        for path in ('/api/no-such-route', '/v1/patches/verify/NGINX-ZONE-TEST', '/v1/pos/none', '/ready',
                     '/v1/patches/NGINX-ZONE-TEST/history', '/v1/issuers', '/certificate/NGINX-ZONE-TEST'):
            with self.subTest(path=path):
                passed = self.first_429('GET', path, 20 * public_burst, self.source())
                self.assertGreaterEqual(passed, public_burst + 1, 'refused inside the public burst')
                self.assertLess(passed, 20 * public_burst, 'never refused: no zone')
        self.assertGreater(public_burst, svd_burst)

    def test_unlimited_routes(self):
        src = self.source()
        _, public_burst = self.limits['pp_public']
        passed = self.first_429('GET', '/health', 2 * public_burst, src)
        self.assertEqual(passed, 2 * public_burst)

    # -- access control
    def test_internal_and_metrics_refuse_other_addresses(self):
        src = self.source()
        for path in ('/internal/metrics', '/internal/anything', '/metrics'):
            with self.subTest(path=path):
                resp = self.request('GET', path, src=src)
                self.assert_json_error(resp, 403, 'FORBIDDEN')
                self.assertFalse(self.reached_app(resp[1]))
        # From this host they reach the app (which then wants its key).
        st, headers, _ = self.request('GET', '/internal/metrics')
        self.assertEqual(st, 401)
        self.assertTrue(self.reached_app(headers))
        self.assertEqual(self.request('GET', '/metrics')[0], 200)

    # -- headers on every response
    def test_security_headers_on_app_answers(self):
        src = self.source()
        st, headers, raw = self.request('GET', '/health', src=src)
        self.assertEqual(st, 200, raw)
        self.assert_secure(headers)
        resp = self.request('GET', '/no-such-route', src=src)
        self.assert_json_error(resp, 404, 'NOT_FOUND')
        self.assertTrue(self.reached_app(resp[1]))

    def test_security_headers_on_nginx_400(self):
        conn = http.client.HTTPConnection('127.0.0.1', self.port, timeout=30)
        try:
            conn.putrequest('GET', '/health', skip_host=True)  # HTTP/1.1 without Host: 400
            conn.endheaders()
            r = conn.getresponse()
            resp = (r.status, r.getheaders(), r.read())
        finally:
            conn.close()
        self.assert_json_error(resp, 400, 'VALIDATION_ERROR')

    def test_zz_security_headers_on_502(self):
        # Runs last: the pool goes away for a moment.
        st = self.svc.st
        st.stop('fcgi0')
        try:
            resp = self.request('GET', '/health', src=self.source())
            self.assert_json_error(resp, 502, 'SERVICE_UNAVAILABLE')
        finally:
            st.restart('fcgi0')
        self.assertEqual(self.request('GET', '/health')[0], 200)

    # -- the other listeners of the site
    def test_https_and_redirect_listeners(self):
        import ssl
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE  # the dev certificate is self-signed
        conn = http.client.HTTPSConnection('127.0.0.1', self.svc.st.nginx_https_port, timeout=30, context=ctx)
        try:
            conn.request('GET', '/health')
            r = conn.getresponse()
            resp = (r.status, r.getheaders(), r.read())
        finally:
            conn.close()
        self.assertEqual(resp[0], 200)
        self.assert_secure(resp[1])
        st, headers, _ = self.request('GET', '/health?x=1', port=self.svc.st.port('nginx_redirect'))
        self.assertEqual(st, 301)
        self.assertEqual(self.header(headers, 'location'), 'https://127.0.0.1/health?x=1')


class ProductionValues(unittest.TestCase):
    """The template with a server's values (what the package installs) is a
    configuration nginx accepts: only the placeholders differ from the tests'."""

    def test_nginx_accepts_the_production_rendering(self):
        with tempfile.TemporaryDirectory(prefix='pp-nginx-prod-') as base:
            cert, key = stackmod.make_self_signed_cert(os.path.join(base, 'tls'))
            with open(stackmod.SITE_TEMPLATE) as f:
                site = stackmod.render_template(f.read(), {
                    'API_LISTEN': '    listen 443 ssl http2;\n    listen [::]:443 ssl http2;',
                    'REDIRECT_LISTEN': '    listen 80;\n    listen [::]:80;',
                    'UPSTREAM_SERVERS': '    server unix:/run/patchproof/fcgi.sock;\n    server 10.0.0.12:9000;',
                    'TLS_CERT': cert, 'TLS_KEY': key,
                    'NGINX_DIR': stackmod.NGINX_DIR,
                    'RATE_LIMIT_EXEMPT': '',
                })
            self.assertNotIn('@', site.replace('@pp_', ''))
            site_path = os.path.join(base, 'patchproof.conf')
            with open(site_path, 'w') as f:
                f.write(site)
            os.makedirs(os.path.join(base, 'nginx', 'tmp'))
            os.makedirs(os.path.join(base, 'run'))
            os.makedirs(os.path.join(base, 'logs'))
            conf = os.path.join(base, 'nginx.conf')
            with open(conf, 'w') as f:
                f.write(stackmod.dev_main_conf(base, [site_path]))
            r = subprocess.run(['nginx', '-t', '-p', base + '/', '-c', conf,
                                '-e', os.path.join(base, 'logs', 'nginx.log')],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            self.assertEqual(r.returncode, 0, r.stdout)
            self.assertIn('syntax is ok', r.stdout)


if __name__ == '__main__':
    unittest.main()
