#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Start and stop a private PatchProof stack: MariaDB, memcached, nginx and
our own programs (patchproof-kms, patchproof-fcgi, patchproof-devchain).

Used two ways:
- by the test suite: ``with Stack(tmpdir, build, source) as st: st.start_mariadb() ...``
- by ``make run``: ``python3 scripts/stack.py run --var var --build build --source .``

Everything listens on 127.0.0.1 or on unix sockets inside base_dir, so several
stacks (parallel test runs, a developer's ``make run``) never collide. Children
stay in the caller's process group (``kill -TERM -<pgid>`` stops all of them),
and are also stopped from atexit, on SIGTERM/SIGINT and, as a last resort, by
the kernel when the parent dies (PR_SET_PDEATHSIG).

Python 3.11 standard library only.
"""

import atexit
import ctypes
import ctypes.util
import os
import re
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import weakref

__all__ = [
    'Stack', 'StackError', 'free_port', 'render_template', 'render_site',
    'make_self_signed_cert', 'load_env_file', 'write_env_file', 'NGINX_DIR', 'base_env',
]

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from nginx_site import (IS_ROOT, LOOPBACK, NGINX_DIR, SITE_TEMPLATE,  # noqa: E402,F401
                        SiteError, devchain_server_block, dev_main_conf, kms_server_block,
                        make_self_signed_cert, render_site, render_template)
from envfile import _write_private, load_env_file, write_env_file  # noqa: E402,F401


class StackError(SiteError):
    """A service failed to start, or a command against it failed."""


# --------------------------------------------------------------------------
# small helpers

def free_port():
    """A currently free TCP port on 127.0.0.1 (the kernel picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((LOOPBACK, 0))
        return s.getsockname()[1]


def _tcp_open(host, port, timeout=0.5):
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def _unix_open(path, timeout=0.5):
    if not os.path.exists(path):
        return False
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(timeout)
            s.connect(path)
            return True
    except OSError:
        return False


_libc = None


# What a child inherits from whoever started the stack: the plain process
# facts and the sanitizer settings, never a credential. Every secret a role
# needs is handed to it explicitly (scripts/assemble.py), so a shell that
# sourced var/dev.env passes none of them on to another role.
_INHERITED = ('PATH', 'HOME', 'USER', 'LOGNAME', 'LANG', 'TZ', 'TMPDIR', 'TERM',
              'ASAN_OPTIONS', 'UBSAN_OPTIONS', 'LSAN_OPTIONS')


def base_env():
    """The part of os.environ a child process may see."""
    return {k: v for k, v in os.environ.items() if k in _INHERITED or k.startswith('LC_')}


def _set_pdeathsig():
    """preexec_fn: the kernel sends SIGTERM to the child if we die (even by
    SIGKILL), so a crashed test runner leaves no mariadbd behind."""
    global _libc
    try:
        if _libc is None:
            _libc = ctypes.CDLL(ctypes.util.find_library('c') or 'libc.so.6',
                                use_errno=True)
        _libc.prctl(1, signal.SIGTERM, 0, 0, 0)  # 1 = PR_SET_PDEATHSIG
    except Exception:  # best effort only; atexit/signals still apply
        pass


# --------------------------------------------------------------------------
# process bookkeeping

def _sql_quote(text):
    """Body of a single-quoted SQL string literal."""
    return text.replace('\\', '\\\\').replace("'", "\\'")


class _Child:
    """One supervised process: how to (re)start it and its current Popen."""

    def __init__(self, name, argv, env, cwd, wait_for, timeout, stop_signal, log_path):
        self.name = name
        self.argv = list(argv)
        self.env = env
        self.cwd = cwd
        self.wait_for = wait_for
        self.timeout = timeout
        self.stop_signal = stop_signal
        self.log_path = log_path
        self.popen = None

    def alive(self):
        return self.popen is not None and self.popen.poll() is None


_live_stacks = weakref.WeakSet()
_hooks_installed = False
_hooks_lock = threading.Lock()


def _stop_every_stack():
    for st in list(_live_stacks):
        try:
            st.stop_all()
        except Exception:
            pass


def _on_signal(signum, frame):
    _stop_every_stack()
    prev = _previous_handlers.get(signum)
    if callable(prev):
        prev(signum, frame)  # e.g. SIGINT -> KeyboardInterrupt, unittest's handler
    elif prev != signal.SIG_IGN:
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)


_previous_handlers = {}


def _install_hooks():
    global _hooks_installed
    with _hooks_lock:
        if _hooks_installed:
            return
        _hooks_installed = True
        atexit.register(_stop_every_stack)
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGTERM, signal.SIGINT):
                _previous_handlers[sig] = signal.getsignal(sig)
                signal.signal(sig, _on_signal)


