# SPDX-License-Identifier: MIT
"""The operator CLI against the real stack (DESIGN.md §3 Admin, end):
`patchproof fee set|show|clear` changes the fee patchproof-worker builds
with (measured on the devchain's copy of the transaction), `patchproof jobs
list|retry|check` with their exit codes: check is 2 once a job failed; retry
makes a job waiting for its next attempt run now (its next attempt
happens at once instead of 10 minutes later), re-queues a failed
registration that never stored a transaction (it then confirms), and
refuses a failed job with a stored transaction."""
import json
import os
import time
import unittest

from stackcase import StackCase
import pptx
import test_admin_utxo as au


class CliOps(StackCase):
    prefix = 'pp-cli-ops-'
    n = 0

    @classmethod
    def make_stack(cls, base_dir):
        return au.make_stack(base_dir, job_workers=0)

    def sql(self, q):
        return au.sql(self.svc, q)

    def cli(self, *args):
        out = self.svc.cli(*args, check=False)
        body = json.loads(out.stdout) if out.stdout.strip() else None
        return out.returncode, body, out.stderr

    def start_worker(self, env=None):
        CliOps.n += 1
        self.svc.start_worker(CliOps.n, env=env)
        name = self.svc.worker_name(CliOps.n)
        self.addCleanup(self.svc.st.stop, name)
        return name

    def registered(self):
        _, resp = au.register(self.c)
        return resp, self.svc.wait_pending('registration', resp['pendingId'], timeout=60)

    def fee_rate(self, txid):
        """Satoshis per 1000 bytes the transaction pays (inputs from the pool)."""
        raw = self.svc.chain_get(f'/v1/bsv/test/tx/hash/{txid}')['hex']
        tx = pptx.parse_tx(raw)
        ins = int(self.sql(f"SELECT SUM(satoshis) FROM utxos WHERE spent_txid = '{txid}'"))
        fee = ins - sum(o.value for o in tx.outputs)
        return fee * 1000 / (len(raw) // 2)

    def bad_pool_entry(self, sats):
        """A pool entry whose script is not hex: the worker's attempt with it
        fails before anything is signed. The smallest available, so picked next."""
        txid = os.urandom(32).hex()
        key = self.svc.keys['funding']['keyIdentifier']
        self.sql(f"INSERT INTO utxos (txid, vout, satoshis, key_id, script_hex, status) "
                 f"VALUES ('{txid}', 0, {int(sats)}, '{key}', 'zz', 'available')")
        return self.sql(f"SELECT id FROM utxos WHERE txid = '{txid}'")

    # -- fee

    def test_fee_set_show_and_the_worker_uses_it(self):
        rc, body, _ = self.cli('fee', 'show')
        self.assertEqual((rc, body['feePerKb'], body['source']), (0, 500, 'environment'))
        for bad in ('abc', '-1', '100000001', ''):
            rc, _, err = self.cli('fee', 'set', bad)
            self.assertEqual(rc, 2, err)
        self.assertEqual(self.cli('fee', 'show')[1]['source'], 'environment')
        self.assertEqual(self.cli('fee', 'set')[0], 2)

        rc, body, _ = self.cli('fee', 'set', '2000')
        self.assertEqual((rc, body['feePerKb'], body['source']), (0, 2000, 'settings'))
        self.assertEqual(self.sql("SELECT value FROM settings WHERE name = 'FEE_PER_KB'"), '2000')
        self.start_worker()
        _, done = self.registered()
        self.assertEqual(done['status'], 'confirmed', done)
        rate = self.fee_rate(done['txid'])
        self.assertGreaterEqual(rate, 2000)
        self.assertLess(rate, 2300)

        rc, body, _ = self.cli('fee', 'clear')
        self.assertEqual((rc, body['feePerKb'], body['source']), (0, 500, 'environment'))
        _, done = self.registered()
        rate = self.fee_rate(done['txid'])
        self.assertGreaterEqual(rate, 500)
        self.assertLess(rate, 600)

    # -- jobs

    def test_jobs_list_check_and_retry(self):
        rc, body, _ = self.cli('jobs', 'check')
        self.assertEqual(rc, 0, body)
        self.assertEqual(body['failed'], 0)
        self.assertEqual(self.cli('jobs', 'list', '--state', 'bogus')[0], 2)
        self.assertEqual(self.cli('jobs', 'list', '--limit', '0')[0], 2)
        self.assertEqual(self.cli('jobs', 'retry', 'abc')[0], 2)
        self.assertEqual(self.cli('jobs', 'nope')[0], 2)
        rc, body, _ = self.cli('jobs', 'retry', '999999')
        self.assertEqual((rc, body['outcome']), (1, 'not_found'))

        # A failed registration that never stored a transaction.
        worker = self.start_worker({'JOB_MAX_ATTEMPTS': '1'})
        bad = self.bad_pool_entry(5000)
        resp, done = self.registered()
        self.assertEqual(done['status'], 'failed', done)
        job = resp['jobId']
        rc, body, _ = self.cli('jobs', 'check')
        self.assertEqual(rc, 2, body)
        self.assertEqual(body['failed'], 1)
        self.assertEqual(body['steps']['failed'], 1)
        rc, body, _ = self.cli('jobs', 'list', '--state', 'failed')
        self.assertEqual(rc, 0)
        self.assertEqual([j['id'] for j in body['jobs']], [job])
        self.assertIsNone(body['jobs'][0]['txid'])
        self.assertIn('malformed script', body['jobs'][0]['lastError'])
        self.assertEqual(self.sql(f'SELECT status FROM utxos WHERE id = {bad}'), 'quarantined')
        # Re-queued with its pending record; a good input this time.
        rc, body, _ = self.cli('jobs', 'retry', str(job))
        self.assertEqual((rc, body['outcome'], body['success']), (0, 'requeued', True))
        again = self.svc.wait_pending('registration', resp['pendingId'], timeout=60)
        self.assertEqual(again['status'], 'confirmed', again)
        self.assertEqual(self.cli('jobs', 'check')[0], 0)
        rc, body, _ = self.cli('jobs', 'retry', str(job))
        self.assertEqual((rc, body['outcome']), (1, 'done'))
        rc, body, _ = self.cli('jobs', 'list', '--state', 'done')
        self.assertIn(job, [j['id'] for j in body['jobs']])
        self.assertTrue(all(j['step'] == 'done' for j in body['jobs']))

        # A failed job WITH a stored transaction (the devchain refused its
        # fee) is refused.
        self.assertEqual(self.cli('fee', 'set', '1')[0], 0)
        try:
            resp, done = self.registered()
        finally:
            self.assertEqual(self.cli('fee', 'clear')[0], 0)
        self.assertEqual(done['status'], 'failed', done)
        self.assertRegex(self.sql(f"SELECT txid FROM jobs WHERE id = {resp['jobId']}"), '^[0-9a-f]{64}$')
        rc, body, err = self.cli('jobs', 'retry', str(resp['jobId']))
        self.assertEqual((rc, body['outcome'], body['success']), (1, 'has_tx', False))
        self.assertIn('may be on chain', body['message'])
        self.assertEqual(self.sql(f"SELECT step FROM jobs WHERE id = {resp['jobId']}"), 'failed')
        self.assertEqual(self.cli('jobs', 'check')[0], 2)
        self.svc.st.stop(worker)

        # A job waiting for its next attempt (10 minutes away) runs now.
        self.start_worker({'JOB_MAX_ATTEMPTS': '5', 'JOB_BACKOFF_MS': '600000'})
        bad = self.bad_pool_entry(5000)
        _, resp = au.register(self.c)
        job = resp['jobId']
        deadline = time.time() + 30
        while self.sql(f'SELECT attempts FROM jobs WHERE id = {job}') != '1':
            self.assertLess(time.time(), deadline)
            time.sleep(0.1)
        waiting = [j for j in self.cli('jobs', 'list')[1]['jobs'] if j['id'] == job]
        self.assertEqual(len(waiting), 1)
        self.assertNotIn(waiting[0]['step'], ('done', 'failed'))
        self.assertGreater(waiting[0]['nextAttemptMs'], time.time() * 1000 + 60_000)
        rc, body, _ = self.cli('jobs', 'retry', str(job))
        self.assertEqual((rc, body['outcome']), (0, 'made_ready'))
        # The worker takes it up now, not in 10 minutes: its next attempt runs
        # (and fails again on the same bad input, which is what shows it ran).
        deadline = time.time() + 30
        while self.sql(f'SELECT attempts FROM jobs WHERE id = {job}') != '2':
            self.assertLess(time.time(), deadline, 'the retried job did not run')
            time.sleep(0.1)
        self.assertEqual(self.cli('jobs', 'retry', str(job))[1]['outcome'], 'made_ready')


if __name__ == '__main__':
    unittest.main()
