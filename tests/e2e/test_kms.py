# SPDX-License-Identifier: MIT
"""patchproof-kms end to end: keys made by `patchproof kms keygen` in a temp
keystore, the real KMS (prefork FastCGI) behind a real nginx listener on
127.0.0.1, and every answer checked with the independent maths of ppclient:
signatures verify and are strict DER and low-S, the SVD shared secret equals
the client-side computation, auth/validation/media-type errors have the one
contract shape, each client's token does only what its scopes in
KMS_CLIENTS_FILE allow (403 otherwise), and nothing secret reaches the KMS
log."""

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(SOURCE, 'scripts'))
sys.path.insert(0, HERE)

import assemble  # noqa: E402
import stack  # noqa: E402
import ppclient as pc  # noqa: E402

BUILD = os.environ.get('PP_BUILD_DIR', os.path.join(SOURCE, 'build'))


def binary(name):
    path = os.path.join(BUILD, name)
    if not os.access(path, os.X_OK):
        raise RuntimeError(f'{name} is not built in {BUILD}')  # a failure, never a skip
    return path


ERROR_KEYS = {'error', 'code', 'message', 'status'}

# The fixture's own client for the contract tests below: every use.
ALL_SCOPES = [{'use': 'sign', 'label': label} for label in assemble.KEY_LABELS] + [
    {'use': 'derive', 'label': 'svd'}, {'use': 'read'}]


