# SPDX-License-Identifier: MIT
"""Patch ownership through nginx against the real service: transfers (auth,
validation order, concurrency), content storage and unlock, point-of-sale
claims. The stack and helpers are in patches_common.py."""
import json
import secrets
import threading
import time
import unittest

import ppclient as pc
from patches_common import PatchStack, claim_message, new_owner, new_uid, sign_hex, transfer_message, unlock_message


class Transfers(PatchStack):
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
