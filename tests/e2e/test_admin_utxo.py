# SPDX-License-Identifier: MIT
"""UTXO health and maintenance against the real stack (DESIGN.md §3 Admin):
GET /v1/admin/utxo-health from the database and the devchain (and from the
database alone when the chain API is down); POST /v1/admin/utxo-maintain's
sync outcomes, each set up for real on the devchain (an outside payment to
the funding address waiting for confirmations, a quarantined output the
chain still lists released, an output gone from the chain marked spent when
a stored transaction of ours spent it and quarantined when a stranger did),
sweep and split signed by patchproof-worker, auto, a dry run that changes
nothing, and bad input (400) or no key (401) changing nothing."""
import json
import os
import time
import unittest
import urllib.error

from chainstack import ChainStack, chain_post
import chainstack
from stackcase import StackCase
import assemble
import ppclient as pc
import pptx

# The maintenance settings of these tests, for every role (the API pools
# and the CLI plan; the worker builds).
MAINT_ENV = {'DUST_THRESHOLD_SATS': '1000', 'DUST_SWEEP_LIMIT': '10', 'MIN_UTXO_COUNT': '40',
             'UTXO_SPLIT_SIZE_SATS': '20000', 'MAX_SPLIT_OUTPUTS': '4', 'UTXO_MIN_CONFIRMATIONS': '1',
             'ADMIN_WAIT_SEC': '20'}
OUTSIDE_FEE = 2000


# -- helpers shared with test_admin_race.py and test_cli_ops.py ---------------

def sql(svc, q):
    return svc.st.sql(q, database='patchproof').strip()


def pool_rows(svc):
    """Every pool entry as (txid, vout, status, version): compared before/after."""
    return sql(svc, 'SELECT txid, vout, status, version FROM utxos ORDER BY id')


def mine(svc, blocks=1):
    return chain_post(svc, '/devchain/mine', {'blocks': blocks})


def funding_script(svc):
    return bytes.fromhex(assemble.p2pkh_script_hex(svc.keys['funding']['keyIdentifier']))


def chain_unspent(svc, label):
    """{(txid, vout): value} the devchain lists for the funding/change address."""
    addr = svc.keys[label]['addressTest']
    return {(u['tx_hash'], u['tx_pos']): u['value']
            for u in svc.chain_get(f'/v1/bsv/test/address/{addr}/unspent')}


def pool_and_chain(svc):
    """{(txid, vout): value} of the pool's live entries and of what the
    devchain lists for the funding and change addresses: equal when the
    pool is in sync."""
    listed = {**chain_unspent(svc, 'funding'), **chain_unspent(svc, 'change')}
    pooled = {}
    for line in sql(svc, "SELECT txid, vout, satoshis FROM utxos WHERE status IN "
                         "('available', 'locked', 'unconfirmed')").splitlines():
        t, v, s = line.split('\t')
        pooled[(t, int(v))] = int(s)
    return pooled, listed


def available(svc, min_sats=0, max_sats=None):
    q = f"SELECT id, txid, vout, satoshis, key_id, script_hex FROM utxos WHERE status = 'available' " \
        f"AND satoshis >= {int(min_sats)}"
    if max_sats is not None:
        q += f' AND satoshis < {int(max_sats)}'
    out = []
    for line in sql(svc, q + ' ORDER BY satoshis DESC, id').splitlines():
        i, t, v, s, k, scr = line.split('\t')
        out.append({'id': int(i), 'txid': t, 'vout': int(v), 'satoshis': int(s), 'key_id': k,
                    'script': bytes.fromhex(scr)})
    return out


def spend_behind_the_back(svc, u, outputs, expect_refusal=False):
    """Spends pool entry u outside the service to outputs [(value, script)].
    Returns the txid (or, with expect_refusal, the devchain's refusal text)."""
    outs = [pptx.TxOut(v, s) for v, s in outputs]
    if not expect_refusal:
        return chainstack.spend_behind_the_back(svc, u, outs).txid()
    tx = chainstack.sign_pool_spend(svc, u, outs)
    try:
        chain_post(svc, '/v1/bsv/test/tx/raw', {'txhex': tx.hex()})
    except urllib.error.HTTPError as e:
        assert e.code == 400, e.code
        return json.loads(e.read())
    raise AssertionError('the devchain accepted a double spend')


