# SPDX-License-Identifier: MIT
"""Batch anchoring end to end (DESIGN.md §3 batch-anchor and proof) on the
real stack (nginx, three fcgi pools, patchproof-worker, KMS, devchain,
MariaDB): registrations and a transfer confirm on the devchain, then
POST /v1/admin/batch-anchor puts a Merkle root of their record hashes on
chain and GET /v1/patches/proof/{recordHash} proves each one.

Everything the service claims is recomputed here without module/: record
hashes from the record bytes on the devchain, the tree (single SHA-256
parents, odd node paired with itself), every path, and the anchor
transaction's OP_FALSE OP_RETURN "PatchProofBatch" <root> output parsed from
its raw hex. Faults: the proof stays 404 while the batch transaction is
signed but not on chain; two pools racing give one 200/202 and one 409 and
no record lands in two batches; a batch whose job fails frees its records
for the next batch; bad input is 400/401 and changes nothing."""
import hashlib
import http.client
import json
import secrets
import subprocess
import threading
import time
import unittest

from chainstack import ChainStack
from service import pinned_servers
from stackcase import StackCase
import stack as stackmod
import ppclient as pc

WAIT_SEC = 8       # ADMIN_WAIT_SEC of pools 0 and 1 (and the CLI)
SHORT_WAIT_SEC = 1  # pool 2: answers 202 quickly when no worker signs
TAG = b'PatchProofBatch'


# ---------------------------------------------------------------- independent maths

def sha256(b):
    return hashlib.sha256(b).digest()


def tree_paths(leaves):
    """(root, [path per leaf]) by the rules of DESIGN.md §3; a path is a list
    of (sibling hex, side)."""
    assert leaves
    paths = [[] for _ in leaves]
    pos = list(range(len(leaves)))  # each leaf's index in the current level
    level = list(leaves)
    while len(level) > 1:
        if len(level) % 2:
            level = level + [level[-1]]
        for leaf, i in enumerate(pos):
            if i % 2 == 0:
                paths[leaf].append((level[i + 1].hex(), 'right'))
            else:
                paths[leaf].append((level[i - 1].hex(), 'left'))
            pos[leaf] = i // 2
        level = [sha256(level[i] + level[i + 1]) for i in range(0, len(level), 2)]
    return level[0], paths


def walk(leaf, path):
    h = leaf
    for step in path:
        sib = bytes.fromhex(step['hash'])
        h = sha256(sib + h) if step['side'] == 'left' else sha256(h + sib)
    return h


def read_varint(b, i):
    n = b[i]
    if n < 0xfd:
        return n, i + 1
    width = {0xfd: 2, 0xfe: 4, 0xff: 8}[n]
    return int.from_bytes(b[i + 1:i + 1 + width], 'little'), i + 1 + width


def tx_outputs(raw):
    """[(satoshis, script bytes)] of a serialized transaction."""
    i = 4
    n_in, i = read_varint(raw, i)
    for _ in range(n_in):
        i += 36
        n, i = read_varint(raw, i)
        i += n + 4
    n_out, i = read_varint(raw, i)
    outs = []
    for _ in range(n_out):
        value = int.from_bytes(raw[i:i + 8], 'little')
        n, i = read_varint(raw, i + 8)
        outs.append((value, raw[i:i + n]))
        i += n
    assert len(raw) == i + 4, 'trailing bytes after the outputs'
    return outs


def data_pushes(script):
    """The pushes of an OP_FALSE OP_RETURN script, else None."""
    if script[:2] != b'\x00\x6a':
        return None
    pushes, i = [], 2
    while i < len(script):
        op = script[i]
        i += 1
        if 1 <= op <= 75:
            n = op
        elif op in (0x4c, 0x4d, 0x4e):
            width = {0x4c: 1, 0x4d: 2, 0x4e: 4}[op]
            n = int.from_bytes(script[i:i + width], 'little')
            i += width
        else:
            raise AssertionError(f'opcode {op:#x} in a data output')
        pushes.append(script[i:i + n])
        i += n
    assert i == len(script)
    return pushes


def txid_of(raw):
    return sha256(sha256(raw))[::-1].hex()


