# SPDX-License-Identifier: MIT
"""Patch registry through nginx against the real service (MariaDB, memcached,
patchproof-kms, patchproof-fcgi), all started here: registering, verifying,
the UTXO pool metrics. Transfers, content and point-of-sale claims are in
test_patches_transfer.py; the stack and helpers in patches_common.py."""
import json
import secrets
import threading
import time
import unittest

import ppclient as pc
from patches_common import ISSUER_PURPOSE, PatchStack, new_owner, new_uid, q, sha256_hex, sorted_json


class Patches(PatchStack):
    # ------------------------------------------------------------ metrics
    def test_metrics_pool_lists_every_status(self):
        """pp_utxo_pool has a sample for every pool status, 0 when no UTXO
        has it (quarantined included), so a state does not vanish from graphs."""
        txid = secrets.token_hex(32)
        self.sql("INSERT INTO utxos (txid, vout, satoshis, key_id, script_hex, status) "
                 f"VALUES ('{txid}', 0, 1000, '{'02' + '11' * 32}', '76a9', 'available');")
        try:
            st, _, text = self.c.call('GET', '/metrics', key=False)
            self.assertEqual(st, 200, text)
            samples = {}
            for line in text.splitlines():
                if line.startswith('pp_utxo_pool{'):
                    labels, value = line.rsplit(' ', 1)
                    samples[labels] = float(value)
            expected = {f'pp_utxo_pool{{status="{s}"}}' for s in
                        ('unconfirmed', 'available', 'locked', 'spent', 'quarantined')}
            self.assertEqual(set(samples), expected, text)
            self.assertEqual(samples['pp_utxo_pool{status="quarantined"}'], 0)
            self.assertEqual(samples['pp_utxo_pool{status="locked"}'], 0)
            self.assertGreaterEqual(samples['pp_utxo_pool{status="available"}'], 1)
        finally:
            self.sql(f"DELETE FROM utxos WHERE txid = '{txid}';")

    # ------------------------------------------------------------ register
    def test_register_queues_record_and_job(self):
        uid = new_uid()
        _, _, addr = new_owner()
        # Metadata deliberately unsorted, with quotes and non-ASCII.
        metadata = {'patch_location': 'left sleeve', 'notes': 'Größe "XL" — über',
                    'image': 'https://img.example/p/1.png'}
        product = {'name': 'Jersey "Home"', 'sku': 'SKU-1', 'category': 'jersey',
                   'serial_number': 'SN-9', 'material': 'wool'}
        st, hdrs, body = self.register(uid, addr, metadata=metadata, product=product)
        self.assertEqual(st, 202, body)
        self.assertEqual(list(body), ['message', 'jobId', 'uid_tag_id', 'pendingId'])
        self.assertEqual(body['message'], 'Queued for broadcast')
        self.assertEqual(body['uid_tag_id'], uid)
        self.assertIsInstance(body['jobId'], int)
        self.assertRegex(body['pendingId'], r'^[0-9a-f]{32}$')
        pid = body['pendingId']

        self.assertEqual(self.scalar(f"SELECT COUNT(*) FROM jobs WHERE id = {body['jobId']} "
                                     f"AND pending_id = '{pid}' AND step = 'queued';"), '1')

        # The stored record: insertion order as received, issuer signature over C.
        text = self.pending_record_text(pid)
        record = json.loads(text)
        self.assertEqual(text, pc.canonical_json(record, sort_keys=False))
        self.assertEqual(list(record), ['type', 'product', 'metadata', 'auth'])
        self.assertEqual(record['type'], 'AUTHENTICATION_RECORD')
        self.assertEqual(list(record['metadata']), list(metadata))
        self.assertEqual(record['product'], {'uid_tag_id': uid, **product})
        auth = record['auth']
        self.assertEqual(list(auth), ['owner', 'issuer_signature', 'issuer_pubkey', 'ts'])
        self.assertEqual(auth['owner'], addr)
        self.assertEqual(auth['issuer_pubkey'], self.svc.keys['issuer']['keyIdentifier'])
        self.assertLess(abs(auth['ts'] - time.time() * 1000), 60000)
        msha = sha256_hex(pc.canonical_json(metadata, sort_keys=False))
        c = sorted_json({'metadata_sha256': msha, 'purpose': ISSUER_PURPOSE, 'ts': auth['ts'],
                         'uid_tag_id': uid})
        self.assertTrue(pc.verify_message(auth['issuer_pubkey'], c.encode(),
                                          bytes.fromhex(auth['issuer_signature'])))

        # Pending view.
        st, _, view = self.anon.call('GET', f'/v1/patches/pending/registration/{pid}')
        self.assertEqual(st, 200, view)
        self.assertEqual(list(view), ['id', 'uid_tag_id', 'status', 'txid', 'certificateUrl', 'error',
                                      'created_at', 'updated_at'])
        self.assertEqual((view['id'], view['uid_tag_id'], view['status']), (pid, uid, 'pending'))
        self.assertIsNone(view['txid'])
        self.assertIsNone(view['certificateUrl'])
        self.assertIsNone(view['error'])
        self.assertRegex(view['created_at'], r'^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$')
        # Hex in requests in either case.
        st, _, again = self.anon.call('GET', f'/v1/patches/pending/registration/{pid.upper()}')
        self.assertEqual((st, again['id']), (200, pid))
        # Not a transfer; unknown; malformed.
        self.assertError(self.anon.call('GET', f'/v1/patches/pending/transfer/{pid}'), 404, 'NOT_FOUND')
        self.assertError(self.anon.call('GET', '/v1/patches/pending/registration/' + secrets.token_hex(16)),
                         404, 'NOT_FOUND')
        self.assertError(self.anon.call('GET', '/v1/patches/pending/registration/xyz'), 400, 'VALIDATION_ERROR')
        self.assertError(self.anon.call('GET', '/v1/patches/pending/registration/' + 'g' * 32),
                         400, 'VALIDATION_ERROR')

        # Confirmed: txid and certificate URL.
        txid = self.confirm_registration_as_worker(pid)
        st, _, view = self.anon.call('GET', f'/v1/patches/pending/registration/{pid}')
        self.assertEqual((st, view['status'], view['txid']), (200, 'confirmed', txid))
        self.assertEqual(view['certificateUrl'], f'/v1/patches/verify/{uid}')

    def test_register_duplicate_pending_and_registered(self):
        uid = new_uid()
        _, _, addr = new_owner()
        st, _, body = self.register(uid, addr)
        self.assertEqual(st, 202, body)
        before = self.counts()
        self.assertError(self.register(uid, addr), 409, 'CONFLICT')
        self.assertEqual(self.counts(), before)
        self.confirm_registration_as_worker(body['pendingId'])
        self.assertError(self.register(uid, addr), 409, 'CONFLICT')
        self.assertEqual(self.counts(), before)

    def test_register_concurrent_same_uid(self):
        uid = new_uid()
        _, _, addr = new_owner()
        results = []

        def go():
            results.append(self.register(uid, addr)[0])
        threads = [threading.Thread(target=go) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(sorted(results), [202, 409, 409, 409])
        self.assertEqual(self.scalar(f"SELECT COUNT(*) FROM pending_records WHERE uid_tag_id = '{uid}';"), '1')

    def test_register_bad_input_stores_nothing(self):
        _, _, addr = new_owner()
        main_addr = pc.p2pkh_address(pc.pubkey_hex(pc.random_privkey()), 'main')
        p2sh = pc.base58check_encode(bytes([0xc4]) + secrets.token_bytes(20))
        good = lambda uid: {'product': {'uid_tag_id': uid}, 'metadata': {}, 'auth': {'owner': addr}}  # noqa: E731

        def with_(path, value):
            def make(uid):
                b = good(uid)
                node = b
                for k in path[:-1]:
                    node = node[k]
                node[path[-1]] = value
                return b
            return make

        def without(path):
            def make(uid):
                b = good(uid)
                node = b
                for k in path[:-1]:
                    node = node[k]
                del node[path[-1]]
                return b
            return make

        cases = {
            'unknown top field': with_(['extra'], 1),
            'unknown product field': with_(['product', 'color'], 'red'),
            'unknown metadata field': with_(['metadata', 'tags'], 'x'),
            'unknown auth field': with_(['auth', 'issuer_signature'], '30'),
            'product not an object': with_(['product'], 'p'),
            'metadata not an object': with_(['metadata'], []),
            'auth not an object': with_(['auth'], None),
            'uid not a string': with_(['product', 'uid_tag_id'], 12345),
            'name not a string': with_(['product', 'name'], 5),
            'material not a string': with_(['product', 'material'], ['wool']),
            'notes not a string': with_(['metadata', 'notes'], {'a': 1}),
            'owner not a string': with_(['auth', 'owner'], 1),
            'missing product': without(['product']),
            'missing metadata': without(['metadata']),
            'missing auth': without(['auth']),
            'missing uid': without(['product', 'uid_tag_id']),
            'missing owner': without(['auth', 'owner']),
            'owner on main net': with_(['auth', 'owner'], main_addr),
            'owner P2SH': with_(['auth', 'owner'], p2sh),
            'owner garbage': with_(['auth', 'owner'], 'not-an-address'),
            'owner bad checksum': with_(['auth', 'owner'], addr[:-1] + ('1' if addr[-1] != '1' else '2')),
            'uid too short': with_(['product', 'uid_tag_id'], 'ab'),
            'uid with space': with_(['product', 'uid_tag_id'], 'NFC 1234'),
            'uid with slash': with_(['product', 'uid_tag_id'], 'NFC/1234'),
            'uid too long': with_(['product', 'uid_tag_id'], 'x' * 129),
            'image ftp': with_(['metadata', 'image'], 'ftp://host/p.png'),
            'image javascript': with_(['metadata', 'image'], 'javascript:alert(1)'),
            'image no host': with_(['metadata', 'image'], 'https:///p.png'),
            'notes too long': with_(['metadata', 'notes'], 'n' * 5000),
        }
        before = self.counts()
        for name, make in cases.items():
            with self.subTest(name):
                uid = new_uid()
                st, _, body = self.c.call('POST', '/v1/patches', make(uid))
                self.assertError((st, None, body), 400, 'VALIDATION_ERROR')
                self.assertIsInstance(body.get('details'), list, body)
                self.assertEqual(self.scalar(
                    f"SELECT COUNT(*) FROM pending_records WHERE uid_tag_id = '{q(uid)}';"), '0')
        # Malformed JSON, a non-object, the wrong media type.
        self.assertError(self.c.call('POST', '/v1/patches', raw='{"product":'), 400, 'VALIDATION_ERROR')
        self.assertError(self.c.call('POST', '/v1/patches', raw='[1]'), 400, 'VALIDATION_ERROR')
        self.assertError(self.c.call('POST', '/v1/patches', raw='{}', content_type='text/plain'),
                         415, 'UNSUPPORTED_MEDIA_TYPE')
        self.assertEqual(self.counts(), before)
        # A valid http image and a 128-char uid are fine.
        st, _, body = self.register('u' * 100 + secrets.token_hex(14), addr,
                                    metadata={'image': 'http://x.example/a.png'})
        self.assertEqual(st, 202, body)

    def test_register_api_key_checked_before_body(self):
        before = self.counts()
        bad = {'nonsense': True}
        self.assertError(self.anon.call('POST', '/v1/patches', bad), 401, 'UNAUTHORIZED')
        self.assertError(self.anon.call('POST', '/v1/patches', bad, headers={'x-api-key': 'wrong'}),
                         401, 'UNAUTHORIZED')
        self.assertError(self.anon.call('POST', '/v1/patches', raw='{broken'), 401, 'UNAUTHORIZED')
        self.assertEqual(self.counts(), before)

    def test_register_kms_down_503_stores_nothing(self):
        _, _, addr = new_owner()
        uid = new_uid()
        before = self.counts()
        self.svc.st.stop('kms')
        try:
            st, _, body = self.register(uid, addr)
            self.assertError((st, None, body), 503, 'SERVICE_UNAVAILABLE')
            self.assertEqual(self.counts(), before)
        finally:
            self.svc.st.restart('kms')
        # Once the KMS is back, the same registration goes through.
        deadline = time.time() + 20
        while True:
            st, _, body = self.register(uid, addr)
            if st == 202 or time.time() > deadline:
                break
            time.sleep(0.3)
        self.assertEqual(st, 202, body)

    # ------------------------------------------------------------ verify
    def test_verify_authentic(self):
        metadata = {'notes': 'Größe "XL"', 'image': 'https://img.example/a.png', 'patch_location': 'chest'}
        uid, _, _, addr, txid = self.registered_patch(metadata=metadata)
        st, hdrs, body = self.anon.call('GET', f'/v1/patches/verify/{uid}')
        self.assertEqual(st, 200, body)
        self.assertEqual(list(body), ['status', 'record', 'verificationDetails'])
        self.assertEqual(body['status'], 'authentic')
        d = body['verificationDetails']
        self.assertEqual(list(d), ['issuerSignatureValid', 'onChainTxid', 'owner', 'recordHash', 'anchor'])
        self.assertIs(d['issuerSignatureValid'], True)
        self.assertEqual(d['onChainTxid'], txid)
        self.assertEqual(d['owner'], addr)
        self.assertIsNone(d['anchor'])
        rec = body['record']
        self.assertEqual(rec['metadata'], metadata)
        self.assertEqual(d['recordHash'], sha256_hex(sorted_json(rec)))
        # The hash of the on-chain record as stored.
        self.assertEqual(d['recordHash'],
                         self.scalar(f"SELECT record_hash FROM records WHERE txid = '{txid}';"))
        # An independent check of the issuer signature.
        msha = sha256_hex(pc.canonical_json(rec['metadata'], sort_keys=False))
        c = sorted_json({'metadata_sha256': msha, 'purpose': ISSUER_PURPOSE, 'ts': rec['auth']['ts'],
                         'uid_tag_id': uid})
        self.assertTrue(pc.verify_message(rec['auth']['issuer_pubkey'], c.encode(),
                                          bytes.fromhex(rec['auth']['issuer_signature'])))
        # A percent-encoded uid (encodeURIComponent turns ':' into %3A) is the same patch.
        st, _, enc = self.anon.call('GET', '/v1/patches/verify/' + uid.replace(':', '%3A'))
        self.assertEqual((st, enc.get('status')), (200, 'authentic'), enc)

    def test_verify_tampered_record_is_compromised(self):
        uid, _, _, _, _ = self.registered_patch(metadata={'notes': 'original notes'})
        self.sql(f"UPDATE patch_state SET current_record = REPLACE(current_record, 'original notes', "
                 f"'forged notes') WHERE uid_tag_id = '{uid}';")
        st, _, body = self.anon.call('GET', f'/v1/patches/verify/{uid}')
        self.assertEqual(st, 200, body)
        self.assertEqual(body['status'], 'compromised')
        self.assertIs(body['verificationDetails']['issuerSignatureValid'], False)
        self.assertEqual(body['record']['metadata']['notes'], 'forged notes')

    def test_verify_unknown_and_malformed(self):
        self.assertError(self.anon.call('GET', '/v1/patches/verify/' + new_uid()), 404, 'NOT_FOUND')
        self.assertError(self.anon.call('GET', '/v1/patches/verify/ab'), 400, 'VALIDATION_ERROR')
        self.assertError(self.anon.call('GET', '/v1/patches/verify/a%20bcd'), 400, 'VALIDATION_ERROR')
        self.assertError(self.anon.call('GET', '/v1/patches/verify/abc%2Fdef'), 400, 'VALIDATION_ERROR')
        # A pending (unconfirmed) registration is not verifiable yet.
        uid = new_uid()
        st, _, body = self.register(uid, new_owner()[2])
        self.assertEqual(st, 202, body)
        self.assertError(self.anon.call('GET', f'/v1/patches/verify/{uid}'), 404, 'NOT_FOUND')


if __name__ == '__main__':
    unittest.main()