def maintain(client, action, dry_run=None):
    body = {'action': action}
    if dry_run is not None:
        body['dryRun'] = dry_run
    return client.call('POST', '/v1/admin/utxo-maintain', body, timeout=60)


def wait_jobs(svc, ids, timeout=90):
    """Waits until every job is done (or failed); returns {id: step}."""
    deadline = time.time() + timeout
    while True:
        steps = {i: sql(svc, f'SELECT step FROM jobs WHERE id = {int(i)}') for i in ids}
        if all(s in ('done', 'failed') for s in steps.values()):
            return steps
        if time.time() > deadline:
            raise AssertionError(f'jobs still {steps} after {timeout}s')
        time.sleep(0.2)


def double_spend_refusals(svc):
    """Transactions the devchain refused because an input was spent already
    (its 'tx rejected' log lines with a conflict or missing-inputs reason)."""
    n = 0
    for line in svc.st.logs('devchain').splitlines():
        if 'tx rejected' in line and ('txn-mempool-conflict' in line or 'Missing inputs' in line):
            n += 1
    return n


def register(client):
    owner = pc.address_from_priv(pc.random_privkey(), 'test')
    uid = 'TAG-' + os.urandom(6).hex()
    st, _, resp = client.call('POST', '/v1/patches', {
        'product': {'uid_tag_id': uid, 'name': 'Jersey'}, 'metadata': {'notes': 'admin test'},
        'auth': {'owner': owner}})
    assert st == 202, resp
    return uid, resp


def make_stack(base_dir, **kw):
    env = {**MAINT_ENV, **kw.pop('env', {})}
    return ChainStack(base_dir, env=env, admin_env={**env, **kw.pop('admin_env', {})}, **kw)