class Anchoring(StackCase):
    prefix = 'pp-anchor-'
    worker_n = 10

    @classmethod
    def make_stack(cls, base_dir):
        cls.ports = [stackmod.free_port() for _ in range(3)]
        admin = {'ADMIN_WAIT_SEC': str(WAIT_SEC), 'ADMIN_LEASE_SEC': '30'}
        svc = ChainStack(base_dir, job_workers=1, pools=2, workers=2,
                         env={**admin, 'PUBLIC_API_MAX': '100000000'}, admin_env=admin)
        svc.extra_servers = pinned_servers([(cls.ports[i], svc.pool_socket(i)) for i in range(3)])
        return svc

    @classmethod
    def stack_ready(cls):
        # Pool 2 (own port only): the same service, a short ADMIN_WAIT_SEC.
        cls.svc.start_pool(2, env={'ADMIN_WAIT_SEC': str(SHORT_WAIT_SEC)})
        cls.pool = [pc.Client(f'http://127.0.0.1:{p}', api_key=cls.svc.api_key) for p in cls.ports]
        cls.worker = cls.svc.worker_name(0)
        cls.anon = pc.Client(cls.svc.base_url)

    # ------------------------------------------------------------ helpers
    def sql(self, q):
        return self.svc.st.sql(q, database='patchproof').strip()

    def rows(self, q):
        out = self.sql(q)
        return [line.split('\t') for line in out.splitlines()] if out else []

    def stop_worker(self):
        self.svc.st.stop(self.worker)

    def start_worker(self, env=None):
        Anchoring.worker_n += 1
        self.svc.start_worker(Anchoring.worker_n, env=env)
        Anchoring.worker = self.svc.worker_name(Anchoring.worker_n)
        return Anchoring.worker

    def register(self):
        owner_priv = pc.random_privkey()
        uid = 'ANCHOR-' + secrets.token_hex(5)
        st, _, resp = self.c.call('POST', '/v1/patches', {
            'product': {'uid_tag_id': uid, 'name': 'Patch'}, 'metadata': {'notes': 'anchor'},
            'auth': {'owner': pc.address_from_priv(owner_priv, 'test')}})
        self.assertEqual(st, 202, resp)
        return uid, owner_priv, resp['pendingId']

    def registered(self, n):
        """n confirmed registrations: [(uid, owner key, txid)]."""
        started = [self.register() for _ in range(n)]
        out = []
        for uid, priv, pid in started:
            done = self.svc.wait_pending('registration', pid)
            self.assertEqual(done['status'], 'confirmed', done)
            out.append((uid, priv, done['txid']))
        return out

    def transferred(self, uid, priv, txid):
        user = 'anchor_' + secrets.token_hex(4)
        pub = pc.pubkey_hex(priv)
        self.c.svd_register(user, pub)
        token = pc.Client(self.svc.base_url, api_key=self.svc.api_key).svd_login(user, priv)
        new_addr = pc.address_from_priv(pc.random_privkey(), 'test')
        msg = json.dumps({'purpose': 'transfer_ownership', 'uid_tag_id': uid, 'currentTxid': txid,
                          'newOwnerAddress': new_addr}, separators=(',', ':'))
        st, _, resp = self.c.call('POST', f'/v1/patches/{txid}/transfer-ownership',
                                  {'newOwnerAddress': new_addr, 'currentOwnerPubKey': pub,
                                   'currentOwnerSignature': pc.sign_message(priv, msg.encode())},
                                  headers={'Authorization': 'Bearer ' + token})
        self.assertEqual(st, 202, resp)
        done = self.svc.wait_pending('transfer', resp['pendingId'])
        self.assertEqual(done['status'], 'confirmed', done)
        return done['txid']

    def chain_tx(self, txid):
        """The raw bytes the devchain holds for txid, or None."""
        try:
            info = self.svc.chain_get(f'/v1/bsv/test/tx/hash/{txid}')
        except Exception as e:  # urllib's HTTPError for 404
            if getattr(e, 'code', None) == 404:
                return None
            raise
        raw = bytes.fromhex(info['hex'])
        self.assertEqual(txid_of(raw), txid)
        return raw

    def record_hash_on_chain(self, txid):
        """SHA-256 of the sorted compact JSON of the record the devchain
        carries in txid's data output (computed here)."""
        outs = [data_pushes(s) for _, s in tx_outputs(self.chain_tx(txid))]
        pushes = [p for p in outs if p is not None]
        self.assertEqual(len(pushes), 1)
        record = json.loads(pushes[0][-1])
        return sha256(pc.canonical_json(record, sort_keys=True).encode())

    def expected_leaves(self):
        """Unbatched records, oldest first as §3 says (confirmation time,
        then txid), with hashes computed from the chain: [(txid, hash)]."""
        rows = self.rows('SELECT txid, confirmed_ms, record_hash FROM records WHERE batch_id IS NULL')
        rows.sort(key=lambda r: (int(r[1]), r[0]))
        out = []
        for txid, _, stored in rows:
            h = self.record_hash_on_chain(txid)
            self.assertEqual(h.hex(), stored)
            out.append((txid, h))
        return out

    def anchor(self, client=None, body=None, **kw):
        client = client or self.c
        if body is None and not kw:
            return client.call('POST', '/v1/admin/batch-anchor', {})
        return client.call('POST', '/v1/admin/batch-anchor', body, **kw)

    def proof(self, h):
        return self.anon.call('GET', f'/v1/patches/proof/{h}', key=False)

    def wait_proof(self, h, timeout=60):
        deadline = time.time() + timeout
        while True:
            st, _, body = self.proof(h)
            if st == 200:
                return body
            self.assertEqual(st, 404, body)
            if time.time() > deadline:
                raise AssertionError(f'no proof of {h} after {timeout}s')
            time.sleep(0.1)

    def wait_job(self, job_id, steps=('done', 'failed'), timeout=60):
        deadline = time.time() + timeout
        while True:
            step = self.sql(f'SELECT step FROM jobs WHERE id = {int(job_id)}')
            if step in steps:
                return step
            if time.time() > deadline:
                raise AssertionError(f'job {job_id} still {step} after {timeout}s')
            time.sleep(0.1)

    def assertError(self, resp, status, code):
        st, _, body = resp
        self.assertEqual(st, status, body)
        self.assertEqual((body['error'], body['code'], body['status']), (code, code, status), body)

    def check_batch(self, body, leaves):
        """The anchored batch in `body` (a 200 of batch-anchor) holds exactly
        `leaves` in this order: root, every path, the chain's transaction."""
        self.assertEqual(list(body), ['success', 'txid', 'jobId', 'processed', 'updated'])
        self.assertIs(body['success'], True)
        self.assertEqual((body['processed'], body['updated']), (len(leaves), len(leaves)))
        root, paths = tree_paths([h for _, h in leaves])
        if len(leaves) == 1:
            self.assertEqual((root, paths), (leaves[0][1], [[]]))
        for i, ((_, h), path) in enumerate(zip(leaves, paths)):
            got = self.wait_proof(h.hex().upper() if i % 2 else h.hex())  # hex in either case
            self.assertEqual(list(got), ['recordHash', 'merkleRoot', 'path', 'anchorTxid'])
            self.assertEqual(got['recordHash'], h.hex())
            self.assertEqual(got['merkleRoot'], root.hex())
            self.assertEqual([(s['hash'], s['side']) for s in got['path']], path)
            self.assertEqual(walk(h, got['path']), root)
            self.assertEqual(got['anchorTxid'], body['txid'])
        # The job's payload and the transaction the devchain accepted.
        kind, payload = self.rows(f"SELECT kind, payload FROM jobs WHERE id = {int(body['jobId'])}")[0]
        self.assertEqual(kind, 'anchor')
        self.assertEqual(json.loads(payload)['merkleRoot'], root.hex())
        raw = self.chain_tx(body['txid'])
        self.assertIsNotNone(raw, 'the devchain does not have the anchor transaction')
        data = [p for p in (data_pushes(s) for _, s in tx_outputs(raw)) if p is not None]
        self.assertEqual(data, [[TAG, root]])
        return root

    # ------------------------------------------------------------ tests (in name order)
    def test_1_bad_input_changes_nothing(self):
        before = self.sql('SELECT COUNT(*) FROM anchor_batches')
        self.assertError(self.anon.call('POST', '/v1/admin/batch-anchor', {'limit': 5}, key=False),
                         401, 'UNAUTHORIZED')
        wrong = pc.Client(self.svc.base_url, api_key='0' * 64)
        self.assertError(self.anchor(wrong, {'limit': 'x'}), 401, 'UNAUTHORIZED')  # auth before body
        for bad in (0, -1, 1001, 10 ** 20, 2.5, '5', True, None, [5]):
            with self.subTest(limit=bad):
                self.assertError(self.anchor(body={'limit': bad}), 400, 'VALIDATION_ERROR')
        self.assertError(self.anchor(body={'limit': 5, 'dryRun': True}), 400, 'VALIDATION_ERROR')
        self.assertError(self.anchor(body=None, raw='{"limit":', content_type='application/json'),
                         400, 'VALIDATION_ERROR')
        self.assertError(self.anchor(body=None, raw='[]'), 400, 'VALIDATION_ERROR')
        self.assertError(self.anchor(body=None, raw='{}', content_type='text/plain'),
                         415, 'UNSUPPORTED_MEDIA_TYPE')
        for h in ('ab' * 31, 'ab' * 33, 'zz' * 32, 'ab' * 31 + 'a'):
            with self.subTest(hash=h):
                self.assertError(self.proof(h), 400, 'VALIDATION_ERROR')
        self.assertError(self.proof(secrets.token_hex(32)), 404, 'NOT_FOUND')
        self.assertEqual(self.sql('SELECT COUNT(*) FROM anchor_batches'), before)
        self.assertEqual(self.sql("SELECT COUNT(*) FROM jobs WHERE kind = 'anchor'"), '0')

    def test_2_empty(self):
        self.assertEqual(self.sql('SELECT COUNT(*) FROM records WHERE batch_id IS NULL'), '0')
        empty = {'success': True, 'txid': None, 'jobId': None, 'processed': 0, 'updated': 0}
        st, _, body = self.anchor()
        self.assertEqual((st, body), (200, empty))
        # No body at all is the default limit too; the CLI says the same.
        st, _, body = self.c.call('POST', '/v1/admin/batch-anchor')
        self.assertEqual((st, body), (200, empty))
        out = self.svc.cli('anchor')
        self.assertEqual(json.loads(out.stdout), empty)
        self.assertEqual(self.sql('SELECT COUNT(*) FROM anchor_batches'), '0')

    def test_3_odd_even_and_one_leaf_batches(self):
        patches = self.registered(7)
        uid, priv, txid = patches[0]
        st, _, v = self.anon.call('GET', f'/v1/patches/verify/{uid}')
        self.assertEqual(st, 200, v)
        self.assertIsNone(v['verificationDetails']['anchor'])
        self.transferred(uid, priv, txid)  # 8 records: 7 registrations, 1 transfer
        leaves = self.expected_leaves()
        self.assertEqual(len(leaves), 8)
        # Odd (3), even over two levels (4), then the one left (one leaf).
        for limit, want in ((3, leaves[:3]), (4, leaves[3:7]), (None, leaves[7:])):
            with self.subTest(limit=limit):
                st, _, body = self.anchor(body={} if limit is None else {'limit': limit})
                self.assertEqual(st, 200, body)
                self.check_batch(body, want)
        # Every record is in exactly the batch its proof names.
        self.assertEqual(self.rows('SELECT COUNT(*), COUNT(DISTINCT batch_id) FROM records'), [['8', '3']])
        # verify's anchor: the current record's batch (the transfer for uid).
        for u, _, _ in patches:
            st, _, v = self.anon.call('GET', f'/v1/patches/verify/{u}')
            self.assertEqual(st, 200, v)
            got = self.proof(v['verificationDetails']['recordHash'])[2]
            self.assertEqual(v['verificationDetails']['anchor'],
                             {'merkleRoot': got['merkleRoot'], 'anchorTxid': got['anchorTxid']})
        st, _, body = self.anchor()
        self.assertEqual((st, body['processed'], body['txid']), (200, 0, None))

    def test_4_no_proof_before_the_chain_has_the_batch(self):
        (uid, _, _), = self.registered(1)
        (txid, h), = self.expected_leaves()
        self.stop_worker()
        # Nobody signs: pool 2 answers 202 after its short wait.
        st, _, body = self.anchor(self.pool[2])
        self.assertEqual(st, 202, body)
        self.assertEqual(list(body), ['success', 'txid', 'jobId', 'processed', 'updated'])
        self.assertEqual((body['success'], body['txid'], body['processed'], body['updated']), (True, None, 1, 1))
        job = body['jobId']
        self.assertError(self.proof(h.hex()), 404, 'NOT_FOUND')
        # Signed, then the worker dies before broadcasting: still no proof.
        crashed = self.start_worker({'PP_TEST_CRASH_AFTER_STEP': 'signed'})
        deadline = time.time() + 60
        while self.svc.st.is_running(crashed) and time.time() < deadline:
            time.sleep(0.05)
        self.assertFalse(self.svc.st.is_running(crashed))
        anchor_txid = self.sql(f'SELECT txid FROM jobs WHERE id = {int(job)}')
        self.assertRegex(anchor_txid, '^[0-9a-f]{64}$')
        self.assertIsNone(self.chain_tx(anchor_txid))
        self.assertError(self.proof(h.hex()), 404, 'NOT_FOUND')
        st, _, v = self.anon.call('GET', f'/v1/patches/verify/{uid}')
        self.assertIsNone(v['verificationDetails']['anchor'])
        # The run still counts as running: another is refused (CLI exit 4).
        self.assertError(self.anchor(), 409, 'CONFLICT')
        self.assertEqual(self.svc.cli('anchor', check=False).returncode, 4)
        # A worker finishes it with the same bytes: the proof appears.
        self.start_worker()
        self.assertEqual(self.wait_job(job), 'done')
        self.check_batch({'success': True, 'txid': anchor_txid, 'jobId': job, 'processed': 1, 'updated': 1},
                         [(txid, h)])
        st, _, v = self.anon.call('GET', f'/v1/patches/verify/{uid}')
        self.assertEqual(v['verificationDetails']['anchor'], {'merkleRoot': h.hex(), 'anchorTxid': anchor_txid})

    def test_5_two_pools_race(self):
        self.registered(3)
        leaves = self.expected_leaves()
        self.assertEqual(len(leaves), 3)
        self.stop_worker()  # so the winner's run lasts: its job stays unsigned
        results = [None, None]
        gate = threading.Barrier(2)

        def go(i):
            gate.wait()
            results[i] = self.anchor(self.pool[1 + i])
        threads = [threading.Thread(target=go, args=(i,)) for i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        statuses = sorted(r[0] for r in results)
        self.assertEqual(statuses, [202, 409], [r[2] for r in results])
        won = next(r[2] for r in results if r[0] == 202)
        self.assertEqual(won['processed'], 3)
        self.start_worker()
        self.assertEqual(self.wait_job(won['jobId']), 'done')
        txid = self.sql(f"SELECT txid FROM jobs WHERE id = {int(won['jobId'])}")
        self.check_batch({**won, 'txid': txid}, leaves)
        self.assert_one_batch_per_record()

    def assert_one_batch_per_record(self):
        # Each live batch holds exactly its leaf_count records at indexes
        # 0..n-1, so no record was counted into two batches.
        for bid, count, status in self.rows('SELECT id, leaf_count, status FROM anchor_batches'):
            members = self.rows(f'SELECT batch_index FROM records WHERE batch_id = {bid} ORDER BY batch_index')
            want = [] if status == 'failed' else [[str(i)] for i in range(int(count))]
            self.assertEqual(members, want, f'batch {bid} ({status})')

    def break_next_anchor_job(self, after):
        """Waits for the anchor job a run writes (id > after) while no worker
        runs, and breaks its plan: the worker started next fails it before
        signing (the run is still waiting). Returns the job id."""
        deadline = time.time() + 30
        while True:
            job = self.sql(f"SELECT COALESCE(MAX(id), 0) FROM jobs WHERE kind = 'anchor' AND id > {int(after)}")
            if job != '0':
                break
            self.assertLess(time.time(), deadline, 'the run wrote no anchor job')
            time.sleep(0.05)
        self.sql(f"UPDATE jobs SET payload = '{{}}' WHERE id = {int(job)}")
        return int(job)

    def assertFailedRun(self, body, job, processed):
        """A run whose job failed while it waited: the contract's body with
        success false, txid null, the job and its error text."""
        self.assertEqual(list(body), ['success', 'txid', 'jobId', 'processed', 'updated', 'error'])
        self.assertIs(body['success'], False)
        self.assertIsNone(body['txid'])
        self.assertEqual(body['jobId'], job)
        self.assertEqual((body['processed'], body['updated']), (processed, processed))
        self.assertIsInstance(body['error'], str)
        self.assertIn('plan', body['error'])  # the worker's reason

    def assertBatchFreed(self, job, leaves):
        self.assertEqual(self.sql(f'SELECT step FROM jobs WHERE id = {int(job)}'), 'failed')
        batch = self.rows(f'SELECT id, status FROM anchor_batches WHERE job_id = {int(job)}')
        self.assertEqual(batch[0][1], 'failed')
        self.assertEqual(self.sql(f'SELECT COUNT(*) FROM records WHERE batch_id = {batch[0][0]}'), '0')
        for _, h in leaves:
            self.assertError(self.proof(h.hex()), 404, 'NOT_FOUND')

    def test_6_failed_job_frees_its_records(self):
        self.registered(2)
        leaves = self.expected_leaves()
        self.stop_worker()
        # The route: the job fails while the run waits (WAIT_SEC): 200.
        answer = {}
        before = self.sql('SELECT COALESCE(MAX(id), 0) FROM jobs')
        t = threading.Thread(target=lambda: answer.update(r=self.anchor(self.pool[0])))
        t.start()
        try:
            job = self.break_next_anchor_job(before)
            self.start_worker()
        finally:
            t.join()
        st, _, body = answer['r']
        self.assertEqual(st, 200, body)
        self.assertFailedRun(body, job, len(leaves))
        self.assertBatchFreed(job, leaves)
        # The CLI: the same body, exit 1.
        self.stop_worker()
        before = self.sql('SELECT COALESCE(MAX(id), 0) FROM jobs')
        env = {**stackmod.base_env(), **self.svc.admin_env()}
        proc = subprocess.Popen([self.svc.binary('patchproof'), 'anchor'], env=env, text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            job = self.break_next_anchor_job(before)
            self.start_worker()
        finally:
            out, err = proc.communicate(timeout=120)
        self.assertEqual(proc.returncode, 1, err)
        self.assertFailedRun(json.loads(out), job, len(leaves))
        self.assertBatchFreed(job, leaves)
        # The next run (the CLI, the worker above running) takes the same
        # records, oldest first.
        out = self.svc.cli('anchor', '--limit', '1000', check=False)
        self.assertEqual(out.returncode, 0, out.stderr)
        body = json.loads(out.stdout)
        self.check_batch(body, leaves)
        self.assert_one_batch_per_record()

    def test_7_cli_usage_and_proof_rate_limit(self):
        for args in (('--limit', '0'), ('--limit', '1001'), ('--limit', 'x'), ('--limit',), ('--nope',)):
            with self.subTest(args=args):
                out = self.svc.cli('anchor', *args, check=False)
                self.assertEqual(out.returncode, 2, out.stderr)
                self.assertEqual(out.stdout, '')
        # nginx's public zone covers the proof route (from an address it
        # does not exempt; the app's own per-IP limit is out of the way).
        port = self.svc.st.nginx_port
        passed = None
        for n in range(1000):
            conn = http.client.HTTPConnection('127.0.0.1', port, timeout=15, source_address=('127.0.0.77', 0))
            try:
                conn.request('GET', '/v1/patches/proof/' + 'ab' * 32)
                r = conn.getresponse()
                r.read()
                rid = r.getheader('x-request-id')
            finally:
                conn.close()
            if r.status == 429:
                passed = n
                logs = self.svc.st.logs('fcgi0') + self.svc.st.logs('fcgi1')
                self.assertNotIn(f'"request_id":"{rid}"', logs)  # nginx's 429, not the app's
                break
            self.assertEqual(r.status, 404)
        self.assertIsNotNone(passed, 'never refused: no rate limit on the proof route')
        self.assertGreaterEqual(passed, 51)  # the public zone's burst, not the SVD zone's

    def test_8_cli_not_signed_in_time_exits_3(self):
        self.registered(1)
        (txid, h), = self.expected_leaves()
        self.stop_worker()
        env = {**stackmod.base_env(), **self.svc.admin_env(), 'ADMIN_WAIT_SEC': '1'}
        out = subprocess.run([self.svc.binary('patchproof'), 'anchor'], env=env, text=True,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.assertEqual(out.returncode, 3, out.stderr)
        body = json.loads(out.stdout)
        self.assertEqual(list(body), ['success', 'txid', 'jobId', 'processed', 'updated'])
        self.assertEqual((body['success'], body['txid'], body['processed'], body['updated']), (True, None, 1, 1))
        self.assertError(self.proof(h.hex()), 404, 'NOT_FOUND')
        self.start_worker()
        self.assertEqual(self.wait_job(body['jobId']), 'done')
        anchor_txid = self.sql(f"SELECT txid FROM jobs WHERE id = {int(body['jobId'])}")
        self.check_batch({**body, 'txid': anchor_txid}, [(txid, h)])


if __name__ == '__main__':
    unittest.main()