class Stack:
    """A private stack under base_dir.

    base_dir/logs/<name>.log  stdout+stderr of each process
    base_dir/run/             sockets and pid files
    base_dir/mariadb/         MariaDB datadir (kept, so `make run` reuses it)
    base_dir/nginx/           nginx prefix, generated config, temp paths, TLS cert

    ports: optional {name: port} to pin ports (names: 'mariadb', 'nginx',
    'nginx_https', a memcached instance name, or anything passed to port()).
    """

    def __init__(self, base_dir, build_dir=None, source_dir=None, ports=None):
        self.base_dir = os.path.abspath(base_dir)
        self.build_dir = os.path.abspath(build_dir) if build_dir else None
        self.source_dir = os.path.abspath(source_dir) if source_dir else None
        self.log_dir = os.path.join(self.base_dir, 'logs')
        self.run_dir = os.path.join(self.base_dir, 'run')
        for d in (self.base_dir, self.log_dir, self.run_dir):
            os.makedirs(d, exist_ok=True)
        self.ports = dict(ports or {})
        self._children = {}          # name -> _Child, in start order
        self.db_env = {}
        self.memcached = {}          # name -> '127.0.0.1:PORT'
        self.nginx_port = None
        self.nginx_https_port = None
        self.cert = None
        self._lock = threading.RLock()
        _live_stacks.add(self)
        _install_hooks()

    # -- context manager
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop_all()
        return False

    # -- paths and ports
    def port(self, name):
        """The port for `name`: pinned, or picked once and then kept, so a
        restart comes back on the same port."""
        if not self.ports.get(name):
            self.ports[name] = free_port()
        return self.ports[name]

    def log_path(self, name):
        return os.path.join(self.log_dir, name + '.log')

    def binary(self, name):
        """Path of a built program in build_dir, or None if not built yet."""
        if not self.build_dir:
            return None
        def usable(path):
            return os.path.isfile(path) and os.access(path, os.X_OK)
        top = os.path.join(self.build_dir, name)
        if usable(top):
            return top
        # meson puts a program beside the meson.build that defines it
        # (e.g. build/module/kms/); look a few levels down.
        root_depth = self.build_dir.rstrip(os.sep).count(os.sep)
        for dirpath, dirnames, filenames in os.walk(self.build_dir):
            dirnames[:] = sorted(d for d in dirnames
                                 if not d.startswith(('meson-', '.')) and not d.endswith('.p'))
            if dirpath.count(os.sep) - root_depth >= 3:
                dirnames[:] = []
            if name in filenames and usable(os.path.join(dirpath, name)):
                return os.path.join(dirpath, name)
        return None

    # -- generic process control
    def start_process(self, name, argv, env=None, cwd=None, wait_for=None,
                      timeout=30.0, inherit_env=True, stop_signal=signal.SIGTERM):
        """Start argv as `name`, logging to logs/<name>.log.

        env: extra variables (added to base_env() unless inherit_env=False).
        wait_for: readiness check - an int (TCP port on 127.0.0.1), a
        (host, port) tuple, a str (unix socket path), or a callable returning
        true when ready. Raises StackError (with the log tail) if the process
        exits or is not ready within timeout.
        """
        with self._lock:
            old = self._children.get(name)
            if old is not None and old.alive():
                raise StackError(f'{name} is already running (pid {old.popen.pid})')
            full_env = base_env() if inherit_env else {}
            full_env.update({k: str(v) for k, v in (env or {}).items()})
            child = _Child(name, argv, full_env, cwd, wait_for, timeout,
                           stop_signal, self.log_path(name))
            self._children.pop(name, None)
            self._children[name] = child
            self._spawn(child)
        return child.popen

    def _spawn(self, child):
        with open(child.log_path, 'ab') as log:
            log.write(f'==== {time.strftime("%Y-%m-%d %H:%M:%S")} start: '
                      f'{shlex.join(child.argv)}\n'.encode())
            log.flush()
            # No start_new_session: children stay in our process group.
            child.popen = subprocess.Popen(
                child.argv, env=child.env, cwd=child.cwd,
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                close_fds=True, preexec_fn=_set_pdeathsig)
        self._wait_ready(child)

    def _wait_ready(self, child):
        check = child.wait_for
        if check is None:
            return
        if isinstance(check, int):
            probe = lambda: _tcp_open(LOOPBACK, check)  # noqa: E731
        elif isinstance(check, tuple):
            probe = lambda: _tcp_open(check[0], check[1])  # noqa: E731
        elif isinstance(check, str):
            probe = lambda: _unix_open(check)  # noqa: E731
        elif callable(check):
            probe = check
        else:
            raise StackError(f'{child.name}: bad wait_for {check!r}')
        deadline = time.monotonic() + child.timeout
        while True:
            if child.popen.poll() is not None:
                raise StackError(f'{child.name} exited with {child.popen.returncode} '
                                 f'while starting; log tail:\n{self.logs(child.name, 40)}')
            try:
                if probe():
                    return
            except Exception:
                pass
            if time.monotonic() > deadline:
                self.stop(child.name)
                raise StackError(f'{child.name} not ready after {child.timeout}s; '
                                 f'log tail:\n{self.logs(child.name, 40)}')
            time.sleep(0.05)

    def pid(self, name):
        child = self._children.get(name)
        return child.popen.pid if child and child.popen else None

    def is_running(self, name):
        child = self._children.get(name)
        return bool(child and child.alive())

    def names(self):
        return list(self._children)

    def stop(self, name, timeout=30.0):
        """Stop one process (its stop signal, then SIGKILL after timeout) and
        reap it. Returns its exit status, or None if it was never started."""
        child = self._children.get(name)
        if child is None or child.popen is None:
            return None
        p = child.popen
        if p.poll() is None:
            try:
                p.send_signal(child.stop_signal)
                p.send_signal(signal.SIGCONT)  # in case a test SIGSTOPped it
            except ProcessLookupError:
                pass
            try:
                p.wait(timeout)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        return p.returncode

    def restart(self, name, timeout=30.0):
        """Stop and start again with the same command, env and port."""
        child = self._children.get(name)
        if child is None:
            raise StackError(f'unknown process {name}')
        self.stop(name, timeout)
        with self._lock:
            self._spawn(child)
        return child.popen

    def kill(self, name, sig=signal.SIGKILL):
        """Send a signal (fault tests: SIGKILL a crash, SIGSTOP a hang). A
        SIGKILLed process is reaped here."""
        child = self._children.get(name)
        if child is None or not child.alive():
            raise StackError(f'{name} is not running')
        child.popen.send_signal(sig)
        if sig == signal.SIGKILL:
            child.popen.wait()

    def stop_all(self, timeout=30.0):
        """Stop everything, newest first (nginx before the app before the
        stores). Safe to call more than once."""
        with self._lock:
            for name in reversed(list(self._children)):
                try:
                    self.stop(name, timeout)
                except Exception:
                    pass

    def logs(self, name, tail=None):
        """The log of `name` (all of it, or the last `tail` lines)."""
        try:
            with open(self.log_path(name), errors='replace') as f:
                text = f.read()
        except FileNotFoundError:
            return ''
        if tail:
            text = '\n'.join(text.splitlines()[-tail:])
        return text

    # -- MariaDB
    @property
    def mariadb_socket(self):
        return os.path.join(self.run_dir, 'mariadb.sock')

    def _db_password(self, filename):
        path = os.path.join(self.base_dir, filename)
        try:
            with open(path) as f:
                pw = f.read().strip()
            if pw:
                return pw
        except FileNotFoundError:
            pass
        pw = secrets.token_hex(24)
        _write_private(path, pw + '\n')
        return pw

    def start_mariadb(self, name='mariadb', timeout=90.0):
        """Private mariadbd with database and user `patchproof`. Returns the
        DB_* environment (also kept in self.db_env)."""
        datadir = os.path.join(self.base_dir, 'mariadb')
        # Its own tmpdir: concurrent servers sharing /tmp collide on temp tables.
        tmpdir = os.path.join(self.base_dir, 'mariadb-tmp')
        os.makedirs(tmpdir, exist_ok=True)
        user = ['--user=root'] if IS_ROOT else []
        if not os.path.isdir(os.path.join(datadir, 'mysql')):
            # A half-made datadir from an interrupted install would confuse it.
            shutil.rmtree(datadir, ignore_errors=True)
            os.makedirs(datadir)
            with open(self.log_path(name + '-install'), 'ab') as log:
                r = subprocess.run(
                    ['mariadb-install-db', '--no-defaults',
                     '--auth-root-authentication-method=normal', '--skip-test-db',
                     '--datadir=' + datadir, '--tmpdir=' + tmpdir] + user,
                    stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
            if r.returncode != 0:
                raise StackError('mariadb-install-db failed:\n' + self.logs(name + '-install', 40))
        port = self.port(name)
        sock = self.mariadb_socket
        argv = ['mariadbd', '--no-defaults', *user,
                '--datadir=' + datadir,
                '--tmpdir=' + tmpdir,
                '--socket=' + sock,
                '--port=' + str(port),
                '--bind-address=' + LOOPBACK,
                '--pid-file=' + os.path.join(self.run_dir, 'mariadb.pid'),
                '--log-error=' + self.log_path(name),
                '--skip-name-resolve',
                '--skip-log-bin',
                '--character-set-server=utf8mb4',
                '--collation-server=utf8mb4_general_ci',
                '--innodb-buffer-pool-size=256M',
                '--innodb-log-file-size=96M',  # a small redo log throttles sustained writes
                '--innodb-flush-log-at-trx-commit=2',  # tests: speed over durability
                '--innodb-use-native-aio=0',           # containers often lack AIO
                '--max-connections=300']

        def ready():
            r = subprocess.run(['mariadb-admin', '--no-defaults', '--socket=' + sock,
                                '-uroot', '--connect-timeout=2', 'ping'],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            return r.returncode == 0
        self.start_process(name, argv, wait_for=ready, timeout=timeout)

        self._secure_root()
        pw = self._db_password('db_password')
        q = _sql_quote(pw)
        stmts = ['CREATE DATABASE IF NOT EXISTS patchproof']
        for host in ('localhost', LOOPBACK):
            stmts += [f"CREATE USER IF NOT EXISTS 'patchproof'@'{host}' IDENTIFIED BY '{q}'",
                      f"ALTER USER 'patchproof'@'{host}' IDENTIFIED BY '{q}'",
                      f"GRANT ALL PRIVILEGES ON patchproof.* TO 'patchproof'@'{host}'"]
        self.sql(';\n'.join(stmts) + ';')
        self.db_env = {
            'DB_HOST': LOOPBACK,
            'DB_PORT': str(port),
            'DB_SOCKET': sock,
            'DB_USER': 'patchproof',
            'DB_PASSWORD': pw,
            'DB_NAME': 'patchproof',
        }
        return dict(self.db_env)

    def _secure_root(self):
        """A fresh datadir has password-less root accounts, some reachable
        over TCP. Keep only root@localhost (socket), with a password kept in
        base_dir, so other local users cannot walk into a dev database."""
        pw = self._db_password('db_root_password')
        try:
            self.sql('SELECT 1;', password=pw)
            return
        except StackError:
            pass
        stmts = [f"ALTER USER 'root'@'localhost' IDENTIFIED BY '{_sql_quote(pw)}'"]
        stmts += [f"DROP USER IF EXISTS 'root'@'{h}'"
                  for h in ('127.0.0.1', '::1', socket.gethostname())]
        stmts.append("DELETE FROM mysql.global_priv WHERE User=''")
        stmts.append('FLUSH PRIVILEGES')
        self.sql(';\n'.join(stmts) + ';', password='')

    def sql(self, statements, database=None, user='root', password=None):
        """Run SQL through the mariadb client over the socket; returns the
        tab-separated output without column names. Default: as root."""
        cmd = ['mariadb', '--no-defaults', '--socket=' + self.mariadb_socket,
               '-u' + user, '--batch', '--skip-column-names']
        env = base_env()
        if password is None:
            if user == 'patchproof' and self.db_env:
                password = self.db_env['DB_PASSWORD']
            elif user == 'root':
                password = self._db_password('db_root_password')
        if password:
            env['MYSQL_PWD'] = password  # keeps it off the command line
        if database:
            cmd.append(database)
        r = subprocess.run(cmd, input=statements, text=True, env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        if r.returncode != 0:
            raise StackError(f'SQL failed ({r.returncode}): {r.stderr.strip()}')
        return r.stdout

    def create_database(self, dbname):
        """An extra empty database the patchproof user owns (for tests that
        want a clean schema)."""
        if not re.fullmatch(r'[A-Za-z0-9_]{1,64}', dbname):
            raise StackError('bad database name')
        stmts = [f'CREATE DATABASE IF NOT EXISTS `{dbname}`']
        stmts += [f"GRANT ALL PRIVILEGES ON `{dbname}`.* TO 'patchproof'@'{h}'"
                  for h in ('localhost', LOOPBACK)]
        self.sql(';\n'.join(stmts) + ';')
        env = dict(self.db_env)
        env['DB_NAME'] = dbname
        return env

    # -- memcached
    def start_memcached(self, name='mc1', memory_mb=32):
        """A memcached on 127.0.0.1 (TCP only). Returns '127.0.0.1:PORT'."""
        port = self.port(name)
        argv = ['memcached', '-l', LOOPBACK, '-p', str(port), '-U', '0',
                '-m', str(memory_mb)]
        if IS_ROOT:
            argv += ['-u', 'root']  # memcached refuses to run as root otherwise
        self.start_process(name, argv, wait_for=port, timeout=15)
        self.memcached[name] = f'{LOOPBACK}:{port}'
        return self.memcached[name]

    def memcached_servers(self):
        """MEMCACHED_SERVERS value: 'host:port,host:port'."""
        return ','.join(self.memcached.values())

    # -- nginx
    @property
    def nginx_prefix(self):
        return os.path.join(self.base_dir, 'nginx')

    def make_cert(self):
        self.cert = make_self_signed_cert(os.path.join(self.nginx_prefix, 'tls'))
        return self.cert

    def start_nginx(self, upstreams=None, kms_upstreams=None, devchain_upstreams=None,
                    extra_servers='', name='nginx', https=True, exempt=('127.0.0.1',)):
        """nginx in the foreground (master + workers) under base_dir/nginx,
        serving the API site (nginx/patchproof.conf.in) for `upstreams`
        (FastCGI addresses: unix socket paths or 'host:port'; default the
        one pool socket), plus the KMS's listener on port('kms') and the
        devchain's on port('devchain') when their upstreams are given, and
        any `extra_servers` text (more server blocks). Always with TLS on
        port('nginx_https'); `https` is accepted for older callers. `exempt`:
        the addresses nginx's limit_req zones skip.
        Returns the base URL 'http://127.0.0.1:PORT'."""
        del https
        prefix = self.nginx_prefix
        for sub in ('client_body', 'fastcgi', 'proxy', 'uwsgi', 'scgi'):
            os.makedirs(os.path.join(prefix, 'tmp', sub), exist_ok=True)
        if upstreams is None:
            upstreams = [os.path.join(self.run_dir, 'patchproof-fcgi.sock')]
        cert, key = self.make_cert()
        files = {'patchproof.conf': render_site(
            self.port('nginx'), self.port('nginx_https'), self.port('nginx_redirect'),
            upstreams, cert, key, os.path.join(self.run_dir, 'none.sock'), exempt)}
        if kms_upstreams:
            files['patchproof-kms.conf'] = kms_server_block(self.port('kms'), kms_upstreams)
        if devchain_upstreams:
            files['patchproof-devchain.conf'] = devchain_server_block(self.port('devchain'),
                                                                      devchain_upstreams)
        paths = []
        for fname, text in files.items():
            path = os.path.join(prefix, fname)
            with open(path, 'w') as f:
                f.write(text)
            paths.append(path)
        conf = os.path.join(prefix, name + '.conf')
        with open(conf, 'w') as f:
            f.write(dev_main_conf(self.base_dir, paths, extra_servers))
        port = self.port('nginx')
        argv = ['nginx', '-p', prefix + '/', '-c', conf, '-e', self.log_path(name),
                '-g', 'daemon off; master_process on;']
        self.start_process(name, argv, wait_for=port, timeout=15, stop_signal=signal.SIGTERM)
        self.nginx_port = port
        self.nginx_https_port = self.port('nginx_https')
        return self.base_url

    @property
    def base_url(self):
        return f'http://{LOOPBACK}:{self.nginx_port}' if self.nginx_port else None

    @property
    def https_url(self):
        return f'https://{LOOPBACK}:{self.nginx_https_port}' if self.nginx_https_port else None


# --------------------------------------------------------------------------
# CLI: make run (the assembly is in scripts/assemble.py, shared with the tests)

def main(argv=None):
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import assemble
    return assemble.main(argv)


if __name__ == '__main__':
    sys.exit(main())