class AdminUtxo(StackCase):
    prefix = 'pp-admin-utxo-'

    @classmethod
    def make_stack(cls, base_dir):
        return make_stack(base_dir, job_workers=1)

    def sql(self, q):
        return sql(self.svc, q)

    def sync(self):
        st, _, body = maintain(self.c, 'sync')
        self.assertEqual(st, 200, body)
        self.assertTrue(body['success'], body)
        self.assertEqual(body['action'], 'sync')
        return body['result']['sync']

    def status_of(self, txid, vout):
        return self.sql(f"SELECT status FROM utxos WHERE txid = '{txid}' AND vout = {int(vout)}")

    def quiet(self):
        """No job of the worker unfinished (the pool holds still)."""
        deadline = time.time() + 60
        while self.sql("SELECT COUNT(*) FROM jobs WHERE step NOT IN ('done', 'failed')") != '0':
            self.assertLess(time.time(), deadline)
            time.sleep(0.1)

    def setUp(self):
        """Each test starts from a pool in step with the chain and without
        dust to sweep, whatever the tests before it left."""
        self.quiet()
        self.sync()
        if len(available(self.svc, max_sats=1000)) >= 2:
            st, _, body = maintain(self.c, 'sweep')
            self.assertIn(st, (200, 202), body)
            wait_jobs(self.svc, [body['result']['sweep']['jobId']])
            self.sync()

    # -- auth and validation

    def test_auth_first_then_validation_and_nothing_changes(self):
        before = pool_rows(self.svc)
        jobs = self.sql('SELECT COUNT(*) FROM jobs')
        for method, path, body in (('GET', '/v1/admin/utxo-health', None),
                                   ('POST', '/v1/admin/utxo-maintain', {'action': 'sync'}),
                                   ('POST', '/v1/admin/utxo-maintain', {'action': 'nope', 'x': 1})):
            st, _, resp = self.c.call(method, path, body, key=False)
            self.assertEqual(st, 401, resp)
            self.assertEqual(resp['error'], 'UNAUTHORIZED')
            st, _, resp = self.c.call(method, path, body, headers={'x-api-key': 'wrong' * 8}, key=False)
            self.assertEqual(st, 401, resp)
        bad = [{}, {'action': 'nope'}, {'action': 5}, {'action': 'sync', 'dryRun': 'yes'},
               {'action': 'sync', 'dryRun': 1}, {'action': 'sync', 'extra': True}, {'action': None},
               {'action': 'sweep', 'dryRun': None}]
        for body in bad:
            st, _, resp = self.c.call('POST', '/v1/admin/utxo-maintain', body)
            self.assertEqual(st, 400, (body, resp))
            self.assertEqual(resp['error'], 'VALIDATION_ERROR', resp)
        st, _, resp = self.c.call('POST', '/v1/admin/utxo-maintain', raw=b'{"action":', headers={
            'Content-Type': 'application/json'})
        self.assertEqual(st, 400, resp)
        self.assertEqual(pool_rows(self.svc), before)
        self.assertEqual(self.sql('SELECT COUNT(*) FROM jobs'), jobs)
        self.assertEqual(self.sql('SELECT COUNT(*) FROM leases WHERE expires_at > UNIX_TIMESTAMP()'), '0')

    # -- health

    def test_health_matches_db_and_chain(self):
        self.quiet()
        st, _, h = self.c.call('GET', '/v1/admin/utxo-health')
        self.assertEqual(st, 200, h)
        stats = json.loads(self.svc.cli('utxo', 'stats').stdout)
        for name in ('unconfirmed', 'available', 'locked', 'spent', 'quarantined'):
            self.assertEqual(h['db'][name], {'count': stats[name]['count'],
                                             'totalSatoshis': stats[name]['satoshis']}, name)
        funding = self.svc.keys['funding']
        self.assertEqual(h['funding'], {'address': funding['addressTest'], 'network': 'test',
                                        'minConfirmations': 1, 'keyIdentifier': funding['keyIdentifier']})
        info = self.svc.chain_get('/v1/bsv/test/chain/info')
        self.assertEqual(h['chain']['tipHeight'], info['blocks'])
        listed = chain_unspent(self.svc, 'funding')
        self.assertEqual(h['chain']['funding']['unspentCount'], len(listed))
        self.assertEqual(h['chain']['funding']['unspentSatoshis'], sum(listed.values()))
        change = chain_unspent(self.svc, 'change')
        self.assertEqual(h['chain']['change']['unspentCount'], len(change))

    def test_health_with_the_chain_down_answers_from_the_db(self):
        self.svc.st.stop('devchain')
        try:
            st, _, h = self.c.call('GET', '/v1/admin/utxo-health')
            self.assertEqual(st, 200, h)
            self.assertEqual(set(h['chain']), {'error'})
            self.assertIsInstance(h['chain']['error'], str)
            self.assertEqual(h['db']['available']['count'],
                             int(self.sql("SELECT COUNT(*) FROM utxos WHERE status = 'available'")))
            # sync needs the chain: 503, and nothing changed.
            before = pool_rows(self.svc)
            st, _, body = maintain(self.c, 'sync')
            self.assertEqual(st, 503, body)
            self.assertEqual(pool_rows(self.svc), before)
        finally:
            self.svc.start_devchain()

    # -- sync, each outcome set up on the devchain

    def test_sync_outcomes(self):
        self.quiet()
        self.assertEqual(self.sync(), {'added': 0, 'updated': 0, 'markedSpent': 0, 'quarantined': 0,
                                       'released': 0})
        # An outside payment: a pool output spent behind the service's back,
        # paying the funding address. Its new output waits (0 confirmations),
        # the spent pool entry is quarantined (no transaction of ours spent it).
        u = available(self.svc, min_sats=1_000_000)[-1]
        paid = u['satoshis'] - OUTSIDE_FEE
        outside = spend_behind_the_back(self.svc, u, [(paid, funding_script(self.svc))])
        # The double-spend counter the race tests rely on sees a real one.
        refusals = double_spend_refusals(self.svc)
        spend_behind_the_back(self.svc, u, [(paid - 1, funding_script(self.svc))], expect_refusal=True)
        self.assertEqual(double_spend_refusals(self.svc), refusals + 1)
        self.assertEqual(self.sync(), {'added': 1, 'updated': 0, 'markedSpent': 0, 'quarantined': 1,
                                       'released': 0})
        self.assertEqual(self.status_of(outside, 0), 'unconfirmed')
        self.assertEqual(self.status_of(u['txid'], u['vout']), 'quarantined')
        self.assertEqual(self.sql(f"SELECT satoshis FROM utxos WHERE txid = '{outside}'"), str(paid))
        # Still no confirmation: nothing changes.
        self.assertEqual(self.sync()['updated'], 0)
        mine(self.svc)
        self.assertEqual(self.sync(), {'added': 0, 'updated': 1, 'markedSpent': 0, 'quarantined': 0,
                                       'released': 0})
        self.assertEqual(self.status_of(outside, 0), 'available')

        # A quarantined output the chain still lists unspent is released.
        v = available(self.svc, min_sats=1_000_000)[-1]
        self.sql(f"UPDATE utxos SET status = 'quarantined', quarantine_reason = 'test', "
                 f"version = version + 1 WHERE id = {v['id']}")
        self.assertEqual(self.sync()['released'], 1)
        self.assertEqual(self.status_of(v['txid'], v['vout']), 'available')

        # Gone from the chain, spent by a stored transaction of ours: spent.
        # (A registration's input whose pool entry says available again.)
        _, resp = register(self.c)
        done = self.svc.wait_pending('registration', resp['pendingId'])
        self.assertEqual(done['status'], 'confirmed', done)
        self.quiet()
        spent_id = self.sql(f"SELECT id FROM utxos WHERE spent_txid = '{done['txid']}' LIMIT 1")
        self.sql(f"UPDATE utxos SET status = 'available', locked_by = NULL, locked_ms = NULL, "
                 f"spent_txid = NULL, version = version + 1 WHERE id = {spent_id}")
        self.assertEqual(self.sync(), {'added': 0, 'updated': 0, 'markedSpent': 1, 'quarantined': 0,
                                       'released': 0})
        self.assertEqual(self.sql(f'SELECT CONCAT(status, spent_txid) FROM utxos WHERE id = {spent_id}'),
                         'spent' + done['txid'])
        self.assert_pool_matches_chain()

    def assert_pool_matches_chain(self):
        """available+locked+unconfirmed = what the devchain lists for the two addresses."""
        self.quiet()
        self.assertEqual(*pool_and_chain(self.svc))

    # -- sweep, split, auto (signed by the worker)

    def make_dust(self, n=3, each=400):
        """n outputs of `each` satoshis to the funding address (and the rest
        back to it), mined, then synced into the pool."""
        u = available(self.svc, min_sats=1_000_000)[-1]
        script = funding_script(self.svc)
        outs = [(each, script)] * n + [(u['satoshis'] - n * each - OUTSIDE_FEE, script)]
        txid = spend_behind_the_back(self.svc, u, outs)
        mine(self.svc)
        counts = self.sync()
        self.assertEqual((counts['added'], counts['quarantined']), (n + 1, 1), counts)
        return txid

    def test_sweep(self):
        self.quiet()
        st, _, body = maintain(self.c, 'sweep')
        self.assertEqual(st, 200, body)
        self.assertEqual(body['result']['sweep']['skipped'], True)  # no dust yet
        self.assertIn('below 1000', body['result']['sweep']['reason'])

        dust_tx = self.make_dust()
        small = available(self.svc, max_sats=1000)  # the 3, and a leftover of setUp's sweep if any
        dust, dust_sum = len(small), sum(u['satoshis'] for u in small)
        self.assertIn(dust, (3, 4))
        # The worker runs and ADMIN_WAIT_SEC is 20 s: the run waits for the
        # signature and answers 200 with the txid.
        st, _, body = maintain(self.c, 'sweep')
        self.assertEqual(st, 200, body)
        self.assertIs(body['success'], True)
        sweep = body['result']['sweep']
        self.assertEqual(sweep['swept'], dust)
        self.assertIsInstance(sweep['jobId'], int)
        self.assertEqual(set(body['result']), {'sweep'})
        self.assertEqual(wait_jobs(self.svc, [sweep['jobId']]), {sweep['jobId']: 'done'})
        txid = self.sql(f"SELECT txid FROM jobs WHERE id = {sweep['jobId']}")
        self.assertRegex(sweep['txid'] or '', '^[0-9a-f]{64}$', body)
        self.assertEqual(sweep['txid'], txid)
        for vout in range(3):
            self.assertEqual(self.sql(f"SELECT CONCAT(status, spent_txid) FROM utxos WHERE txid = '{dust_tx}' "
                                      f"AND vout = {vout}"), 'spent' + txid)
        # One output of the dust's sum less the fee, on chain and in the pool.
        tx = pptx.parse_tx(self.svc.chain_get(f'/v1/bsv/test/tx/hash/{txid}')['hex'])
        self.assertEqual(len(tx.inputs), dust)
        self.assertEqual(len(tx.outputs), 1)
        self.assertLess(tx.outputs[0].value, dust_sum)  # less the fee
        self.assertGreater(tx.outputs[0].value, dust_sum - 1000)
        self.assertEqual(sweep['totalSatoshis'], dust_sum)
        self.assertEqual(self.status_of(txid, 0), 'available')
        self.assertEqual(self.sql("SELECT COUNT(*) FROM utxos WHERE status = 'locked'"), '0')
        self.assert_pool_matches_chain()

    def big_enough(self):
        return len(available(self.svc, min_sats=20000))

    def test_split_and_auto(self):
        self.quiet()
        before = self.big_enough()
        st, _, body = maintain(self.c, 'split')
        self.assertIn(st, (200, 202), body)
        split = body['result']['split']
        self.assertEqual(split['outputs'], 4)  # MAX_SPLIT_OUTPUTS < MIN_UTXO_COUNT - pooled
        self.assertEqual(wait_jobs(self.svc, [split['jobId']]), {split['jobId']: 'done'})
        txid = self.sql(f"SELECT txid FROM jobs WHERE id = {split['jobId']}")
        tx = pptx.parse_tx(self.svc.chain_get(f'/v1/bsv/test/tx/hash/{txid}')['hex'])
        self.assertEqual(len(tx.inputs), 1)
        self.assertEqual(sorted(o.value for o in tx.outputs)[:4], [20000] * 4)
        # The largest output became four of 20000 and its change.
        self.assertEqual(self.big_enough(), before + 4)
        self.assertEqual(self.sql(f"SELECT COUNT(*) FROM utxos WHERE txid = '{txid}' AND status = 'available'"),
                         str(len(tx.outputs)))

        # auto: sync, no dust so no sweep, and the split still needed.
        st, _, body = maintain(self.c, 'auto')
        self.assertIn(st, (200, 202), body)
        self.assertEqual(body['action'], 'auto')
        self.assertEqual(set(body['result']), {'sync', 'sweep', 'split'})
        self.assertEqual(body['result']['sync']['quarantined'], 0)
        self.assertTrue(body['result']['sweep']['skipped'])
        self.assertIsInstance(body['result']['sweep']['reason'], str)
        self.assertEqual(body['result']['split']['outputs'], 4)
        wait_jobs(self.svc, [body['result']['split']['jobId']])
        self.assertEqual(self.big_enough(), before + 8)
        self.assert_pool_matches_chain()

    def test_no_signature_within_admin_wait_is_202(self):
        # The worker is stopped: the run waits the full ADMIN_WAIT_SEC (20 s,
        # longer than nginx's default read timeout of 15 s, so also proof
        # that /v1/admin/ has its own) and answers 202 with the job to follow.
        self.svc.st.stop(self.svc.worker_name(0))
        try:
            st, _, body = maintain(self.c, 'split')
            self.assertEqual(st, 202, body)
            self.assertTrue(body['success'])
            split = body['result']['split']
            self.assertIsNone(split['txid'])
            self.assertIsInstance(split['jobId'], int)
            self.assertEqual(self.sql(f"SELECT step FROM jobs WHERE id = {split['jobId']}"), 'queued')
            # Unfinished: the next run is refused until the worker is back.
            self.assertEqual(maintain(self.c, 'sync')[0], 409)
        finally:
            self.svc.start_worker(0)
        self.assertEqual(wait_jobs(self.svc, [split['jobId']]), {split['jobId']: 'done'})
        self.assertEqual(maintain(self.c, 'sync')[0], 200)

    def assertFailedStep(self, body, step):
        """A run whose job failed while it waited: success false; the step
        keeps its shape with txid null, its jobId and the worker's error."""
        self.assertIs(body['success'], False, body)
        entry = body['result'][step]
        self.assertIsNone(entry['txid'])
        self.assertIsInstance(entry['jobId'], int)
        self.assertIs(entry['failed'], True)
        self.assertIsInstance(entry['error'], str)
        self.assertIn('fee', entry['error'])  # the worker's reason
        self.assertEqual(self.sql(f"SELECT step FROM jobs WHERE id = {entry['jobId']}"), 'failed')
        return entry['jobId']

    def test_job_failed_while_waiting(self):
        # A worker whose fee rate no split can pay: it fails the planned job
        # before signing, while the run waits (ADMIN_WAIT_SEC 20).
        self.quiet()
        self.svc.st.stop(self.svc.worker_name(0))
        self.svc.start_worker(9, env={'FEE_PER_KB': '100000000'})
        try:
            st, _, body = maintain(self.c, 'split')
            self.assertEqual(st, 200, body)
            first = self.assertFailedStep(body, 'split')
            # The CLI: the same body, exit 1.
            out = self.svc.cli('utxo', 'maintain', '--action', 'split', check=False)
            self.assertEqual(out.returncode, 1, out.stderr)
            second = self.assertFailedStep(json.loads(out.stdout), 'split')
            self.assertGreater(second, first)
        finally:
            self.svc.st.stop(self.svc.worker_name(9))
            self.svc.start_worker(0)
        self.assertEqual(self.sql("SELECT COUNT(*) FROM utxos WHERE status = 'locked'"), '0')

    # -- dry run

    def test_dry_run_changes_nothing(self):
        self.quiet()
        # Something for every step to do: an outside payment (sync would
        # add it), dust (sweep), and the split that is always needed here.
        u = available(self.svc, min_sats=1_000_000)[-1]
        script = funding_script(self.svc)
        spend_behind_the_back(self.svc, u, [(500, script), (600, script),
                                            (u['satoshis'] - 1100 - OUTSIDE_FEE, script)])
        mine(self.svc)
        before = pool_rows(self.svc)
        jobs = self.sql('SELECT COUNT(*) FROM jobs')
        st, _, body = maintain(self.c, 'auto', dry_run=True)
        self.assertEqual(st, 200, body)
        self.assertTrue(body['dryRun'])
        self.assertEqual(body['result']['sync']['added'], 3)
        self.assertEqual(body['result']['sync']['quarantined'], 1)
        self.assertEqual(body['result']['split']['outputs'], 4)
        self.assertIsNone(body['result']['split']['jobId'])
        self.assertIsNone(body['result']['split']['txid'])
        self.assertEqual(pool_rows(self.svc), before)
        self.assertEqual(self.sql('SELECT COUNT(*) FROM jobs'), jobs)
        self.assertEqual(self.sql("SELECT COUNT(*) FROM leases WHERE name = 'utxo-maintain'"), '0')
        # The CLI's dry run is the same code.
        out = self.svc.cli('utxo', 'maintain', '--action', 'auto', '--dry-run')
        self.assertEqual(json.loads(out.stdout)['result']['sync']['added'], 3)
        self.assertEqual(pool_rows(self.svc), before)
        # The real sync then does what the dry run said (the dust arrives
        # confirmed, so available, and the next sweep would take it).
        counts = self.sync()
        self.assertEqual((counts['added'], counts['quarantined']), (3, 1))


if __name__ == '__main__':
    unittest.main()
