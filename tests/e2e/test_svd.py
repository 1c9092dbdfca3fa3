# SPDX-License-Identifier: MIT
"""SVD passwordless login through nginx against the real service:
patchproof-fcgi pools, MariaDB, memcached and patchproof-kms, all started here.
Faults (dependencies going away, workers dying) and production start-up are in
test_svd_faults.py."""
import hashlib
import http.client
import json
import secrets
import time
import unittest

from service import ServiceStack, binary, stackmod
from stackcase import StackCase
import ppclient as pc
from svd_common import children_of, new_user, stale_m


def pinned_servers(ports_and_sockets):
    """nginx server blocks that each reach exactly one pool (body cap above
    the app's own, so the app's order of checks is what a test sees)."""
    blocks = []
    for port, sock in ports_and_sockets:
        blocks.append(f'''
    server {{
        listen 127.0.0.1:{port};
        client_max_body_size 4m;
        include {stackmod.NGINX_DIR}/json-errors.conf;
        location / {{
            fastcgi_pass unix:{sock};
            include {stackmod.NGINX_DIR}/fastcgi_params.patchproof;
        }}
    }}''')
    return '\n'.join(blocks)



def call_from(source, base_url, method, path, body=None, headers=None):
    """One request sent from another loopback source address: nginx passes
    it to the app as REMOTE_ADDR. Returns (status, headers, data) like
    ppclient."""
    host, port = base_url.split('//', 1)[1].split(':')
    conn = http.client.HTTPConnection(host, int(port), timeout=15, source_address=(source, 0))
    hdrs = dict(headers or {})
    data = None
    if body is not None:
        data = json.dumps(body, separators=(',', ':')).encode()
        hdrs['Content-Type'] = 'application/json'
    try:
        conn.request(method, path, body=data, headers=hdrs)
        resp = conn.getresponse()
        out = {k.lower(): v for k, v in resp.getheaders()}
        text = resp.read().decode()
    finally:
        conn.close()
    try:
        return resp.status, out, json.loads(text)
    except ValueError:
        return resp.status, out, text


def environ_of(pid):
    with open(f'/proc/{pid}/environ', 'rb') as f:
        return f.read()


