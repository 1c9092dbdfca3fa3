# SPDX-License-Identifier: MIT
"""patchproof-worker running the job kinds without a pending record (sweep,
split, anchor; sql/0004_operations.sql) against the real stack. The jobs are
written straight into MariaDB the way the admin planners write them: one
transaction that inserts the job with its plan and (sweep, split) locks the
chosen pool outputs to it, or (anchor) adds the batch row. Every check of a
transaction is made on the bytes the devchain serves (GET tx/hash), parsed
here with pptx, independently of module/: exactly the expected outputs, the
pool afterwards, the batch state; a worker SIGKILLed after each stored step
is finished by another with the same txid; a refused broadcast fails the job
with its inputs released or quarantined by what the chain lists (and an
anchor's batch failed, its records free again); the devchain never sees a
double spend from the service."""
import json
import secrets
import time
import unittest
import urllib.error

from chainstack import ChainStack
import chainstack
from stackcase import StackCase
import ppclient as pc
import pptx

STEPS = ('inputs_locked', 'signed', 'broadcast', 'done')
FEE_PER_KB = 500  # chainstack.CHAIN_TUNING
TAG = b'PatchProofBatch'


def fee_bounds(raw, inputs):
    """The fee a rate of FEE_PER_KB asks for this size: at least the real
    size, at most the estimate (107-byte scriptSigs, a few bytes more)."""
    low = -(-len(raw) * FEE_PER_KB // 1000)
    high = -(-(len(raw) + 4 * inputs) * FEE_PER_KB // 1000)
    return low, high


class WorkerKinds(StackCase):
    prefix = 'pp-kinds-'
    n = 0

    @classmethod
    def make_stack(cls, base_dir):
        return ChainStack(base_dir, job_workers=0)

    @classmethod
    def stack_ready(cls):
        change = cls.svc.keys['change']
        cls.change_key = change['keyIdentifier']
        cls.change_script = pptx.p2pkh_script_for(change['addressTest'])

    def sql(self, q):
        return self.svc.st.sql(q, database='patchproof').strip()

    # -- writing jobs the way the planners do

    def available(self, count, order='satoshis DESC, id ASC', where='TRUE'):
        rows = self.sql(f"SELECT id, version, txid, vout, satoshis, key_id, script_hex FROM utxos "
                        f"WHERE status = 'available' AND {where} ORDER BY {order} LIMIT {int(count)}").splitlines()
        self.assertEqual(len(rows), count)
        out = []
        for r in rows:
            i, v, txid, vout, sats, key, script = r.split('\t')
            out.append({'id': int(i), 'version': int(v), 'txid': txid, 'vout': int(vout),
                        'satoshis': int(sats), 'key_id': key, 'script': bytes.fromhex(script)})
        return out

    def write_job(self, kind, payload, utxos=(), batch_root=None, records=()):
        """One transaction: the job, its locked inputs (version-guarded, as
        UtxoPool::lock_exact), an anchor's batch and its records' batch_id."""
        now = int(time.time() * 1000)
        q = ['START TRANSACTION;',
             f"INSERT INTO jobs (kind, payload) VALUES ('{kind}', '{json.dumps(payload, separators=(',', ':'))}');",
             'SET @job = LAST_INSERT_ID();']
        for u in utxos:
            q.append(f"UPDATE utxos SET status = 'locked', locked_by = @job, locked_ms = {now}, "
                     f"version = version + 1 WHERE id = {u['id']} AND version = {u['version']} "
                     f"AND status = 'available';")
        if batch_root is not None:
            q.append(f"INSERT INTO anchor_batches (merkle_root, leaf_count, job_id) "
                     f"VALUES ('{batch_root}', {max(1, len(records))}, @job);")
            q.append('SET @batch = LAST_INSERT_ID();')
            for i, txid in enumerate(records):
                q.append(f"INSERT INTO records (txid, uid_tag_id, kind, record, record_hash, confirmed_ms, "
                         f"batch_id, batch_index) VALUES ('{txid}', 'TAG-{txid[:8]}', 'registration', '{{}}', "
                         f"'{secrets.token_hex(32)}', {now}, @batch, {i});")
        q.append("SELECT @job, (SELECT COUNT(*) FROM utxos WHERE locked_by = @job AND status = 'locked');")
        q.append('COMMIT;')
        job, locked = self.sql('\n'.join(q)).split('\t')
        self.assertEqual(int(locked), len(utxos))
        return int(job)

    # -- running the worker

    def start_worker(self, env=None):
        WorkerKinds.n += 1
        name = self.svc.worker_name(WorkerKinds.n)
        self.svc.start_worker(WorkerKinds.n, env=env)
        return name

    def job_row(self, job_id):
        step, txid, attempts, err = self.sql(
            f'SELECT step, txid, attempts, last_error FROM jobs WHERE id = {int(job_id)}').split('\t')
        return step, (None if txid == 'NULL' else txid), int(attempts), err

    def wait_job(self, job_id, steps=('done', 'failed'), timeout=60):
        deadline = time.time() + timeout
        while True:
            row = self.job_row(job_id)
            if row[0] in steps:
                return row
            if time.time() > deadline:
                raise AssertionError(f'job {job_id} still {row} after {timeout}s')
            time.sleep(0.1)

    def run_job(self, job_id, env=None):
        worker = self.start_worker({'JOB_MAX_ATTEMPTS': '2', **(env or {})})
        try:
            return self.wait_job(job_id)
        finally:
            self.svc.st.stop(worker)

    def crash_at(self, step):
        return self.start_worker({'PATCHPROOF_ENV': 'test', 'PP_TEST_CRASH_AFTER_STEP': step})

    # -- what the chain and the pool say

    def chain_tx(self, txid):
        rec = self.svc.chain_get(f'/v1/bsv/test/tx/hash/{txid}')
        self.assertEqual(rec['txid'], txid)
        raw = bytes.fromhex(rec['hex'])
        tx = pptx.parse_tx(raw)
        self.assertEqual(tx.txid(), txid)
        return tx, raw

    def chain_has(self, txid):
        try:
            return self.svc.chain_get(f'/v1/bsv/test/tx/hash/{txid}')['txid'] == txid
        except urllib.error.HTTPError as e:
            self.assertEqual(e.code, 404)
            return False

    def double_spends(self):
        """Refusals the devchain logged for inputs already spent."""
        log = self.svc.st.logs('devchain')
        return log.count('txn-mempool-conflict') + log.count('missing-inputs')

    def utxo(self, uid):
        status, spent_txid, key = self.sql(
            f'SELECT status, spent_txid, key_id FROM utxos WHERE id = {int(uid)}').split('\t')
        return status, spent_txid, key

    def assert_pool_after(self, tx, txid, input_ids):
        for uid in input_ids:
            self.assertEqual(self.utxo(uid)[:2], ('spent', txid))
        self.assertEqual(self.sql(f"SELECT COUNT(*) FROM utxos WHERE spent_txid = '{txid}'"), str(len(input_ids)))
        for vout, out in enumerate(tx.outputs):
            row = self.sql(f"SELECT status, satoshis, key_id FROM utxos WHERE txid = '{txid}' AND vout = {vout}")
            if out.script == self.change_script:
                self.assertEqual(row.split('\t'), ['available', str(out.value), self.change_key])
            else:
                self.assertEqual(row, '')
        self.assertEqual(self.sql("SELECT COUNT(*) FROM utxos WHERE status = 'locked'"), '0')

    def assert_inputs(self, tx, utxos):
        self.assertEqual(sorted((i.txid, i.vout) for i in tx.inputs), sorted((u['txid'], u['vout']) for u in utxos))

    def assert_fee(self, tx, raw, in_total):
        fee = in_total - sum(o.value for o in tx.outputs)
        low, high = fee_bounds(raw, len(tx.inputs))
        self.assertGreaterEqual(fee, low)
        self.assertLessEqual(fee, high)
        return fee

    # -- the three kinds, end to end

    def sweep(self, count=3):
        utxos = self.available(count)
        return self.write_job('sweep', {}, utxos), utxos

    def check_sweep(self, job_id, utxos, txid):
        tx, raw = self.chain_tx(txid)
        self.assert_inputs(tx, utxos)
        self.assertEqual(len(tx.outputs), 1)
        self.assertEqual(tx.outputs[0].script, self.change_script)
        self.assert_fee(tx, raw, sum(u['satoshis'] for u in utxos))
        self.assert_pool_after(tx, txid, [u['id'] for u in utxos])

    def split(self, outputs=4, sats=100_000):
        utxos = self.available(1)
        return self.write_job('split', {'outputs': outputs, 'satoshis': sats}, utxos), utxos

    def check_split(self, job_id, utxos, txid, outputs=4, sats=100_000):
        tx, raw = self.chain_tx(txid)
        self.assert_inputs(tx, utxos)
        self.assertEqual(len(tx.outputs), outputs + 1)
        for o in tx.outputs[:outputs]:
            self.assertEqual((o.value, o.script), (sats, self.change_script))
        self.assertEqual(tx.outputs[outputs].script, self.change_script)
        self.assert_fee(tx, raw, utxos[0]['satoshis'])
        self.assert_pool_after(tx, txid, [u['id'] for u in utxos])
        self.assertEqual(self.sql(f"SELECT COUNT(*) FROM utxos WHERE txid = '{txid}' AND status = 'available'"),
                         str(outputs + 1))

    def anchor(self, records=2):
        root = secrets.token_hex(32)
        txids = [secrets.token_hex(32) for _ in range(records)]
        job = self.write_job('anchor', {'batchId': 1, 'merkleRoot': root}, batch_root=root, records=txids)
        return job, (root, txids)

    def check_anchor(self, job_id, plan, txid):
        root, _ = plan
        tx, raw = self.chain_tx(txid)
        self.assertEqual(len(tx.outputs), 2)
        data = tx.outputs[0]
        self.assertEqual(data.value, 0)
        self.assertEqual(data.script, bytes([0x00, 0x6a, len(TAG)]) + TAG + bytes([32]) + bytes.fromhex(root))
        self.assertEqual(tx.outputs[1].script, self.change_script)
        spent = self.sql(f"SELECT id, satoshis FROM utxos WHERE spent_txid = '{txid}'").splitlines()
        self.assertEqual(len(spent), len(tx.inputs))
        self.assert_fee(tx, raw, sum(int(r.split('\t')[1]) for r in spent))
        self.assert_pool_after(tx, txid, [int(r.split('\t')[0]) for r in spent])
        status, batch_txid = self.sql(f'SELECT status, txid FROM anchor_batches WHERE job_id = {job_id}').split('\t')
        self.assertEqual((status, batch_txid), ('anchored', txid))

    KINDS = {'sweep': (sweep, check_sweep), 'split': (split, check_split), 'anchor': (anchor, check_anchor)}

    def run_kind(self, kind):
        before = self.double_spends()
        write, check = self.KINDS[kind]
        job, plan = write(self)
        step, txid, _, err = self.run_job(job)
        self.assertEqual(step, 'done', err)
        check(self, job, plan, txid)
        self.assertEqual(self.double_spends(), before)

    def test_sweep(self):
        self.run_kind('sweep')

    def test_split(self):
        self.run_kind('split')

    def test_anchor(self):
        self.run_kind('anchor')

    def test_record_jobs_still_run_between_them(self):
        before = self.double_spends()
        sweep, s_utxos = self.sweep(2)
        owner = pc.address_from_priv(pc.random_privkey(), 'test')
        st, _, resp = self.c.call('POST', '/v1/patches', {
            'product': {'uid_tag_id': 'TAG-' + secrets.token_hex(6), 'name': 'Jersey'},
            'metadata': {'notes': 'kinds'}, 'auth': {'owner': owner}})
        self.assertEqual(st, 202, resp)
        anchor, a_plan = self.anchor()
        worker = self.start_worker()
        try:
            done = self.svc.wait_pending('registration', resp['pendingId'])
            rows = [self.wait_job(j) for j in (sweep, anchor)]
        finally:
            self.svc.st.stop(worker)
        self.assertEqual(done['status'], 'confirmed', done)
        self.check_sweep(sweep, s_utxos, rows[0][1])
        self.check_anchor(anchor, a_plan, rows[1][1])
        self.assertEqual(self.double_spends(), before)

    # -- crash after each stored step: resumed with the same bytes

    def crash_then_resume(self, step):
        for kind in ('sweep', 'split', 'anchor'):
            with self.subTest(kind=kind):
                before = self.double_spends()
                write, check = self.KINDS[kind]
                job, plan = write(self)
                chainstack.wait_killed(self, self.crash_at(step))
                stored_step, stored_txid, _, _ = self.job_row(job)
                chainstack.assert_stored_at(self, step, stored_step, stored_txid)
                final_step, txid, _, err = self.run_job(job)
                self.assertEqual(final_step, 'done', err)
                if stored_txid:
                    self.assertEqual(txid, stored_txid)
                check(self, job, plan, txid)
                self.assertEqual(self.double_spends(), before)

    def test_crash_after_inputs_locked(self):
        self.crash_then_resume('inputs_locked')

    def test_crash_after_signed(self):
        self.crash_then_resume('signed')

    def test_crash_after_broadcast(self):
        self.crash_then_resume('broadcast')

    def test_crash_after_done(self):
        self.crash_then_resume('done')

    # -- refusals

    def spend_behind_the_back(self, u, outputs=None):
        """Spends pool entry u outside the service, by default paying a stranger."""
        outputs = outputs or [pptx.TxOut(u['satoshis'] - 2000, pptx.Key().script())]
        return chainstack.spend_behind_the_back(self.svc, u, outputs)

    def test_sweep_with_an_input_spent_elsewhere_fails(self):
        utxos = self.available(2)
        self.spend_behind_the_back(utxos[0])
        before = self.double_spends()
        job = self.write_job('sweep', {}, utxos)
        step, txid, _, err = self.run_job(job)
        self.assertEqual(step, 'failed')
        self.assertIn('chain rejected', err)
        self.assertGreater(self.double_spends(), before)  # the refusal the counter looks for
        self.assertFalse(self.chain_has(txid))
        status, _, _ = self.utxo(utxos[0]['id'])
        self.assertEqual(status, 'quarantined')
        self.assertEqual(self.utxo(utxos[1]['id'])[0], 'available')  # the chain still lists it
        self.assertEqual(self.sql("SELECT COUNT(*) FROM utxos WHERE status = 'locked'"), '0')

    def test_split_refused_for_its_fee_releases_the_input(self):
        self.sql("INSERT INTO settings (name, value) VALUES ('FEE_PER_KB', '1') ON DUPLICATE KEY UPDATE value = '1'")
        try:
            job, utxos = self.split()
            step, txid, _, err = self.run_job(job)
        finally:
            self.sql("DELETE FROM settings WHERE name = 'FEE_PER_KB'")
        self.assertEqual(step, 'failed')
        self.assertFalse(self.chain_has(txid))
        self.assertEqual(self.utxo(utxos[0]['id'])[0], 'available')
        self.assertEqual(self.sql(f"SELECT COUNT(*) FROM utxos WHERE txid = '{txid}'"), '0')

    def test_anchor_refused_fails_its_batch(self):
        # The anchor job locks the smallest available output: spend it first.
        u = self.available(1, order='satoshis ASC, id ASC', where='satoshis >= 1000')[0]
        self.spend_behind_the_back(u)
        job, (_, records) = self.anchor(records=3)
        step, txid, _, err = self.run_job(job)
        self.assertEqual(step, 'failed')
        self.assertFalse(self.chain_has(txid))
        self.assertEqual(self.utxo(u['id'])[0], 'quarantined')
        self.assertEqual(self.sql(f'SELECT status, txid FROM anchor_batches WHERE job_id = {job}'), 'failed\tNULL')
        in_list = ','.join(f"'{t}'" for t in records)
        self.assertEqual(self.sql(f'SELECT COUNT(*) FROM records WHERE txid IN ({in_list}) '
                                  'AND batch_id IS NULL AND batch_index IS NULL'), str(len(records)))
        self.assertEqual(self.sql("SELECT COUNT(*) FROM utxos WHERE status = 'locked'"), '0')

    def test_sweep_that_cannot_pay_its_fee_fails_without_a_transaction(self):
        # A 60-sat output of ours (made on chain here, taken into the pool
        # as sync would) cannot pay a one-input sweep's fee at 500 sat/kB:
        # refused before any KMS call, the input back to available.
        u = self.available(1)[0]
        tx = self.spend_behind_the_back(u, [pptx.TxOut(60, self.change_script),
                                            pptx.TxOut(u['satoshis'] - 2000, pptx.Key().script())])
        self.sql(f"UPDATE utxos SET status = 'spent', spent_txid = '{tx.txid()}' WHERE id = {u['id']}")
        self.sql(f"INSERT INTO utxos (txid, vout, satoshis, key_id, script_hex, status) VALUES "
                 f"('{tx.txid()}', 0, 60, '{self.change_key}', '{self.change_script.hex()}', 'available')")
        dust = self.sql(f"SELECT id FROM utxos WHERE txid = '{tx.txid()}' AND vout = 0")
        dust_u = self.available(1, order='satoshis ASC, id ASC')[0]
        self.assertEqual(dust_u['id'], int(dust))
        job = self.write_job('sweep', {}, [dust_u])
        step, txid, _, err = self.run_job(job)
        self.assertEqual((step, txid), ('failed', None))
        self.assertIn('cover the fee', err)
        self.assertEqual(self.utxo(dust_u['id'])[0], 'available')


    def test_bad_plans_fail_without_a_transaction(self):
        # A split asking for no outputs: failed, its input back in the pool.
        utxos = self.available(1)
        bad = self.write_job('split', {'outputs': 0, 'satoshis': 1000}, utxos)
        # A sweep whose inputs are not locked to it (a planner that lost them).
        bare = self.write_job('sweep', {})
        # An anchor whose root is not 32 bytes: nothing is locked for it.
        short = self.write_job('anchor', {'batchId': 1, 'merkleRoot': 'ab' * 31}, batch_root='ab' * 32)
        worker = self.start_worker()
        try:
            rows = [self.wait_job(j) for j in (bad, bare, short)]
        finally:
            self.svc.st.stop(worker)
        for (step, txid, _, err), want in zip(rows, ('malformed', 'not locked', 'malformed')):
            self.assertEqual((step, txid), ('failed', None))
            self.assertIn(want, err)
        self.assertEqual(self.utxo(utxos[0]['id'])[0], 'available')
        self.assertEqual(self.sql(f'SELECT status FROM anchor_batches WHERE job_id = {short}'), 'failed')
        self.assertEqual(self.sql("SELECT COUNT(*) FROM utxos WHERE status = 'locked'"), '0')


if __name__ == '__main__':
    unittest.main()
