# SPDX-License-Identifier: MIT
"""Patches on chain, end to end: the whole stack for real (nginx, patchproof-fcgi,
patchproof-worker, patchproof-kms, patchproof-devchain, MariaDB, memcached).
Register → confirmed on the devchain → verify → transfer → unlock; point of
sale; 200 registrations against 10 UTXOs; faults."""
import concurrent.futures
import hashlib
import json
import os
import secrets
import time
import unittest

from chainstack import ChainStack
from stackcase import StackCase
import ppclient as pc


def new_uid():
    return 'TAG-' + secrets.token_hex(6)


class Owner:
    def __init__(self):
        self.priv = pc.random_privkey()
        self.pub = pc.pubkey_hex(self.priv)
        self.address = pc.address_from_priv(self.priv, 'test')
        self.user = 'owner_' + secrets.token_hex(4)

    def sign(self, message):
        return pc.sign_message(self.priv, message.encode())


def transfer_message(uid, txid, new_address):
    return json.dumps({'purpose': 'transfer_ownership', 'uid_tag_id': uid, 'currentTxid': txid,
                       'newOwnerAddress': new_address}, separators=(',', ':'), ensure_ascii=False)


def unlock_message(uid, txid):
    return json.dumps({'purpose': 'unlock_content', 'uid_tag_id': uid, 'currentTxid': txid},
                      separators=(',', ':'), ensure_ascii=False)


class Base(StackCase):
    stack_kwargs = {}

    prefix = 'pp-life-'

    @classmethod
    def make_stack(cls, base_dir):
        return ChainStack(base_dir, **cls.stack_kwargs)

    def register(self, owner, uid=None, metadata=None):
        uid = uid or new_uid()
        body = {'product': {'uid_tag_id': uid, 'name': 'Jersey Ü', 'sku': 'J-1'},
                'metadata': metadata or {'notes': 'first "run"', 'image': 'https://example.org/i.png'},
                'auth': {'owner': owner.address}}
        st, _, resp = self.c.call('POST', '/v1/patches', body)
        self.assertEqual(st, 202, resp)
        return uid, resp

    def confirmed_registration(self, owner):
        uid, resp = self.register(owner)
        done = self.svc.wait_pending('registration', resp['pendingId'])
        self.assertEqual(done['status'], 'confirmed', done)
        return uid, done['txid']

    def login(self, owner):
        self.c.svd_register(owner.user, owner.pub)
        return pc.Client(self.svc.base_url, api_key=self.svc.api_key).svd_login(owner.user, owner.priv)

    def transfer(self, owner, uid, txid, new_owner, token=None):
        token = token or self.login(owner)
        body = {'newOwnerAddress': new_owner.address, 'currentOwnerPubKey': owner.pub,
                'currentOwnerSignature': owner.sign(transfer_message(uid, txid, new_owner.address))}
        return self.c.call('POST', f'/v1/patches/{txid}/transfer-ownership', body,
                           headers={'Authorization': 'Bearer ' + token})

    def pool_rows(self):
        out = self.svc.st.sql('SELECT status, COUNT(*), COALESCE(SUM(satoshis),0) FROM utxos GROUP BY status',
                              database='patchproof')
        return {r.split('\t')[0]: (int(r.split('\t')[1]), int(r.split('\t')[2]))
                for r in out.strip().splitlines() if r}


