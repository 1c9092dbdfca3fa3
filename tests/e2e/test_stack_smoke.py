# SPDX-License-Identifier: MIT
"""Smoke test of scripts/stack.py: the pieces that exist today (MariaDB,
memcached, nginx with a static location, a generic process) start on private
loopback ports, answer, and leave no process behind once stopped."""

import hashlib
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, '..', '..'))
BUILD_DIR = os.environ.get('PP_BUILD_DIR', os.path.join(ROOT, 'build'))
sys.path.insert(0, os.path.join(ROOT, 'scripts'))
import stack  # noqa: E402
import assemble  # noqa: E402

# A stand-in for our future daemons: listens on the port it is given.
TINY_SERVER = r'''
import socket, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen()
print("listening", flush=True)
while True:
    c, _ = s.accept()
    c.sendall(b"hi\n")
    c.close()
'''


def memcached_version(addr):
    host, port = addr.rsplit(':', 1)
    with socket.create_connection((host, int(port)), timeout=5) as s:
        s.sendall(b'version\r\n')
        return s.recv(100).decode()


def http_get(url):
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE  # the dev certificate is self-signed
    try:
        with urllib.request.urlopen(url, timeout=10, context=ctx) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def listening_addresses(port):
    """Local addresses of LISTEN sockets on `port`, from /proc/net/tcp{,6}."""
    found = []
    for table in ('/proc/net/tcp', '/proc/net/tcp6'):
        try:
            with open(table) as f:
                rows = f.read().splitlines()[1:]
        except FileNotFoundError:
            continue
        for row in rows:
            cols = row.split()
            addr, p = cols[1].split(':')
            if cols[3] == '0A' and int(p, 16) == port:
                found.append(addr)
    return found


def processes_mentioning(text):
    """PIDs whose command line contains `text` (any owner)."""
    out = []
    for entry in os.listdir('/proc'):
        if not entry.isdigit():
            continue
        try:
            with open(f'/proc/{entry}/cmdline', 'rb') as f:
                cmd = f.read().replace(b'\0', b' ').decode(errors='replace')
        except OSError:
            continue
        if text in cmd:
            out.append(int(entry))
    return out


def parents():
    """pid -> parent pid of every process (zombies included)."""
    out = {}
    for entry in os.listdir('/proc'):
        if not entry.isdigit():
            continue
        try:
            with open(f'/proc/{entry}/stat') as f:
                stat = f.read()
        except OSError:
            continue
        out[int(entry)] = int(stat.rsplit(')', 1)[1].split()[1])
    return out


def our_children():
    """PIDs (zombies included) whose parent is this test process."""
    me = os.getpid()
    return [pid for pid, ppid in parents().items() if ppid == me]


def descendants(root):
    """Every process below root (children, their children, ...)."""
    tree = parents()
    found, frontier = [], [root]
    while frontier:
        p = frontier.pop()
        kids = [c for c, pp in tree.items() if pp == p]
        found += kids
        frontier += kids
    return found


