# SPDX-License-Identifier: MIT
"""ServiceStack plus the chain side: patchproof-devchain (its own database,
genesis funding to the KMS funding key) behind its own nginx listener, the
genesis outputs imported into the UTXO pool with `patchproof utxo add`, and
patchproof-worker processes (scripts/assemble.py, as `make run`)."""
import json
import signal
import time
import urllib.request

from service import ServiceStack  # first: it puts scripts/ on sys.path
import assemble  # noqa: E402
import ppclient as pc  # noqa: E402
import pptx  # noqa: E402

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


def chain_post(svc, path, body):
    """POSTs JSON to the devchain; its answer, decoded (HTTPError on a refusal)."""
    req = urllib.request.Request(svc.chain_url + path, data=json.dumps(body).encode(),
                                 headers={'Content-Type': 'application/json'})
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read())


def sign_pool_spend(svc, u, outputs):
    """A transaction spending pool entry u (id, txid, vout, satoshis, key_id,
    script) to outputs [pptx.TxOut], signed by the KMS directly with the
    worker's credential (the one that may use pool keys): the service never
    hears of it. Not broadcast."""
    tx = pptx.Tx([pptx.TxIn(u['txid'], u['vout'])], outputs)
    digest = pptx.sighash_forkid(tx, 0, u['script'], u['satoshis'])
    st, _, data = pc.request('POST', svc.kms_url + '/sign',
                             body={'requests': [{'keyIdentifier': u['key_id'], 'sighash': digest.hex()}]},
                             headers={'Authorization': 'Bearer ' + svc.token('worker')})
    if st != 200:
        raise AssertionError(f'KMS sign answered {st}: {data}')
    der = bytes.fromhex(data['signatures'][0]['signatureHex'])
    tx.inputs[0].script_sig = pptx.p2pkh_script_sig(der, pptx.SIGHASH_ALL_FORKID, bytes.fromhex(u['key_id']))
    return tx


def spend_behind_the_back(svc, u, outputs):
    """sign_pool_spend, broadcast to the devchain (which must accept it);
    returns the pptx.Tx."""
    tx = sign_pool_spend(svc, u, outputs)
    answer = chain_post(svc, '/v1/bsv/test/tx/raw', {'txhex': tx.hex()})
    if answer != tx.txid():
        raise AssertionError(f'devchain answered {answer!r} for {tx.txid()}')
    return tx


def wait_killed(case, name, timeout=30):
    """Waits for worker `name` to end (the PP_TEST_CRASH_AFTER_STEP hook
    kills it) and asserts that it died of SIGKILL."""
    deadline = time.time() + timeout
    while case.svc.st.is_running(name) and time.time() < deadline:
        time.sleep(0.05)
    case.assertEqual(case.svc.st.stop(name), -signal.SIGKILL, case.svc.st.logs(name, 20))


def assert_stored_at(case, step, stored_step, stored_txid):
    """The job a worker was killed in right after storing `step`: it stands
    at that step (durable, nothing after it ran), with a txid from 'signed' on."""
    case.assertEqual(stored_step, step)
    if step == 'inputs_locked':
        case.assertIsNone(stored_txid)
    else:
        case.assertRegex(stored_txid, r'^[0-9a-f]{64}$')