class KmsEndToEnd(unittest.TestCase):
    # -- fixture: one KMS + nginx for the whole class
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix='pp-kms-e2e-')
        cls.st = stack.Stack(cls.tmp, build_dir=BUILD, source_dir=SOURCE)
        cls.api_key = os.urandom(32).hex()
        cls.master_key = os.urandom(32).hex()
        cls.keystore = os.path.join(cls.tmp, 'kms', 'keystore.json')
        os.makedirs(os.path.dirname(cls.keystore))
        # The roles' tokens and scopes exactly as make run and the harness
        # write them, plus one client for the contract tests.
        cls.tokens = {role: os.urandom(32).hex() for role in assemble.KMS_SCOPES}
        doc = assemble.kms_clients_doc(cls.tokens)
        doc['clients'].append({'name': 'all', 'tokenSha256': hashlib.sha256(cls.api_key.encode()).hexdigest(),
                               'scopes': ALL_SCOPES})
        cls.clients_file = os.path.join(cls.tmp, 'kms', 'clients.json')
        with open(cls.clients_file, 'w') as f:
            json.dump(doc, f)
        cls.secrets_seen = []  # every sharedSecretHex we received, checked against the log
        try:
            cls.keys = {label: cls.keygen(label) for label in ('issuer', 'svd', 'funding', 'change')}
            cls.sock = os.path.join(cls.st.run_dir, 'kms.sock')
            cls.st.start_process('kms', [binary('patchproof-kms'), '--listen', cls.sock,
                                         '--workers', '2'],
                                 env=cls.kms_env(), wait_for=cls.sock)
            cls.st.start_nginx(upstreams=[], kms_upstreams=[cls.sock])
            cls.url = f'http://127.0.0.1:{cls.st.port("kms")}'
        except Exception:
            cls.st.stop_all()
            shutil.rmtree(cls.tmp, ignore_errors=True)
            raise

    @classmethod
    def tearDownClass(cls):
        cls.st.stop_all()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    @classmethod
    def kms_env(cls, **over):
        env = {'KMS_CLIENTS_FILE': cls.clients_file, 'KMS_KEYSTORE': cls.keystore,
               'KMS_MASTER_KEY': cls.master_key}
        env.update(over)
        return env

    @classmethod
    def keygen(cls, label):
        env = {k: v for k, v in os.environ.items() if not k.startswith('KMS_')}
        env.update(cls.kms_env())
        r = subprocess.run([binary('patchproof'), 'kms', 'keygen', '--label', label,
                            '--keystore', cls.keystore],
                           env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           timeout=60)
        if r.returncode != 0:
            raise RuntimeError(f'keygen failed: {r.stderr}')
        out = json.loads(r.stdout.strip())
        assert set(out) == {'label', 'keyIdentifier', 'addressMain', 'addressTest'}, out
        return out

    # -- helpers
    def call(self, method, path, body=None, auth=True, **kw):
        headers = dict(kw.pop('headers', {}) or {})
        if auth is True:
            headers['Authorization'] = 'Bearer ' + self.api_key
        elif isinstance(auth, str):
            headers['Authorization'] = auth
        return pc.request(method, self.url + path, body=body, headers=headers, **kw)

    def assert_error(self, resp, status, code):
        st, headers, data = resp
        self.assertEqual(st, status, data)
        self.assertIn('application/json', headers.get('content-type', ''))
        self.assertIsInstance(data, dict, data)
        self.assertTrue(ERROR_KEYS <= set(data), data)
        self.assertEqual(data['error'], code)
        self.assertEqual(data['code'], code)
        self.assertEqual(data['status'], status)
        if 'details' in data:
            self.assertIsInstance(data['details'], list)
        return data

    def sign(self, requests, **kw):
        return self.call('POST', '/sign', {'requests': requests}, **kw)

    # -- health and keys
    def test_health_needs_no_auth(self):
        st, headers, data = self.call('GET', '/health', auth=False)
        self.assertEqual(st, 200)
        self.assertEqual(data, {'status': 'ok'})
        self.assertTrue(headers.get('x-request-id'))

    def test_keys_lists_generated_keys(self):
        st, _, data = self.call('GET', '/keys')
        self.assertEqual(st, 200, data)
        by_id = {k['keyIdentifier']: k for k in data['keys']}
        for label, made in self.keys.items():
            k = by_id[made['keyIdentifier']]
            self.assertEqual(set(k), {'label', 'keyIdentifier', 'addressMain', 'addressTest', 'createdAt'})
            self.assertEqual(k['label'], label)
            self.assertEqual(k['addressMain'], made['addressMain'])
            self.assertEqual(k['addressTest'], made['addressTest'])
            # Independent check of the addresses from the public key.
            pub = bytes.fromhex(k['keyIdentifier'])
            self.assertEqual(k['addressMain'], pc.p2pkh_address(pub, 'main'))
            self.assertEqual(k['addressTest'], pc.p2pkh_address(pub, 'test'))
            self.assertRegex(k['createdAt'], r'^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$')
        self.assertNotIn('sealed', json.dumps(data))

    def test_keygen_while_running_takes_effect(self):
        made = self.keygen('funding')
        st, _, data = self.call('GET', '/keys')
        self.assertEqual(st, 200)
        self.assertIn(made['keyIdentifier'], [k['keyIdentifier'] for k in data['keys']])
        digest = os.urandom(32)
        # Both workers must see it (one request may not reach both: ask a few times).
        for _ in range(4):
            st, _, data = self.sign([{'keyIdentifier': made['keyIdentifier'], 'sighash': digest.hex()}])
            self.assertEqual(st, 200, data)
            sig = data['signatures'][0]
            r, s = pc.der_decode(sig['signatureHex'])
            self.assertTrue(pc.verify_digest(made['keyIdentifier'], digest, r, s))

    # -- /sign
    def test_sign_returns_strict_der_low_s_that_verifies(self):
        issuer = self.keys['issuer']['keyIdentifier']
        svd = self.keys['svd']['keyIdentifier']
        digests = [os.urandom(32) for _ in range(5)] + [b'\x00' * 32, b'\xff' * 32]
        reqs = [{'keyIdentifier': issuer if i % 2 == 0 else svd.upper(), 'sighash': d.hex()}
                for i, d in enumerate(digests)]
        st, headers, data = self.sign(reqs)
        self.assertEqual(st, 200, data)
        self.assertEqual(set(data), {'signatures'})
        self.assertEqual(len(data['signatures']), len(reqs))
        for req, d, sig in zip(reqs, digests, data['signatures']):
            self.assertEqual(set(sig), {'signatureHex', 'pubKeyHex'})
            self.assertEqual(sig['pubKeyHex'], req['keyIdentifier'].lower())
            self.assertEqual(sig['signatureHex'], sig['signatureHex'].lower())
            r, s = pc.der_decode(sig['signatureHex'])  # raises unless strict DER
            self.assertLessEqual(s, pc.HALF_N)
            self.assertTrue(pc.verify_digest(sig['pubKeyHex'], d, r, s))
            # Minimal encoding: re-encoding (r, s) gives the same bytes.
            self.assertEqual(pc.der_encode(r, s).hex(), sig['signatureHex'])

    def test_sign_is_deterministic(self):
        req = [{'keyIdentifier': self.keys['issuer']['keyIdentifier'], 'sighash': '11' * 32}]
        a = self.sign(req)[2]['signatures'][0]['signatureHex']
        b = self.sign(req)[2]['signatures'][0]['signatureHex']
        self.assertEqual(a, b)

    def test_sign_unknown_key_is_403(self):
        # An unknown key is one no token may use: the answer names no field.
        unknown = pc.pubkey_hex(pc.random_privkey())
        reqs = [{'keyIdentifier': self.keys['issuer']['keyIdentifier'], 'sighash': '22' * 32},
                {'keyIdentifier': unknown, 'sighash': '22' * 32}]
        data = self.assert_error(self.sign(reqs), 403, 'FORBIDDEN')
        self.assertNotIn('details', data)
        self.assertNotIn('signatures', data)

    def test_sign_validation(self):
        kid = self.keys['issuer']['keyIdentifier']
        bad_bodies = [
            {'requests': [{'keyIdentifier': kid, 'sighash': 'zz' * 32}]},
            {'requests': [{'keyIdentifier': kid, 'sighash': '00' * 31}]},
            {'requests': [{'keyIdentifier': kid[:-2], 'sighash': '00' * 32}]},
            {'requests': [{'keyIdentifier': kid, 'sighash': '00' * 32, 'extra': 1}]},
            {'requests': [{'keyIdentifier': kid}]},
            {'requests': [{'keyIdentifier': kid, 'sighash': 5}]},
            {'requests': [kid]},
            {'requests': []},
            {'requests': [{'keyIdentifier': kid, 'sighash': '00' * 32}] * 65},
            {'requests': {}},
            {'requests': [{'keyIdentifier': kid, 'sighash': '00' * 32}], 'unknown': True},
            {},
        ]
        for body in bad_bodies:
            with self.subTest(body=str(body)[:80]):
                data = self.assert_error(self.call('POST', '/sign', body), 400, 'VALIDATION_ERROR')
                self.assertTrue(data.get('details'))
        self.assert_error(self.call('POST', '/sign', raw='{"requests": ['), 400, 'VALIDATION_ERROR')
        self.assert_error(self.call('POST', '/sign', raw='[]'), 400, 'VALIDATION_ERROR')
        # The upper limit itself is fine.
        st, _, data = self.sign([{'keyIdentifier': kid, 'sighash': '%064x' % i} for i in range(64)])
        self.assertEqual(st, 200, data)
        self.assertEqual(len(data['signatures']), 64)

    # -- /svd/derive-secret
    def derive(self, m, pmc_hex, **kw):
        return self.call('POST', '/svd/derive-secret', {'Mhex': m.hex(), 'pmcHex': pmc_hex}, **kw)

    def test_derive_secret_matches_client_side(self):
        pms_pub = bytes.fromhex(self.keys['svd']['keyIdentifier'])
        kid = 'svd-' + hashlib.sha256(self.keys['svd']['keyIdentifier'].encode()).hexdigest()[:16]
        for _ in range(3):
            pmc_priv = pc.random_privkey()
            pmc = bytes.fromhex(pc.pubkey_hex(pmc_priv))
            m = pc.make_challenge()
            st, headers, data = self.derive(m, pmc.hex().upper())
            self.assertEqual(st, 200, data)
            self.assertEqual(set(data), {'sharedSecretHex', 'kid'})
            self.assertEqual(data['kid'], kid)
            self.assertIn('no-store', headers.get('cache-control', ''))
            x = pc.svd_client_shared_x(pmc_priv, pms_pub, m)
            expect = pc.hk(pc.sha256(pms_pub + pmc + m), x, b'SVD-Session')
            self.assertEqual(data['sharedSecretHex'], expect.hex())
            self.secrets_seen.append(data['sharedSecretHex'])

    def test_derive_validation(self):
        pmc = pc.pubkey_hex(pc.random_privkey())
        m = pc.make_challenge().hex()
        not_on_curve = '02' + '00' * 31 + '05'   # x = 5: x^3 + 7 = 132 is not a square mod p
        x_too_big = '02' + 'ff' * 32            # x >= p
        uncompressed = '04' + '11' * 64
        bad_bodies = [
            {'Mhex': m, 'pmcHex': not_on_curve},
            {'Mhex': m, 'pmcHex': x_too_big},
            {'Mhex': m, 'pmcHex': uncompressed},
            {'Mhex': m, 'pmcHex': '05' + pmc[2:]},
            {'Mhex': m, 'pmcHex': pmc[:-1]},
            {'Mhex': m[:-2], 'pmcHex': pmc},
            {'Mhex': 'g' * 48, 'pmcHex': pmc},
            {'Mhex': m, 'pmcHex': pmc, 'userId': 'x'},
            {'Mhex': m},
            {'pmcHex': pmc},
            {'Mhex': 1, 'pmcHex': pmc},
        ]
        for body in bad_bodies:
            with self.subTest(body=str(body)[:80]):
                self.assert_error(self.call('POST', '/svd/derive-secret', body), 400, 'VALIDATION_ERROR')

    # -- auth, media type, routing, limits
    def test_missing_or_wrong_bearer_is_401(self):
        kid = self.keys['issuer']['keyIdentifier']
        body = {'requests': [{'keyIdentifier': kid, 'sighash': '00' * 32}]}
        wrong = [False, 'Bearer ' + 'a' * 64, 'Bearer ' + self.api_key[:-1],
                 'Bearer ' + self.api_key + 'x', 'Basic ' + self.api_key, self.api_key, 'Bearer ']
        for auth in wrong:
            with self.subTest(auth=str(auth)[:10]):
                resp = self.call('POST', '/sign', body, auth=auth)
                self.assert_error(resp, 401, 'UNAUTHORIZED')
                self.assertEqual(resp[1].get('www-authenticate'), 'Bearer')
                self.assert_error(self.call('GET', '/keys', auth=auth), 401, 'UNAUTHORIZED')
                self.assert_error(self.derive(pc.make_challenge(), pc.pubkey_hex(1), auth=auth),
                                  401, 'UNAUTHORIZED')
        # Authentication comes before validation: a bad body without a key is 401.
        self.assert_error(self.call('POST', '/sign', {'nonsense': 1}, auth=False), 401, 'UNAUTHORIZED')
        self.assert_error(self.call('POST', '/sign', raw='x', content_type='text/plain', auth=False),
                          401, 'UNAUTHORIZED')
        # The scheme is case-insensitive.
        st, _, _ = self.call('GET', '/keys', auth='bearer ' + self.api_key)
        self.assertEqual(st, 200)

    def test_wrong_content_type_is_415(self):
        body = json.dumps({'requests': [{'keyIdentifier': self.keys['issuer']['keyIdentifier'],
                                         'sighash': '00' * 32}]})
        for ctype in ('text/plain', 'application/x-www-form-urlencoded', 'application/json; charset=latin1',
                      None):
            with self.subTest(ctype=ctype):
                self.assert_error(self.call('POST', '/sign', raw=body, content_type=ctype),
                                  415, 'UNSUPPORTED_MEDIA_TYPE')
        st, _, _ = self.call('POST', '/sign', raw=body, content_type='Application/JSON; charset=UTF-8')
        self.assertEqual(st, 200)

    def test_routing_errors(self):
        self.assert_error(self.call('GET', '/nope'), 404, 'NOT_FOUND')
        resp = self.call('GET', '/sign')
        self.assert_error(resp, 405, 'METHOD_NOT_ALLOWED')
        self.assertEqual(resp[1].get('allow'), 'POST')

    def test_body_over_64k_is_413(self):
        big = '{"requests":[' + ','.join(['{"keyIdentifier":"%s","sighash":"%s"}' % ('02' * 33, '00' * 32)] * 700) + ']}'
        self.assertGreater(len(big), 64 * 1024)
        self.assert_error(self.call('POST', '/sign', raw=big), 413, 'PAYLOAD_TOO_LARGE')

    # -- start-up refusals (the process exits before listening)
    def run_kms(self, env, timeout=20):
        base = {k: v for k, v in os.environ.items() if not k.startswith('KMS_')}
        base.update(env)
        sock = os.path.join(self.tmp, 'refused.sock')
        return subprocess.run([binary('patchproof-kms'), '--listen', sock, '--workers', '1'],
                              env=base, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              timeout=timeout)

    def write_clients(self, name, text):
        path = os.path.join(self.tmp, name)
        with open(path, 'w') as f:
            f.write(text)
        return path

    def test_refuses_bad_configuration(self):
        cases = [
            ({'KMS_KEYSTORE': self.keystore, 'KMS_MASTER_KEY': self.master_key}, 'KMS_CLIENTS_FILE'),
            (self.kms_env(KMS_CLIENTS_FILE=os.path.join(self.tmp, 'absent.json')), 'KMS_CLIENTS_FILE'),
            # The one shared key of old is refused rather than half-honoured.
            (self.kms_env(KMS_API_KEY=self.api_key), 'KMS_API_KEY'),
            (self.kms_env(KMS_MASTER_KEY='00' * 31), 'KMS_MASTER_KEY'),
            (self.kms_env(KMS_MASTER_KEY=os.urandom(32).hex()), 'wrong master key'),
            ({'KMS_CLIENTS_FILE': self.clients_file, 'KMS_MASTER_KEY': self.master_key}, 'KMS_KEYSTORE'),
        ]
        for env, needle in cases:
            with self.subTest(needle=needle):
                r = self.run_kms(env)
                self.assertNotEqual(r.returncode, 0)
                self.assertIn(needle, r.stdout)
                for value in (self.api_key, self.master_key, env.get('KMS_MASTER_KEY', '-' * 64)):
                    self.assertNotIn(value, r.stdout)

    def test_malformed_clients_file_refuses_start(self):
        good = hashlib.sha256(b'some token').hexdigest()

        def doc(*clients):
            return json.dumps({'clients': list(clients)})
        bad = {
            'not json': '{"clients": [',
            'empty': doc(),
            'no scopes': doc({'name': 'a', 'tokenSha256': good, 'scopes': []}),
            'short hash': doc({'name': 'a', 'tokenSha256': good[:-2], 'scopes': [{'use': 'read'}]}),
            'plain token': doc({'name': 'a', 'token': 'some token', 'scopes': [{'use': 'read'}]}),
            'unknown use': doc({'name': 'a', 'tokenSha256': good, 'scopes': [{'use': 'write'}]}),
            'sign without label': doc({'name': 'a', 'tokenSha256': good, 'scopes': [{'use': 'sign'}]}),
            'one token, two clients': doc({'name': 'a', 'tokenSha256': good, 'scopes': [{'use': 'read'}]},
                                          {'name': 'b', 'tokenSha256': good, 'scopes': [{'use': 'read'}]}),
        }
        for what, text in bad.items():
            with self.subTest(what=what):
                r = self.run_kms(self.kms_env(KMS_CLIENTS_FILE=self.write_clients('bad.json', text)))
                self.assertNotEqual(r.returncode, 0, r.stdout)
                self.assertIn('KMS_CLIENTS_FILE', r.stdout)
                self.assertNotIn(good, r.stdout)

    # -- scopes: each role's token does its own work only
    def role(self, name):
        return 'Bearer ' + self.tokens[name]

    def sign_as(self, role, *labels):
        reqs = [{'keyIdentifier': self.keys[label]['keyIdentifier'], 'sighash': os.urandom(32).hex()}
                for label in labels]
        return self.sign(reqs, auth=self.role(role))

    def derive_as(self, role):
        return self.derive(pc.make_challenge(), pc.pubkey_hex(pc.random_privkey()), auth=self.role(role))

    def test_api_token_signs_issuer_and_derives_only(self):
        st, _, data = self.sign_as('api', 'issuer')
        self.assertEqual(st, 200, data)
        st, _, data = self.derive_as('api')
        self.assertEqual(st, 200, data)
        self.assertEqual(self.call('GET', '/keys', auth=self.role('api'))[0], 200)
        for labels in (('funding',), ('change',), ('svd',), ('issuer', 'funding'), ('change', 'issuer')):
            with self.subTest(labels=labels):
                data = self.assert_error(self.sign_as('api', *labels), 403, 'FORBIDDEN')
                self.assertNotIn('signatures', data)

    def test_worker_token_signs_funding_and_change_only(self):
        st, _, data = self.sign_as('worker', 'funding', 'change')
        self.assertEqual(st, 200, data)
        self.assertEqual(len(data['signatures']), 2)
        self.assertEqual(self.call('GET', '/keys', auth=self.role('worker'))[0], 200)
        for labels in (('issuer',), ('svd',), ('funding', 'issuer')):
            with self.subTest(labels=labels):
                self.assert_error(self.sign_as('worker', *labels), 403, 'FORBIDDEN')
        self.assert_error(self.derive_as('worker'), 403, 'FORBIDDEN')

    def test_admin_token_reads_only(self):
        st, _, data = self.call('GET', '/keys', auth=self.role('admin'))
        self.assertEqual(st, 200, data)
        self.assertTrue(data['keys'])
        for label in assemble.KEY_LABELS:
            with self.subTest(label=label):
                self.assert_error(self.sign_as('admin', label), 403, 'FORBIDDEN')
        self.assert_error(self.derive_as('admin'), 403, 'FORBIDDEN')

    def test_provision_token_cannot_read_sign_or_derive(self):
        self.assert_error(self.call('GET', '/keys', auth=self.role('provision')), 403, 'FORBIDDEN')
        self.assert_error(self.sign_as('provision', 'issuer'), 403, 'FORBIDDEN')
        self.assert_error(self.derive_as('provision'), 403, 'FORBIDDEN')

    def test_sign_token_cannot_probe_which_keys_exist(self):
        # A key outside the worker's scopes and a key that does not exist get the same answer.
        outside = self.sign_as('worker', 'issuer')
        missing = self.sign([{'keyIdentifier': pc.pubkey_hex(pc.random_privkey()), 'sighash': '33' * 32}],
                            auth=self.role('worker'))
        self.assertEqual(outside[0], 403, outside[2])
        self.assertEqual(missing[0], outside[0], missing[2])
        self.assertEqual(missing[2], outside[2])

    def test_scope_is_checked_before_the_body(self):
        # A token without any signing scope learns nothing about /sign's schema.
        self.assert_error(self.call('POST', '/sign', {'nonsense': 1}, auth=self.role('admin')),
                          403, 'FORBIDDEN')
        self.assert_error(self.call('POST', '/svd/derive-secret', {'x': 1}, auth=self.role('worker')),
                          403, 'FORBIDDEN')

    def test_unknown_token_is_401(self):
        for auth in ('Bearer ' + os.urandom(32).hex(),
                     'Bearer ' + hashlib.sha256(self.tokens['worker'].encode()).hexdigest()):
            with self.subTest(auth=auth[:12]):
                resp = self.sign([{'keyIdentifier': self.keys['funding']['keyIdentifier'],
                                   'sighash': '00' * 32}], auth=auth)
                self.assert_error(resp, 401, 'UNAUTHORIZED')
                self.assert_error(self.call('GET', '/keys', auth=auth), 401, 'UNAUTHORIZED')

    # -- runs last (alphabetical order): the log saw everything above
    def test_zz_log_has_no_secrets(self):
        # Make sure at least one derive happened in this process.
        if not self.secrets_seen:
            self.test_derive_secret_matches_client_side()
        time.sleep(0.2)
        log = self.st.logs('kms')
        self.assertTrue(log)
        needles = [self.api_key, self.master_key, self.api_key.upper(), self.master_key.upper()]
        needles += list(self.tokens.values()) + [t.upper() for t in self.tokens.values()]
        needles += self.secrets_seen
        for n in needles:
            self.assertNotIn(n, log)
        # No request body either: no challenge, no sighash, no pmc.
        self.assertNotIn('11' * 32, log)
        self.assertNotIn('sharedSecretHex', log)
        requests = []
        for line in log.splitlines():
            if not line.startswith('{'):
                continue
            entry = json.loads(line)  # every line our process writes is JSON
            if entry.get('msg') == 'request':
                requests.append(entry)
        self.assertTrue(requests)
        routes = {e['route'] for e in requests}
        self.assertTrue({'/sign', '/keys', '/svd/derive-secret', '/health'} <= routes, routes)
        for e in requests:
            for field in ('route', 'status', 'latency_ms', 'request_id', 'method'):
                self.assertIn(field, e)


if __name__ == '__main__':
    unittest.main()
