# SPDX-License-Identifier: MIT
"""The whole PatchProof service, for real, in a temp dir: MariaDB, memcached,
patchproof-kms (with keys made by `patchproof kms keygen`), one or more
patchproof-fcgi pools and nginx in front of them. Used by the e2e tests."""
import json
import os
import secrets
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(SOURCE, 'scripts'))
sys.path.insert(0, HERE)

import stack as stackmod  # noqa: E402
import ppclient  # noqa: E402

BUILD = os.environ.get('PP_BUILD_DIR', os.path.join(SOURCE, 'build'))


def binary(name):
    path = os.path.join(BUILD, name)
    if not os.access(path, os.X_OK):
        raise RuntimeError(f'{name} is not built in {BUILD}')
    return path


class ServiceStack:
    """start() brings everything up; stop() (or the context manager) ends it."""

    key_labels = ('svd', 'issuer')  # KMS keys made before the KMS starts

    def __init__(self, base_dir, pools=1, workers=2, env=None, extra_servers=''):
        self.base_dir = base_dir
        self.pools = pools
        self.workers = workers
        self.env_overrides = dict(env or {})
        self.extra_servers = extra_servers
        self.st = stackmod.Stack(base_dir, build_dir=BUILD, source_dir=SOURCE)
        self.api_key = secrets.token_hex(32)
        self.jwt_secret = secrets.token_hex(32)
        self.kms_api_key = secrets.token_hex(32)
        self.kms_master_key = secrets.token_hex(32)
        self.content_master_key = secrets.token_hex(32)
        self.keystore = os.path.join(base_dir, 'kms', 'keystore.json')
        self.kms_sock = os.path.join(self.st.run_dir, 'kms.sock')
        self.keys = {}

    # -- lifecycle
    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()
        return False

    def kms_env(self):
        return {'KMS_API_KEY': self.kms_api_key, 'KMS_KEYSTORE': self.keystore,
                'KMS_MASTER_KEY': self.kms_master_key}

    def app_env(self):
        env = dict(self.st.db_env)
        env.update({
            'PATCHPROOF_ENV': 'test',
            'MEMCACHED_SERVERS': self.st.memcached_servers(),
            'API_KEY': self.api_key,
            'JWT_SECRET': self.jwt_secret,
            'KMS_URL': self.kms_url,
            'KMS_API_KEY': self.kms_api_key,
            'KMS_TIMEOUT_MS': '1500',
            'KMS_RETRIES': '1',
            'CHAIN_NETWORK': 'test',
            'CONTENT_MASTER_KEY': self.content_master_key,
            'DEPLOY_SHA': 'e2e',
        })
        env.update(self.env_overrides)
        return env

    def pool_socket(self, i):
        return os.path.join(self.st.run_dir, f'fcgi-{i}.sock')

    def start(self):
        st = self.st
        st.start_mariadb()
        st.start_memcached('mc1')
        os.makedirs(os.path.dirname(self.keystore), exist_ok=True)
        for label in self.key_labels:
            out = subprocess.run([binary('patchproof'), 'kms', 'keygen', '--label', label,
                                  '--keystore', self.keystore],
                                 env={**os.environ, **self.kms_env()}, check=True,
                                 stdout=subprocess.PIPE, text=True).stdout
            self.keys[label] = json.loads(out.strip().splitlines()[-1])
        st.start_process('kms', [binary('patchproof-kms'), '--listen', self.kms_sock, '--workers', '2'],
                         env=self.kms_env(), wait_for=self.kms_sock)
        self.kms_url = f'http://127.0.0.1:{st.port("kms")}'
        subprocess.run([binary('patchproof'), 'migrate', '--sql-dir', os.path.join(SOURCE, 'sql')],
                       env={**os.environ, **self.app_env()}, check=True,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.before_pools()
        for i in range(self.pools):
            self.start_pool(i)
        extra = {'EXTRA_SERVERS': self.extra_servers} if self.extra_servers else None
        st.start_nginx(upstreams=[self.pool_socket(i) for i in range(self.pools)],
                       kms_upstreams=[self.kms_sock], extra=extra, **self.nginx_kwargs())
        self.base_url = st.base_url
        self.after_start()
        return self

    # Hooks for stacks with more pieces (tests/e2e/chainstack.py).
    def before_pools(self):
        pass

    def nginx_kwargs(self):
        return {}

    def after_start(self):
        pass

    def start_pool(self, i, env=None):
        """Pool i on its own socket; env overrides this pool's settings only."""
        self.st.start_process(f'fcgi{i}', [binary('patchproof-fcgi'), '--listen', self.pool_socket(i),
                                           '--workers', str(self.workers)],
                              env={**self.app_env(), **(env or {})}, wait_for=self.pool_socket(i))

    def stop(self):
        """Stops everything; raises if any process logged a sanitizer report
        (the ASan+UBSan build runs these same tests)."""
        self.st.stop_all()
        reports = [name for name, text in self.all_logs().items()
                   if 'Sanitizer' in text or 'runtime error:' in text]
        if reports:
            raise AssertionError('sanitizer reports in the logs of: ' + ', '.join(reports))

    # -- helpers for tests
    def client(self, token=None):
        return ppclient.Client(self.base_url, api_key=self.api_key, token=token)

    def all_logs(self):
        return {name: self.st.logs(name) for name in self.st.names()}

    @property
    def svd_pub(self):
        return self.keys['svd']['keyIdentifier']
