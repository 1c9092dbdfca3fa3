# SPDX-License-Identifier: MIT
"""The /v1/auth/* limits under load and over time (DESIGN.md §3 "Email code
login"), on a stack with a short AUTH_FAILED_WINDOW_SEC and no mail worker
(the codes are written, never sent: these tests only need wrong ones).
Parallel wrong submits from one address: at most AUTH_MAX_FAILED are checked
(401), the rest are 429; a burst across addresses voids the codes; the
failure window starts at the first failure, not at a multiple of the window,
and Retry-After names its end; AUTH_REQUESTS_PER_ADDRESS bounds one address's
requests across identifiers."""
import concurrent.futures
import http.client
import json
import threading
import time
import unittest

from service import ServiceStack
from stackcase import StackCase

DB = 'patchproof'
WINDOW = 8        # AUTH_FAILED_WINDOW_SEC here
PER_ADDRESS = 3   # AUTH_REQUESTS_PER_ADDRESS here
MAX_FAILED = 5    # the default AUTH_MAX_FAILED (and 20 for AUTH_MAX_FAILED_TOTAL)


class EmailLimits(StackCase):
    prefix = 'pp-emaillim-'
    _addr = [1]

    @classmethod
    def make_stack(cls, base_dir):
        # 127.x is exempt from nginx's zones, so the app's limits are met; four
        # FastCGI workers so parallel submits really run in parallel.
        return ServiceStack(base_dir, workers=4, nginx_exempt=('127.0.0.0/8',),
                            env={'AUTH_FAILED_WINDOW_SEC': str(WINDOW),
                                 'AUTH_REQUESTS_PER_ADDRESS': str(PER_ADDRESS)})

    @classmethod
    def new_address(cls):
        cls._addr[0] += 1
        n = cls._addr[0]
        return f'127.1.{n // 250 + 1}.{n % 250 + 1}'

    def post_from(self, source, path, body):
        host, port = self.svc.base_url.split('//', 1)[1].split(':')
        conn = http.client.HTTPConnection(host, int(port), timeout=60, source_address=(source, 0))
        try:
            conn.request('POST', path, body=json.dumps(body).encode(),
                         headers={'Content-Type': 'application/json'})
            resp = conn.getresponse()
            headers = {k.lower(): v for k, v in resp.getheaders()}
            text = resp.read().decode()
        finally:
            conn.close()
        return resp.status, headers, json.loads(text)

    def request_code(self, identifier, source=None):
        return self.post_from(source or self.new_address(), '/v1/auth/request-verification',
                              {'identifier': identifier})

    def submit(self, identifier, code, source=None):
        return self.post_from(source or self.new_address(), '/v1/auth/submit-verification',
                              {'identifier': identifier, 'code': code})

    def live_codes(self, identifier):
        return int(self.svc.st.sql(
            f"SELECT COUNT(*) FROM email_codes WHERE identifier = '{identifier}' AND void_ms IS NULL "
            f"AND used_ms IS NULL", database=DB).strip())

    def outstanding(self, identifier, n):
        """n live codes, requested from fresh addresses: every check then runs n slow hashes."""
        for _ in range(n):
            st, _, body = self.request_code(identifier)
            self.assertEqual(st, 200, body)
        self.assertEqual(self.live_codes(identifier), n)

    def burst(self, calls):
        """Runs the calls at once (a barrier releases them together); their statuses."""
        barrier = threading.Barrier(len(calls))

        def run(call):
            barrier.wait()
            return call()[0]
        with concurrent.futures.ThreadPoolExecutor(len(calls)) as ex:
            return list(ex.map(run, calls))

    # -- guessing under concurrency
    def test_parallel_wrong_submits_from_one_address_check_at_most_max_failed(self):
        ident = 'parallel@example.com'
        self.outstanding(ident, 5)
        attacker = self.new_address()
        statuses = self.burst([lambda: self.submit(ident, '000000', attacker)] * 24)
        self.assertEqual(statuses.count(401) + statuses.count(429), 24, statuses)
        self.assertLessEqual(statuses.count(401), MAX_FAILED, statuses)
        self.assertGreaterEqual(statuses.count(401), 1, statuses)
        # The limit holds afterwards too.
        self.assertEqual(self.submit(ident, '000000', attacker)[0], 429)

    def test_a_burst_across_addresses_voids_the_codes(self):
        ident = 'burst@example.com'
        self.outstanding(ident, 3)
        statuses = self.burst([lambda: self.submit(ident, '000000')] * 30)
        self.assertEqual(statuses, [401] * 30)
        self.assertEqual(self.live_codes(ident), 0)

    def test_after_a_void_every_failure_voids_again(self):
        ident = 'storm@example.com'
        self.outstanding(ident, 1)
        for _ in range(4):
            source = self.new_address()
            for _ in range(MAX_FAILED):
                self.assertEqual(self.submit(ident, '000000', source)[0], 401)
        self.assertEqual(self.live_codes(ident), 0)
        self.outstanding(ident, 1)  # a new request is needed ...
        self.assertEqual(self.submit(ident, '000000')[0], 401)
        self.assertEqual(self.live_codes(ident), 0)  # ... and one more failure voids it too

    # -- the window
    def wait_until_phase(self, lo, hi):
        """Sleeps until time % WINDOW is in [lo, hi)."""
        while not lo <= time.time() % WINDOW < hi:
            time.sleep(0.05)

    def test_the_failure_window_starts_at_the_first_failure(self):
        ident = 'slide@example.com'
        source = self.new_address()
        # The five failures end just before a multiple of the window, where a
        # fixed bucket would start counting again.
        for _ in range(5):
            self.wait_until_phase(WINDOW - 2.5, WINDOW - 2.0)
            bucket = int(time.time() // WINDOW)
            statuses = [self.submit(ident, '000000', source)[0] for _ in range(MAX_FAILED)]
            if int(time.time() // WINDOW) == bucket:
                break
        else:
            self.fail('could not place the failures inside one fixed bucket')
        self.assertEqual(statuses, [401] * MAX_FAILED)
        self.wait_until_phase(0.3, 1.0)  # the next fixed bucket
        st, headers, body = self.submit(ident, '000000', source)
        self.assertEqual((st, body['code']), (429, 'RATE_LIMITED'), body)
        retry = int(headers['retry-after'])
        self.assertTrue(1 <= retry <= WINDOW, headers)
        # Once the window is over (memcached's clock counts whole seconds),
        # the address may fail again.
        time.sleep(retry + 1.5)
        self.assertEqual(self.submit(ident, '000000', source)[0], 401)

    # -- requests per address
    def test_one_address_may_request_codes_for_a_few_identifiers_per_window(self):
        source = self.new_address()
        for i in range(PER_ADDRESS):
            st, _, body = self.request_code(f'many{i}@example.com', source)
            self.assertEqual(st, 200, body)
        st, headers, body = self.request_code('many-more@example.com', source)
        self.assertEqual((st, body['code']), (429, 'RATE_LIMITED'), body)
        self.assertTrue(1 <= int(headers['retry-after']) <= WINDOW, headers)
        self.assertEqual(self.live_codes('many-more@example.com'), 0)
        self.assertEqual(self.request_code('many-more@example.com')[0], 200)  # another address


if __name__ == '__main__':
    unittest.main()