class Lifecycle(Base):
    def test_register_verify_transfer_unlock(self):
        alice, bob = Owner(), Owner()
        uid, resp = self.register(alice)
        self.assertRegex(resp['pendingId'], r'^[0-9a-f]{32}$')
        self.assertEqual(resp['message'], 'Queued for broadcast')
        done = self.svc.wait_pending('registration', resp['pendingId'])
        self.assertEqual(done['status'], 'confirmed', done)
        txid = done['txid']
        self.assertRegex(txid, r'^[0-9a-f]{64}$')
        self.assertEqual(done['certificateUrl'], f'/v1/patches/verify/{uid}')
        # The devchain knows the transaction and it carries the record.
        tx = self.svc.chain_get(f'/v1/bsv/test/tx/hash/{txid}')
        self.assertEqual(tx['txid'], txid)
        st, _, v = self.c.call('GET', f'/v1/patches/verify/{uid}', key=False)
        self.assertEqual(st, 200, v)
        self.assertEqual(v['status'], 'authentic')
        self.assertTrue(v['verificationDetails']['issuerSignatureValid'])
        self.assertEqual(v['verificationDetails']['onChainTxid'], txid)
        self.assertEqual(v['verificationDetails']['owner'], alice.address)
        record_bytes = json.dumps(v['record'], separators=(',', ':'), sort_keys=True, ensure_ascii=False)
        self.assertEqual(v['verificationDetails']['recordHash'],
                         hashlib.sha256(record_bytes.encode()).hexdigest())
        self.assertIn(json.dumps(v['record']['auth']['issuer_signature'])[1:-1], bytes.fromhex(tx['hex']).decode('latin-1'))

        # Transfer to bob with alice's JWT and signature.
        st, _, t = self.transfer(alice, uid, txid, bob)
        self.assertEqual(st, 202, t)
        done = self.svc.wait_pending('transfer', t['pendingId'])
        self.assertEqual(done['status'], 'confirmed', done)
        new_txid = done['txid']
        self.assertNotEqual(new_txid, txid)
        st, _, v = self.c.call('GET', f'/v1/patches/verify/{uid}', key=False)
        self.assertEqual(v['status'], 'authentic')
        self.assertEqual(v['verificationDetails']['owner'], bob.address)
        self.assertEqual(v['record']['auth']['previous_owner'], alice.address)
        self.assertEqual(v['record']['auth']['prev_txid'], txid)
        # The old txid is no longer the current state.
        st, _, body = self.transfer(alice, uid, txid, bob)
        self.assertEqual((st, body['code']), (409, 'CONFLICT'))

        # Content for the owner only.
        st, _, body = self.c.call('PUT', f'/v1/patches/{uid}/content', {'content': 'secret ☃ notes'})
        self.assertEqual(st, 200, body)
        self.assertEqual(body, {'uid_tag_id': uid, 'stored': True, 'bytes': len('secret ☃ notes'.encode())})
        st, _, body = self.c.call('POST', f'/v1/patches/{uid}/unlock-content',
                                  {'ownerPubKey': bob.pub, 'ownerSignature': bob.sign(unlock_message(uid, new_txid))})
        self.assertEqual(st, 200, body)
        self.assertEqual((body['authorized'], body['content'], body['txid']), (True, 'secret ☃ notes', new_txid))
        st, _, body = self.c.call('POST', f'/v1/patches/{uid}/unlock-content',
                                  {'ownerPubKey': alice.pub,
                                   'ownerSignature': alice.sign(unlock_message(uid, new_txid))})
        self.assertEqual((st, body['code']), (403, 'FORBIDDEN'))

    def test_point_of_sale_claim(self):
        seller, customer = Owner(), Owner()
        uid, _ = self.confirmed_registration(seller)
        def intent(nonce, ts=None):
            ts = ts if ts is not None else int(time.time() * 1000)
            msg = f'PATCHPROOF_CLAIM|uid:{uid}|addr:{customer.address}|ts:{ts}|nonce:{nonce}'
            return self.c.call('POST', '/v1/pos/claim-intent', {
                'uid': uid, 'customer': {'address': customer.address, 'userId': customer.user, 'pubKey': customer.pub},
                'challenge': {'ts': ts, 'nonce': nonce}, 'signature': customer.sign(msg)}, key=False)
        nonce = 'n-' + secrets.token_hex(8)
        st, _, body = intent(nonce)
        self.assertEqual(st, 201, body)
        self.assertEqual(body['status'], 'pending')
        intent_id = body['id']
        self.assertEqual(intent(nonce)[0], 409)
        self.assertEqual(intent('n-' + secrets.token_hex(8), ts=int(time.time() * 1000) - 181000)[0], 400)
        st, _, body = self.c.call('POST', '/v1/pos/claim-approve', {'intentId': intent_id, 'approvedBy': 'store-7'})
        self.assertEqual(st, 200, body)
        self.assertEqual(body['status'], 'approved')
        self.svc.wait_pending('transfer', body['pendingId'])
        st, _, status = self.c.call('GET', f'/v1/pos/claim-status/{intent_id}', key=False)
        self.assertEqual(status['status'], 'confirmed', status)
        self.assertRegex(status['txid'], r'^[0-9a-f]{64}$')
        self.assertEqual(status['approvedBy'], 'store-7')
        st, _, v = self.c.call('GET', f'/v1/patches/verify/{uid}', key=False)
        self.assertEqual(v['verificationDetails']['owner'], customer.address)
        self.assertEqual(v['record']['auth']['pos_approved_by'], 'store-7')
        self.assertEqual(v['record']['auth']['claim_intent_id'], intent_id)
        self.assertEqual(v['status'], 'authentic')
        st, _, body = self.c.call('POST', '/v1/pos/claim-approve', {'intentId': intent_id, 'approvedBy': 'store-7'})
        self.assertEqual(st, 409, body)

    def test_bad_input_creates_no_job(self):
        before = self.svc.st.sql('SELECT COUNT(*) FROM jobs', database='patchproof').strip()
        owner = Owner()
        main_address = pc.address_from_priv(owner.priv, 'main')
        cases = [
            {'product': {'uid_tag_id': 'ab'}, 'metadata': {}, 'auth': {'owner': owner.address}},
            {'product': {'uid_tag_id': new_uid()}, 'metadata': {}, 'auth': {'owner': main_address}},
            {'product': {'uid_tag_id': new_uid()}, 'metadata': {}, 'auth': {'owner': 'not-an-address'}},
            {'product': {'uid_tag_id': new_uid(), 'x': 1}, 'metadata': {}, 'auth': {'owner': owner.address}},
            {'product': {'uid_tag_id': new_uid()}, 'metadata': {'image': 'ftp://x'}, 'auth': {'owner': owner.address}},
        ]
        for body in cases:
            with self.subTest(body=body):
                st, _, resp = self.c.call('POST', '/v1/patches', body)
                self.assertEqual((st, resp['code']), (400, 'VALIDATION_ERROR'))
        st, _, resp = self.c.call('POST', '/v1/patches', cases[0], key=False)
        self.assertEqual((st, resp['code']), (401, 'UNAUTHORIZED'))
        self.assertEqual(self.svc.st.sql('SELECT COUNT(*) FROM jobs', database='patchproof').strip(), before)

    def test_two_transfers_at_once(self):
        alice, bob, carol = Owner(), Owner(), Owner()
        uid, txid = self.confirmed_registration(alice)
        token = self.login(alice)
        with concurrent.futures.ThreadPoolExecutor(2) as ex:
            futs = [ex.submit(self.transfer, alice, uid, txid, who, token) for who in (bob, carol)]
            codes = sorted(f.result()[0] for f in futs)
        self.assertEqual(codes, [202, 409])

    def test_z_pool_is_balanced(self):
        time.sleep(0.5)
        rows = self.pool_rows()
        self.assertNotIn('locked', rows, rows)


