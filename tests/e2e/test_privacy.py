# SPDX-License-Identifier: MIT
"""Privacy export and delete (DESIGN.md §3 "Privacy") against the real stack:
two patchproof-fcgi pools (two "hosts") behind nginx, each also reachable on
a port of its own, MariaDB, memcached and the KMS. SVD users register and
log in through the real routes; their claim intents are made through the
real point-of-sale routes (the patch's confirmation is the worker stand-in
of patches_common.py). Email subjects get tokens minted here with the
stack's JWT_SECRET in the shape the email login issues, and their identity,
code and outbox rows are written to MariaDB with the real schema (the email
routes are not part of this suite)."""
import secrets
import time
import unittest

import ppclient as pc
from patches_common import PatchStack, claim_message, new_owner, q, sign_hex
from service import ServiceStack, pinned_servers, stackmod
from svd_common import new_user

ISO_MS = r'^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$'
REMOVED_KEYS = ['svdRegistration', 'claimIntentsAnonymised', 'emailIdentity', 'emailCodes', 'emailOutbox']


def new_address():
    return f'p_{secrets.token_hex(5)}@example.test'


class Privacy(PatchStack):
    prefix = 'pp-privacy-'

    @classmethod
    def make_stack(cls, base_dir):
        cls.pool_ports = [stackmod.free_port() for _ in range(2)]
        svc = ServiceStack(base_dir, pools=2, workers=2)
        svc.extra_servers = pinned_servers([(cls.pool_ports[i], svc.pool_socket(i)) for i in range(2)])
        return svc

    @classmethod
    def stack_ready(cls):
        super().stack_ready()
        cls.pool_urls = [f'http://127.0.0.1:{p}' for p in cls.pool_ports]
        st, _, body = cls.c.call('GET', '/api/svd/kid', key=False)
        assert st == 200, body
        cls.kid = body['kid']

    # ------------------------------------------------------------ helpers
    def as_token(self, token, pool=None):
        """A client without the API key, sending `token` (None: no header)."""
        return pc.Client(self.pool_urls[pool] if pool is not None else self.svc.base_url, token=token)

    def export(self, token, pool=None):
        return self.as_token(token, pool).call('GET', '/v1/privacy/export', jwt=True)

    def delete(self, token, pool=None, **kw):
        return self.as_token(token, pool).call('DELETE', '/v1/privacy/delete', jwt=True, **kw)

    def svd_user(self):
        """A registered, logged-in SVD user: (userId, key, pmcHex, token)."""
        user, priv = new_user(), pc.random_privkey()
        pmc = pc.pubkey_hex(priv)
        st, _, body = self.c.svd_register(user, pmc)
        self.assertEqual(st, 201, body)
        return user, priv, pmc, self.svc.client().svd_login(user, priv)

    def mint(self, sub, iat, ttl=900, email=False):
        """A token as the service issues them: SVD shape (cnf bound to jti)
        or email shape (random jti, amr otp, no cnf)."""
        jti = secrets.token_hex(16 if email else 32)
        payload = {'sub': sub, 'jti': jti, 'iat': iat, 'nbf': iat - 30, 'exp': iat + ttl}
        if email:
            payload['amr'] = ['otp']
        else:
            payload['cnf'] = {'msha256': jti, 'svd_proof': secrets.token_hex(32)}
        return pc.jwt_sign({'alg': 'HS256', 'typ': 'JWT', 'kid': self.kid}, payload, self.svc.jwt_secret)

    def claim_intent(self, uid, user):
        """A claim intent naming `user` as the customer, through the POS route."""
        priv, pub, addr = new_owner()
        ts, nonce = int(time.time() * 1000), secrets.token_hex(8)
        body = {'uid': uid, 'customer': {'address': addr, 'userId': user, 'pubKey': pub},
                'challenge': {'ts': ts, 'nonce': nonce},
                'signature': sign_hex(priv, claim_message(uid, addr, ts, nonce))}
        st, _, intent = self.anon.call('POST', '/v1/pos/claim-intent', body)
        self.assertEqual(st, 201, intent)
        return {'id': intent['id'], 'address': addr, 'pubKey': pub, 'ts': ts, 'nonce': nonce, 'uid': uid}

    def approve(self, intent_id, by='clerk-1'):
        st, _, body = self.c.call('POST', '/v1/pos/claim-approve', {'intentId': intent_id, 'approvedBy': by})
        self.assertEqual(st, 200, body)
        return body

    def claim_row(self, intent_id):
        out = self.scalar("SELECT IFNULL(customer_user_id,'NULL'), IFNULL(customer_address,'NULL'), "
                          "IFNULL(customer_pubkey,'NULL'), status, nonce FROM claim_intents "
                          f"WHERE id = '{q(intent_id)}';")
        return out.split('\t')

    def count(self, table, where):
        return int(self.scalar(f'SELECT COUNT(*) FROM {table} WHERE {where};'))

    def email_rows(self, address, codes=2, outbox=1):
        a = q(address)
        self.sql(f"""
            INSERT INTO email_identities (identifier, created_at, last_login_at)
              VALUES ('{a}', '2026-01-02 03:04:05.678', '2026-01-03 04:05:06.789');
            {''.join(f"INSERT INTO email_codes (identifier, code_hash, expires_ms) VALUES "
                     f"('{a}', '$argon2id$fake{i}', {int(time.time() * 1000) + 900000});" for i in range(codes))}
            {''.join(f"INSERT INTO email_outbox (identifier, nonce, ciphertext) VALUES "
                     f"('{a}', UNHEX('{secrets.token_hex(24)}'), UNHEX('{secrets.token_hex(40)}'));"
                     for _ in range(outbox))}""")

    def email_counts(self, address):
        a = q(address)
        return tuple(self.count(t, f"identifier = '{a}'") for t in ('email_identities', 'email_codes', 'email_outbox'))

    def assertRefused(self, resp, code='TOKEN_INVALID'):
        self.assertError(resp, 401, code)

    def wait_past(self, second):
        """Until the wall clock is in a later second than `second`."""
        while int(time.time()) <= second:
            time.sleep(0.05)

    # ------------------------------------------------------------ export
    def test_export_of_svd_user(self):
        user, _, pmc, token = self.svd_user()
        uid, _, _, _, _ = self.registered_patch()
        first = self.claim_intent(uid, user)
        second = self.claim_intent(uid, user)
        ap = self.approve(second['id'], 'clerk-9')
        other = self.claim_intent(uid, new_user())  # someone else's

        st, hdrs, body = self.export(token)
        self.assertEqual(st, 200, body)
        self.assertEqual(hdrs.get('cache-control'), 'no-store')
        self.assertEqual(list(body), ['subject', 'svd', 'email', 'claimIntents', 'exportedAt'])
        self.assertEqual(body['subject'], user)
        self.assertIsNone(body['email'])
        self.assertRegex(body['exportedAt'], ISO_MS)
        svd = body['svd']
        self.assertEqual(list(svd), ['pmcHex', 'keyId', 'created_at', 'updated_at'])
        self.assertEqual(svd['pmcHex'], pmc)
        self.assertIsNone(svd['keyId'])
        self.assertRegex(svd['created_at'], ISO_MS)
        self.assertRegex(svd['updated_at'], ISO_MS)
        stored = self.scalar("SELECT DATE_FORMAT(created_at, '%Y-%m-%dT%H:%i:%s.%f') FROM svd_registrations "
                             f"WHERE user_id = '{user}';")
        self.assertEqual(svd['created_at'], stored[:23] + 'Z')

        # Oldest first (two made within one millisecond may come in either order).
        intents = body['claimIntents']
        self.assertEqual(sorted(c['id'] for c in intents), sorted([first['id'], second['id']]))
        self.assertLessEqual(intents[0]['created_at'], intents[1]['created_at'])
        intents.sort(key=lambda c: c['id'] != first['id'])
        for c, made in zip(intents, (first, second)):
            self.assertEqual(list(c), ['id', 'uid', 'status', 'customer', 'challenge', 'approvedBy', 'pendingId',
                                       'txid', 'error', 'expiresMs', 'created_at', 'updated_at'])
            self.assertEqual(c['uid'], uid)
            self.assertEqual(c['customer'], {'userId': user, 'address': made['address'], 'pubKey': made['pubKey']})
            self.assertEqual(c['challenge'], {'ts': made['ts'], 'nonce': made['nonce']})
            self.assertIsNone(c['txid'])
            self.assertIsNone(c['error'])
            self.assertGreater(c['expiresMs'], made['ts'])
            self.assertRegex(c['created_at'], ISO_MS)
        self.assertEqual((intents[0]['status'], intents[0]['approvedBy'], intents[0]['pendingId']),
                         ('pending', None, None))
        self.assertEqual((intents[1]['status'], intents[1]['approvedBy'], intents[1]['pendingId']),
                         ('approved', 'clerk-9', ap['pendingId']))
        # The other pool answers the same.
        st, _, again = self.export(token, pool=1)
        self.assertEqual(st, 200, again)
        self.assertEqual({k: v for k, v in again.items() if k != 'exportedAt'},
                         {k: v for k, v in body.items() if k != 'exportedAt'})

    def test_export_with_nothing_stored(self):
        # A valid token of a subject without any row: everything null or empty.
        now = int(time.time())
        for sub, email in ((new_user(), False), ('email:' + new_address(), True)):
            with self.subTest(sub=sub):
                st, _, body = self.export(self.mint(sub, now, email=email))
                self.assertEqual(st, 200, body)
                self.assertEqual({k: v for k, v in body.items() if k != 'exportedAt'},
                                 {'subject': sub, 'svd': None, 'email': None, 'claimIntents': []})
                self.assertRegex(body['exportedAt'], ISO_MS)

    # ------------------------------------------------------------ delete
    def test_delete_svd_user_across_pools(self):
        user, _, _, token = self.svd_user()
        other, _, other_pmc, other_token = self.svd_user()
        uid, _, _, _, _ = self.registered_patch()
        spare_uid, _, _, _, _ = self.registered_patch()  # stays unlocked for the approve below
        pending = self.claim_intent(spare_uid, user)
        approved = self.claim_intent(uid, user)
        self.approve(approved['id'])
        kept = self.claim_intent(uid, other)
        # Both hosts accept the token before the delete.
        for pool in (0, 1):
            st, _, body = self.export(token, pool=pool)
            self.assertEqual(st, 200, body)

        st, hdrs, body = self.delete(token, pool=0)
        self.assertEqual(st, 200, body)
        self.assertEqual(hdrs.get('cache-control'), 'no-store')
        self.assertEqual(list(body), ['success', 'subject', 'removed', 'notBefore'])
        self.assertEqual((body['success'], body['subject']), (True, user))
        self.assertEqual(list(body['removed']), REMOVED_KEYS)
        self.assertEqual(body['removed'], {'svdRegistration': True, 'claimIntentsAnonymised': 2,
                                           'emailIdentity': False, 'emailCodes': 0, 'emailOutbox': 0})
        nb = body['notBefore']
        self.assertIsInstance(nb, int)
        self.assertLessEqual(nb, int(time.time()))

        # MariaDB: the registration is gone, the intents stay without a customer, the cut-off is stored.
        self.assertEqual(self.count('svd_registrations', f"user_id = '{user}'"), 0)
        self.assertEqual(self.count('claim_intents', f"customer_user_id = '{user}'"), 0)
        for made, status in ((pending, 'pending'), (approved, 'approved')):
            self.assertEqual(self.claim_row(made['id']), ['NULL', 'NULL', 'NULL', status, made['nonce']])
        self.assertEqual(self.count('claim_intents', f"customer_address = '{pending['address']}'"), 0)
        self.assertEqual(int(self.scalar(f"SELECT not_before FROM subject_not_before WHERE user_id = '{user}';")), nb)
        # The other user is untouched.
        self.assertEqual(self.stored(other), other_pmc)
        self.assertEqual(self.claim_row(kept['id']), [other, kept['address'], kept['pubKey'], 'pending', kept['nonce']])
        self.assertEqual(self.count('subject_not_before', f"user_id = '{other}'"), 0)

        # The old token is refused at once on the other host too, on every jwt route.
        for pool in (1, 0):
            with self.subTest(pool=pool):
                self.assertRefused(self.export(token, pool=pool))
                self.assertRefused(self.delete(token, pool=pool))
                self.assertRefused(self.as_token(token, pool).call(
                    'PUT', '/api/svd/register', {'pmcHex': pc.pubkey_hex(pc.random_privkey())}, jwt=True))
        st, _, body = self.export(other_token, pool=1)
        self.assertEqual((st, body.get('subject')), (200, other), body)
        # The shop can still read the intent, but cannot approve a nameless one.
        st, _, s = self.anon.call('GET', f"/v1/pos/claim-status/{pending['id']}")
        self.assertEqual((st, s.get('status')), (200, 'pending'), s)
        self.assertError(self.c.call('POST', '/v1/pos/claim-approve',
                                     {'intentId': pending['id'], 'approvedBy': 'clerk-2'}), 409, 'CONFLICT')

        # Same second as the delete: refused; the next second: accepted.
        self.assertRefused(self.export(self.mint(user, nb), pool=1))
        st, _, body = self.export(self.mint(user, nb + 1), pool=1)
        self.assertEqual(st, 200, body)
        self.assertEqual({k: v for k, v in body.items() if k != 'exportedAt'},
                         {'subject': user, 'svd': None, 'email': None, 'claimIntents': []})

        # Register and log in again from the next second on.
        self.wait_past(nb)
        priv2 = pc.random_privkey()
        st, _, body = self.c.svd_register(user, pc.pubkey_hex(priv2))
        self.assertEqual(st, 201, body)
        fresh = self.svc.client().svd_login(user, priv2)
        self.assertGreater(pc.jwt_decode(fresh)[1]['iat'], nb)
        for pool in (0, 1):
            st, _, body = self.export(fresh, pool=pool)
            self.assertEqual(st, 200, body)
            self.assertEqual(body['svd']['pmcHex'], pc.pubkey_hex(priv2))
            self.assertEqual(body['claimIntents'], [])
        self.assertRefused(self.export(token, pool=1))  # the old one stays refused

    def stored(self, user):
        return self.scalar(f"SELECT pmc_hex FROM svd_registrations WHERE user_id = '{user}';")

    def test_delete_email_subject(self):
        address, bystander = new_address(), new_address()
        self.email_rows(address, codes=2, outbox=1)
        self.email_rows(bystander, codes=1, outbox=2)
        sub = 'email:' + address
        token = self.mint(sub, int(time.time()), email=True)

        st, _, body = self.export(token)
        self.assertEqual(st, 200, body)
        self.assertEqual(body['subject'], sub)
        self.assertEqual(body['email'], {'identifier': address, 'created_at': '2026-01-02T03:04:05.678Z',
                                         'lastLoginAt': '2026-01-03T04:05:06.789Z'})
        self.assertIsNone(body['svd'])
        self.assertEqual(body['claimIntents'], [])

        st, _, body = self.delete(token)  # through the shared upstream
        self.assertEqual(st, 200, body)
        self.assertEqual(body['subject'], sub)
        self.assertEqual(body['removed'], {'svdRegistration': False, 'claimIntentsAnonymised': 0,
                                           'emailIdentity': True, 'emailCodes': 2, 'emailOutbox': 1})
        nb = body['notBefore']
        self.assertEqual(self.email_counts(address), (0, 0, 0))
        self.assertEqual(self.email_counts(bystander), (1, 1, 2))
        self.assertEqual(int(self.scalar(f"SELECT not_before FROM subject_not_before WHERE user_id = '{q(sub)}';")),
                         nb)
        for pool in (0, 1):
            self.assertRefused(self.export(token, pool=pool))
        self.assertRefused(self.export(self.mint(sub, nb, email=True), pool=1))
        st, _, body = self.export(self.mint(sub, nb + 1, email=True), pool=1)
        self.assertEqual(st, 200, body)
        self.assertIsNone(body['email'])
        # A never-logged-in identity (last_login_at NULL) exports lastLoginAt null.
        self.sql(f"UPDATE email_identities SET last_login_at = NULL WHERE identifier = '{q(bystander)}';")
        st, _, body = self.export(self.mint('email:' + bystander, int(time.time()), email=True))
        self.assertEqual(st, 200, body)
        self.assertIsNone(body['email']['lastLoginAt'])

    def test_delete_with_nothing_stored_still_revokes(self):
        user = new_user()
        token = self.mint(user, int(time.time()))
        st, _, body = self.delete(token, pool=1)
        self.assertEqual(st, 200, body)
        self.assertEqual(body['removed'], {'svdRegistration': False, 'claimIntentsAnonymised': 0,
                                           'emailIdentity': False, 'emailCodes': 0, 'emailOutbox': 0})
        self.assertRefused(self.export(token, pool=0))

    # ------------------------------------------------------------ refusals
    def test_refused_without_a_valid_token_and_nothing_changes(self):
        user, _, pmc, token = self.svd_user()
        uid, _, _, _, _ = self.registered_patch()
        made = self.claim_intent(uid, user)
        now = int(time.time())
        wrong_secret = pc.jwt_sign({'alg': 'HS256', 'typ': 'JWT', 'kid': self.kid},
                                   {'sub': user, 'iat': now, 'nbf': now - 30, 'exp': now + 900}, 'not-the-secret')
        cases = [
            (None, 'UNAUTHORIZED'),
            ('not.a.token', 'TOKEN_INVALID'),
            (wrong_secret, 'TOKEN_INVALID'),
            (self.mint(user, now - 4000), 'TOKEN_EXPIRED'),
        ]
        for bad, code in cases:
            with self.subTest(code=code, token=bad and bad[:12]):
                self.assertRefused(self.export(bad), code)
                self.assertRefused(self.delete(bad), code)
                # Authentication comes before the body check.
                self.assertRefused(self.delete(bad, raw='{}'), code)
        # A body on delete (even with a good token) is refused and changes nothing.
        st, _, body = self.delete(token, raw='{"x":1}')
        self.assertEqual(st, 413, body)
        st, _, body = self.as_token(token).call('POST', '/v1/privacy/delete', jwt=True)
        self.assertEqual(st, 405, body)
        self.assertEqual(self.stored(user), pmc)
        self.assertEqual(self.claim_row(made['id'])[0], user)
        self.assertEqual(self.count('subject_not_before', f"user_id = '{user}'"), 0)
        st, _, body = self.export(token)
        self.assertEqual((st, body.get('subject')), (200, user), body)


if __name__ == '__main__':
    unittest.main()
