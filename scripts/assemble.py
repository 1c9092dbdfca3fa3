#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The one way a PatchProof stack is put together, for `make run`
(``scripts/stack.py run``) and for the e2e harness (tests/e2e/service.py,
chainstack.py): keys, per-role KMS credentials, the KMS, the devchain and its
genesis funding, migrations, fcgi pools, nginx with the production site, the
funding import and the job workers. Only what a caller passes differs (state
directory, secrets kept or fresh, pool and worker counts, tuning variables).

Each process gets the environment of its role, as the packages will (DESIGN.md
§7): the API's KMS token, the worker's and the admin CLI's are different and
scoped in the KMS's clients file (DESIGN.md §4).

Python 3.11 standard library only.
"""

import argparse
import hashlib
import json
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from stack import (LOOPBACK, Stack, StackError, base_env, load_env_file,  # noqa: E402
                   write_env_file, _write_private)

SOURCE_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

KEY_LABELS = ('issuer', 'funding', 'change', 'svd')
GENESIS_OUTPUTS = 20
GENESIS_SATS = 10_000_000

# What each role's KMS token may do (DESIGN.md §4).
KMS_SCOPES = {
    'api': [{'use': 'sign', 'label': 'issuer'}, {'use': 'derive', 'label': 'svd'},
            {'use': 'sun-verify'}, {'use': 'read'}],
    'worker': [{'use': 'sign', 'label': 'funding'}, {'use': 'sign', 'label': 'change'},
               {'use': 'read'}],
    'admin': [{'use': 'read'}],
    'provision': [{'use': 'sun-provision'}],
}


def token_var(role):
    """Name of a role's KMS token in the secrets: KMS_API_TOKEN, ..."""
    return f'KMS_{role.upper()}_TOKEN'


SECRET_SPECS = [
    # name, random bytes (hex-encoded)
    ('API_KEY', 32),
    ('JWT_SECRET', 48),
    ('KMS_MASTER_KEY', 32),
    ('CONTENT_MASTER_KEY', 32),
    ('AUTH_OUTBOX_KEY', 32),
] + [(token_var(role), 32) for role in KMS_SCOPES]

# Written by earlier versions; no process reads them any more.
OBSOLETE_SECRETS = ('KMS_API_KEY',)


def new_secrets():
    """Fresh secrets (the tests: a new stack each time)."""
    return {key: secrets.token_hex(n) for key, n in SECRET_SPECS}


def ensure_secrets(var_dir):
    """var/secrets.env (0600): generated once, then reused; a secret added to
    SECRET_SPECS later is appended without touching the others."""
    path = os.path.join(var_dir, 'secrets.env')
    values = load_env_file(path)
    changed = False
    for key in OBSOLETE_SECRETS:
        changed = values.pop(key, None) is not None or changed
    for key, nbytes in SECRET_SPECS:
        if not values.get(key):
            values[key] = secrets.token_hex(nbytes)
            changed = True
    if changed or not os.path.exists(path):
        write_env_file(path, values, private=True,
                       header='Development secrets for `make run`. Generated once; keep private.')
    os.chmod(path, 0o600)
    return values


def kms_clients_doc(tokens):
    """KMS_CLIENTS_FILE contents: {role: token} -> names, token hashes, scopes."""
    return {'clients': [{'name': role,
                         'tokenSha256': hashlib.sha256(tokens[role].encode()).hexdigest(),
                         'scopes': KMS_SCOPES[role]} for role in KMS_SCOPES]}


def p2pkh_script_hex(pubkey_hex):
    sys.path.insert(0, os.path.join(SOURCE_ROOT, 'tests', 'e2e'))
    import ppclient  # the pure-Python hash160 (hashlib's ripemd160 may be missing)
    return '76a914' + ppclient.hash160(bytes.fromhex(pubkey_hex)).hex() + '88ac'