class Faults(Base):
    """Dependencies going away while records are in flight: nothing is lost."""

    def pending_status(self, pending_id):
        return self.c.call('GET', f'/v1/patches/pending/registration/{pending_id}', key=False)[2]['status']

    def assertOnChain(self, done):
        self.assertEqual(done['status'], 'confirmed', done)
        self.assertEqual(self.svc.chain_get(f"/v1/bsv/test/tx/hash/{done['txid']}")['txid'], done['txid'])

    def test_devchain_down_jobs_wait(self):
        self.svc.st.stop('devchain')
        _, resp = self.register(Owner())
        time.sleep(3)
        self.assertIn(self.pending_status(resp['pendingId']), ('pending', 'anchoring'))
        self.svc.st.restart('devchain')
        self.assertOnChain(self.svc.wait_pending('registration', resp['pendingId']))

    def test_kms_down_registration_503_and_jobs_retry(self):
        self.svc.st.stop('worker0')
        _, queued = self.register(Owner())
        self.svc.st.stop('kms')
        uid = new_uid()
        st, _, body = self.c.call('POST', '/v1/patches', {
            'product': {'uid_tag_id': uid}, 'metadata': {}, 'auth': {'owner': Owner().address}})
        self.assertEqual((st, body['code']), (503, 'SERVICE_UNAVAILABLE'))
        self.assertEqual(self.svc.st.sql(f"SELECT COUNT(*) FROM pending_records WHERE uid_tag_id='{uid}'",
                                         database='patchproof').strip(), '0')
        self.svc.st.restart('worker0')
        time.sleep(4)  # longer than all attempts at the test's backoff: an outage must not use them up
        self.assertIn(self.pending_status(queued['pendingId']), ('pending', 'anchoring'))
        self.svc.st.restart('kms')
        self.assertOnChain(self.svc.wait_pending('registration', queued['pendingId']))

    def test_mariadb_restart_mid_run(self):
        owner = Owner()
        pending = [self.register(owner)[1]['pendingId'] for _ in range(20)]
        self.svc.st.restart('mariadb')
        for _ in range(5):
            deadline = time.time() + 20
            while True:
                body = {'product': {'uid_tag_id': new_uid()}, 'metadata': {}, 'auth': {'owner': owner.address}}
                st, _, resp = self.c.call('POST', '/v1/patches', body)
                if st == 202 or time.time() > deadline:
                    break
                time.sleep(0.2)
            self.assertEqual(st, 202, resp)
            pending.append(resp['pendingId'])
        for pid in pending:
            self.assertOnChain(self.svc.wait_pending('registration', pid, timeout=90))
        self.assertNotIn('locked', self.pool_rows())


