# SPDX-License-Identifier: MIT
"""Unknown fields through nginx against the real service (issue 7 defect 1).

module/http/body.cpp used to cut an unknown key's name to 64 bytes for the
error detail; a cut through a UTF-8 character made the detail unbuildable,
nothing was recorded, and the body was accepted: POST /v1/patches with a
metadata key of 63 'a' + 'é' and a 200 KB value answered 202 and queued the
field for the chain. Any unknown field, at any depth, with any name JSON can
carry, must be 400 VALIDATION_ERROR and change nothing.
"""
import json
import secrets
import unittest

from service import ServiceStack
from stackcase import StackCase
import ppclient as pc

NET = 'test'
G = '0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798'

# Names as JSON text (escapes allowed): each is unknown wherever it is put.
ODD_NAMES = [
    'a' * 63 + '\\u00e9',            # the reported cut through a 2-byte character
    'b' * 62 + '\\u20ac',            # 3-byte character across byte 64
    'c' * 61 + '\\ud83d\\ude00',     # 4-byte character (surrogate pair) across byte 64
    'd' * 1000,
    '',
    '\\u0001\\u001f',
    '\\"\\\\',
    'notes ',                        # a known name plus a space
    'Notes',
    'k\\u2028\\u2029',
    '\u00e9\u00e9\u00e9',              # raw UTF-8 in the body
    '\x7f',                            # raw DEL, legal unescaped in JSON
]


class UnknownFields(StackCase):

    prefix = 'pp-validation-'

    @classmethod
    def make_stack(cls, base_dir):
        return ServiceStack(base_dir, pools=1, workers=2)

    def counts(self):
        out = self.svc.st.sql('SELECT COUNT(*) FROM pending_records; SELECT COUNT(*) FROM jobs;',
                              database=self.svc.st.db_env['DB_NAME'])
        return [int(x) for x in out.split()]

    def registration(self):
        owner = pc.p2pkh_address(pc.pubkey_hex(pc.random_privkey()), NET)
        return {'product': {'uid_tag_id': 'NFC:04:' + secrets.token_hex(6), 'name': 'Jacket'},
                'metadata': {'notes': 'first run'},
                'auth': {'owner': owner}}

    def post_raw(self, path, text, jwt=False):
        return self.c.call('POST', path, raw=text.encode(), jwt=jwt)

    def assertRefused(self, resp, where):
        st, _, body = resp
        self.assertEqual(st, 400, f'{where}: {body}')
        self.assertIsInstance(body, dict, where)
        self.assertEqual(body.get('code'), 'VALIDATION_ERROR', f'{where}: {body}')
        fields = [d.get('field') for d in body.get('details', []) if isinstance(d, dict)]
        self.assertTrue(fields, f'{where}: no details: {body}')
        for f in fields:
            self.assertLessEqual(len(f.encode()), 256, where)

    def test_reported_request_is_refused_and_queues_nothing(self):
        body = self.registration()
        # Control: the same body without the extra key is accepted.
        st, _, out = self.c.call('POST', '/v1/patches', body)
        self.assertEqual(st, 202, out)

        before = self.counts()
        body = self.registration()
        name = 'a' * 63 + '\u00e9'
        body['metadata'][name] = 'x' * 200_000
        st, _, out = self.c.call('POST', '/v1/patches', body)
        self.assertRefused((st, None, out), 'metadata key 63a+é')
        self.assertIn({'field': 'metadata.' + 'a' * 63, 'issue': 'unknown field'}, out['details'])
        self.assertEqual(self.counts(), before, 'a refused registration created rows')

    def test_reserved_uids_are_refused(self):
        # The routes read these as path words (DESIGN.md §3 Patches).
        before = self.counts()
        for uid in ('verify', 'pending', 'proof', 'TAG-1.pdf', 'TAG-2.PDF'):
            body = self.registration()
            body['product']['uid_tag_id'] = uid
            st, _, out = self.c.call('POST', '/v1/patches', body)
            self.assertRefused((st, None, out), uid)
            self.assertIn('product.uid_tag_id', [d.get('field') for d in out['details']], uid)
        self.assertEqual(self.counts(), before, 'a reserved uid created rows')
        body = self.registration()
        body['product']['uid_tag_id'] = 'proofs.pdf1'
        st, _, out = self.c.call('POST', '/v1/patches', body)
        self.assertEqual(st, 202, out)

    def test_odd_names_at_every_depth_of_a_registration(self):
        before = self.counts()
        base = json.dumps(self.registration(), separators=(',', ':'))
        for name in ODD_NAMES:
            for where in ('', 'product', 'metadata', 'auth'):
                doc = json.loads(base)
                doc['product']['uid_tag_id'] = 'NFC:04:' + secrets.token_hex(6)
                text = json.dumps(doc, ensure_ascii=False, separators=(',', ':'))
                # Insert the raw JSON name text as the first member of the object.
                anchor = '{' if not where else f'"{where}":{{'
                at = text.index(anchor) + len(anchor)
                text = text[:at] + f'"{name}":"v",' + text[at:]
                self.assertRefused(self.post_raw('/v1/patches', text), f'{where or "top"} / {name[:20]!r}')
        self.assertEqual(self.counts(), before, 'a refused registration created rows')

    def test_nested_unknown_names_on_other_routes(self):
        intent = {'uid': 'NFC:04:' + secrets.token_hex(6),
                  'customer': {'address': pc.p2pkh_address(G, NET), 'userId': 'bob', 'pubKey': G},
                  'challenge': {'ts': 1700000000000, 'nonce': 'abcdef12'},
                  'signature': '3006020101020101'}
        base = json.dumps(intent, separators=(',', ':'))
        for name in ODD_NAMES[:3]:
            for where in ('customer', 'challenge'):
                anchor = f'"{where}":{{'
                at = base.index(anchor) + len(anchor)
                text = base[:at] + f'"{name}":{{"deeper":[1]}},' + base[at:]
                self.assertRefused(self.post_raw('/v1/pos/claim-intent', text), f'claim-intent {where}')
        user = 'u_' + secrets.token_hex(6)
        text = json.dumps({'userId': user, 'pmcHex': G})[:-1] + ',"' + ODD_NAMES[0] + '":1}'
        self.assertRefused(self.post_raw('/api/svd/register', text), 'svd register')
        st, _, out = self.c.svd_begin(user)
        self.assertNotEqual(out.get('pmcHex') if isinstance(out, dict) else None, G,
                            'a refused SVD registration was stored')


if __name__ == '__main__':
    unittest.main()
