# SPDX-License-Identifier: MIT
"""patchproof-worker against the real stack (devchain, KMS, MariaDB, fcgi):
a worker SIGKILLed right after each stored step (the PP_TEST_CRASH_AFTER_STEP
hook) is finished by a restarted worker with the same txid, one transaction
on chain, the pool balanced; SIGTERM stops an idle worker with exit 0."""
import os
import secrets
import signal
import tempfile
import time
import unittest

from chainstack import ChainStack
import ppclient as pc

STEPS = ('inputs_locked', 'signed', 'broadcast', 'done')


class WorkerCrash(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix='pp-worker-')
        cls.svc = ChainStack(cls.tmp.name, job_workers=0).start()
        cls.c = cls.svc.client()
        cls.n = 0

    @classmethod
    def tearDownClass(cls):
        try:
            cls.svc.stop()
        finally:
            cls.tmp.cleanup()

    def sql(self, q):
        return self.svc.st.sql(q, database='patchproof').strip()

    def start_worker(self, env=None):
        WorkerCrash.n += 1
        name = self.svc.worker_name(WorkerCrash.n)
        self.svc.start_worker(WorkerCrash.n, env=env)
        return name

    def register(self):
        owner = pc.address_from_priv(pc.random_privkey(), 'test')
        uid = 'TAG-' + secrets.token_hex(6)
        st, _, resp = self.c.call('POST', '/v1/patches', {
            'product': {'uid_tag_id': uid, 'name': 'Jersey'}, 'metadata': {'notes': 'crash test'},
            'auth': {'owner': owner}})
        self.assertEqual(st, 202, resp)
        return uid, resp

    def job_row(self, job_id):
        step, txid, attempts = self.sql(f'SELECT step, txid, attempts FROM jobs WHERE id = {int(job_id)}').split('\t')
        return step, (None if txid == 'NULL' else txid), int(attempts)

    def crash_then_resume(self, step):
        uid, resp = self.register()
        crashed = self.start_worker({'PATCHPROOF_ENV': 'test', 'PP_TEST_CRASH_AFTER_STEP': step})
        deadline = time.time() + 30
        while self.svc.st.is_running(crashed) and time.time() < deadline:
            time.sleep(0.05)
        rc = self.svc.st.stop(crashed)
        self.assertEqual(rc, -signal.SIGKILL, self.svc.st.logs(crashed, 20))

        stored_step, stored_txid, _ = self.job_row(resp['jobId'])
        self.assertEqual(stored_step, step)  # durable, and nothing after it ran
        if step in ('inputs_locked',):
            self.assertIsNone(stored_txid)
        else:
            self.assertRegex(stored_txid, r'^[0-9a-f]{64}$')

        resumer = self.start_worker()
        try:
            done = self.svc.wait_pending('registration', resp['pendingId'], timeout=60)
        finally:
            self.svc.st.stop(resumer)
        self.assertEqual(done['status'], 'confirmed', done)
        final_step, final_txid, _ = self.job_row(resp['jobId'])
        self.assertEqual(final_step, 'done')
        self.assertEqual(final_txid, done['txid'])
        if stored_txid:
            self.assertEqual(done['txid'], stored_txid)  # the same bytes, never a second transaction
        tx = self.svc.chain_get(f"/v1/bsv/test/tx/hash/{done['txid']}")
        self.assertEqual(tx['txid'], done['txid'])
        # Exactly the job's inputs are spent, nothing is left locked.
        self.assertEqual(self.sql("SELECT COUNT(*) FROM utxos WHERE status = 'locked'"), '0')
        spent_by = self.sql(f"SELECT COUNT(*) FROM utxos WHERE status = 'spent' AND spent_txid = '{done['txid']}'")
        self.assertGreaterEqual(int(spent_by), 1)
        state = self.sql(f"SELECT current_txid FROM patch_state WHERE uid_tag_id = '{uid}'")
        self.assertEqual(state, done['txid'])

    def test_crash_after_inputs_locked(self):
        self.crash_then_resume('inputs_locked')

    def test_crash_after_signed(self):
        self.crash_then_resume('signed')

    def test_crash_after_broadcast(self):
        self.crash_then_resume('broadcast')

    def test_crash_after_done(self):
        self.crash_then_resume('done')

    def test_sigterm_exits_cleanly(self):
        name = self.start_worker()
        time.sleep(0.5)
        self.assertTrue(self.svc.st.is_running(name))
        self.assertEqual(self.svc.st.stop(name), 0, self.svc.st.logs(name, 20))
        self.assertIn('patchproof-worker stopped', self.svc.st.logs(name))

    def test_unknown_crash_step_is_refused(self):
        name = self.start_worker({'PATCHPROOF_ENV': 'test', 'PP_TEST_CRASH_AFTER_STEP': 'nowhere'})
        deadline = time.time() + 10
        while self.svc.st.is_running(name) and time.time() < deadline:
            time.sleep(0.05)
        self.assertEqual(self.svc.st.stop(name), 1)


if __name__ == '__main__':
    unittest.main()
