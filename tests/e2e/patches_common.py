# SPDX-License-Identifier: MIT
"""What test_patches.py (register, verify, metrics) and
test_patches_transfer.py (transfer, content, point-of-sale claims) share: the
stack each module starts once, and the helpers both use.

There is no worker or devchain in this stack yet, so nothing is ever broadcast.
To reach confirmed states the tests use `confirm_*_as_worker` helpers: TEST
SETUP that writes by SQL exactly what patchproof-worker will write when a job's
transaction is mined (pending record confirmed with a txid, the record added
to `records`, `patch_state` created or moved on). The txids are random fakes.
"""
import hashlib
import json
import secrets
import time
import unittest

from service import ServiceStack
from stackcase import StackCase
import ppclient as pc

NET = 'test'
ISSUER_PURPOSE = 'register_patch'


def new_uid():
    return 'NFC:04:' + secrets.token_hex(6)


def new_owner():
    priv = pc.random_privkey()
    return priv, pc.pubkey_hex(priv), pc.p2pkh_address(pc.pubkey_hex(priv), NET)


def sorted_json(obj):
    return pc.canonical_json(obj, sort_keys=True)


def sha256_hex(text):
    return hashlib.sha256(text.encode()).hexdigest()


def sign_hex(priv, message):
    return pc.sign_message(priv, message)


def transfer_message(uid, txid, new_owner_addr):
    # Exactly DESIGN.md's key order (not sorted).
    return pc.canonical_json({'purpose': 'transfer_ownership', 'uid_tag_id': uid,
                              'currentTxid': txid, 'newOwnerAddress': new_owner_addr},
                             sort_keys=False)


def unlock_message(uid, txid):
    return pc.canonical_json({'purpose': 'unlock_content', 'uid_tag_id': uid, 'currentTxid': txid},
                             sort_keys=False)


def claim_message(uid, addr, ts, nonce):
    return f'PATCHPROOF_CLAIM|uid:{uid}|addr:{addr}|ts:{ts}|nonce:{nonce}'


def q(text):
    """Body of a single-quoted SQL literal (test values only)."""
    return str(text).replace('\\', '\\\\').replace("'", "\\'")


class PatchStack(StackCase):
    """One stack (one pool, three workers) and a logged-in user, shared by
    the tests of a module; the helpers every patch test uses."""

    prefix = 'pp-patches-'

    @classmethod
    def make_stack(cls, base_dir):
        return ServiceStack(base_dir, pools=1, workers=3)

    @classmethod
    def stack_ready(cls):
        cls.anon = pc.Client(cls.svc.base_url)
        # A logged-in user for the transfer route (key + JWT).
        user, priv = 'u_' + secrets.token_hex(6), pc.random_privkey()
        st, _, body = cls.c.svd_register(user, pc.pubkey_hex(priv))
        assert st == 201, body
        cls.authed = cls.svc.client()
        cls.authed.svd_login(user, priv)


    # ------------------------------------------------------------ helpers
    def sql(self, statements):
        return self.svc.st.sql(statements, database=self.svc.st.db_env['DB_NAME'])

    def scalar(self, statement):
        out = self.sql(statement).strip()
        return out

    def counts(self):
        return (int(self.scalar('SELECT COUNT(*) FROM pending_records;')),
                int(self.scalar('SELECT COUNT(*) FROM jobs;')))

    def pending_record_text(self, pending_id):
        # HEX() so the mariadb client's batch escaping cannot touch the bytes.
        h = self.scalar(f"SELECT HEX(record) FROM pending_records WHERE id = '{q(pending_id)}';")
        return bytes.fromhex(h).decode()

    def state_row(self, uid):
        out = self.scalar("SELECT current_txid, owner_address, IFNULL(pending_transfer_id, 'NULL'), version "
                          f"FROM patch_state WHERE uid_tag_id = '{q(uid)}';")
        return out.split('\t') if out else None

    def assertError(self, resp, status, code):
        st, _, body = resp
        self.assertEqual(st, status, body)
        self.assertIsInstance(body, dict, body)
        self.assertEqual(body.get('error'), code, body)
        self.assertEqual(body.get('code'), code, body)
        self.assertEqual(body.get('status'), status, body)

    def register(self, uid, owner_addr, metadata=None, product=None, client=None):
        body = {'product': {'uid_tag_id': uid, **(product or {})},
                'metadata': metadata if metadata is not None else {'notes': 'first run'},
                'auth': {'owner': owner_addr}}
        return (client or self.c).call('POST', '/v1/patches', body)

    def _confirm_as_worker(self, pending_id, state_sql):
        """TEST SETUP standing in for patchproof-worker: the pending record
        mined under a fake txid, its job done and its history row written,
        then state_sql(pid, txid, record_hash, owner) moves the patch state,
        all in one transaction. Returns the txid."""
        record = json.loads(self.pending_record_text(pending_id))
        txid = secrets.token_hex(32)
        rh = sha256_hex(sorted_json(record))
        pid = q(pending_id)
        self.sql(f"""
            START TRANSACTION;
            UPDATE pending_records SET status = 'confirmed', txid = '{txid}' WHERE id = '{pid}';
            UPDATE jobs SET step = 'done', txid = '{txid}' WHERE pending_id = '{pid}';
            INSERT INTO records (txid, uid_tag_id, kind, record, record_hash, confirmed_ms)
              SELECT '{txid}', uid_tag_id, kind, record, '{rh}', {int(time.time() * 1000)}
              FROM pending_records WHERE id = '{pid}';
            {state_sql(pid, txid, rh, q(record['auth']['owner']))}
            COMMIT;""")
        return txid

    def confirm_registration_as_worker(self, pending_id):
        """A pending registration mined: its patch_state is created."""
        return self._confirm_as_worker(pending_id, lambda pid, txid, rh, owner: f"""
            INSERT INTO patch_state (uid_tag_id, current_txid, current_record, record_hash, owner_address)
              SELECT uid_tag_id, '{txid}', record, '{rh}', '{owner}' FROM pending_records WHERE id = '{pid}';""")

    def confirm_transfer_as_worker(self, pending_id):
        """A pending transfer mined: the patch state moves on and is unlocked,
        and a POS intent behind it is confirmed."""
        return self._confirm_as_worker(pending_id, lambda pid, txid, rh, owner: f"""
            UPDATE patch_state p JOIN pending_records r ON r.id = '{pid}'
              SET p.current_txid = '{txid}', p.current_record = r.record, p.record_hash = '{rh}',
                  p.owner_address = '{owner}', p.pending_transfer_id = NULL,
                  p.version = p.version + 1
              WHERE p.uid_tag_id = r.uid_tag_id AND p.pending_transfer_id = '{pid}';
            UPDATE claim_intents SET status = 'confirmed', txid = '{txid}' WHERE pending_id = '{pid}';""")

    def registered_patch(self, metadata=None):
        uid = new_uid()
        priv, pub, addr = new_owner()
        st, _, body = self.register(uid, addr, metadata=metadata)
        self.assertEqual(st, 202, body)
        txid = self.confirm_registration_as_worker(body['pendingId'])
        return uid, priv, pub, addr, txid

    def transfer(self, txid, priv, pub, uid, new_addr, client=None, sig=None):
        body = {'newOwnerAddress': new_addr, 'currentOwnerPubKey': pub,
                'currentOwnerSignature': sig or sign_hex(priv, transfer_message(uid, txid, new_addr))}
        return (client or self.authed).call('POST', f'/v1/patches/{txid}/transfer-ownership', body, jwt=True)
