# SPDX-License-Identifier: MIT
"""ServiceStack plus the chain side: patchproof-devchain (its own database,
genesis funding to the KMS funding key) behind its own nginx listener, the
genesis outputs imported into the UTXO pool with `patchproof utxo add`, and
patchproof-worker processes (scripts/assemble.py, as `make run`)."""
import time

from service import ServiceStack  # first: it puts scripts/ on sys.path
import assemble  # noqa: E402

# Fast job turnover for the tests (every role reads these).
CHAIN_TUNING = {'CHAIN_TIMEOUT_MS': '2000', 'FEE_PER_KB': '500', 'JOB_BACKOFF_MS': '100',
                'JOB_LEASE_SEC': '5', 'WORKER_POLL_MS': '50'}


class ChainStack(ServiceStack):
    def __init__(self, base_dir, job_workers=1, genesis_outputs=assemble.GENESIS_OUTPUTS,
                 genesis_sats=assemble.GENESIS_SATS, worker_env=None, **kw):
        super().__init__(base_dir, chain=True, job_workers=job_workers,
                         genesis_outputs=genesis_outputs, genesis_sats=genesis_sats,
                         tuning=CHAIN_TUNING, worker_env=worker_env, **kw)

    def import_genesis(self):
        self.fund_pool()

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