class SvdFlow(StackCase):
    """Behaviour of every SVD route with two pools behind one upstream."""

    prefix = 'pp-svd-'

    @classmethod
    def make_stack(cls, base_dir):
        # Pools 0 and 1 sit behind the shared upstream; pool 2 (reached only
        # through its own port) has a tiny per-IP limit.
        cls.pool_ports = [stackmod.free_port() for _ in range(3)]
        cls.previous_key = secrets.token_hex(32)
        cls.previous_jwt_secret = secrets.token_hex(32)
        # 127.0.0.2 is the stranger of the per-user+address limit test: nginx's
        # own zones (tested in test_nginx) skip it too, so the app's limits are
        # what it meets.
        svc = ServiceStack(base_dir, pools=2, workers=2,
                           nginx_exempt=('127.0.0.1', '127.0.0.2'),
                           env={'SVD_BEGIN_MAX': '20', 'SVD_COMPLETE_MAX': '30',
                                'API_KEY_PREVIOUS': cls.previous_key,
                                'JWT_SECRET_PREVIOUS': cls.previous_jwt_secret,
                                'CORS_ALLOWED_ORIGINS': 'https://shop.example, https://app.example'})
        svc.extra_servers = pinned_servers(
            [(cls.pool_ports[i], svc.pool_socket(i)) for i in range(3)])
        return svc

    @classmethod
    def stack_ready(cls):
        cls.svc.start_pool(2, env={'PUBLIC_API_MAX': '5', 'PUBLIC_API_WINDOW_MS': '60000'})
        cls.pool = [pc.Client(f'http://127.0.0.1:{p}', api_key=cls.svc.api_key) for p in cls.pool_ports]

    def registered(self):
        user, priv = new_user(), pc.random_privkey()
        st, _, body = self.c.svd_register(user, pc.pubkey_hex(priv))
        self.assertEqual(st, 201, body)
        return user, priv

    def assertError(self, resp, status, code):
        st, hdrs, body = resp
        self.assertEqual(st, status, body)
        self.assertIsInstance(body, dict, body)
        self.assertEqual(body.get('error'), code, body)
        self.assertEqual(body.get('code'), code, body)
        self.assertEqual(body.get('status'), status, body)
        self.assertIsInstance(body.get('message'), str)
        if 'details' in body:
            self.assertIsInstance(body['details'], list)
        self.assertTrue(hdrs.get('x-request-id'), hdrs)

    def stored_pmc(self, user):
        return self.svc.st.sql(f"SELECT pmc_hex FROM svd_registrations WHERE user_id='{user}'",
                               database='patchproof').strip()

    # -- health
    def test_health_endpoints(self):
        st, hdrs, body = self.c.call('GET', '/__ping', key=False)
        self.assertEqual((st, body), (200, 'pong'))
        st, _, body = self.c.call('GET', '/health', key=False)
        self.assertEqual((st, body), (200, {'status': 'ok'}))
        st, _, body = self.c.call('GET', '/ready', key=False)
        self.assertEqual(st, 200, body)
        self.assertEqual(body, {'ready': True, 'checks': {'db': 'ok', 'cache': 'ok', 'kms': 'ok'}})
        self.assertError(self.c.call('GET', '/nope', key=False), 404, 'NOT_FOUND')

    # -- register
    def test_register_rules(self):
        user, priv = new_user(), pc.random_privkey()
        pmc = pc.pubkey_hex(priv)
        st, _, body = self.c.svd_register(user, pmc.upper())
        self.assertEqual((st, body), (201, {'success': True, 'message': 'PMC registered successfully.'}))
        st, _, body = self.c.svd_register(user, pmc)
        self.assertEqual((st, body), (200, {'success': True, 'message': 'PMC registered successfully.'}))
        self.assertError(self.c.svd_register(user, pc.pubkey_hex(pc.random_privkey())), 409, 'DUPLICATE_PMC')
        self.assertEqual(self.stored_pmc(user), pmc)

    def test_bad_input_changes_nothing(self):
        user = new_user()
        good = pc.pubkey_hex(pc.random_privkey())
        point = pc.pubkey_point(pc.random_privkey())
        uncompressed = '04' + point[0].to_bytes(32, 'big').hex() + point[1].to_bytes(32, 'big').hex()
        off_curve = '02' + '00' * 31 + '05'
        cases = [
            ('malformed', None, '{"userId":'),
            ('wrong type', {'userId': 5, 'pmcHex': good}, None),
            ('unknown field', {'userId': user, 'pmcHex': good, 'extra': 1}, None),
            ('missing field', {'userId': user}, None),
            ('bad hex', {'userId': user, 'pmcHex': 'zz' * 33}, None),
            ('uncompressed', {'userId': user, 'pmcHex': uncompressed}, None),
            ('off curve', {'userId': user, 'pmcHex': off_curve}, None),
            ('bad user id', {'userId': 'a b', 'pmcHex': good}, None),
            ('long user id', {'userId': 'a' * 65, 'pmcHex': good}, None),
            ('array body', [user], None),
        ]
        for name, body, raw in cases:
            with self.subTest(name):
                if raw is not None:
                    resp = self.c.call('POST', '/api/svd/register', raw=raw)
                else:
                    resp = self.c.call('POST', '/api/svd/register', body)
                self.assertError(resp, 400, 'VALIDATION_ERROR')
        self.assertEqual(self.stored_pmc(user), '')
        self.assertError(self.c.call('POST', '/api/svd/register', raw='{}', content_type='text/plain'),
                         415, 'UNSUPPORTED_MEDIA_TYPE')
        self.assertError(self.c.call('POST', '/api/svd/register', raw='{}', content_type=None),
                         415, 'UNSUPPORTED_MEDIA_TYPE')
        st, _, _ = self.c.call('POST', '/api/svd/register', {'userId': user, 'pmcHex': good},
                               content_type='Application/JSON; charset=UTF-8')
        self.assertEqual(st, 201)
        # nginx caps SVD bodies at 8 KiB and answers in the JSON shape.
        self.assertError(self.c.call('POST', '/api/svd/begin', raw='{"userId":"' + 'a' * 9000 + '"}'),
                         413, 'PAYLOAD_TOO_LARGE')
        for name, body in [('begin unknown field', {'userId': user, 'x': 1}),
                           ('complete bad M', {'userId': user, 'M': 'ab', 'signatureHex': '30'}),
                           ('complete odd sig', {'userId': user, 'M': '00' * 24, 'signatureHex': 'abc'}),
                           ('complete empty sig', {'userId': user, 'M': '00' * 24, 'signatureHex': ''}),
                           ('complete long sig', {'userId': user, 'M': '00' * 24, 'signatureHex': '30' * 74})]:
            with self.subTest(name):
                path = '/api/svd/begin' if 'begin' in name else '/api/svd/complete'
                self.assertError(self.c.call('POST', path, body), 400, 'VALIDATION_ERROR')

    # -- the whole login
    def test_login_and_jwt_claims(self):
        user, priv = self.registered()
        st, hdrs, begin = self.c.svd_begin(user)
        self.assertEqual(st, 200, begin)
        self.assertEqual(hdrs.get('cache-control'), 'no-store')
        self.assertEqual(set(begin), {'M', 'pmcHex', 'kid', 'expiresIn'})
        self.assertRegex(begin['M'], r'^[0-9a-f]{48}$')
        self.assertEqual(begin['pmcHex'], pc.pubkey_hex(priv))
        self.assertEqual(begin['expiresIn'], 180)
        self.assertLessEqual(abs(int(begin['M'][:16], 16) - time.time()), 5)
        m = begin['M']
        st, hdrs, body = self.c.svd_complete(user, m, pc.svd_sign(priv, m))
        self.assertEqual(st, 200, body)
        self.assertEqual(hdrs.get('cache-control'), 'no-store')
        token = body['token']
        header, payload = pc.jwt_decode(token)[:2]
        self.assertEqual(header, {'alg': 'HS256', 'typ': 'JWT', 'kid': begin['kid']})
        self.assertTrue(pc.jwt_verify(token, self.svc.jwt_secret.encode()))
        jti = hashlib.sha256(bytes.fromhex(m)).hexdigest()
        self.assertEqual(payload['sub'], user)
        self.assertEqual(payload['jti'], jti)
        self.assertEqual(payload['cnf']['msha256'], jti)
        # svd_proof from the client's side of the ECDH with the KMS svd key.
        x = pc.svd_client_shared_x(priv, self.svc.svd_pub, m)
        pms_pub = bytes.fromhex(self.svc.svd_pub)
        pmc = bytes.fromhex(pc.pubkey_hex(priv))
        s = pc.hk(hashlib.sha256(pms_pub + pmc + bytes.fromhex(m)).digest(), x, b'SVD-Session')
        self.assertEqual(payload['cnf']['svd_proof'], pc.svd_proof(user, m, s))
        self.assertEqual(payload['nbf'], payload['iat'] - 30)
        self.assertEqual(payload['exp'], payload['iat'] + 900)
        self.assertLessEqual(abs(payload['iat'] - time.time()), 5)
        self.assertEqual(set(payload), {'sub', 'jti', 'cnf', 'iat', 'nbf', 'exp'})
        self.assertNotIn(s.hex(), token)
        # Replay of the same completion.
        self.assertError(self.c.svd_complete(user, m, pc.svd_sign(priv, m)), 409, 'SVD_REPLAYED')

    def test_complete_error_order(self):
        alice, apriv = self.registered()
        bob, bpriv = self.registered()
        # Expired timestamp.
        m = stale_m(180 + 30 + 5)
        self.assertError(self.c.svd_complete(alice, m, pc.svd_sign(apriv, m)), 400, 'SVD_EXPIRED')
        # Future beyond skew.
        m = stale_m(-60)
        self.assertError(self.c.svd_complete(alice, m, pc.svd_sign(apriv, m)), 400, 'SVD_EXPIRED')
        # Fresh timestamp but never issued.
        m = stale_m(0)
        self.assertError(self.c.svd_complete(alice, m, pc.svd_sign(apriv, m)), 400, 'SVD_EXPIRED')
        # Issued to alice, completed by bob.
        m = self.c.svd_begin(alice)[2]['M']
        self.assertError(self.c.svd_complete(bob, m, pc.svd_sign(bpriv, m)), 400, 'SVD_BAD_CHALLENGE')
        # No key registered.
        carol = new_user()
        m = self.c.svd_begin(carol)[2]['M']
        self.assertIsNone(self.c.svd_begin(carol)[2]['pmcHex'])
        self.assertError(self.c.svd_complete(carol, m, pc.svd_sign(apriv, m)), 400, 'SVD_NO_PMC')
        # High-S, non-DER, then the wrong key, then the right key on the same challenge.
        m = self.c.svd_begin(alice)[2]['M']
        good = pc.svd_sign(apriv, m)
        high = pc.high_s_variant(good)
        high = high.hex() if isinstance(high, bytes) else high
        self.assertNotEqual(high, good)
        self.assertError(self.c.svd_complete(alice, m, high), 401, 'SVD_INVALID_SIGNATURE')
        self.assertError(self.c.svd_complete(alice, m, 'ab' * 40), 401, 'SVD_INVALID_SIGNATURE')
        self.assertError(self.c.svd_complete(alice, m, pc.svd_sign(bpriv, m)), 401, 'SVD_INVALID_SIGNATURE')
        st, _, body = self.c.svd_complete(alice, m, good)
        self.assertEqual(st, 200, body)

    def test_several_outstanding_challenges(self):
        user, priv = self.registered()
        ms = [self.c.svd_begin(user)[2]['M'] for _ in range(3)]
        self.assertEqual(len(set(ms)), 3)
        for m in reversed(ms):
            st, _, body = self.c.svd_complete(user, m, pc.svd_sign(priv, m))
            self.assertEqual(st, 200, body)
        # A stranger's begin for the same user does not cancel anyone's login.
        m = self.c.svd_begin(user)[2]['M']
        self.c.svd_begin(user)
        self.assertEqual(self.c.svd_complete(user, m, pc.svd_sign(priv, m))[0], 200)

    def test_key_replacement(self):
        user, priv = self.registered()
        new_priv = pc.random_privkey()
        body = {'pmcHex': pc.pubkey_hex(new_priv)}
        self.assertError(self.c.call('PUT', '/api/svd/register', body), 401, 'UNAUTHORIZED')
        self.assertError(self.c.call('PUT', '/api/svd/register', body, headers={'Authorization': 'Bearer x.y.z'}),
                         401, 'TOKEN_INVALID')
        token = self.c.svd_login(user, priv)
        # Unknown field with a valid token is a 400, and nothing changes.
        self.assertError(self.c.call('PUT', '/api/svd/register', {**body, 'userId': user},
                                     headers={'Authorization': 'Bearer ' + token}), 400, 'VALIDATION_ERROR')
        self.assertEqual(self.stored_pmc(user), pc.pubkey_hex(priv))
        st, _, resp = self.c.call('PUT', '/api/svd/register', body, headers={'Authorization': 'Bearer ' + token})
        self.assertEqual((st, resp), (200, {'success': True, 'message': 'PMC replaced.'}))
        m = self.c.svd_begin(user)[2]['M']
        self.assertError(self.c.svd_complete(user, m, pc.svd_sign(priv, m)), 401, 'SVD_INVALID_SIGNATURE')
        self.assertEqual(self.c.svd_complete(user, m, pc.svd_sign(new_priv, m))[0], 200)
        # An expired token is told apart from an invalid one.
        now = int(time.time())
        old = pc.jwt_sign({'alg': 'HS256', 'typ': 'JWT'},
                          {'sub': user, 'iat': now - 2000, 'nbf': now - 2030, 'exp': now - 1100},
                          self.svc.jwt_secret.encode())
        self.assertError(self.c.call('PUT', '/api/svd/register', body, headers={'Authorization': 'Bearer ' + old}),
                         401, 'TOKEN_EXPIRED')
        none_alg = pc.b64url_encode(b'{"alg":"none","typ":"JWT"}') + '.' + token.split('.')[1] + '.'
        self.assertError(self.c.call('PUT', '/api/svd/register', body,
                                     headers={'Authorization': 'Bearer ' + none_alg}), 401, 'TOKEN_INVALID')

    def test_kid_and_canary(self):
        st, hdrs, body = self.c.call('GET', '/api/svd/kid', key=False)
        self.assertEqual(st, 200)
        self.assertEqual(hdrs.get('cache-control'), 'public, max-age=300')
        expect = 'svd-' + hashlib.sha256(self.svc.svd_pub.encode()).hexdigest()[:16]
        self.assertEqual(body, {'kid': expect})
        self.assertError(self.c.call('GET', '/api/svd/canary', key=False), 401, 'UNAUTHORIZED')
        self.assertError(self.c.call('GET', '/api/svd/canary', headers={'x-api-key': 'wrong'}, key=False),
                         401, 'UNAUTHORIZED')
        st, hdrs, body = self.c.call('GET', '/api/svd/canary')
        self.assertEqual(st, 200, body)
        self.assertEqual(hdrs.get('cache-control'), 'no-store')
        self.assertIs(body['ok'], True)
        self.assertEqual(body['kid'], expect)
        self.assertIsInstance(body['metrics'], dict)
        self.assertLessEqual(abs(body['timestamp'] / 1000 - time.time()), 5)

    def test_rate_limit_shared_by_pools(self):
        # Fixed 60 s windows: a run that straddles a window edge is repeated.
        for _ in range(3):
            window = int(time.time()) // 60
            user = new_user()
            statuses = []
            for i in range(21):
                st, hdrs, body = self.pool[i % 2].svd_begin(user)
                statuses.append(st)
            if int(time.time()) // 60 == window:
                break
        self.assertEqual(statuses[:20], [200] * 20)
        self.assertEqual(statuses[20], 429)
        self.assertError((st, hdrs, body), 429, 'RATE_LIMITED')
        self.assertGreaterEqual(int(hdrs['retry-after']), 1)

    def test_svd_limits_per_user_and_address(self):
        """A stranger at another address spends only their own budget for a
        user: the user still logs in, and junk from the user's own address
        is still limited there."""
        def junk(user):
            return {'userId': user, 'M': stale_m(0), 'signatureHex': '3006020101020101'}
        for _ in range(3):  # repeated if it straddles a 60 s window edge
            window = int(time.time()) // 60
            victim, priv = self.registered()
            away_begin = [call_from('127.0.0.2', self.c.base_url, 'POST', '/api/svd/begin',
                                    {'userId': victim})[0] for _ in range(21)]
            away = [call_from('127.0.0.2', self.c.base_url, 'POST', '/api/svd/complete', junk(victim))
                    for _ in range(31)]
            st, _, begin = self.c.svd_begin(victim)
            login = (st, begin)
            if st == 200:
                login = self.c.svd_complete(victim, begin['M'], pc.svd_sign(priv, begin['M']))[::2]
            home = [self.c.call('POST', '/api/svd/complete', junk(victim))[0] for _ in range(30)]
            if int(time.time()) // 60 == window:
                break
        self.assertEqual(away_begin, [200] * 20 + [429])
        self.assertEqual([r[0] for r in away], [400] * 30 + [429])
        self.assertError(away[30], 429, 'RATE_LIMITED')
        self.assertEqual(login[0], 200, login)
        self.assertIn('token', login[1])
        # The login's own complete counts at home: 29 more, then the limit.
        self.assertEqual(home, [400] * 29 + [429])

    def test_auth_before_body(self):
        """Every route's auth is checked before its body is read: no
        credentials and an oversized body is 401, not 413."""
        pool = self.pool[0]  # nginx lets 4 MiB through here; the app caps SVD at 8 KiB, others at 1 MiB
        big_svd = '{"pmcHex":"' + 'a' * 9000 + '"}'
        self.assertError(pool.call('PUT', '/api/svd/register', raw=big_svd, key=False), 401, 'UNAUTHORIZED')
        self.assertError(pool.call('PUT', '/api/svd/register', raw=big_svd, key=False,
                                   headers={'Authorization': 'Bearer x.y.z'}), 401, 'TOKEN_INVALID')
        user, priv = self.registered()
        token = self.c.svd_login(user, priv)
        self.assertError(pool.call('PUT', '/api/svd/register', raw=big_svd, key=False,
                                   headers={'Authorization': 'Bearer ' + token}), 413, 'PAYLOAD_TOO_LARGE')
        # key + jwt: the key alone is not enough, whatever the body.
        transfer = '/v1/patches/' + '00' * 32 + '/transfer-ownership'
        big = '{"newOwnerAddress":"' + 'a' * (1100 * 1024) + '"}'
        self.assertError(pool.call('POST', transfer, raw=big), 401, 'UNAUTHORIZED')
        self.assertError(pool.call('POST', transfer, {}), 401, 'UNAUTHORIZED')
        self.assertError(pool.call('POST', transfer, raw=big, key=False,
                                   headers={'Authorization': 'Bearer ' + token}), 401, 'UNAUTHORIZED')
        self.assertError(pool.call('POST', transfer, raw=big, headers={'Authorization': 'Bearer ' + token}),
                         413, 'PAYLOAD_TOO_LARGE')
        # With both, the body is looked at (and the PUT acts on the token's user).
        self.assertError(pool.call('POST', transfer, {}, headers={'Authorization': 'Bearer ' + token}),
                         400, 'VALIDATION_ERROR')
        new_pmc = pc.pubkey_hex(pc.random_privkey())
        st, _, body = pool.call('PUT', '/api/svd/register', {'pmcHex': new_pmc}, key=False,
                                headers={'Authorization': 'Bearer ' + token})
        self.assertEqual(st, 200, body)
        self.assertEqual(self.stored_pmc(user), new_pmc)

    def test_secrets_leave_the_environment(self):
        """Neither patchproof-fcgi (master and workers) nor patchproof-worker
        keeps a secret in its environment (/proc/PID/environ)."""
        st = self.svc.st
        change = self.svc.keys['issuer']  # any key of ours will do: the worker only has to start
        env = dict(self.svc.app_env(), CHAIN_API_URL='http://127.0.0.1:9',
                   UTXO_CHANGE_ADDRESS=change['addressTest'], UTXO_CHANGE_KEY_ID=change['keyIdentifier'])
        st.start_process('jobworker', [binary('patchproof-worker')], env=env,
                         wait_for=lambda: 'patchproof-worker starting' in st.logs('jobworker'))
        try:
            master = st.pid('fcgi0')
            pids = {'fcgi master': master, 'fcgi worker': children_of(master)[0],
                    'patchproof-worker': st.pid('jobworker')}
            secret_values = {name: env[name] for name in
                             ('API_KEY', 'API_KEY_PREVIOUS', 'JWT_SECRET', 'JWT_SECRET_PREVIOUS',
                              'DB_PASSWORD', 'KMS_API_KEY', 'CONTENT_MASTER_KEY') if env.get(name)}
            self.assertEqual(len(secret_values), 7, sorted(secret_values))
            for what, pid in pids.items():
                block = environ_of(pid)
                self.assertIn(b'MEMCACHED_SERVERS=', block)  # the block is readable and not empty
                for name, value in secret_values.items():
                    with self.subTest(process=what, secret=name):
                        # Never the block itself in the message: it would print the secret.
                        self.assertFalse(value.encode() in block, f'{name} is in the environment of the {what}')
        finally:
            st.stop('jobworker')

    def test_replay_on_other_pool(self):
        user, priv = self.registered()
        m = self.pool[0].svd_begin(user)[2]['M']
        sig = pc.svd_sign(priv, m)
        self.assertEqual(self.pool[1].svd_complete(user, m, sig)[0], 200)
        self.assertError(self.pool[0].svd_complete(user, m, sig), 409, 'SVD_REPLAYED')

    def test_metrics(self):
        st, hdrs, text = self.c.call('GET', '/metrics', key=False)
        self.assertEqual(st, 200)
        self.assertTrue(hdrs['content-type'].startswith('text/plain'))
        for fam in ('pp_http_requests_total', 'pp_http_request_duration_seconds', 'pp_svd_events_total',
                    'pp_svd_challenge_age_seconds', 'pp_jobs', 'pp_utxo_pool'):
            self.assertIn(f'# HELP {fam} ', text)
            self.assertIn(f'# TYPE {fam} ', text)
        self.assertNotIn('pp_jwt_success_total', text)
        self.assertError(self.c.call('GET', '/internal/metrics', key=False), 401, 'UNAUTHORIZED')
        user, priv = self.registered()
        self.c.svd_login(user, priv)
        st, _, text = self.c.call('GET', '/internal/metrics')
        self.assertEqual(st, 200)
        self.assertRegex(text, r'pp_jwt_success_total [1-9]')
        self.assertRegex(text, r'pp_svd_events_total\{event="complete",kid="svd-[0-9a-f]{16}",sha="e2e"\} [1-9]')
        self.assertIn('pp_http_requests_total{route="POST /api/svd/complete",status="200"}', text)

    def test_cors(self):
        st, hdrs, _ = self.c.call('OPTIONS', '/api/svd/begin', key=False,
                                  headers={'Origin': 'https://evil.example'})
        self.assertEqual(st, 403)
        self.assertNotIn('access-control-allow-origin', hdrs)
        st, hdrs, _ = self.c.call('OPTIONS', '/api/svd/begin', key=False,
                                  headers={'Origin': 'https://app.example',
                                           'Access-Control-Request-Method': 'POST'})
        self.assertEqual(st, 204)
        self.assertEqual(hdrs.get('access-control-allow-origin'), 'https://app.example')
        self.assertIn('POST', hdrs.get('access-control-allow-methods', ''))
        self.assertIn('authorization', hdrs.get('access-control-allow-headers', '').lower())
        st, hdrs, _ = self.c.call('GET', '/api/svd/kid', key=False, headers={'Origin': 'https://shop.example'})
        self.assertEqual(st, 200)
        self.assertEqual(hdrs.get('access-control-allow-origin'), 'https://shop.example')
        st, hdrs, _ = self.c.call('GET', '/api/svd/kid', key=False, headers={'Origin': 'https://evil.example'})
        self.assertNotIn('access-control-allow-origin', hdrs)

    def test_api_key_rotation(self):
        st, _, body = self.c.call('GET', '/api/svd/canary', key=False, headers={'x-api-key': self.previous_key})
        self.assertEqual(st, 200, body)
        self.assertError(self.c.call('GET', '/api/svd/canary', key=False,
                                     headers={'x-api-key': self.previous_key[:-1]}), 401, 'UNAUTHORIZED')

    def test_per_ip_limit(self):
        limited = self.pool[2]
        for _ in range(3):  # repeated if it straddles a 60 s window edge
            window = int(time.time()) // 60
            statuses = [limited.call('GET', '/api/svd/kid', key=False)[0] for _ in range(6)]
            resp = limited.call('GET', '/api/svd/kid', key=False)
            if int(time.time()) // 60 == window:
                break
        self.assertIn(429, statuses)
        self.assertError(resp, 429, 'RATE_LIMITED')
        self.assertGreaterEqual(int(resp[1]['retry-after']), 1)
        # Health routes are not under the public limit.
        self.assertEqual(limited.call('GET', '/health', key=False)[0], 200)

    def test_request_id_from_nginx(self):
        _, hdrs1, _ = self.c.call('GET', '/health', key=False)
        _, hdrs2, _ = self.c.call('GET', '/health', key=False)
        self.assertRegex(hdrs1['x-request-id'], r'^[0-9a-f]{32}$')
        self.assertNotEqual(hdrs1['x-request-id'], hdrs2['x-request-id'])


    def test_z_logs_hold_no_secrets(self):
        # Runs last (alphabetical): one more full login, then read every log.
        user, priv = self.registered()
        pmc = pc.pubkey_hex(priv)
        m = self.c.svd_begin(user)[2]['M']
        sig = pc.svd_sign(priv, m)
        token = self.c.svd_complete(user, m, sig)[2]['token']
        self.c.call('PUT', '/api/svd/register', {'pmcHex': pmc}, headers={'Authorization': 'Bearer ' + token})
        self.c.call('GET', '/api/svd/canary')
        time.sleep(0.3)
        logs = self.svc.all_logs()
        self.assertIn('fcgi0', logs)
        self.assertIn('"route":"/api/svd/complete"', ''.join(logs.values()))
        # Every secret of the stack (API key, JWT secrets, content key, the KMS
        # master key, each role's KMS token) and the database password.
        forbidden = {f'secret {k}': v for k, v in self.svc.secrets.items()}
        forbidden['db password'] = self.svc.st.db_env['DB_PASSWORD']
        forbidden.update({'token': token, 'token signature': token.split('.')[2], 'M': m, 'signature': sig,
                          'pmcHex': pmc, 'jti': hashlib.sha256(bytes.fromhex(m)).hexdigest()})
        for name, text in logs.items():
            for what, value in forbidden.items():
                with self.subTest(log=name, secret=what):
                    self.assertNotIn(value.lower(), text.lower())


if __name__ == '__main__':
    unittest.main()
