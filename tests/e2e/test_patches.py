# SPDX-License-Identifier: MIT
"""Patch registry and point-of-sale claims through nginx against the real
service (MariaDB, memcached, patchproof-kms, patchproof-fcgi), all started here.

There is no worker or devchain in this stack yet, so nothing is ever broadcast.
To reach confirmed states the tests use `confirm_*_as_worker` helpers: TEST
SETUP that writes by SQL exactly what patchproof-worker will write when a job's
transaction is mined (pending record confirmed with a txid, the record added
to `records`, `patch_state` created or moved on). The txids are random fakes.
"""
import hashlib
import json
import secrets
import tempfile
import threading
import time
import unittest

from service import ServiceStack
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


class Patches(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix='pp-patches-')
        cls.svc = ServiceStack(cls.tmp.name, pools=1, workers=3).start()
        cls.c = cls.svc.client()
        cls.anon = pc.Client(cls.svc.base_url)
        # A logged-in user for the transfer route (key + JWT).
        user, priv = 'u_' + secrets.token_hex(6), pc.random_privkey()
        st, _, body = cls.c.svd_register(user, pc.pubkey_hex(priv))
        assert st == 201, body
        cls.authed = cls.svc.client()
        cls.authed.svd_login(user, priv)

    @classmethod
    def tearDownClass(cls):
        try:
            cls.svc.stop()
        finally:
            cls.tmp.cleanup()

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

    def confirm_registration_as_worker(self, pending_id):
        """TEST SETUP standing in for patchproof-worker: marks a pending
        registration mined under a fake txid and creates its patch_state."""
        record = json.loads(self.pending_record_text(pending_id))
        txid = secrets.token_hex(32)
        rh = sha256_hex(sorted_json(record))
        owner = record['auth']['owner']
        pid = q(pending_id)
        self.sql(f"""
            START TRANSACTION;
            UPDATE pending_records SET status = 'confirmed', txid = '{txid}' WHERE id = '{pid}';
            UPDATE jobs SET step = 'done', txid = '{txid}' WHERE pending_id = '{pid}';
            INSERT INTO records (txid, uid_tag_id, kind, record, record_hash, confirmed_ms)
              SELECT '{txid}', uid_tag_id, kind, record, '{rh}', {int(time.time() * 1000)}
              FROM pending_records WHERE id = '{pid}';
            INSERT INTO patch_state (uid_tag_id, current_txid, current_record, record_hash, owner_address)
              SELECT uid_tag_id, '{txid}', record, '{rh}', '{q(owner)}' FROM pending_records WHERE id = '{pid}';
            COMMIT;""")
        return txid

    def confirm_transfer_as_worker(self, pending_id):
        """TEST SETUP standing in for patchproof-worker: a pending transfer
        mined under a fake txid moves the patch state on and unlocks it."""
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
            UPDATE patch_state p JOIN pending_records r ON r.id = '{pid}'
              SET p.current_txid = '{txid}', p.current_record = r.record, p.record_hash = '{rh}',
                  p.owner_address = '{q(record['auth']['owner'])}', p.pending_transfer_id = NULL,
                  p.version = p.version + 1
              WHERE p.uid_tag_id = r.uid_tag_id AND p.pending_transfer_id = '{pid}';
            UPDATE claim_intents SET status = 'confirmed', txid = '{txid}' WHERE pending_id = '{pid}';
            COMMIT;""")
        return txid

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

    # ------------------------------------------------------------ transfer
    def test_transfer_auth_and_validation_order(self):
        uid, priv, pub, _, txid = self.registered_patch()
        _, _, new_addr = new_owner()
        good = {'newOwnerAddress': new_addr, 'currentOwnerPubKey': pub,
                'currentOwnerSignature': sign_hex(priv, transfer_message(uid, txid, new_addr))}
        path = f'/v1/patches/{txid}/transfer-ownership'
        # No key (even with a JWT and a broken body) → 401.
        self.assertError(self.authed.call('POST', path, {'x': 1}, key=False, jwt=True), 401, 'UNAUTHORIZED')
        # Key, no JWT → 401, before the body is looked at.
        self.assertError(self.c.call('POST', path, {'x': 1}), 401, 'UNAUTHORIZED')
        forged = pc.jwt_sign({'alg': 'HS256', 'typ': 'JWT'}, {'sub': 'x', 'iat': int(time.time()),
                                                              'exp': int(time.time()) + 60}, 'wrong-secret')
        st, _, body = self.c.call('POST', path, good, headers={'Authorization': 'Bearer ' + forged})
        self.assertEqual(st, 401, body)
        # Body and txid → 400.
        self.assertError(self.authed.call('POST', '/v1/patches/abc/transfer-ownership', good, jwt=True),
                         400, 'VALIDATION_ERROR')
        for name, patch in {
            'unknown field': {'extra': 1},
            'bad address': {'newOwnerAddress': 'nope'},
            'main-net address': {'newOwnerAddress': pc.p2pkh_address(pub, 'main')},
            'bad pubkey': {'currentOwnerPubKey': '04' + pub[2:]},
            'non-hex signature': {'currentOwnerSignature': 'zz' * 10},
            'odd signature': {'currentOwnerSignature': 'abc'},
            'signature not a string': {'currentOwnerSignature': 7},
        }.items():
            with self.subTest(name):
                self.assertError(self.authed.call('POST', path, {**good, **patch}, jwt=True), 400, 'VALIDATION_ERROR')
        missing = dict(good)
        del missing['currentOwnerSignature']
        self.assertError(self.authed.call('POST', path, missing, jwt=True), 400, 'VALIDATION_ERROR')
        # Unknown txid → 404.
        self.assertError(self.transfer(secrets.token_hex(32), priv, pub, uid, new_addr), 404, 'NOT_FOUND')
        self.assertIsNone(self.scalar(f"SELECT pending_transfer_id FROM patch_state WHERE uid_tag_id = '{uid}';")
                          .replace('NULL', '') or None)

    def test_transfer_forbidden_then_allowed_then_pending(self):
        uid, priv, pub, addr, txid = self.registered_patch()
        _, _, new_addr = new_owner()
        other_priv, other_pub, _ = new_owner()
        before = self.counts()
        # Not the owner's key (correctly signed by that other key) → 403.
        self.assertError(self.transfer(txid, other_priv, other_pub, uid, new_addr), 403, 'FORBIDDEN')
        # The owner's key but a signature over another message → 403.
        wrong = sign_hex(priv, transfer_message(uid, txid, addr))
        self.assertError(self.transfer(txid, priv, pub, uid, new_addr, sig=wrong), 403, 'FORBIDDEN')
        # A signature by another key presented with the owner's key → 403.
        forged = sign_hex(other_priv, transfer_message(uid, txid, new_addr))
        st, _, body = self.transfer(txid, priv, pub, uid, new_addr, sig=forged)
        self.assertError((st, None, body), 403, 'FORBIDDEN')
        self.assertNotIn(forged, json.dumps(body))
        # The owner's valid signature made high-S → 403 (low-S only).
        good = sign_hex(priv, transfer_message(uid, txid, new_addr))
        high = pc.high_s_variant(bytes.fromhex(good)).hex()
        self.assertError(self.transfer(txid, priv, pub, uid, new_addr, sig=high), 403, 'FORBIDDEN')
        # Nothing is locked or queued after those 403s.
        self.assertEqual(self.state_row(uid)[2], 'NULL')
        self.assertEqual(self.counts(), before)

        st, _, body = self.transfer(txid, priv, pub, uid, new_addr)
        self.assertEqual(st, 202, body)
        self.assertEqual(list(body), ['message', 'jobId', 'uid_tag_id', 'pendingId'])
        self.assertEqual((body['message'], body['uid_tag_id']), ('Queued for broadcast', uid))
        pid = body['pendingId']
        self.assertEqual(self.state_row(uid)[2], pid)
        self.assertEqual(self.scalar(f"SELECT COUNT(*) FROM jobs WHERE id = {body['jobId']} "
                                     f"AND pending_id = '{pid}';"), '1')
        # The transfer record: current record, new owner, the owner's proof.
        rec = json.loads(self.pending_record_text(pid))
        a = rec['auth']
        self.assertEqual(a['owner'], new_addr)
        self.assertEqual(a['previous_owner'], addr)
        self.assertEqual(a['prev_txid'], txid)
        self.assertEqual(a['current_owner_pubkey'], pub)
        self.assertTrue(pc.verify_message(pub, transfer_message(uid, txid, new_addr).encode(),
                                          bytes.fromhex(a['current_owner_signature'])))
        self.assertLess(abs(a['transferred_at'] - time.time() * 1000), 60000)
        self.assertNotIn('pos_approved_by', a)
        self.assertEqual(self.scalar(f"SELECT prev_txid FROM pending_records WHERE id = '{pid}';"), txid)
        # Pending transfer view: no certificateUrl.
        st, _, view = self.anon.call('GET', f'/v1/patches/pending/transfer/{pid}')
        self.assertEqual(st, 200, view)
        self.assertEqual(list(view), ['id', 'uid_tag_id', 'status', 'txid', 'error', 'created_at', 'updated_at'])
        self.assertEqual((view['status'], view['uid_tag_id']), ('pending', uid))
        # A second transfer while this one is pending → 409.
        self.assertError(self.transfer(txid, priv, pub, uid, new_addr), 409, 'CONFLICT')

        # Once mined, the old txid is no longer current (409) and the new
        # owner can pass it on; the issuer signature still verifies.
        new_txid = self.confirm_transfer_as_worker(pid)
        self.assertError(self.transfer(txid, priv, pub, uid, new_addr), 409, 'CONFLICT')
        st, _, v = self.anon.call('GET', f'/v1/patches/verify/{uid}')
        self.assertEqual((st, v['status'], v['verificationDetails']['owner']), (200, 'authentic', new_addr))
        self.assertEqual(v['verificationDetails']['onChainTxid'], new_txid)

    def test_transfer_concurrent_one_wins(self):
        uid, priv, pub, _, txid = self.registered_patch()
        results = []

        def go():
            _, _, to = new_owner()
            results.append(self.transfer(txid, priv, pub, uid, to)[0])
        threads = [threading.Thread(target=go) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(sorted(results), [202, 409])
        self.assertEqual(self.scalar(f"SELECT COUNT(*) FROM pending_records WHERE uid_tag_id = '{uid}' "
                                     "AND kind = 'transfer';"), '1')

    # ------------------------------------------------------------ content
    def test_content_store_and_unlock(self):
        uid, priv, pub, _, txid = self.registered_patch()
        # No content yet: authorized, no content key.
        unlock = {'ownerPubKey': pub, 'ownerSignature': sign_hex(priv, unlock_message(uid, txid))}
        st, _, body = self.c.call('POST', f'/v1/patches/{uid}/unlock-content', unlock)
        self.assertEqual(st, 200, body)
        self.assertEqual(body, {'authorized': True, 'uid_tag_id': uid, 'txid': txid})

        text = 'Geheimnis — 秘密 "quoted"'
        st, _, body = self.c.call('PUT', f'/v1/patches/{uid}/content', {'content': text})
        self.assertEqual(st, 200, body)
        self.assertEqual(body, {'uid_tag_id': uid, 'stored': True, 'bytes': len(text.encode())})
        # Stored encrypted.
        stored = bytes.fromhex(self.scalar(f"SELECT HEX(ciphertext) FROM patch_content WHERE uid_tag_id = '{uid}';"))
        self.assertNotIn(text.encode(), stored)
        self.assertEqual(len(stored), len(text.encode()) + 16)

        st, _, body = self.c.call('POST', f'/v1/patches/{uid}/unlock-content', unlock)
        self.assertEqual(st, 200, body)
        self.assertEqual(body, {'authorized': True, 'uid_tag_id': uid, 'txid': txid, 'content': text})
        # Replacing it works.
        st, _, body = self.c.call('PUT', f'/v1/patches/{uid}/content', {'content': 'v2'})
        self.assertEqual((st, body['bytes']), (200, 2))
        st, _, body = self.c.call('POST', f'/v1/patches/{uid}/unlock-content', unlock)
        self.assertEqual(body.get('content'), 'v2', body)

        # Not the owner; wrong message; signature by another key → 403.
        o_priv, o_pub, _ = new_owner()
        self.assertError(self.c.call('POST', f'/v1/patches/{uid}/unlock-content',
                                     {'ownerPubKey': o_pub,
                                      'ownerSignature': sign_hex(o_priv, unlock_message(uid, txid))}),
                         403, 'FORBIDDEN')
        self.assertError(self.c.call('POST', f'/v1/patches/{uid}/unlock-content',
                                     {'ownerPubKey': pub,
                                      'ownerSignature': sign_hex(priv, unlock_message(uid, 'ab' * 32))}),
                         403, 'FORBIDDEN')
        self.assertError(self.c.call('POST', f'/v1/patches/{uid}/unlock-content',
                                     {'ownerPubKey': pub,
                                      'ownerSignature': sign_hex(o_priv, unlock_message(uid, txid))}),
                         403, 'FORBIDDEN')
        # Key first, then body.
        self.assertError(self.anon.call('POST', f'/v1/patches/{uid}/unlock-content', unlock), 401, 'UNAUTHORIZED')
        self.assertError(self.anon.call('PUT', f'/v1/patches/{uid}/content', {'content': 'x'}),
                         401, 'UNAUTHORIZED')
        self.assertError(self.c.call('POST', f'/v1/patches/{uid}/unlock-content', {**unlock, 'x': 1}),
                         400, 'VALIDATION_ERROR')
        self.assertError(self.c.call('PUT', f'/v1/patches/{uid}/content', {'content': 5}), 400, 'VALIDATION_ERROR')
        # Unknown uid → 404.
        other = new_uid()
        self.assertError(self.c.call('PUT', f'/v1/patches/{other}/content', {'content': 'x'}), 404, 'NOT_FOUND')
        self.assertError(self.c.call('POST', f'/v1/patches/{other}/unlock-content', unlock), 404, 'NOT_FOUND')

    def test_content_size_limit(self):
        uid, _, _, _, _ = self.registered_patch()
        # 64 KiB of UTF-8 exactly is fine; one byte more is a 400 (multi-byte characters count as bytes).
        exact = 'é' * (32 * 1024)
        st, _, body = self.c.call('PUT', f'/v1/patches/{uid}/content', {'content': exact})
        self.assertEqual((st, body.get('bytes')), (200, 65536), body)
        self.assertError(self.c.call('PUT', f'/v1/patches/{uid}/content', {'content': exact + 'x'}),
                         400, 'VALIDATION_ERROR')

    # ------------------------------------------------------------ POS
    def intent_body(self, uid, priv, pub, addr, ts=None, nonce=None, user='shopper_1'):
        ts = int(time.time() * 1000) if ts is None else ts
        nonce = nonce or secrets.token_hex(8)
        return {'uid': uid, 'customer': {'address': addr, 'userId': user, 'pubKey': pub},
                'challenge': {'ts': ts, 'nonce': nonce},
                'signature': sign_hex(priv, claim_message(uid, addr, ts, nonce))}

    def test_pos_claim_flow(self):
        uid, _, _, owner_addr, txid = self.registered_patch()
        c_priv, c_pub, c_addr = new_owner()
        body = self.intent_body(uid, c_priv, c_pub, c_addr)
        st, _, intent = self.anon.call('POST', '/v1/pos/claim-intent', body)
        self.assertEqual(st, 201, intent)
        self.assertEqual(list(intent), ['id', 'status'])
        self.assertRegex(intent['id'], r'^[0-9a-f]{32}$')
        self.assertEqual(intent['status'], 'pending')
        iid = intent['id']
        # The same nonce again → 409, even for a fresh, valid signature.
        again = self.intent_body(uid, c_priv, c_pub, c_addr, nonce=body['challenge']['nonce'])
        self.assertError(self.anon.call('POST', '/v1/pos/claim-intent', again), 409, 'CONFLICT')

        st, _, s = self.anon.call('GET', f'/v1/pos/claim-status/{iid}')
        self.assertEqual(st, 200, s)
        self.assertEqual(s, {'id': iid, 'status': 'pending', 'txid': None, 'error': None, 'approvedBy': None})

        # Approve needs the key.
        self.assertError(self.anon.call('POST', '/v1/pos/claim-approve', {'intentId': iid, 'approvedBy': 'clerk'}),
                         401, 'UNAUTHORIZED')
        self.assertError(self.c.call('POST', '/v1/pos/claim-approve', {'intentId': 'x', 'approvedBy': 'clerk'}),
                         400, 'VALIDATION_ERROR')
        self.assertError(self.c.call('POST', '/v1/pos/claim-approve',
                                     {'intentId': secrets.token_hex(16), 'approvedBy': 'clerk'}),
                         404, 'NOT_FOUND')
        st, _, ap = self.c.call('POST', '/v1/pos/claim-approve', {'intentId': iid, 'approvedBy': 'clerk-7'})
        self.assertEqual(st, 200, ap)
        self.assertEqual(list(ap), ['id', 'status', 'pendingId', 'jobId'])
        self.assertEqual((ap['id'], ap['status']), (iid, 'approved'))
        self.assertIsInstance(ap['jobId'], int)
        pid = ap['pendingId']
        self.assertEqual(self.state_row(uid)[2], pid)
        rec = json.loads(self.pending_record_text(pid))
        a = rec['auth']
        self.assertEqual((a['owner'], a['previous_owner'], a['prev_txid']), (c_addr, owner_addr, txid))
        self.assertEqual((a['pos_approved_by'], a['claim_intent_id']), ('clerk-7', iid))
        self.assertNotIn('current_owner_signature', a)
        self.assertEqual(self.scalar(f"SELECT claim_intent_id FROM pending_records WHERE id = '{pid}';"), iid)

        self.assertError(self.c.call('POST', '/v1/pos/claim-approve', {'intentId': iid, 'approvedBy': 'clerk-7'}),
                         409, 'CONFLICT')
        st, _, s = self.anon.call('GET', f'/v1/pos/claim-status/{iid}')
        self.assertEqual(s, {'id': iid, 'status': 'approved', 'txid': None, 'error': None, 'approvedBy': 'clerk-7'})

        # The worker confirms it: status carries the txid, the customer owns the patch.
        new_txid = self.confirm_transfer_as_worker(pid)
        st, _, s = self.anon.call('GET', f'/v1/pos/claim-status/{iid}')
        self.assertEqual((s['status'], s['txid']), ('confirmed', new_txid))
        st, _, v = self.anon.call('GET', f'/v1/patches/verify/{uid}')
        self.assertEqual((v['status'], v['verificationDetails']['owner']), ('authentic', c_addr))

    def test_pos_claim_intent_rejections(self):
        uid, _, _, _, _ = self.registered_patch()
        c_priv, c_pub, c_addr = new_owner()
        now = int(time.time() * 1000)
        post = lambda b: self.anon.call('POST', '/v1/pos/claim-intent', b)  # noqa: E731
        before = self.scalar('SELECT COUNT(*) FROM claim_intents;')
        # Body (including a non-hex signature) → 400.
        b = self.intent_body(uid, c_priv, c_pub, c_addr)
        for name, mutate in {
            'non-hex signature': lambda x: x.update(signature='zz' * 35),
            'unknown field': lambda x: x.update(extra=1),
            'unknown customer field': lambda x: x['customer'].update(name='n'),
            'unknown challenge field': lambda x: x['challenge'].update(iat=1),
            'ts not an integer': lambda x: x['challenge'].update(ts=str(now)),
            'short nonce': lambda x: x['challenge'].update(nonce='abc'),
            'bad uid': lambda x: x.update(uid='a b'),
            'bad pubkey': lambda x: x['customer'].update(pubKey='02' + 'f' * 64),
            'bad address': lambda x: x['customer'].update(address='nope'),
            'bad userId': lambda x: x['customer'].update(userId='a b'),
        }.items():
            with self.subTest(name):
                body = json.loads(json.dumps(b))
                mutate(body)
                self.assertError(post(body), 400, 'VALIDATION_ERROR')
        # Stale or future ts → 400 (checked before the signature).
        self.assertError(post(self.intent_body(uid, c_priv, c_pub, c_addr, ts=now - 200000)), 400, 'VALIDATION_ERROR')
        self.assertError(post(self.intent_body(uid, c_priv, c_pub, c_addr, ts=now + 200000)), 400, 'VALIDATION_ERROR')
        # Address that is not the pubkey's → 400.
        _, _, other_addr = new_owner()
        self.assertError(post(self.intent_body(uid, c_priv, c_pub, other_addr)), 400, 'VALIDATION_ERROR')
        # Bad signature → 401.
        o_priv, _, _ = new_owner()
        forged = self.intent_body(uid, o_priv, c_pub, c_addr)
        st, _, body = post(forged)
        self.assertError((st, None, body), 401, 'UNAUTHORIZED')
        self.assertNotIn(forged['signature'], json.dumps(body))
        high = self.intent_body(uid, c_priv, c_pub, c_addr)
        high['signature'] = pc.high_s_variant(bytes.fromhex(high['signature'])).hex()
        self.assertError(post(high), 401, 'UNAUTHORIZED')
        wrong_msg = self.intent_body(uid, c_priv, c_pub, c_addr)
        wrong_msg['challenge']['nonce'] += 'x'
        self.assertError(post(wrong_msg), 401, 'UNAUTHORIZED')
        # Unknown patch → 404 (after the signature checks).
        self.assertError(post(self.intent_body(new_uid(), c_priv, c_pub, c_addr)), 404, 'NOT_FOUND')
        self.assertEqual(self.scalar('SELECT COUNT(*) FROM claim_intents;'), before)
        # Status: malformed and unknown ids.
        self.assertError(self.anon.call('GET', '/v1/pos/claim-status/nothex'), 400, 'VALIDATION_ERROR')
        self.assertError(self.anon.call('GET', '/v1/pos/claim-status/' + secrets.token_hex(16)), 404, 'NOT_FOUND')

    def test_pos_expired_intent_and_pending_transfer(self):
        uid, priv, pub, _, txid = self.registered_patch()
        c_priv, c_pub, c_addr = new_owner()
        st, _, intent = self.anon.call('POST', '/v1/pos/claim-intent', self.intent_body(uid, c_priv, c_pub, c_addr))
        self.assertEqual(st, 201, intent)
        # Time runs out (moved back by SQL rather than waiting 3 minutes).
        self.sql(f"UPDATE claim_intents SET expires_ms = expires_ms - 3600000 WHERE id = '{intent['id']}';")
        self.assertError(self.c.call('POST', '/v1/pos/claim-approve', {'intentId': intent['id'], 'approvedBy': 'c'}),
                         409, 'CONFLICT')
        st, _, s = self.anon.call('GET', f"/v1/pos/claim-status/{intent['id']}")
        self.assertEqual(s['status'], 'expired')
        self.assertEqual(self.state_row(uid)[2], 'NULL')

        # An owner transfer pending blocks a POS approval (409) and leaves the intent pending.
        st, _, intent2 = self.anon.call('POST', '/v1/pos/claim-intent', self.intent_body(uid, c_priv, c_pub, c_addr))
        self.assertEqual(st, 201, intent2)
        st, _, body = self.transfer(txid, priv, pub, uid, new_owner()[2])
        self.assertEqual(st, 202, body)
        self.assertError(self.c.call('POST', '/v1/pos/claim-approve', {'intentId': intent2['id'], 'approvedBy': 'c'}),
                         409, 'CONFLICT')
        st, _, s = self.anon.call('GET', f"/v1/pos/claim-status/{intent2['id']}")
        self.assertEqual(s['status'], 'pending')


if __name__ == '__main__':
    unittest.main()
