# SPDX-License-Identifier: MIT
"""ServiceStack plus the chain side: patchproof-devchain (its own database,
genesis funding to the KMS funding key) behind its own nginx listener, the
genesis outputs imported into the UTXO pool with `patchproof utxo add`, and
patchproof-worker processes."""
import json
import os
import subprocess
import time
import urllib.request

from service import ServiceStack, binary, SOURCE
import ppclient as pc


def p2pkh_script_hex(pubkey_hex):
    return '76a914' + pc.hash160(bytes.fromhex(pubkey_hex)).hex() + '88ac'


class ChainStack(ServiceStack):
    key_labels = ('svd', 'issuer', 'funding', 'change')

    def __init__(self, base_dir, job_workers=1, genesis_outputs=10, genesis_sats=1_000_000, worker_env=None, **kw):
        super().__init__(base_dir, **kw)
        self.worker_count = job_workers
        self.genesis_outputs = genesis_outputs
        self.genesis_sats = genesis_sats
        self.worker_env_overrides = dict(worker_env or {})
        self.devchain_sock = os.path.join(self.st.run_dir, 'devchain.sock')
        self.content_key = os.urandom(32).hex()

    @property
    def chain_url(self):
        return f'http://127.0.0.1:{self.st.port("devchain")}'

    def app_env(self):
        env = super().app_env()
        env.update({
            'CHAIN_API_URL': self.chain_url,
            'CHAIN_TIMEOUT_MS': '2000',
            'UTXO_CHANGE_ADDRESS': self.keys['change']['addressTest'],
            'UTXO_CHANGE_KEY_ID': self.keys['change']['keyIdentifier'],
            'ISSUER_KEY_ID': self.keys['issuer']['keyIdentifier'],
            'CONTENT_MASTER_KEY': self.content_key,
            'FEE_PER_KB': '500',
            'JOB_BACKOFF_MS': '100',
            'JOB_LEASE_SEC': '5',
            'WORKER_POLL_MS': '50',
        })
        return env

    def devchain_env(self):
        env = dict(self.st.db_env)
        env.update({'DEVCHAIN_DB_NAME': 'patchproof_devchain', 'DEVCHAIN_NETWORK': 'test',
                    'DEVCHAIN_GENESIS_ADDRESS': self.keys['funding']['addressTest'],
                    'DEVCHAIN_GENESIS_OUTPUTS': str(self.genesis_outputs),
                    'DEVCHAIN_GENESIS_SATS': str(self.genesis_sats),
                    'DEVCHAIN_MIN_FEE_PER_KB': '250'})
        return env

    def before_pools(self):
        self.st.create_database('patchproof_devchain')
        self.start_devchain()

    def start_devchain(self):
        self.st.start_process('devchain', [binary('patchproof-devchain'), '--listen', self.devchain_sock,
                                           '--workers', '2', '--sql-dir',
                                           os.path.join(SOURCE, 'sql', 'devchain')],
                              env=self.devchain_env(), wait_for=self.devchain_sock)

    def nginx_kwargs(self):
        return {'devchain_upstreams': [self.devchain_sock]}

    def after_start(self):
        self.import_genesis()
        for i in range(self.worker_count):
            self.start_worker(i)

    def cli(self, *args, check=True):
        return subprocess.run([binary('patchproof'), *args], env={**os.environ, **self.app_env()},
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, check=check)

    def chain_get(self, path):
        with urllib.request.urlopen(self.chain_url + path, timeout=10) as r:
            return json.loads(r.read())

    def import_genesis(self):
        funding = self.keys['funding']
        script = p2pkh_script_hex(funding['keyIdentifier'])
        for u in self.chain_get(f"/v1/bsv/test/address/{funding['addressTest']}/unspent"):
            self.cli('utxo', 'add', '--txid', u['tx_hash'], '--vout', str(u['tx_pos']),
                     '--satoshis', str(u['value']), '--key-id', funding['keyIdentifier'],
                     '--script', script)

    def worker_name(self, i):
        return f'worker{i}'

    def start_worker(self, i, env=None):
        full = {**self.app_env(), **self.worker_env_overrides, **(env or {})}
        self.st.start_process(self.worker_name(i), [binary('patchproof-worker'), '--id', f'w{i}'],
                              env=full)

    def wait_pending(self, kind, pending_id, statuses=('confirmed', 'failed'), timeout=60):
        c = self.client()
        deadline = time.time() + timeout
        while True:
            st, _, body = c.call('GET', f'/v1/patches/pending/{kind}/{pending_id}', key=False)
            if st == 200 and body.get('status') in statuses:
                return body
            if time.time() > deadline:
                raise AssertionError(f'pending {pending_id} still {body} after {timeout}s')
            time.sleep(0.1)
