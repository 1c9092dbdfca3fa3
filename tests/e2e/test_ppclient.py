# SPDX-License-Identifier: MIT
"""Self-checks of ppclient: the end-to-end tests trust it, so it is pinned to
published known answers and to tests/tools/svd_kat.py."""

import hashlib
import http.server
import json
import os
import subprocess
import sys
import threading
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ppclient as pp  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
SVD_KAT = os.path.join(HERE, '..', 'tools', 'svd_kat.py')


class Curve(unittest.TestCase):
    def test_generator_on_curve(self):
        self.assertTrue(pp.is_on_curve(pp.G))

    def test_small_multiples(self):
        # x of 2G is a widely published constant
        self.assertEqual(pp.point_mul(2)[0],
                         0xc6047f9441ed7d6d3045406e95c07cd85c778e4b8cef3ca7abac09b95c709ee5)
        self.assertEqual(pp.point_add(pp.point_mul(2), pp.G), pp.point_mul(3))
        self.assertEqual(pp.point_add(pp.G, pp.G), pp.point_mul(2))

    def test_order(self):
        self.assertIsNone(pp.point_mul(pp.N))
        self.assertEqual(pp.point_mul(pp.N - 1), pp.point_neg(pp.G))
        self.assertIsNone(pp.point_add(pp.G, pp.point_neg(pp.G)))

    def test_pubkey_of_one(self):
        self.assertEqual(pp.pubkey_hex(1),
                         '0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798')

    def test_parse_roundtrip(self):
        for k in (1, 2, 3, 0xdeadbeef, pp.N - 1):
            pt = pp.pubkey_point(k)
            self.assertEqual(pp.parse_pubkey(pp.serialize_pubkey(pt)), pt)
            self.assertEqual(pp.parse_pubkey(pp.serialize_pubkey(pt).hex()), pt)

    def test_parse_rejects(self):
        good = pp.serialize_pubkey(pp.G)
        off_curve = next(x for x in range(1, 100)
                         if pow((x ** 3 + 7) % pp.P, (pp.P - 1) // 2, pp.P) != 1)
        bad = [
            b'\x04' + good[1:],                           # not 02/03
            good[:-1],                                    # short
            good + b'\x00',                               # long
            b'\x02' + pp.P.to_bytes(32, 'big'),           # x == p
            b'\x02' + off_curve.to_bytes(32, 'big'),      # no y for this x
        ]
        for b in bad:
            with self.assertRaises(ValueError):
                pp.parse_pubkey(b)

    def test_private_key_range(self):
        for k in (0, pp.N):
            with self.assertRaises(ValueError):
                pp.pubkey_point(k)


class Hashes(unittest.TestCase):
    # The RIPEMD-160 authors' published test vectors.
    RMD = {
        b'': '9c1185a5c5e9fc54612808977ee8f548b2258d31',
        b'a': '0bdc9d2d256b3ee9daae347be6f4dc835a467ffe',
        b'abc': '8eb208f7e05d987a9b044a8e98c6b087f15a0bfc',
        b'message digest': '5d0689ef49d2fae572b881b123a85ffa21595f36',
        b'abcdefghijklmnopqrstuvwxyz': 'f71c27109c692c1b56bbdceb5b9d2865b3708dbc',
        b'abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq':
            '12a053384a9c0c88e405a06c27dcf49ada62eb2b',
        b'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789':
            'b0e20b6e3116640286ed3a87a5713079b21f5189',
        b'1234567890' * 8: '9b752e45573d4b39f4dbd3323cab82bf63326bfb',
    }

    def test_ripemd160_vectors(self):
        for msg, want in self.RMD.items():
            self.assertEqual(pp.ripemd160(msg).hex(), want, msg)

    def test_ripemd160_against_hashlib_if_present(self):
        try:
            hashlib.new('ripemd160')
        except ValueError:
            self.skipTest('hashlib has no ripemd160 here (vectors above still ran)')
        for n in range(0, 200, 7):
            data = bytes((i * 31 + n) & 0xff for i in range(n))
            self.assertEqual(pp.ripemd160(data), hashlib.new('ripemd160', data).digest())

    def test_hash160_of_key_one(self):
        self.assertEqual(pp.hash160(bytes.fromhex(pp.pubkey_hex(1))).hex(),
                         '751e76e8199196d454941c45d1b3a323f1433bd6')


class Addresses(unittest.TestCase):
    def test_key_one_main(self):
        self.assertEqual(pp.address_from_priv(1), '1BgGZ9tcN4rm9KBzDn7KprQz87SZ26SAMH')
        self.assertEqual(pp.p2pkh_address(pp.pubkey_hex(1)), '1BgGZ9tcN4rm9KBzDn7KprQz87SZ26SAMH')

    def test_key_one_test_network(self):
        addr = pp.address_from_priv(1, 'test')
        self.assertIn(addr[0], 'mn')
        self.assertEqual(pp.base58check_decode(addr)[0], 0x6f)
        self.assertEqual(pp.address_hash160(addr, 'test').hex(),
                         '751e76e8199196d454941c45d1b3a323f1433bd6')
        with self.assertRaises(ValueError):
            pp.address_hash160(addr, 'main')

    def test_base58_roundtrip_and_zeros(self):
        for data in (b'', b'\x00', b'\x00\x00\x01', b'\xff' * 10, os.urandom(25)):
            self.assertEqual(pp.base58_decode(pp.base58_encode(data)), data)
        self.assertEqual(pp.base58_encode(b'\x00\x00'), '11')

    def test_base58check_rejects(self):
        addr = pp.address_from_priv(1)
        broken = addr[:-1] + ('a' if addr[-1] != 'a' else 'b')
        with self.assertRaises(ValueError):
            pp.base58check_decode(broken)
        with self.assertRaises(ValueError):
            pp.base58_decode('0OIl')


class Ecdsa(unittest.TestCase):
    def test_rfc6979_vector(self):
        digest = pp.sha256(b'Satoshi Nakamoto')
        r, s = pp.sign_digest(1, digest)
        self.assertEqual(r, 0x934b1ea10a4b3c1757e2b0c017d0b6143ce3c9a7e6a4a49860d7a6ab210ee3d8)
        self.assertEqual(s, 0x2442ce9d2b916064108014783e923ec36b49743e2ffa1c4496f01a512aafd9e5)
        self.assertTrue(pp.verify_digest(pp.pubkey_point(1), digest, r, s))

    def test_deterministic_low_s_and_verifies(self):
        for k in (2, 0xabcdef, pp.N - 2, pp.random_privkey()):
            msg = b'patchproof %d' % (k % 1000)
            sig = pp.sign_message(k, msg)
            self.assertEqual(sig, pp.sign_message(k, msg))
            r, s = pp.der_decode(sig)
            self.assertLessEqual(s, pp.HALF_N)
            self.assertTrue(pp.verify_message(pp.pubkey_hex(k), msg, sig))
            self.assertFalse(pp.verify_message(pp.pubkey_hex(k), msg + b'!', sig))
            self.assertFalse(pp.verify_message(pp.pubkey_hex(k + 1), msg, sig))

    def test_high_s_rejected_by_default(self):
        digest = pp.sha256(b'x')
        sig = pp.sign_digest_der(7, digest)
        hi = pp.high_s_variant(sig)
        r, s = pp.der_decode(hi)
        self.assertGreater(s, pp.HALF_N)
        pub = pp.pubkey_point(7)
        self.assertFalse(pp.verify_digest(pub, digest, r, s))
        self.assertTrue(pp.verify_digest(pub, digest, r, s, allow_high_s=True))

    def test_der_roundtrip(self):
        for r, s in ((1, 1), (0x80, 0x7f), (pp.N - 1, 2 ** 255), (2 ** 248, 0x00ff)):
            self.assertEqual(pp.der_decode(pp.der_encode(r, s)), (r, s))

    def test_der_strictness(self):
        good = pp.der_encode(0x80, 5)
        self.assertEqual(good.hex(), '300702020080020105')
        bad = [
            '30070202008002',                # truncated
            '30080202008002010500',          # trailing byte inside the envelope
            '300802020080020105',            # envelope length wrong
            '310702020080020105',            # wrong tag
            '3006020180020105',              # negative r
            '300702020005020105',            # excess zero padding
            '3006020002020105',              # zero-length integer
            '',
        ]
        for h in bad:
            with self.assertRaises(ValueError, msg=h):
                pp.der_decode(h)


class Svd(unittest.TestCase):
    # Inputs of tests/tools/svd_kat.py.
    PMC_PRIV = int.from_bytes(hashlib.sha256(b'patchproof test pmc').digest(), 'big') % pp.N
    PMS = int.from_bytes(hashlib.sha256(b'patchproof test pms').digest(), 'big') % pp.N
    M = bytes.fromhex('0000000065f1a2b3') + bytes(range(16))
    # Its printed answers.
    WANT = {
        'PMC': '0225d2633575f9f23c455009ce6249c8f047f2d61a0027c5fa3ede0d679bfb380b',
        'PMSpub': '034fc6bdbd7520a0d211100fa2b5d87f2a769ff6f87df21d64398c37b08cd1d2ab',
        'V2C': '02848af607b5f0f0c121eb63fe8e14e99ec6e87d0038245a48b6af00ec40fdf7dc',
        'x': '0e177b610ad902e86a88ae66b5502063c342fff74c28f093031fa38783ad17ea',
        'S': '7c7c76bf81767d1e2d44d5c09473545ac9d0c8429856ee0bf9b2c48b34ad942d',
        'proof': '3665bbefba7eebfdf6b3a0ad6a100d56cdb899f34c33b02d4809a0a90f90fbb4',
    }

    def mine(self):
        pmc = pp.pubkey_point(self.PMC_PRIV)
        s = pp.svd_shared_secret(self.PMS, pmc, self.M)
        return {
            'PMC': pp.serialize_pubkey(pmc).hex(),
            'PMSpub': pp.pubkey_hex(self.PMS),
            'V2C': pp.serialize_pubkey(pp.svd_v2c(pmc, self.M)).hex(),
            'x': pp.svd_shared_x(self.PMS, pmc, self.M).hex(),
            'S': s.hex(),
            'proof': pp.svd_proof('alice', self.M, s),
        }

    def test_known_answers(self):
        self.assertEqual(self.mine(), self.WANT)

    def test_matches_reference_script(self):
        out = subprocess.run([sys.executable, SVD_KAT], capture_output=True, text=True,
                             check=True).stdout
        printed = dict(line.split(None, 1) for line in out.splitlines() if line.strip())
        mine = self.mine()
        for k in ('PMC', 'PMSpub', 'V2C', 'x', 'S', 'proof'):
            self.assertEqual(mine[k], printed[k].strip(), k)
        self.assertEqual(self.M.hex(), printed['M'].strip())

    def test_client_signature_verifies_against_v2c(self):
        m_hex = self.M.hex()
        sig = pp.svd_sign(self.PMC_PRIV, m_hex)
        v2c = pp.svd_v2c(pp.pubkey_hex(self.PMC_PRIV), m_hex)
        r, s = pp.der_decode(sig)
        self.assertLessEqual(s, pp.HALF_N)
        self.assertTrue(pp.verify_digest(v2c, pp.sha256(self.M), r, s))
        # ... and not against the bare PMC
        self.assertFalse(pp.verify_digest(pp.pubkey_point(self.PMC_PRIV), pp.sha256(self.M), r, s))

    def test_client_and_kms_agree_on_x(self):
        self.assertEqual(pp.svd_client_shared_x(self.PMC_PRIV, pp.pubkey_hex(self.PMS), self.M).hex(),
                         self.WANT['x'])

    def test_challenge_layout(self):
        m = pp.make_challenge(0x65f1a2b3, bytes(range(16)))
        self.assertEqual(m, self.M)
        self.assertEqual(len(pp.make_challenge()), 24)
        self.assertEqual(pp.svd_jti(self.M), hashlib.sha256(self.M).hexdigest())


class JsonAndJwt(unittest.TestCase):
    def test_canonical_json_escaping(self):
        obj = {'b': 1, 'a': 'é\n\t\x01/"\\\x7f', 'c': {'z': [], 'y': None}}
        self.assertEqual(pp.canonical_json(obj),
                         '{"a":"é\\n\\t\\u0001/\\"\\\\\x7f","b":1,"c":{"y":null,"z":[]}}')
        self.assertEqual(pp.canonical_json({'b': 1, 'a': 2}, sort_keys=False), '{"b":1,"a":2}')

    def test_jwt_public_example(self):
        # The well-known HS256 example token (jwt.io).
        token = pp.jwt_sign({'alg': 'HS256', 'typ': 'JWT'},
                            {'sub': '1234567890', 'name': 'John Doe', 'iat': 1516239022},
                            'your-256-bit-secret')
        self.assertEqual(token,
                         'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.'
                         'eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.'
                         'SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c')
        self.assertTrue(pp.jwt_verify(token, 'your-256-bit-secret'))
        self.assertFalse(pp.jwt_verify(token, 'another secret'))
        h, p, _ = pp.jwt_decode(token)
        self.assertEqual((h['alg'], p['sub']), ('HS256', '1234567890'))


class _Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def _send(self, status, ctype, body):
        self.send_response(status)
        self.send_header('Content-Type', ctype)
        self.send_header('X-Test', 'a')
        self.send_header('X-Test', 'b')
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path == '/json':
            self._send(200, 'application/json', b'{"ok":true}')
        elif self.path == '/text':
            self._send(200, 'text/plain', b'pong')
        else:
            self._send(404, 'application/json; charset=utf-8',
                       b'{"error":"NOT_FOUND","code":"NOT_FOUND","status":404}')

    def do_POST(self):
        n = int(self.headers.get('Content-Length', 0))
        echo = {'ctype': self.headers.get('Content-Type'), 'key': self.headers.get('x-api-key'),
                'auth': self.headers.get('Authorization'),
                'body': self.rfile.read(n).decode()}
        self._send(201, 'application/json', json.dumps(echo).encode())


class Http(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = http.server.ThreadingHTTPServer(('127.0.0.1', 0), _Handler)
        cls.base = 'http://127.0.0.1:%d' % cls.srv.server_address[1]
        cls.thread = threading.Thread(target=cls.srv.serve_forever, daemon=True)
        cls.thread.start()

    @classmethod
    def tearDownClass(cls):
        cls.srv.shutdown()
        cls.srv.server_close()

    def test_json_and_text(self):
        st, hdrs, body = pp.get(self.base + '/json')
        self.assertEqual((st, body), (200, {'ok': True}))
        self.assertEqual(hdrs['x-test'], 'a, b')
        self.assertEqual(pp.get(self.base + '/text')[::2], (200, 'pong'))

    def test_error_status_is_returned_not_raised(self):
        st, hdrs, body = pp.get(self.base + '/missing')
        self.assertEqual(st, 404)
        self.assertEqual(body['code'], 'NOT_FOUND')

    def test_post_body_and_headers(self):
        c = pp.Client(self.base, api_key='k1', token='t1')
        st, _, body = c.call('POST', '/x', {'a': 'é'}, jwt=True)
        self.assertEqual(st, 201)
        self.assertEqual(body, {'ctype': 'application/json', 'key': 'k1',
                                'auth': 'Bearer t1', 'body': '{"a":"é"}'})
        st, _, body = pp.post(self.base + '/x', raw=b'{', content_type=None)
        self.assertEqual((body['ctype'], body['body']), (None, '{'))


if __name__ == '__main__':
    unittest.main()
