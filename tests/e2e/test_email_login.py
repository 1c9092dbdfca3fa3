# SPDX-License-Identifier: MIT
"""Email code login (DESIGN.md §3) on the real stack with a worker and the
SMTP sink (scripts/smtp_sink.py): request → the mail arrives as an .eml in
MAIL_DIR → its code gives a JWT (claims checked, HMAC recomputed) that works
on an existing jwt route; one-time use; 5 outstanding codes, then 429 until
the oldest expires; one request per identifier and address per window while
another address may request; a stranger's request leaves the user's code
working; the 6th failed submit from one address is 429 (the right code too)
while another address gets 401 and then 200; 20 failures void the codes;
SMTP down keeps the row in email_outbox until the server is back; memcached
down is 503; bad input is 400/415 and writes nothing; no code in any log."""
import base64
import concurrent.futures
import email
import email.policy
import hashlib
import hmac
import http.client
import json
import os
import re
import socket
import threading
import time
import unittest

from chainstack import ChainStack
from stackcase import StackCase
import ppclient as pc

DB = 'patchproof'
G_HEX = '0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798'  # a valid compressed key


def b64url(text):
    return base64.urlsafe_b64decode(text + '=' * (-len(text) % 4))


class EmailLogin(StackCase):
    prefix = 'pp-email-'
    codes_seen = set()
    _addr = [1]

    @classmethod
    def make_stack(cls, base_dir):
        # Every 127.x address is exempt from nginx's own zones: the app's
        # limits are what these tests meet.
        return ChainStack(base_dir, job_workers=1, nginx_exempt=('127.0.0.0/8',),
                          worker_env={'SMTP_TIMEOUT_MS': '3000'})

    # -- helpers
    @classmethod
    def new_address(cls):
        """A fresh loopback source address for each use."""
        cls._addr[0] += 1
        n = cls._addr[0]
        return f'127.0.{n // 250 + 1}.{n % 250 + 1}'

    def call_from(self, source, path, body=None, raw=None, content_type='application/json'):
        host, port = self.svc.base_url.split('//', 1)[1].split(':')
        conn = http.client.HTTPConnection(host, int(port), timeout=30, source_address=(source, 0))
        hdrs = {}
        data = None
        if body is not None:
            data = json.dumps(body, separators=(',', ':')).encode()
        elif raw is not None:
            data = raw.encode()
        if content_type and data is not None:
            hdrs['Content-Type'] = content_type
        try:
            conn.request('POST', path, body=data, headers=hdrs)
            resp = conn.getresponse()
            headers = {k.lower(): v for k, v in resp.getheaders()}
            text = resp.read().decode()
        finally:
            conn.close()
        try:
            return resp.status, headers, json.loads(text)
        except ValueError:
            return resp.status, headers, text

    def request_code(self, identifier, source=None):
        return self.call_from(source or self.new_address(), '/v1/auth/request-verification',
                              {'identifier': identifier})

    def submit(self, identifier, code, source=None):
        return self.call_from(source or self.new_address(), '/v1/auth/submit-verification',
                              {'identifier': identifier, 'code': code})

    def sql(self, q):
        return self.svc.st.sql(q, database=DB).strip()

    def mails_to(self, to):
        out = []
        if not os.path.isdir(self.svc.mail_dir):
            return out
        for name in sorted(os.listdir(self.svc.mail_dir)):
            if not name.endswith('.eml'):
                continue
            with open(os.path.join(self.svc.mail_dir, name), 'rb') as f:
                raw = f.read()
            msg = email.message_from_bytes(raw, policy=email.policy.default)
            if msg['To'] == to:
                out.append((name, raw, msg))
        return out

    def wait_code(self, to, already=0, timeout=60):
        """The code of the (already+1)-th mail to `to`."""
        deadline = time.time() + timeout
        while True:
            mails = self.mails_to(to)
            if len(mails) > already:
                name, raw, msg = mails[already]
                body = msg.get_content()
                codes = [line for line in body.splitlines() if re.fullmatch(r'\d{6}', line)]
                self.assertEqual(len(codes), 1, body)
                self.assertIn(b'\r\n' + codes[0].encode() + b'\r\n', raw)  # a line of its own, CRLF
                self.codes_seen.add(codes[0])
                return codes[0]
            if time.time() > deadline:
                raise AssertionError(f'no mail #{already + 1} to {to} after {timeout}s')
            time.sleep(0.1)

    def login_code(self, identifier):
        """Requests a code from a fresh address and returns it from the mail."""
        to = identifier.lower()
        before = len(self.mails_to(to))
        st, _, body = self.request_code(identifier)
        self.assertEqual((st, body), (200, {'success': True}))
        return self.wait_code(to, before)

    def assert_error(self, resp, status, code):
        st, headers, body = resp
        self.assertEqual(st, status, body)
        self.assertEqual(body['code'], code, body)
        self.assertEqual(body['error'], code, body)
        return headers, body

    def rows(self, table, identifier):
        return int(self.sql(f"SELECT COUNT(*) FROM {table} WHERE identifier = '{identifier}'"))

    def wait_outbox_tried(self, ident, timeout=30):
        """The outbox row (attempts, last_error) once the worker has tried
        to send ident's mail at least once."""
        deadline = time.time() + timeout
        while True:
            row = self.sql(f"SELECT attempts, last_error FROM email_outbox WHERE identifier = '{ident}'")
            if row and int(row.split('\t')[0]) >= 1:
                return row
            self.assertLess(time.time(), deadline, f'the worker never tried: {row!r}')
            time.sleep(0.2)

    # -- the flow
    def test_login_gives_a_token_that_works_once(self):
        ident = 'Alice.Flow@Example.COM'
        lower = ident.lower()
        code = self.login_code(ident)
        mail = self.mails_to(lower)[0][2]
        self.assertIn('sign-in code', mail['Subject'])
        self.assertTrue(mail['Message-ID'] and mail['Date'] and mail['From'])
        # Only a slow hash of the code is stored; the sent mail's row is gone.
        stored = self.sql(f"SELECT code_hash FROM email_codes WHERE identifier = '{lower}'")
        self.assertTrue(stored.startswith('$argon2id$'), stored)
        self.assertNotIn(code, stored)
        self.assertEqual(self.rows('email_outbox', lower), 0)
        self.assertEqual(self.rows('email_identities', lower), 0)  # created by the first login

        st, headers, body = self.submit(ident, code)
        self.assertEqual(st, 200, body)
        self.assertEqual(headers.get('cache-control'), 'no-store')
        self.assertEqual(set(body), {'success', 'token'})
        self.assertIs(body['success'], True)
        token = body['token']
        head_b64, payload_b64, sig_b64 = token.split('.')
        header = json.loads(b64url(head_b64))
        claims = json.loads(b64url(payload_b64))
        _, _, kid = self.c.call('GET', '/api/svd/kid', key=False)
        self.assertEqual(header, {'alg': 'HS256', 'typ': 'JWT', 'kid': kid['kid']})
        mac = hmac.new(self.svc.jwt_secret.encode(), f'{head_b64}.{payload_b64}'.encode(), hashlib.sha256)
        self.assertEqual(b64url(sig_b64), mac.digest())
        self.assertEqual(claims['sub'], 'email:' + lower)
        self.assertRegex(claims['jti'], r'^[0-9a-f]{32}$')
        self.assertEqual(claims['amr'], ['otp'])
        self.assertNotIn('cnf', claims)
        self.assertLessEqual(claims['nbf'], claims['iat'])
        self.assertEqual(claims['exp'] - claims['iat'], 900)
        self.assertEqual(int(self.sql(
            f"SELECT COUNT(*) FROM email_identities WHERE identifier = '{lower}' "
            "AND created_at IS NOT NULL AND last_login_at IS NOT NULL")), 1)

        # Accepted on a jwt route: the subject has no SVD key (404), not 401.
        put = self.c.call('PUT', '/api/svd/register', {'pmcHex': G_HEX}, key=False,
                          headers={'Authorization': 'Bearer ' + token})
        self.assertEqual(put[0], 404, put[2])
        forged = token[:-2] + ('AA' if not token.endswith('AA') else 'BB')
        bad = self.c.call('PUT', '/api/svd/register', {'pmcHex': G_HEX}, key=False,
                          headers={'Authorization': 'Bearer ' + forged})
        self.assertEqual(bad[0], 401)

        # One time only, and a second token has another jti.
        self.assert_error(self.submit(ident, code), 401, 'UNAUTHORIZED')
        code2 = self.login_code(lower)
        st, _, body2 = self.submit(lower, code2)
        self.assertEqual(st, 200, body2)
        self.assertNotEqual(json.loads(b64url(body2['token'].split('.')[1]))['jti'], claims['jti'])

    def test_five_outstanding_then_429_until_the_oldest_expires(self):
        ident = 'five@example.com'
        codes = [self.login_code(ident) for _ in range(5)]
        headers, _ = self.assert_error(self.request_code(ident), 429, 'RATE_LIMITED')
        self.assertTrue(1 <= int(headers['retry-after']) <= 900, headers)
        self.assertEqual(self.rows('email_codes', ident), 5)
        # The oldest expires: its code is refused, and one more may be asked for.
        self.sql(f"UPDATE email_codes SET expires_ms = 1000 WHERE identifier = '{ident}' ORDER BY id LIMIT 1")
        self.assert_error(self.submit(ident, codes[0]), 401, 'UNAUTHORIZED')
        sixth = self.login_code(ident)
        # The second code works and voids every other one.
        st, _, body = self.submit(ident, codes[1])
        self.assertEqual(st, 200, body)
        for other in (codes[2], sixth):
            if other != codes[1]:
                self.assert_error(self.submit(ident, other), 401, 'UNAUTHORIZED')

    def test_concurrent_requests_never_exceed_five_outstanding(self):
        ident = 'race@example.com'
        sources = [self.new_address() for _ in range(9)]
        with concurrent.futures.ThreadPoolExecutor(max_workers=9) as pool:
            statuses = sorted(f.result()[0] for f in
                              [pool.submit(self.request_code, ident, s) for s in sources])
        self.assertEqual(statuses, [200] * 5 + [429] * 4)
        self.assertEqual(self.rows('email_codes', ident), 5)
        self.assertEqual(int(self.sql(f"SELECT COUNT(*) FROM email_codes WHERE identifier = '{ident}' "
                                      "AND void_ms IS NULL AND used_ms IS NULL")), 5)
        for i in range(5):
            self.wait_code(ident, i)

    def test_a_request_counts_codes_another_transaction_is_writing(self):
        """Four codes, and a fifth being inserted by a transaction not yet
        committed: a request waits for it (the identifier's rows are locked)
        and then finds five, so it is 429, not a sixth code."""
        ident = 'locked@example.com'
        for _ in range(4):
            self.assertEqual(self.request_code(ident)[0], 200)
        far = int(time.time() * 1000) + 600_000
        errors = []

        def write():
            try:
                self.sql("BEGIN; INSERT INTO email_codes (identifier, code_hash, expires_ms) "
                         f"VALUES ('{ident}', 'held', {far}); SELECT SLEEP(3); COMMIT;")
            except Exception as e:  # reported below
                errors.append(e)
        writer = threading.Thread(target=write)
        writer.start()
        try:
            deadline = time.time() + 10
            while int(self.sql("SET SESSION TRANSACTION ISOLATION LEVEL READ UNCOMMITTED; "
                               "SELECT COUNT(*) FROM email_codes WHERE code_hash = 'held'")) == 0:
                self.assertLess(time.time(), deadline, f'the writer never began {errors}')
                time.sleep(0.05)
            self.assert_error(self.request_code(ident), 429, 'RATE_LIMITED')
        finally:
            writer.join()
        self.assertEqual(errors, [])
        self.assertEqual(self.rows('email_codes', ident), 5)

    def test_one_request_per_address_per_window(self):
        ident = 'window@example.com'
        here, there = self.new_address(), self.new_address()
        self.assertEqual(self.request_code(ident, here)[0], 200)
        headers, _ = self.assert_error(self.request_code(ident, here), 429, 'RATE_LIMITED')
        self.assertTrue(1 <= int(headers['retry-after']) <= 60, headers)
        self.assertEqual(self.request_code(ident, there)[0], 200)
        # The same address may ask for another identifier.
        self.assertEqual(self.request_code('window2@example.com', here)[0], 200)
        self.wait_code(ident, 1)
        self.wait_code('window2@example.com', 0)

    def test_a_strangers_request_leaves_the_users_code_working(self):
        ident = 'victim@example.com'
        code = self.login_code(ident)
        for _ in range(3):
            self.assertEqual(self.request_code(ident)[0], 200)  # strangers, elsewhere
        st, _, body = self.submit(ident, code)
        self.assertEqual(st, 200, body)

    def test_sixth_failure_from_one_address_is_429_another_address_still_logs_in(self):
        ident = 'guess@example.com'
        code = self.login_code(ident)
        wrong = f'{(int(code) + 1) % 1000000:06d}'
        attacker, user = self.new_address(), self.new_address()
        for _ in range(5):
            self.assert_error(self.submit(ident, wrong, attacker), 401, 'UNAUTHORIZED')
        headers, _ = self.assert_error(self.submit(ident, wrong, attacker), 429, 'RATE_LIMITED')
        self.assertTrue(1 <= int(headers['retry-after']) <= 600, headers)
        self.assert_error(self.submit(ident, code, attacker), 429, 'RATE_LIMITED')  # the right code too
        self.assert_error(self.submit(ident, wrong, user), 401, 'UNAUTHORIZED')
        st, _, body = self.submit(ident, code, user)
        self.assertEqual(st, 200, body)

    def test_twenty_failures_from_anywhere_void_the_codes(self):
        ident = 'storm@example.com'
        code = self.login_code(ident)
        wrong = f'{(int(code) + 7) % 1000000:06d}'
        for _ in range(4):
            source = self.new_address()
            for _ in range(5):
                self.assert_error(self.submit(ident, wrong, source), 401, 'UNAUTHORIZED')
        self.assertEqual(int(self.sql(
            f"SELECT COUNT(*) FROM email_codes WHERE identifier = '{ident}' AND void_ms IS NULL")), 0)
        self.assert_error(self.submit(ident, code), 401, 'UNAUTHORIZED')
        # A new request is needed, and its code works.
        fresh = self.login_code(ident)
        st, _, body = self.submit(ident, fresh)
        self.assertEqual(st, 200, body)

    def test_smtp_down_keeps_the_mail_until_the_server_is_back(self):
        ident = 'offline@example.com'
        self.svc.st.stop('smtp')
        try:
            self.assertEqual(self.request_code(ident)[0], 200)
            row = self.wait_outbox_tried(ident)
            self.assertEqual(self.rows('email_outbox', ident), 1)
            self.assertNotEqual(row.split('\t')[1], 'NULL')
            self.assertEqual(self.mails_to(ident), [])
            ciphertext = self.sql(f"SELECT HEX(ciphertext) FROM email_outbox WHERE identifier = '{ident}'")
            self.assertNotIn(b'example.com', bytes.fromhex(ciphertext))  # sealed, not plain text
        finally:
            self.svc.st.restart('smtp')
        code = self.wait_code(ident, 0, timeout=120)
        self.assertEqual(self.rows('email_outbox', ident), 0)
        st, _, body = self.submit(ident, code)
        self.assertEqual(st, 200, body)

    def test_a_login_drops_unsent_mail_whose_code_it_voided(self):
        ident = 'drop-unsent@example.com'
        first = self.login_code(ident)
        self.svc.st.stop('smtp')
        try:
            self.assertEqual(self.request_code(ident)[0], 200)
            self.assertEqual(self.rows('email_outbox', ident), 1)
            st, _, body = self.submit(ident, first)
            self.assertEqual(st, 200, body)
            self.assertEqual(self.rows('email_outbox', ident), 0)
        finally:
            self.svc.st.restart('smtp')
        self.assertEqual(len(self.mails_to(ident)), 1)

    def test_smtp_that_never_answers_does_not_stop_record_jobs(self):
        """The worker's SMTP server accepts connections and then says
        nothing: each try ends at SMTP_TIMEOUT_MS, the mail waits, and
        registrations queued meanwhile are still confirmed."""
        silent = socket.socket()
        silent.bind(('127.0.0.1', 0))
        silent.listen(16)
        url = f'smtp://127.0.0.1:{silent.getsockname()[1]}'
        ident = 'silent@example.com'
        self.svc.st.stop(self.svc.worker_name(0))
        try:
            self.svc.start_worker(0, env={'SMTP_URL': url, 'SMTP_TIMEOUT_MS': '2000'})
            self.assertEqual(self.request_code(ident)[0], 200)
            row = self.wait_outbox_tried(ident)
            self.assertIn('imeout', row)  # curl's "Timeout was reached"
            pending = []
            for _ in range(3):
                st, _, resp = self.c.call('POST', '/v1/patches', {
                    'product': {'uid_tag_id': 'TAG-' + os.urandom(6).hex(), 'name': 'Jersey'},
                    'metadata': {'notes': 'mail stall test'},
                    'auth': {'owner': pc.address_from_priv(pc.random_privkey(), 'test')}})
                self.assertEqual(st, 202, resp)
                pending.append(resp['pendingId'])
            for pid in pending:
                self.assertEqual(self.svc.wait_pending('registration', pid, timeout=90)['status'], 'confirmed')
            self.assertEqual(self.rows('email_outbox', ident), 1)  # still waiting
        finally:
            self.svc.st.stop(self.svc.worker_name(0))
            silent.close()
            self.svc.start_worker(0)
        self.wait_code(ident, 0, timeout=120)

    def test_mail_older_than_the_code_ttl_is_dropped_unsent(self):
        ident = 'stale@example.com'
        fresh = 'notstale@example.com'
        self.sql("INSERT INTO email_outbox (identifier, nonce, ciphertext, next_attempt_ms, created_at) VALUES "
                 f"('{ident}', UNHEX(REPEAT('00', 24)), UNHEX('00'), 9000000000000, NOW(3) - INTERVAL 901 SECOND), "
                 f"('{fresh}', UNHEX(REPEAT('00', 24)), UNHEX('00'), 9000000000000, NOW(3) - INTERVAL 800 SECOND)")
        self.svc.st.restart(self.svc.worker_name(0))  # it looks at once when it starts
        deadline = time.time() + 30
        while self.rows('email_outbox', ident):
            self.assertLess(time.time(), deadline, 'the stale mail is still there')
            time.sleep(0.2)
        self.assertEqual(self.rows('email_outbox', fresh), 1)
        self.sql(f"DELETE FROM email_outbox WHERE identifier = '{fresh}'")
        self.assertIn('dropped unsent mail', self.svc.st.logs(self.svc.worker_name(0)))

    def test_a_token_that_cannot_be_minted_leaves_the_code_usable(self):
        ident = 'nomint@example.com'
        code = self.login_code(ident)
        # A kid that is not UTF-8 cannot go into a JWT header: minting fails.
        self.svc.st.stop('fcgi0')
        self.svc.start_pool(0, env={'SVD_KMS_KID': 'svd-\udcff'})
        try:
            self.assert_error(self.submit(ident, code), 500, 'INTERNAL')
        finally:
            self.svc.st.stop('fcgi0')
            self.svc.start_pool(0)
        self.assertEqual(self.rows('email_identities', ident), 0)
        st, _, body = self.submit(ident, code)
        self.assertEqual(st, 200, body)

    def test_memcached_down_is_503(self):
        ident = 'nocache@example.com'
        self.svc.st.stop('mc1')
        try:
            self.assert_error(self.request_code(ident), 503, 'SERVICE_UNAVAILABLE')
            self.assert_error(self.submit(ident, '123456'), 503, 'SERVICE_UNAVAILABLE')
            self.assertEqual(self.rows('email_codes', ident), 0)
        finally:
            self.svc.st.restart('mc1')
        deadline = time.time() + 30
        while self.request_code(ident)[0] != 200:
            self.assertLess(time.time(), deadline, 'memcached never came back')
            time.sleep(0.5)

    def test_bad_input_is_400_or_415_and_writes_nothing(self):
        ident = 'badinput@example.com'
        req, sub = '/v1/auth/request-verification', '/v1/auth/submit-verification'
        bad = [
            (req, {}), (req, {'identifier': 'no-at-sign'}), (req, {'identifier': 'a b@example.com'}),
            (req, {'identifier': 'x' * 250 + '@e.com'}), (req, {'identifier': 5}),
            (req, {'identifier': ident, 'extra': 1}), (req, {'identifier': ident + '\r\nBcc: e@evil.example'}),
            (sub, {'identifier': ident}), (sub, {'identifier': ident, 'code': 123456}),
            (sub, {'identifier': ident, 'code': '12345'}), (sub, {'identifier': ident, 'code': '1234567'}),
            (sub, {'identifier': ident, 'code': '12345a'}), (sub, {'identifier': ident, 'code': None}),
            (sub, {'identifier': ident, 'code': '123456', 'extra': True}),
            (sub, {'identifier': 'nope', 'code': '123456'}),
        ]
        for path, body in bad:
            with self.subTest(path=path, body=body):
                self.assert_error(self.call_from(self.new_address(), path, body), 400, 'VALIDATION_ERROR')
        for path in (req, sub):
            self.assert_error(self.call_from(self.new_address(), path, raw='[1]'), 400, 'VALIDATION_ERROR')
            self.assert_error(self.call_from(self.new_address(), path, raw='{"identifier":'), 400,
                              'VALIDATION_ERROR')
            self.assert_error(self.call_from(self.new_address(), path, raw=json.dumps({'identifier': ident}),
                                             content_type='text/plain'), 415, 'UNSUPPORTED_MEDIA_TYPE')
            self.assert_error(self.call_from(self.new_address(), path, raw=json.dumps({'identifier': ident}),
                                             content_type=None), 415, 'UNSUPPORTED_MEDIA_TYPE')
            # nginx and the app both cap these bodies at 8 KiB.
            self.assert_error(self.call_from(self.new_address(), path,
                                             {'identifier': ident, 'pad': 'x' * 9000}), 413, 'PAYLOAD_TOO_LARGE')
        for table in ('email_codes', 'email_outbox', 'email_identities'):
            self.assertEqual(self.rows(table, ident), 0, table)
        # A well-formed address that never asked: the one 401.
        self.assert_error(self.submit(ident, '000000'), 401, 'UNAUTHORIZED')

    def test_zz_no_code_in_any_log(self):
        """Last (by name): every code the tests received, searched for in
        every file under the stack's directory except the mail itself and
        the database's files."""
        self.login_code('lastone@example.com')
        self.assertGreater(len(self.codes_seen), 10)
        base = self.svc.st.base_dir
        skip = {os.path.abspath(self.svc.mail_dir), os.path.join(base, 'mariadb'), os.path.join(base, 'kms')}
        pattern = re.compile(rb'(?<![0-9A-Za-z.])(' + b'|'.join(c.encode() for c in self.codes_seen) + rb')(?![0-9A-Za-z.])')
        searched = 0
        for root, dirs, files in os.walk(base):
            dirs[:] = [d for d in dirs if os.path.join(root, d) not in skip]
            for name in files:
                path = os.path.join(root, name)
                if not os.path.isfile(path) or os.path.getsize(path) > 64 << 20:
                    continue
                with open(path, 'rb') as f:
                    data = f.read()
                searched += 1
                hit = pattern.search(data)
                self.assertIsNone(hit, f'a code appears in {path}')
        self.assertGreater(searched, 5)
        self.assertTrue(any(n.endswith('.log') for n in os.listdir(self.svc.st.log_dir)))


if __name__ == '__main__':
    unittest.main()
