# SPDX-License-Identifier: MIT
"""One maintenance run at a time across every host (DESIGN.md §3 Admin,
"Who signs"), against the real stack: two fcgi pools (two "hosts") racing
utxo-maintain get exactly one 200/202 and one 409; a CLI run SIGKILLed while
it waits for the worker leaves a lease that expires, and a new run succeeds
once the killed run's job finished, with nothing left locked; maintenance
while registrations stream in: every registration confirms, the pool's
available+locked set equals what the devchain lists unspent for the funding
and change addresses, and the devchain refused no transaction for a spent
input (no double spend)."""
import json
import signal
import subprocess
import threading
import time
import unittest

from stackcase import StackCase
from test_svd import pinned_servers
import assemble
import ppclient as pc
import stack as stackmod
import test_admin_utxo as au

# Short waits and leases: the route gives up waiting after 3 s (202), a
# killed holder's lease expires 3 s after its last renewal.
# MIN_UTXO_COUNT out of reach: every run has a split to make.
RACE_ENV = {'ADMIN_WAIT_SEC': '3', 'ADMIN_LEASE_SEC': '3', 'MIN_UTXO_COUNT': '1000'}


class AdminRace(StackCase):
    prefix = 'pp-admin-race-'

    @classmethod
    def make_stack(cls, base_dir):
        cls.pool_ports = [stackmod.free_port() for _ in range(2)]
        svc = au.make_stack(base_dir, pools=2, job_workers=0, env=RACE_ENV,
                            admin_env={'ADMIN_WAIT_SEC': '60'})
        svc.extra_servers = pinned_servers([(cls.pool_ports[i], svc.pool_socket(i)) for i in range(2)])
        return svc

    @classmethod
    def stack_ready(cls):
        cls.host = [pc.Client(f'http://127.0.0.1:{p}', api_key=cls.svc.api_key, timeout=60)
                    for p in cls.pool_ports]
        cls.worker_n = 0

    def sql(self, q):
        return au.sql(self.svc, q)

    def start_worker(self):
        AdminRace.worker_n += 1
        self.svc.start_worker(AdminRace.worker_n)
        return self.svc.worker_name(AdminRace.worker_n)

    def finish_jobs(self):
        """Runs a worker until no job is unfinished."""
        name = self.start_worker()
        try:
            deadline = time.time() + 90
            while self.sql("SELECT COUNT(*) FROM jobs WHERE step NOT IN ('done', 'failed')") != '0':
                self.assertLess(time.time(), deadline, self.svc.st.logs(name, 30))
                time.sleep(0.1)
        finally:
            self.svc.st.stop(name)

    def lease_expired(self):
        return self.sql("SELECT COUNT(*) FROM leases WHERE name = 'utxo-maintain' "
                        "AND expires_at >= UNIX_TIMESTAMP()") == '0'

    def wait_lease_expired(self, timeout=30):
        deadline = time.time() + timeout
        while not self.lease_expired():
            self.assertLess(time.time(), deadline)
            time.sleep(0.2)

    def test_two_hosts_race(self):
        self.finish_jobs()
        self.wait_lease_expired()
        # No worker runs: the winner's split job stays unsigned, so it holds
        # the lease for ADMIN_WAIT_SEC and its job stays unfinished.
        go = threading.Barrier(2)
        answers = [None, None]

        def call(i):
            go.wait()
            answers[i] = au.maintain(self.host[i], 'split')

        threads = [threading.Thread(target=call, args=(i,)) for i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        statuses = sorted(a[0] for a in answers)
        self.assertEqual(statuses, [202, 409], answers)
        loser = next(a for a in answers if a[0] == 409)[2]
        self.assertEqual(loser['error'], 'CONFLICT')
        winner = next(a for a in answers if a[0] == 202)[2]
        job = winner['result']['split']['jobId']
        self.assertIsNone(winner['result']['split']['txid'])
        self.assertEqual(self.sql("SELECT COUNT(*) FROM jobs WHERE kind = 'split' AND step <> 'done'"), '1')
        # While the job is unfinished every host refuses, even with the lease gone.
        self.wait_lease_expired()
        for h in self.host:
            self.assertEqual(au.maintain(h, 'sync')[0], 409)
        self.finish_jobs()
        self.assertEqual(self.sql(f'SELECT step FROM jobs WHERE id = {int(job)}'), 'done')
        self.assertEqual(au.maintain(self.host[1], 'sync')[0], 200)
        self.assertEqual(self.sql("SELECT COUNT(*) FROM utxos WHERE status = 'locked'"), '0')
        self.assertEqual(au.double_spend_refusals(self.svc), 0)

    def test_cli_holder_killed_mid_run(self):
        self.finish_jobs()
        self.wait_lease_expired()
        env = {**assemble.base_env(), **self.svc.admin_env()}
        cli = subprocess.Popen([self.svc.binary('patchproof'), 'utxo', 'maintain', '--action', 'split'],
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            # Its job written and the lease held: it now waits for the worker.
            deadline = time.time() + 30
            while self.sql("SELECT COUNT(*) FROM jobs WHERE kind = 'split' AND step = 'queued'") != '1':
                self.assertIsNone(cli.poll(), cli.stderr.read() if cli.poll() is not None else '')
                self.assertLess(time.time(), deadline)
                time.sleep(0.05)
            self.assertFalse(self.lease_expired())
            cli.send_signal(signal.SIGKILL)
            self.assertEqual(cli.wait(timeout=10), -signal.SIGKILL)
        finally:
            if cli.poll() is None:
                cli.kill()
                cli.wait()
            cli.stdout.close()
            cli.stderr.close()
        job = self.sql("SELECT id FROM jobs WHERE kind = 'split' AND step = 'queued'")
        self.assertEqual(self.sql(f"SELECT COUNT(*) FROM utxos WHERE status = 'locked' AND locked_by = {job}"), '1')
        # The dead holder's lease still runs: 409; the CLI says so with exit 4.
        self.assertEqual(au.maintain(self.host[0], 'sync')[0], 409)
        out = self.svc.cli('utxo', 'maintain', '--action', 'sync', check=False)
        self.assertEqual(out.returncode, 4, out.stderr)
        self.assertEqual(json.loads(out.stdout)['error'], 'CONFLICT')
        # Expired, but its job is unfinished: still refused.
        self.wait_lease_expired()
        self.assertEqual(au.maintain(self.host[0], 'sync')[0], 409)
        # The worker finishes the job the killed run wrote; a new run succeeds.
        self.finish_jobs()
        self.assertEqual(self.sql(f'SELECT step FROM jobs WHERE id = {job}'), 'done')
        st, _, body = au.maintain(self.host[0], 'split')
        self.assertEqual(st, 202, body)  # no worker: waiting ends first
        self.finish_jobs()
        self.assertEqual(self.sql("SELECT COUNT(*) FROM utxos WHERE status = 'locked'"), '0')
        self.assertEqual(au.maintain(self.host[1], 'sync')[0], 200)
        self.assertEqual(self.sql("SELECT COUNT(*) FROM utxos WHERE status = 'locked'"), '0')

    def test_maintenance_while_registrations_stream_in(self):
        self.finish_jobs()
        self.wait_lease_expired()
        refusals = au.double_spend_refusals(self.svc)
        workers = [self.start_worker(), self.start_worker()]
        pending, errors = [], []
        stop = threading.Event()

        def registrations():
            try:
                for _ in range(16):
                    _, resp = au.register(self.c)
                    pending.append(resp['pendingId'])
                    time.sleep(0.05)
            except Exception as e:  # reported below
                errors.append(e)
            finally:
                stop.set()

        answers = []

        def maintenance(i):
            while not stop.is_set():
                answers.append(au.maintain(self.host[i], 'auto' if i == 0 else 'sync')[0])
                time.sleep(0.1)

        threads = [threading.Thread(target=registrations)] + \
            [threading.Thread(target=maintenance, args=(i,)) for i in range(2)]
        try:
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            self.assertEqual(errors, [])
            for pid in pending:
                self.assertEqual(self.svc.wait_pending('registration', pid, timeout=90)['status'], 'confirmed')
            deadline = time.time() + 90
            while self.sql("SELECT COUNT(*) FROM jobs WHERE step NOT IN ('done', 'failed')") != '0':
                self.assertLess(time.time(), deadline)
                time.sleep(0.1)
        finally:
            for w in workers:
                self.svc.st.stop(w)
        self.assertTrue(answers)
        self.assertTrue(set(answers) <= {200, 202, 409}, answers)
        self.assertIn(200, answers)
        self.assertEqual(self.sql("SELECT COUNT(*) FROM jobs WHERE step = 'failed'"), '0')
        # Every job is done: the pool as the race left it must already be
        # exactly what the chain lists (no sync in between to repair it).
        self.assertEqual(*au.pool_and_chain(self.svc))
        self.assertEqual(self.sql("SELECT COUNT(*) FROM utxos WHERE status = 'locked'"), '0')
        self.assertEqual(self.sql("SELECT COUNT(*) FROM utxos WHERE status = 'quarantined'"), '0')
        # And a last sync finds nothing to repair.
        self.wait_lease_expired()
        st, _, body = au.maintain(self.host[0], 'sync')
        self.assertEqual(st, 200, body)
        sync = body['result']['sync']
        self.assertEqual({k: sync[k] for k in ('added', 'markedSpent', 'quarantined', 'released')},
                         {'added': 0, 'markedSpent': 0, 'quarantined': 0, 'released': 0}, body)
        self.assertEqual(au.double_spend_refusals(self.svc), refusals)


if __name__ == '__main__':
    unittest.main()