def smtp_python():
    """An interpreter that has aiosmtpd (python3-aiosmtpd is installed for
    the system's python3, which may not be the one running us)."""
    import importlib.util
    import shutil
    if importlib.util.find_spec('aiosmtpd') is not None:
        return sys.executable
    for candidate in ('/usr/bin/python3', shutil.which('python3')):
        if candidate and subprocess.run([candidate, '-c', 'import aiosmtpd'],
                                        stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL).returncode == 0:
            return candidate
    raise StackError('no python3 with aiosmtpd (apt-get install python3-aiosmtpd)')


class Service:
    """A whole stack under base_dir. start() brings it up; stop() ends it.

    secrets: as new_secrets() / ensure_secrets(). env_name: PATCHPROOF_ENV.
    chain: also the devchain, genesis funding and `job_workers` workers.
    env: tuning variables for every role (timeouts, limits); api_env /
    worker_env: for that role only. ports: pinned ports (see Stack.port).
    """

    def __init__(self, base_dir, build_dir, source_dir, secrets_, *, env_name='test',
                 pools=1, fcgi_workers=2, chain=False, job_workers=1,
                 genesis_outputs=GENESIS_OUTPUTS, genesis_sats=GENESIS_SATS, block_sec=None,
                 env=None, api_env=None, worker_env=None, admin_env=None, ports=None, extra_servers='',
                 nginx_exempt=('127.0.0.1',)):
        self.st = Stack(base_dir, build_dir, source_dir, ports)
        self.source_dir = os.path.abspath(source_dir)
        self.secrets = dict(secrets_)
        self.env_name = env_name
        self.pools = pools
        self.fcgi_workers = fcgi_workers
        self.chain = chain
        self.worker_count = job_workers if chain else 0
        self.genesis_outputs = genesis_outputs
        self.genesis_sats = genesis_sats
        self.block_sec = block_sec
        self.env_overrides = dict(env or {})
        self.api_overrides = dict(api_env or {})
        self.worker_overrides = dict(worker_env or {})
        self.admin_overrides = dict(admin_env or {})
        self.extra_servers = extra_servers
        self.nginx_exempt = tuple(nginx_exempt)
        self.kms_dir = os.path.join(self.st.base_dir, 'kms')
        self.keystore = os.path.join(self.kms_dir, 'keystore.json')
        self.clients_file = os.path.join(self.kms_dir, 'clients.json')
        self.kms_sock = os.path.join(self.st.run_dir, 'kms.sock')
        self.devchain_sock = os.path.join(self.st.run_dir, 'devchain.sock')
        # Mail from the workers goes to a loopback SMTP sink, one .eml per message.
        self.mail_dir = os.path.join(self.st.base_dir, 'mail')
        self.smtp_url = None
        self.keys = {}
        self.base_url = None

    # -- secrets and URLs
    def token(self, role):
        return self.secrets[token_var(role)]

    @property
    def kms_url(self):
        return f'http://{LOOPBACK}:{self.st.port("kms")}'

    @property
    def chain_url(self):
        return f'http://{LOOPBACK}:{self.st.port("devchain")}'

    def binary(self, name):
        path = self.st.binary(name)
        if not path:
            raise StackError(f'{name} is not built in {self.st.build_dir} (run make build)')
        return path

    # -- each role's environment
    def kms_env(self):
        return {'KMS_CLIENTS_FILE': self.clients_file, 'KMS_KEYSTORE': self.keystore,
                'KMS_MASTER_KEY': self.secrets['KMS_MASTER_KEY']}

    def common_env(self):
        """Shared, secret-free settings (patchproof.env) plus DB credentials."""
        env = dict(self.st.db_env)
        env.update({'PATCHPROOF_ENV': self.env_name, 'CHAIN_NETWORK': 'test',
                    'MEMCACHED_SERVERS': self.st.memcached_servers(), 'KMS_URL': self.kms_url})
        if self.keys.get('issuer'):
            env['ISSUER_KEY_ID'] = self.keys['issuer']['keyIdentifier']
        if self.keys.get('change'):
            env['UTXO_CHANGE_ADDRESS'] = self.keys['change']['addressTest']
            env['UTXO_CHANGE_KEY_ID'] = self.keys['change']['keyIdentifier']
        if self.keys.get('funding'):
            env['UTXO_FUNDING_ADDRESS'] = self.keys['funding']['addressTest']
            env['UTXO_FUNDING_KEY_ID'] = self.keys['funding']['keyIdentifier']
        if self.chain:
            env['CHAIN_API_URL'] = self.chain_url
        env.update(self.env_overrides)
        return env

    def api_env(self):
        env = self.common_env()
        env.update({'API_KEY': self.secrets['API_KEY'], 'JWT_SECRET': self.secrets['JWT_SECRET'],
                    'CONTENT_MASTER_KEY': self.secrets['CONTENT_MASTER_KEY'],
                    'AUTH_OUTBOX_KEY': self.secrets['AUTH_OUTBOX_KEY'],
                    'KMS_API_KEY': self.token('api')})
        env.update(self.api_overrides)
        return env

    def worker_env(self):
        env = self.common_env()
        env['KMS_API_KEY'] = self.token('worker')
        env['AUTH_OUTBOX_KEY'] = self.secrets['AUTH_OUTBOX_KEY']
        if self.smtp_url:
            env['SMTP_URL'] = self.smtp_url
        env.update(self.worker_overrides)
        return env

    def admin_env(self):
        env = self.common_env()
        env['KMS_API_KEY'] = self.token('admin')
        env.update(self.admin_overrides)
        return env

    def devchain_env(self):
        env = {k: v for k, v in self.st.db_env.items() if k != 'DB_NAME'}
        env.update({'DEVCHAIN_DB_NAME': 'patchproof_devchain', 'DEVCHAIN_NETWORK': 'test',
                    'DEVCHAIN_GENESIS_ADDRESS': self.keys['funding']['addressTest'],
                    'DEVCHAIN_GENESIS_OUTPUTS': str(self.genesis_outputs),
                    'DEVCHAIN_GENESIS_SATS': str(self.genesis_sats),
                    'DEVCHAIN_MIN_FEE_PER_KB': '250'})
        if self.block_sec is not None:
            env['DEVCHAIN_BLOCK_SEC'] = str(self.block_sec)
        return env

    # -- the pieces, in start order
    def ensure_keys(self):
        """Every key label, made once with `patchproof kms keygen`; the public
        facts are kept in kms/keys.json so a restart reuses them."""
        os.makedirs(self.kms_dir, mode=0o700, exist_ok=True)
        keys_file = os.path.join(self.kms_dir, 'keys.json')
        try:
            with open(keys_file) as f:
                self.keys = json.load(f)
        except FileNotFoundError:
            self.keys = {}
        env = {**base_env(), **self.kms_env()}
        for label in KEY_LABELS:
            if label in self.keys:
                continue
            out = subprocess.run([self.binary('patchproof'), 'kms', 'keygen', '--label', label,
                                  '--keystore', self.keystore], env=env, check=True,
                                 stdout=subprocess.PIPE, text=True).stdout
            self.keys[label] = json.loads(out.strip().splitlines()[-1])
            with open(keys_file, 'w') as f:
                json.dump(self.keys, f, indent=1)  # public information only

    def start_kms(self):
        _write_private(self.clients_file, json.dumps(
            kms_clients_doc({role: self.token(role) for role in KMS_SCOPES}), indent=1) + '\n')
        self.st.start_process('kms', [self.binary('patchproof-kms'), '--listen', self.kms_sock,
                                      '--workers', '2'],
                              env=self.kms_env(), wait_for=self.kms_sock)

    def start_devchain(self):
        self.st.start_process('devchain', [self.binary('patchproof-devchain'), '--listen',
                                           self.devchain_sock, '--workers', '2', '--sql-dir',
                                           os.path.join(self.source_dir, 'sql', 'devchain')],
                              env=self.devchain_env(), wait_for=self.devchain_sock)

    def cli(self, *args, check=True):
        """The admin CLI with the admin role's environment."""
        return subprocess.run([self.binary('patchproof'), *args],
                              env={**base_env(), **self.admin_env()},
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, check=check)

    def migrate(self):
        self.cli('migrate', '--sql-dir', os.path.join(self.source_dir, 'sql'))

    def pool_socket(self, i):
        return os.path.join(self.st.run_dir, f'fcgi-{i}.sock')

    def start_pool(self, i, env=None):
        """Pool i on its own socket; env overrides this pool's settings only."""
        self.st.start_process(f'fcgi{i}', [self.binary('patchproof-fcgi'), '--listen',
                                           self.pool_socket(i), '--workers', str(self.fcgi_workers)],
                              env={**self.api_env(), **(env or {})}, wait_for=self.pool_socket(i))

    def start_nginx(self):
        self.base_url = self.st.start_nginx(
            upstreams=[self.pool_socket(i) for i in range(self.pools)],
            kms_upstreams=[self.kms_sock],
            devchain_upstreams=[self.devchain_sock] if self.chain else None,
            extra_servers=self.extra_servers, exempt=self.nginx_exempt)

    def chain_get(self, path):
        with urllib.request.urlopen(self.chain_url + path, timeout=10) as r:
            return json.loads(r.read())

    def pool_size(self):
        """Entries in the UTXO pool, any status (`patchproof utxo stats`)."""
        stats = json.loads(self.cli('utxo', 'stats').stdout)
        return sum(int(v.get('count', 0)) for v in stats.values() if isinstance(v, dict))

    def fund_pool(self):
        """An empty pool gets the funding key's unspent outputs (the genesis)."""
        if self.pool_size() != 0:
            return
        funding = self.keys['funding']
        script = p2pkh_script_hex(funding['keyIdentifier'])
        for u in self.chain_get(f"/v1/bsv/test/address/{funding['addressTest']}/unspent"):
            self.cli('utxo', 'add', '--txid', u['tx_hash'], '--vout', str(u['tx_pos']),
                     '--satoshis', str(u['value']), '--key-id', funding['keyIdentifier'],
                     '--script', script)

    def start_smtp(self, name='smtp'):
        """The SMTP sink (scripts/smtp_sink.py, development and tests only) on
        127.0.0.1, writing each message as one .eml file under mail_dir; the
        workers' SMTP_URL. Call again after st.stop('smtp') to bring it back
        on the same port."""
        port = self.st.port(name)
        script = os.path.join(SOURCE_ROOT, 'scripts', 'smtp_sink.py')
        self.st.start_process(name, [smtp_python(), script, '--listen', f'{LOOPBACK}:{port}',
                                     '--dir', self.mail_dir], wait_for=port, timeout=15)
        self.smtp_url = f'smtp://{LOOPBACK}:{port}'
        return self.smtp_url

    def worker_name(self, i):
        return f'worker{i}'

    def start_worker(self, i, env=None):
        self.st.start_process(self.worker_name(i), [self.binary('patchproof-worker'), '--id', f'w{i}'],
                              env={**self.worker_env(), **(env or {})})

    def start(self):
        st = self.st
        st.start_mariadb()
        st.start_memcached('mc1')
        self.ensure_keys()
        self.start_kms()
        if self.chain:
            st.create_database('patchproof_devchain')
            self.start_devchain()
        self.migrate()
        for i in range(self.pools):
            self.start_pool(i)
        self.start_nginx()
        if self.chain:
            self.fund_pool()
            self.start_smtp()
            for i in range(self.worker_count):
                self.start_worker(i)
        return self

    def stop(self):
        self.st.stop_all()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False

    def dev_env(self):
        """var/dev.env: every role at once (DESIGN.md §7), for a developer."""
        return {
            'BASE_URL': self.base_url or '',
            'BASE_URL_HTTPS': self.st.https_url or '',
            'API_KEY': self.secrets['API_KEY'],
            'JWT_SECRET': self.secrets['JWT_SECRET'],
            'CHAIN_NETWORK': 'test',
            **self.st.db_env,
            'MEMCACHED_SERVERS': self.st.memcached_servers(),
            'KMS_URL': self.kms_url,
            'KMS_API_KEY': self.token('admin'),
            'KMS_PROVISION_API_KEY': self.token('provision'),
            'CHAIN_API_URL': self.chain_url if self.chain else '',
            # Public facts the CLI's maintenance and anchoring need.
            **{k: v for k, v in self.common_env().items()
               if k.startswith(('UTXO_FUNDING_', 'UTXO_CHANGE_')) or k == 'ISSUER_KEY_ID'},
            'SMTP_URL': self.smtp_url or '',
            'MAIL_DIR': self.mail_dir if self.smtp_url else '',
        }


