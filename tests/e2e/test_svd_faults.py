# SPDX-License-Identifier: MIT
"""The service when its dependencies go away and come back, when workers or
the master die, and production's refusal to start without its secrets: the
real stack (nginx, patchproof-fcgi, MariaDB, memcached, patchproof-kms)."""
import os
import signal
import subprocess
import tempfile
import time
import unittest

from service import ServiceStack, binary
from stackcase import StackCase
import ppclient as pc
from svd_common import children_of, new_user, stale_m


def log_count(text, route):
    """Request lines a process logged for one route pattern."""
    return sum(1 for line in text.splitlines() if '"msg":"request"' in line and f'"route":"{route}"' in line)


class Faults(StackCase):
    """Dependencies going away and coming back; workers dying."""

    prefix = 'pp-faults-'

    @classmethod
    def make_stack(cls, base_dir):
        return ServiceStack(base_dir, pools=1, workers=2)

    def eventually(self, fn, timeout=10):
        deadline = time.time() + timeout
        while True:
            result = fn()
            if result or time.time() > deadline:
                return result
            time.sleep(0.2)

    def ready_checks(self):
        st, _, body = self.c.call('GET', '/ready', key=False)
        return st, body.get('checks') if isinstance(body, dict) else body

    def assertReadyBecomes(self, expected):
        # Each worker reuses its checks for about a second.
        last = []
        self.assertTrue(self.eventually(lambda: last.append(self.ready_checks()) or last[-1] == expected, 5),
                        last[-1:])

    def kms_pids(self):
        master = self.svc.st.pid('kms')
        return [master] + children_of(master)

    def kms_log_count(self, route):
        return log_count(self.svc.st.logs('kms'), route)

    def fresh_fcgi_workers(self):
        """Replaces both fcgi workers, so nothing is cached in them."""
        master = self.svc.st.pid('fcgi0')
        before = children_of(master)
        for pid in before:
            os.kill(pid, signal.SIGKILL)
        self.assertTrue(self.eventually(
            lambda: len(children_of(master)) == 2 and not set(before) & set(children_of(master))))
        self.assertTrue(self.eventually(lambda: self.c.call('GET', '/health', key=False)[0] == 200))

    def logins_work_again(self):
        # Every worker's hold has ended: several begins in a row reach both.
        return self.eventually(lambda: all(self.c.svd_begin(new_user())[0] == 200 for _ in range(4)), 15)

    def test_ready_probes_the_kms_at_most_once_a_second_per_worker(self):
        n = 40
        time.sleep(1.1)  # results reused from earlier tests have expired: the first call probes
        before = self.kms_log_count('/health')
        started = time.monotonic()
        statuses = [self.c.call('GET', '/ready', key=False)[0] for _ in range(n)]
        elapsed = time.monotonic() - started
        time.sleep(0.2)  # the KMS writes its line just after its answer
        probes = self.kms_log_count('/health') - before
        self.assertEqual(statuses, [200] * n)
        self.assertGreaterEqual(probes, 1)
        # Two workers, each at most one probe per second (plus one at the start).
        self.assertLessEqual(probes, 2 * (int(elapsed) + 2), (probes, elapsed))
        self.assertLess(probes, n)

    def drain_kms_queue(self, path):
        """After SIGCONT: every request queued during a hang reaches the KMS
        in order; once fresh ones are answered, the queue has drained. `path`
        is one the test does not count (/keys unauthenticated is a quick 401)."""
        kms = pc.Client(f'http://127.0.0.1:{self.svc.st.port("kms")}')
        want = 200 if path == '/health' else 401
        self.assertTrue(self.eventually(lambda: kms.call('GET', path, key=False)[0] == want))
        for _ in range(4):
            kms.call('GET', path, key=False)
        time.sleep(0.3)

    def test_ready_probe_of_a_hung_kms_is_short_and_not_retried(self):
        # Later tests need every worker's reused result to be fresh again.
        self.addCleanup(lambda: self.eventually(lambda: all(self.ready_checks()[0] == 200 for _ in range(4))))
        n = 10
        pids = self.kms_pids()
        for pid in pids:
            os.kill(pid, signal.SIGSTOP)
        try:
            time.sleep(1.1)  # no worker holds a result from before the hang
            before = self.kms_log_count('/health')
            started = time.monotonic()
            answers = [self.ready_checks() for _ in range(n)]
            elapsed = time.monotonic() - started
        finally:
            for pid in pids:
                os.kill(pid, signal.SIGCONT)
        self.drain_kms_queue('/keys')
        probes = self.kms_log_count('/health') - before
        self.assertEqual(answers, [(503, {'db': 'ok', 'cache': 'ok', 'kms': 'fail'})] * n)
        # Without the fix: 2 per call (KMS_RETRIES=1), 20 in all.
        self.assertLessEqual(probes, 2 * (int(elapsed) + 2), (probes, elapsed))
        self.assertLess(probes, n)

    def test_kid_lookup_failure_is_held_while_the_kms_hangs(self):
        """With the KMS hung (SIGSTOP), begins do not each queue a kid lookup
        on it: a failed lookup is remembered for a few seconds."""
        self.fresh_fcgi_workers()  # no kid cached yet
        # Whatever happens here, later tests need logins to work again (the hold ends).
        self.addCleanup(self.logins_work_again)
        before = self.kms_log_count('/keys')
        pids = self.kms_pids()
        n = 10
        for pid in pids:
            os.kill(pid, signal.SIGSTOP)
        try:
            statuses = [self.c.svd_begin(new_user())[0] for _ in range(n)]
        finally:
            for pid in pids:
                os.kill(pid, signal.SIGCONT)
        self.assertEqual(statuses, [503] * n)
        self.drain_kms_queue('/health')
        lookups = self.kms_log_count('/keys') - before
        # Without the hold: 2 per begin (KMS_RETRIES=1), 20 in all.
        self.assertLessEqual(lookups, n // 2, lookups)
        # Logins work again once the hold ends.
        self.assertTrue(self.logins_work_again())

    def test_memcached_down_and_back(self):
        st = self.svc.st
        st.stop('mc1')
        code, _, body = self.c.svd_begin(new_user())
        self.assertEqual((code, body.get('code')), (503, 'SERVICE_UNAVAILABLE'))
        user, priv = new_user(), pc.random_privkey()
        m = stale_m(0)
        code, _, body = self.c.svd_complete(user, m, pc.svd_sign(priv, m))
        self.assertEqual(code, 503)  # never a login without the replay check
        self.assertReadyBecomes((503, {'db': 'ok', 'cache': 'fail', 'kms': 'ok'}))
        st.restart('mc1')
        self.assertTrue(self.eventually(lambda: self.c.svd_begin(new_user())[0] == 200))
        self.assertTrue(self.eventually(lambda: self.ready_checks()[0] == 200))

    def test_mariadb_down_and_back(self):
        st = self.svc.st
        st.stop('mariadb')
        code, _, body = self.c.svd_register(new_user(), pc.pubkey_hex(pc.random_privkey()))
        self.assertEqual((code, body.get('code')), (503, 'SERVICE_UNAVAILABLE'))
        self.assertReadyBecomes((503, {'db': 'fail', 'cache': 'ok', 'kms': 'ok'}))
        st.restart('mariadb')
        user, priv = new_user(), pc.random_privkey()
        self.assertTrue(self.eventually(lambda: self.c.svd_register(user, pc.pubkey_hex(priv))[0] in (200, 201)))
        self.assertEqual(self.c.svd_login(user, priv).count('.'), 2)

    def test_kms_down_and_back(self):
        st = self.svc.st
        user, priv = new_user(), pc.random_privkey()
        self.assertEqual(self.c.svd_register(user, pc.pubkey_hex(priv))[0], 201)
        m = self.c.svd_begin(user)[2]['M']
        st.stop('kms')
        code, _, body = self.c.svd_complete(user, m, pc.svd_sign(priv, m))
        self.assertEqual((code, body.get('code')), (503, 'SERVICE_UNAVAILABLE'))
        self.assertTrue(self.eventually(lambda: self.ready_checks()[0] == 503))
        st.restart('kms')
        self.assertTrue(self.eventually(lambda: self.ready_checks()[0] == 200))
        self.assertEqual(self.c.svd_login(user, priv).count('.'), 2)

    def test_worker_killed_is_replaced(self):
        master = self.svc.st.pid('fcgi0')
        def workers():
            with open(f'/proc/{master}/task/{master}/children') as f:
                return [int(p) for p in f.read().split()]
        before = workers()
        self.assertEqual(len(before), 2)
        os.kill(before[0], 9)
        for _ in range(20):
            self.assertEqual(self.c.call('GET', '/health', key=False)[0], 200)
        self.assertTrue(self.eventually(lambda: len(workers()) == 2 and before[0] not in workers()))

    def test_z_master_killed_leaves_no_workers(self):
        master = self.svc.st.pid('fcgi0')
        with open(f'/proc/{master}/task/{master}/children') as f:
            children = [int(p) for p in f.read().split()]
        self.svc.st.kill('fcgi0', 9)
        def gone():
            return all(not os.path.exists(f'/proc/{p}') or
                       open(f'/proc/{p}/stat').read().split()[2] == 'Z' for p in children)
        self.assertTrue(self.eventually(gone, 5))


class ProductionStart(unittest.TestCase):
    def run_fcgi(self, env):
        tmp = tempfile.mkdtemp(prefix='pp-prod-')
        full = {k: v for k, v in os.environ.items()
                if k not in ('API_KEY', 'JWT_SECRET', 'DB_USER', 'DB_PASSWORD', 'KMS_URL', 'KMS_API_KEY')}
        full.update(env)
        return subprocess.run([binary('patchproof-fcgi'), '--listen', os.path.join(tmp, 's.sock'),
                               '--workers', '1'], env=full, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, timeout=20)

    def test_refuses_missing_or_short_secrets(self):
        base = {'PATCHPROOF_ENV': 'production', 'API_KEY': 'k' * 40, 'JWT_SECRET': 's' * 40,
                'DB_USER': 'u', 'DB_PASSWORD': 'p', 'KMS_URL': 'http://127.0.0.1:1', 'KMS_API_KEY': 'x' * 20}
        for missing in ('API_KEY', 'JWT_SECRET', 'DB_PASSWORD', 'KMS_URL'):
            with self.subTest(missing=missing):
                env = dict(base)
                del env[missing]
                r = self.run_fcgi(env)
                self.assertNotEqual(r.returncode, 0)
                self.assertIn(missing, r.stderr)
                self.assertIn('production refuses to start', r.stderr)
        # With everything present it starts, with core dumps off.
        tmp = tempfile.mkdtemp(prefix='pp-prod-')
        full = dict(os.environ, **base)
        proc = subprocess.Popen([binary('patchproof-fcgi'), '--listen', os.path.join(tmp, 's.sock'),
                                 '--workers', '1'], env=full, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            deadline = time.time() + 10
            while not os.path.exists(os.path.join(tmp, 's.sock')) and time.time() < deadline:
                time.sleep(0.05)
            with open(f'/proc/{proc.pid}/limits') as f:
                core = [line for line in f if line.startswith('Max core file size')][0]
            self.assertEqual(core.split()[4:6], ['0', '0'])
        finally:
            proc.terminate()
            proc.wait(10)
        env = dict(base, JWT_SECRET='short-secret')
        r = self.run_fcgi(env)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn('JWT_SECRET', r.stderr)
        self.assertNotIn('short-secret', r.stderr)


if __name__ == '__main__':
    unittest.main()