def gone(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


class StackSmoke(unittest.TestCase):
    def test_services_start_answer_and_stop(self):
        with tempfile.TemporaryDirectory(prefix='ppstack-') as base:
            st = stack.Stack(base, os.path.join(ROOT, 'build'), ROOT)
            pids = {}
            try:
                db = st.start_mariadb()
                self.assertEqual(set(db), {'DB_HOST', 'DB_PORT', 'DB_SOCKET', 'DB_USER',
                                           'DB_PASSWORD', 'DB_NAME'})
                self.assertEqual((db['DB_HOST'], db['DB_USER'], db['DB_NAME']),
                                 ('127.0.0.1', 'patchproof', 'patchproof'))
                self.assertTrue(db['DB_SOCKET'].startswith(base))
                for via in (['--socket=' + db['DB_SOCKET']],
                            ['--protocol=tcp', '-h', db['DB_HOST'], '-P', db['DB_PORT']]):
                    r = subprocess.run(
                        ['mariadb', '--no-defaults', *via, '-u', db['DB_USER'],
                         db['DB_NAME'], '-N', '-B', '-e', 'select 1'],
                        env={**stack.base_env(), 'MYSQL_PWD': db['DB_PASSWORD']},  # never in argv
                        capture_output=True, text=True, timeout=30)
                    self.assertEqual((r.returncode, r.stdout.strip()), (0, '1'), r.stderr)
                # the password file is private
                self.assertEqual(os.stat(os.path.join(base, 'db_password')).st_mode & 0o777, 0o600)

                mc1 = st.start_memcached('mc1')
                mc2 = st.start_memcached('mc2')
                self.assertNotEqual(mc1, mc2)
                self.assertEqual(st.memcached_servers(), f'{mc1},{mc2}')
                for addr in (mc1, mc2):
                    self.assertTrue(memcached_version(addr).startswith('VERSION '))

                # fault-test controls: stop one instance, then bring it back on the same port
                st.stop('mc2')
                with self.assertRaises(OSError):
                    memcached_version(mc2)
                self.assertTrue(memcached_version(mc1).startswith('VERSION '))
                st.restart('mc2')
                self.assertTrue(memcached_version(mc2).startswith('VERSION '))

                base_url = st.start_nginx(https=True)
                self.assertEqual(http_get(base_url + '/__static_ping'), (200, 'ok'))
                self.assertEqual(http_get(st.https_url + '/__static_ping'), (200, 'ok'))
                # no FastCGI app yet: nginx answers in the JSON error shape
                status, body = http_get(base_url + '/health')
                self.assertEqual(status, 502)
                self.assertIn('"status":502', body)

                # generic process control, as used later for our own daemons
                port = st.port('tiny')
                st.start_process('tiny', [sys.executable, '-c', TINY_SERVER, str(port)],
                                 wait_for=port)
                first = st.pid('tiny')
                st.kill('tiny', signal.SIGKILL)
                self.assertFalse(st.is_running('tiny'))
                st.restart('tiny')
                self.assertNotEqual(st.pid('tiny'), first)
                with socket.create_connection(('127.0.0.1', port), timeout=5) as s:
                    self.assertEqual(s.recv(10), b'hi\n')
                self.assertIn('listening', st.logs('tiny'))

                # everything listens on loopback only, in our process group
                for name in ('mariadb', 'mc1', 'mc2', 'nginx', 'nginx_https', 'nginx_redirect', 'tiny'):
                    addrs = listening_addresses(st.ports[name])
                    self.assertTrue(addrs, name)
                    self.assertEqual(set(addrs), {'0100007F'}, name)
                for name in st.names():
                    pids[name] = st.pid(name)
                    self.assertEqual(os.getpgid(pids[name]), os.getpgrp(), name)
                for name in ('mariadb', 'mc1', 'nginx'):
                    self.assertTrue(os.path.getsize(st.log_path(name)) > 0, name)
            finally:
                st.stop_all()

            for name, pid in pids.items():
                self.assertTrue(gone(pid), f'{name} ({pid}) still exists')
            self.assertEqual(our_children(), [])
            self.assertEqual(processes_mentioning(base), [])
            st.stop_all()  # idempotent

    def test_cli_run_writes_env_and_stops_on_sigterm(self):
        with tempfile.TemporaryDirectory(prefix='ppstack-cli-') as base:
            var = os.path.join(base, 'var')
            # A shell that sourced a dev.env (or any credential) before
            # `make run`: no child may inherit those values (each role gets
            # only what assemble.py hands it).
            planted = 'planted-' + os.urandom(8).hex()
            parent_env = dict(os.environ, KMS_PROVISION_API_KEY=planted, API_KEY=planted + 'a',
                              JWT_SECRET=planted + 'j' * 40, DB_PASSWORD=planted + 'd')
            proc = subprocess.Popen(
                [sys.executable, os.path.join(ROOT, 'scripts', 'stack.py'), 'run',
                 '--var', var, '--build', BUILD_DIR, '--source', ROOT],
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=parent_env)
            try:
                env_file = os.path.join(var, 'dev.env')
                deadline = time.monotonic() + 120
                while not os.path.exists(env_file):
                    self.assertIsNone(proc.poll(), 'stack.py run exited early')
                    self.assertLess(time.monotonic(), deadline, 'no dev.env')
                    time.sleep(0.2)
                time.sleep(0.2)  # let it finish printing
                env = stack.load_env_file(env_file)
                for key in ('BASE_URL', 'API_KEY', 'JWT_SECRET', 'CHAIN_NETWORK', 'DB_HOST',
                            'DB_PORT', 'DB_SOCKET', 'DB_USER', 'DB_PASSWORD', 'DB_NAME',
                            'MEMCACHED_SERVERS'):
                    self.assertIn(key, env)
                self.assertEqual(env['CHAIN_NETWORK'], 'test')
                self.assertEqual(len(bytes.fromhex(env['JWT_SECRET'])), 48)
                sec_path = os.path.join(var, 'secrets.env')
                self.assertEqual(os.stat(sec_path).st_mode & 0o777, 0o600)
                secrets = stack.load_env_file(sec_path)
                for key in ('API_KEY', 'JWT_SECRET', 'KMS_MASTER_KEY', 'KMS_API_TOKEN',
                            'KMS_WORKER_TOKEN', 'KMS_ADMIN_TOKEN', 'KMS_PROVISION_TOKEN'):
                    self.assertTrue(secrets[key], key)
                self.assertNotIn('KMS_API_KEY', secrets)  # no shared KMS credential
                # Every role has its own token; dev.env holds the admin's
                # (read only) and the personalisation station's.
                tokens = [secrets[k] for k in secrets if k.startswith('KMS_') and k.endswith('_TOKEN')]
                self.assertEqual(len(set(tokens)), 4)
                self.assertEqual(env['KMS_API_KEY'], secrets['KMS_ADMIN_TOKEN'])
                self.assertEqual(env['KMS_PROVISION_API_KEY'], secrets['KMS_PROVISION_TOKEN'])
                self.assertTrue(env['KMS_URL'].startswith('http://127.0.0.1:'))
                self.assertEqual(secrets['JWT_SECRET'], env['JWT_SECRET'])
                # the env file is shell-sourceable
                r = subprocess.run(['sh', '-c', f'. "{env_file}" && echo "$DB_PORT"'],
                                   capture_output=True, text=True)
                self.assertEqual(r.stdout.strip(), env['DB_PORT'])
                self.assertTrue(memcached_version(env['MEMCACHED_SERVERS']).startswith('VERSION'))
                # The whole stack answers, and the funding pool was imported.
                with urllib.request.urlopen(env['BASE_URL'] + '/ready', timeout=10) as r:
                    self.assertEqual(json.loads(r.read())['ready'], True)
                with urllib.request.urlopen(env['CHAIN_API_URL'] + '/v1/bsv/test/chain/info', timeout=10) as r:
                    self.assertGreaterEqual(json.loads(r.read())['blocks'], 1)
                children = descendants(proc.pid)
                self.assertGreaterEqual(len(children), 6)  # mariadbd, memcached, kms, devchain, fcgi, nginx, worker
                for pid in children:
                    try:
                        with open(f'/proc/{pid}/environ', 'rb') as f:
                            block = f.read()
                    except OSError:
                        continue  # gone meanwhile (e.g. the one-shot CLI)
                    self.assertNotIn(planted.encode(), block, f'pid {pid} inherited a credential')
                pool = subprocess.run([os.path.join(BUILD_DIR, 'patchproof'), 'utxo', 'stats'],
                                      env={**os.environ, **env}, capture_output=True, text=True)
                self.assertEqual(json.loads(pool.stdout)['available']['count'], 20, pool.stdout)
            finally:
                proc.send_signal(signal.SIGTERM)
                out, _ = proc.communicate(timeout=60)
            self.assertEqual(proc.returncode, 0, out)
            # The KMS knows each role by its token's hash only, and no token
            # reached any log or the console.
            with open(os.path.join(var, 'kms', 'clients.json')) as f:
                clients = {c['name']: c for c in json.load(f)['clients']}
            self.assertEqual(set(clients), {'api', 'worker', 'admin', 'provision'})
            for role, c in clients.items():
                token = secrets[f'KMS_{role.upper()}_TOKEN']
                self.assertEqual(c['tokenSha256'], hashlib.sha256(token.encode()).hexdigest())
            logs = ''
            for name in os.listdir(os.path.join(var, 'logs')):
                with open(os.path.join(var, 'logs', name), errors='replace') as f:
                    logs += f.read()
            self.assertIn('"msg":"request"', logs)
            for key, value in secrets.items():
                if key.endswith('_TOKEN'):
                    self.assertNotIn(value, logs + out, key)
            self.assertIn('patchproof-worker', out)
            self.assertIn('stopped.', out)
            self.assertEqual(processes_mentioning(var), [])
            # a second generation keeps the secrets
            again = assemble.ensure_secrets(var)
            self.assertEqual(again, secrets)


class RoleEnvironments(unittest.TestCase):
    """Each process of the assembly gets its own role's KMS token and no other."""

    def test_each_role_has_its_own_token(self):
        with tempfile.TemporaryDirectory(prefix='ppstack-roles-') as base:
            svc = assemble.Service(base, BUILD_DIR, ROOT, assemble.new_secrets(), chain=True)
            envs = {'api': svc.api_env(), 'worker': svc.worker_env(), 'admin': svc.admin_env()}
            tokens = {role: svc.token(role) for role in assemble.KMS_SCOPES}
            self.assertEqual(len(set(tokens.values())), len(tokens))
            for role, env in envs.items():
                self.assertEqual(env['KMS_API_KEY'], tokens[role], role)
                others = [t for r, t in tokens.items() if r != role]
                for value in env.values():
                    self.assertNotIn(value, others, role)
            self.assertNotIn('API_KEY', envs['worker'])
            self.assertNotIn('JWT_SECRET', envs['worker'])
            self.assertNotIn('API_KEY', envs['admin'])
            self.assertNotIn('KMS_API_KEY', svc.kms_env())
            dev = svc.dev_env()
            self.assertEqual(dev['KMS_API_KEY'], tokens['admin'])
            self.assertEqual(dev['KMS_PROVISION_API_KEY'], tokens['provision'])
            self.assertNotIn(tokens['api'], dev.values())
            self.assertNotIn(tokens['worker'], dev.values())


if __name__ == '__main__':
    unittest.main()