# --------------------------------------------------------------------------
# make run

class _Stop(Exception):
    pass


def cmd_run(args):
    var = os.path.abspath(args.var)
    os.makedirs(var, exist_ok=True)
    ports = {name: port for name, port in (('nginx', args.http_port), ('nginx_https', args.https_port),
                                           ('kms', args.kms_port)) if port}

    def on_signal(signum, frame):
        raise _Stop()
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    svc = None
    try:
        svc = Service(var, args.build, args.source, ensure_secrets(var), env_name='development',
                      chain=True, job_workers=1, block_sec=10, ports=ports)
        st = svc.st
        svc.start()
        write_env_file(os.path.join(var, 'dev.env'), svc.dev_env(), private=True,
                       header='Written by scripts/stack.py run; `. var/dev.env` to use it.')
        db = st.db_env
        rows = [('mariadb', f"{db['DB_HOST']}:{db['DB_PORT']} and {db['DB_SOCKET']}"),
                ('memcached', st.memcached_servers()),
                ('patchproof-kms', f'{svc.kms_url} -> {svc.kms_sock}'),
                ('patchproof-devchain', f'{svc.chain_url} -> {svc.devchain_sock} (development only)'),
                ('patchproof-fcgi', ', '.join(svc.pool_socket(i) for i in range(svc.pools))),
                ('nginx', f'{st.base_url} and {st.https_url} (self-signed)'),
                ('patchproof-worker', 'anchors queued records, sends login mail'),
                ('smtp sink', f'{svc.smtp_url} -> {svc.mail_dir}/*.eml (development only)')]
        print('PatchProof dev stack:')
        for what, where in rows:
            print(f'  {what:20} {where}')
        print(f'  {"logs":20} {st.log_dir}/')
        print(f'  {"environment":20} {os.path.join(var, "dev.env")}')
        print('Ctrl-C stops everything.', flush=True)

        reported = set()
        while True:
            time.sleep(1)
            for name in st.names():
                if name not in reported and not st.is_running(name):
                    reported.add(name)
                    rc = st._children[name].popen.returncode
                    print(f'{name} exited ({rc}); see {st.log_path(name)}', flush=True)
    except _Stop:
        pass
    except (StackError, subprocess.CalledProcessError) as e:
        print(f'error: {e}', file=sys.stderr)
        return 1
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # no second Ctrl-C mid-shutdown
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        print('stopping...', flush=True)
        if svc is not None:
            svc.stop()
        print('stopped.', flush=True)
    return 0


def main(argv=None):
    ap = argparse.ArgumentParser(description='Private PatchProof stack for development.')
    sub = ap.add_subparsers(dest='cmd', required=True)
    run = sub.add_parser('run', help='start the stack and wait for Ctrl-C/SIGTERM')
    run.add_argument('--var', default='var', help='state directory (default: var)')
    run.add_argument('--build', default='build', help='meson build directory')
    run.add_argument('--source', default='.', help='source tree')
    run.add_argument('--http-port', type=int, default=0, help='nginx HTTP port (default: free)')
    run.add_argument('--https-port', type=int, default=0, help='nginx HTTPS port (default: free)')
    run.add_argument('--kms-port', type=int, default=0, help="KMS's nginx port (default: free)")
    args = ap.parse_args(argv)
    if args.cmd == 'run':
        return cmd_run(args)
    return 2


if __name__ == '__main__':
    sys.exit(main())
