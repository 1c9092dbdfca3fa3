# SPDX-License-Identifier: MIT
"""patchproof-worker against the real stack (devchain, KMS, MariaDB, fcgi):
a worker SIGKILLed right after each stored step (the PP_TEST_CRASH_AFTER_STEP
hook) is finished by a restarted worker with the same txid, one transaction
on chain, the pool balanced; SIGTERM stops an idle worker with exit 0; a pool
output spent behind the service's back is quarantined when its broadcast is
refused, never picked again, while an input the chain still lists goes back
to available; an "already known" refusal counts as broadcast only when the
devchain really has the txid (GET tx/hash)."""
import http.server
import json
import os
import secrets
import threading
import time
import unittest
import urllib.error
import urllib.request

from chainstack import ChainStack
import chainstack
from stackcase import StackCase
import ppclient as pc
import pptx

STEPS = ('inputs_locked', 'signed', 'broadcast', 'done')


class AlreadyKnownRelay:
    """A loopback relay in front of the real devchain that answers every
    POST tx/raw the way WhatsOnChain-style nodes answer a transaction they
    already have: 400 "257: txn-already-known". forward=True sends the
    transaction on to the devchain first (so the chain really has it);
    forward=False does not (the words are a lie). Everything else is passed
    through unchanged."""

    def __init__(self, upstream, forward):
        relay = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def answer(self, status, body):
                self.send_response(status)
                self.send_header('Content-Type', 'application/json')
                self.send_header('Content-Length', str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def upstream(self, data=None):
                req = urllib.request.Request(upstream + self.path, data=data,
                                             headers={'Content-Type': 'application/json'})
                try:
                    with urllib.request.urlopen(req, timeout=10) as r:
                        return r.status, r.read()
                except urllib.error.HTTPError as e:
                    return e.code, e.read()

            def do_GET(self):
                self.answer(*self.upstream())

            def do_POST(self):
                data = self.rfile.read(int(self.headers.get('Content-Length', '0')))
                if not self.path.endswith('/tx/raw'):
                    return self.answer(*self.upstream(data))
                relay.posts += 1
                if forward:
                    self.upstream(data)
                self.answer(400, b'"257: txn-already-known"')

        self.posts = 0
        self.server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        self.url = f'http://127.0.0.1:{self.server.server_address[1]}'
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class WorkerCrash(StackCase):
    prefix = 'pp-worker-'
    n = 0

    @classmethod
    def make_stack(cls, base_dir):
        return ChainStack(base_dir, job_workers=0)

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
        chainstack.wait_killed(self, crashed)
        stored_step, stored_txid, _ = self.job_row(resp['jobId'])
        chainstack.assert_stored_at(self, step, stored_step, stored_txid)

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

    # -- a refused broadcast: quarantine or release by what the chain lists

    def next_pick(self):
        """The pool entry the next job locks: the smallest available one."""
        row = self.sql("SELECT id, txid, vout, satoshis, key_id, script_hex FROM utxos "
                       "WHERE status = 'available' ORDER BY satoshis ASC, id ASC LIMIT 1").split('\t')
        return {'id': int(row[0]), 'txid': row[1], 'vout': int(row[2]), 'satoshis': int(row[3]),
                'key_id': row[4], 'script': bytes.fromhex(row[5])}

    def spend_behind_the_back(self, u):
        """Spends pool entry u outside the service, paying a stranger."""
        outputs = [pptx.TxOut(u['satoshis'] - 2000, pptx.Key().script())]
        return chainstack.spend_behind_the_back(self.svc, u, outputs).txid()

    def run_until(self, pending_id, status, env=None):
        worker = self.start_worker({'JOB_MAX_ATTEMPTS': '2', **(env or {})})
        try:
            done = self.svc.wait_pending('registration', pending_id, timeout=60)
        finally:
            self.svc.st.stop(worker)
        self.assertEqual(done['status'], status, done)
        return done

    def test_kms_refusing_the_credential_makes_jobs_wait(self):
        # A worker whose KMS token may not sign with the pool keys (a scope
        # missing, a rotated clients file) is a deployment fault: its jobs
        # wait without using attempts, and finish once the token is right.
        _, resp = self.register()
        worker = self.start_worker({'JOB_MAX_ATTEMPTS': '1', 'JOB_BACKOFF_MS': '50',
                                    'KMS_API_KEY': self.svc.token('admin')})
        try:
            deadline = time.time() + 60
            while self.svc.st.logs(worker).count('kms refused this process') < 3:
                self.assertLess(time.time(), deadline, self.svc.st.logs(worker, 20))
                time.sleep(0.1)
        finally:
            self.svc.st.stop(worker)
        step, txid, attempts = self.job_row(resp['jobId'])
        self.assertNotIn(step, ('failed', 'done'))
        self.assertEqual((txid, attempts), (None, 0))
        status = self.sql(f"SELECT status FROM pending_records WHERE id = '{resp['pendingId']}'")
        self.assertIn(status, ('pending', 'anchoring'))
        self.run_until(resp['pendingId'], 'confirmed')

    def test_input_spent_elsewhere_is_quarantined(self):
        u = self.next_pick()
        self.spend_behind_the_back(u)
        _, resp = self.register()
        self.run_until(resp['pendingId'], 'failed')
        status, reason = self.sql(f"SELECT status, quarantine_reason FROM utxos WHERE id = {u['id']}").split('\t')
        self.assertEqual(status, 'quarantined')
        self.assertIn('chain rejected', reason)
        self.assertEqual(self.sql("SELECT COUNT(*) FROM utxos WHERE status = 'locked'"), '0')
        stats = json.loads(self.svc.cli('utxo', 'stats').stdout)
        self.assertGreaterEqual(stats['quarantined']['count'], 1)

        # The next registration goes through from another input; the
        # quarantined one is never picked again.
        uid, resp = self.register()
        done = self.run_until(resp['pendingId'], 'confirmed')
        self.assertEqual(self.sql(f"SELECT status FROM utxos WHERE id = {u['id']}"), 'quarantined')
        used = self.sql(f"SELECT COUNT(*) FROM utxos WHERE spent_txid = '{done['txid']}' AND id = {u['id']}")
        self.assertEqual(used, '0')
        self.assertEqual(self.sql(f"SELECT current_txid FROM patch_state WHERE uid_tag_id = '{uid}'"), done['txid'])

    def test_input_still_unspent_goes_back_to_available(self):
        # A fee below the devchain's minimum: refused, but the input is
        # untouched on chain, so it returns to the pool.
        u = self.next_pick()
        self.sql("INSERT INTO settings (name, value) VALUES ('FEE_PER_KB', '1') "
                 "ON DUPLICATE KEY UPDATE value = '1'")
        try:
            _, resp = self.register()
            self.run_until(resp['pendingId'], 'failed')
        finally:
            self.sql("DELETE FROM settings WHERE name = 'FEE_PER_KB'")
        self.assertEqual(self.sql(f"SELECT status FROM utxos WHERE id = {u['id']}"), 'available')
        self.assertEqual(self.sql("SELECT COUNT(*) FROM utxos WHERE status = 'locked'"), '0')

    # -- "already known" is confirmed with GET tx/hash against the devchain

    def chain_has(self, txid):
        try:
            return self.svc.chain_get(f'/v1/bsv/test/tx/hash/{txid}')['txid'] == txid
        except urllib.error.HTTPError as e:
            self.assertEqual(e.code, 404)
            return False

    def test_already_known_that_the_chain_confirms_is_broadcast(self):
        relay = AlreadyKnownRelay(self.svc.chain_url, forward=True)
        try:
            uid, resp = self.register()
            done = self.run_until(resp['pendingId'], 'confirmed', env={'CHAIN_API_URL': relay.url})
        finally:
            relay.close()
        self.assertGreaterEqual(relay.posts, 1)
        self.assertTrue(self.chain_has(done['txid']))
        self.assertEqual(self.sql(f"SELECT current_txid FROM patch_state WHERE uid_tag_id = '{uid}'"), done['txid'])

    def test_already_known_that_the_chain_does_not_know_is_not_broadcast(self):
        u = self.next_pick()
        relay = AlreadyKnownRelay(self.svc.chain_url, forward=False)
        try:
            uid, resp = self.register()
            self.run_until(resp['pendingId'], 'failed', env={'CHAIN_API_URL': relay.url})
        finally:
            relay.close()
        self.assertGreaterEqual(relay.posts, 1)
        step, txid, _ = self.job_row(resp['jobId'])
        self.assertEqual(step, 'failed')
        self.assertFalse(self.chain_has(txid))
        self.assertEqual(self.sql(f"SELECT COUNT(*) FROM patch_state WHERE uid_tag_id = '{uid}'"), '0')
        # Never sent, still unspent on chain: the input is back in the pool.
        self.assertEqual(self.sql(f"SELECT status FROM utxos WHERE id = {u['id']}"), 'available')


if __name__ == '__main__':
    unittest.main()