class Concurrency(Base):
    stack_kwargs = {'job_workers': 2, 'genesis_outputs': 10, 'genesis_sats': 10_000_000}

    def test_200_registrations_against_10_utxos(self):
        start_pool = self.pool_rows()
        total_before = sum(v[1] for k, v in start_pool.items() if k in ('available', 'unconfirmed'))
        self.assertEqual(start_pool.get('available', (0, 0))[0], 10)
        owner = Owner()
        with concurrent.futures.ThreadPoolExecutor(16) as ex:
            results = list(ex.map(lambda _: self.register(owner)[1], range(200)))
        pending = [r['pendingId'] for r in results]
        deadline = time.time() + 300
        for pid in pending:
            done = self.svc.wait_pending('registration', pid, timeout=max(1, deadline - time.time()))
            self.assertEqual(done['status'], 'confirmed', done)
        txids = self.svc.st.sql('SELECT txid FROM pending_records WHERE status="confirmed"', database='patchproof')
        self.assertEqual(len(set(txids.split())), 200)
        # Every one is on the devchain, and no UTXO stays locked.
        for txid in set(txids.split()):
            self.assertEqual(self.svc.chain_get(f'/v1/bsv/test/tx/hash/{txid}')['txid'], txid)
        rows = self.pool_rows()
        self.assertNotIn('locked', rows, rows)
        # Balance: the pool holds exactly what the chain says is unspent at
        # the funding and change addresses, and fees stayed small.
        left = sum(v[1] for k, v in rows.items() if k in ('available', 'unconfirmed'))
        on_chain = 0
        for label in ('funding', 'change'):
            addr = self.svc.keys[label]['addressTest']
            on_chain += sum(u['value'] for u in self.svc.chain_get(f'/v1/bsv/test/address/{addr}/unspent'))
        self.assertEqual(left, on_chain)
        self.assertLess(left, total_before)
        self.assertGreater(left, total_before - 200 * 10_000)


if __name__ == '__main__':
    unittest.main()
