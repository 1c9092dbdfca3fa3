# SPDX-License-Identifier: MIT
"""patchproof-devchain end to end: a private MariaDB, the real devchain
(prefork FastCGI, several workers) on a unix socket behind its own nginx
listener, and every transaction built and signed in Python (pptx, ppclient),
so the node-like checks are exercised by independent code: genesis funding,
P2PKH spends with the FORKID digest over the prevout amount, the node's
reject texts, mempool and block confirmations, restarts and concurrent
double spends."""

import os
import shutil
import sys
import tempfile
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(SOURCE, 'scripts'))
sys.path.insert(0, HERE)

import stack  # noqa: E402
import ppclient as pc  # noqa: E402
import pptx  # noqa: E402

BUILD = os.environ.get('PP_BUILD_DIR', os.path.join(SOURCE, 'build'))
ERROR_KEYS = {'error', 'code', 'message', 'status'}
SCRIPT_FAILED = '16: mandatory-script-verify-flag-failed ('
NULLFAIL = SCRIPT_FAILED + 'Signature must be zero for failed CHECK(MULTI)SIG operation)'
GENESIS_OUTPUTS = 40
GENESIS_SATS = 1_000_000
FEE_PER_KB = 250


def binary(name):
    path = os.path.join(BUILD, name)
    if not os.access(path, os.X_OK):
        raise RuntimeError(f'{name} is not built in {BUILD}')  # a failure, never a skip
    return path


def required_fee(tx):
    return (len(tx.serialize()) * FEE_PER_KB + 999) // 1000


class DevchainBase(unittest.TestCase):
    NETWORK = 'test'
    DB_NAME = 'patchproof_devchain'
    EXTRA_ENV = {}
    WORKERS = 4

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix='pp-devchain-e2e-')
        cls.st = stack.Stack(cls.tmp, build_dir=BUILD, source_dir=SOURCE)
        cls.funding = pptx.Key(network=cls.NETWORK)
        try:
            cls.st.start_mariadb()
            db_env = cls.st.create_database(cls.DB_NAME)
            cls.sock = os.path.join(cls.st.run_dir, 'devchain.sock')
            env = {k: v for k, v in db_env.items() if k.startswith('DB_') and k != 'DB_NAME'}
            env.update({
                'DEVCHAIN_DB_NAME': cls.DB_NAME,
                'DEVCHAIN_NETWORK': cls.NETWORK,
                'DEVCHAIN_MIN_FEE_PER_KB': str(FEE_PER_KB),
                'DEVCHAIN_GENESIS_ADDRESS': cls.funding.address,
                'DEVCHAIN_GENESIS_OUTPUTS': str(GENESIS_OUTPUTS),
                'DEVCHAIN_GENESIS_SATS': str(GENESIS_SATS),
            })
            env.update(cls.EXTRA_ENV)
            cls.st.start_process('devchain', [binary('patchproof-devchain'), '--listen', cls.sock,
                                              '--workers', str(cls.WORKERS),
                                              '--sql-dir', os.path.join(SOURCE, 'sql', 'devchain')],
                                 env=env, wait_for=cls.sock)
            cls.st.start_nginx(upstreams=[], devchain_upstreams=[cls.sock])
            cls.url = f'http://127.0.0.1:{cls.st.port("devchain")}'
            cls.api = f'{cls.url}/v1/bsv/{cls.NETWORK}'
            cls.initial_info = cls.get_json(f'{cls.api}/chain/info')
            cls.initial_unspent = cls.get_json(f'{cls.api}/address/{cls.funding.address}/unspent')
            # Each test takes its own genesis outputs, so tests do not depend
            # on each other's order.
            cls.pool = [(u['tx_hash'], u['tx_pos'], u['value']) for u in cls.initial_unspent]
        except Exception:
            cls.st.stop_all()
            shutil.rmtree(cls.tmp, ignore_errors=True)
            raise

    @classmethod
    def tearDownClass(cls):
        cls.st.stop_all()
        logs = cls.st.logs('devchain')
        shutil.rmtree(cls.tmp, ignore_errors=True)
        if 'Sanitizer' in logs or 'runtime error:' in logs:
            raise AssertionError('sanitizer report in the devchain log')

    @classmethod
    def get_json(cls, url):
        st, _, data = pc.get(url)
        if st != 200:
            raise AssertionError(f'GET {url}: {st} {data}')
        return data

    # -- helpers
    def take(self):
        return self.pool.pop()

    def broadcast(self, tx_or_hex):
        txhex = tx_or_hex if isinstance(tx_or_hex, str) else tx_or_hex.hex()
        return pc.post(f'{self.api}/tx/raw', {'txhex': txhex})

    def assert_accepted(self, tx):
        st, headers, data = self.broadcast(tx)
        self.assertEqual(st, 200, data)
        self.assertIn('application/json', headers.get('content-type', ''))
        self.assertEqual(data, tx.txid())
        return data

    def assert_rejected(self, tx_or_hex, text):
        st, headers, data = self.broadcast(tx_or_hex)
        self.assertEqual(st, 400, data)
        self.assertIn('application/json', headers.get('content-type', ''))
        self.assertEqual(data, text)

    def assert_error(self, resp, status, code):
        st, _, data = resp
        self.assertEqual(st, status, data)
        self.assertIsInstance(data, dict, data)
        self.assertTrue(ERROR_KEYS <= set(data), data)
        self.assertEqual(data['code'], code)
        self.assertEqual(data['status'], status)
        return data

    def unspent(self, address):
        return self.get_json(f'{self.api}/address/{address}/unspent')

    def info(self):
        return self.get_json(f'{self.api}/chain/info')

    def mine(self, blocks=None):
        st, _, data = pc.post(f'{self.url}/devchain/mine', {'blocks': blocks} if blocks else None)
        self.assertEqual(st, 200, data)
        return data

    def pay(self, utxo, to_script, fee=200, extra_outputs=()):
        """utxo (funding key) -> one output of value - fee to `to_script`."""
        outs = [(to_script, utxo[2] - fee)] + list(extra_outputs)
        return pptx.spend(self.funding, [utxo], outs)


class DevchainEndToEnd(DevchainBase):
    # -- genesis and plain reads
    def test_genesis_funding_confirmed_once(self):
        self.assertEqual(self.initial_info['chain'], 'test')
        self.assertEqual(self.initial_info['blocks'], 1)
        self.assertRegex(self.initial_info['bestblockhash'], r'^[0-9a-f]{64}$')
        self.assertEqual(len(self.initial_unspent), GENESIS_OUTPUTS)
        txids = {u['tx_hash'] for u in self.initial_unspent}
        self.assertEqual(len(txids), 1)
        for u in self.initial_unspent:
            self.assertEqual(set(u), {'height', 'tx_pos', 'tx_hash', 'value', 'confirmations'})
            self.assertEqual((u['height'], u['value'], u['confirmations']), (1, GENESIS_SATS, 1))
        self.assertEqual(sorted(u['tx_pos'] for u in self.initial_unspent), list(range(GENESIS_OUTPUTS)))
        # The genesis transaction is a real one: its hex hashes to its txid.
        txid = txids.pop()
        st, _, data = pc.get(f'{self.api}/tx/hash/{txid}')
        self.assertEqual(st, 200, data)
        tx = pptx.parse_tx(data['hex'])
        self.assertEqual(tx.txid(), txid)
        self.assertEqual(data['blockheight'], 1)
        self.assertGreaterEqual(data['confirmations'], 1)
        self.assertEqual(len(tx.inputs), 1)
        self.assertEqual((tx.inputs[0].txid, tx.inputs[0].vout), ('00' * 32, 0xffffffff))
        for o in tx.outputs:
            self.assertEqual((o.value, o.script), (GENESIS_SATS, self.funding.script()))

    def test_health(self):
        st, headers, data = pc.get(f'{self.url}/health')
        self.assertEqual((st, data), (200, {'status': 'ok'}))
        self.assertTrue(headers.get('x-request-id'))

    # -- a spend through mempool and block
    def test_spend_mempool_then_block(self):
        to = pptx.Key()
        utxo = self.take()
        data_out = (pptx.op_return_script(b'patchproof', os.urandom(40)), 0)
        tx = self.pay(utxo, to.script(), extra_outputs=[data_out])
        txid = self.assert_accepted(tx)

        listed = self.unspent(to.address)
        self.assertEqual(listed, [{'height': 0, 'tx_pos': 0, 'tx_hash': txid,
                                   'value': utxo[2] - 200, 'confirmations': 0}])
        funding_left = {(u['tx_hash'], u['tx_pos']) for u in self.unspent(self.funding.address)}
        self.assertNotIn(utxo[:2], funding_left)

        st, _, rec = pc.get(f'{self.api}/tx/hash/{txid}')
        self.assertEqual(st, 200, rec)
        self.assertEqual(rec, {'txid': txid, 'hex': tx.hex(), 'blockheight': None, 'confirmations': 0})

        # Resubmission is success; another spend of the input is a conflict.
        self.assert_accepted(tx)
        other = self.pay(utxo, pptx.Key().script(), fee=300)
        self.assert_rejected(other, '258: txn-mempool-conflict')

        before = self.info()['blocks']
        mined = self.mine()
        self.assertEqual(mined, {'blocks': before + 1, 'mined': 1})
        info = self.info()
        self.assertEqual(info['blocks'], before + 1)
        self.assertNotEqual(info['bestblockhash'], self.initial_info['bestblockhash'])
        listed = self.unspent(to.address)
        self.assertEqual(len(listed), 1)
        self.assertEqual((listed[0]['height'], listed[0]['confirmations']), (before + 1, 1))
        st, _, rec = pc.get(f'{self.api}/tx/hash/{txid.upper()}')
        self.assertEqual(st, 200, rec)
        self.assertEqual((rec['blockheight'], rec['confirmations'], rec['hex']), (before + 1, 1, tx.hex()))

        self.assert_accepted(tx)                        # still "already known"
        self.assert_rejected(other, 'Missing inputs')   # spent in a block now

        # Its output is spendable by the new owner, also while unconfirmed.
        child = pptx.spend(to, [(txid, 0, utxo[2] - 200)], [(self.funding.script(), utxo[2] - 400)])
        self.assert_accepted(child)
        grandchild = pptx.spend(self.funding, [(child.txid(), 0, utxo[2] - 400)],
                                [(to.script(), utxo[2] - 600)])
        self.assert_accepted(grandchild)
        self.assertEqual([u['tx_hash'] for u in self.unspent(to.address)], [grandchild.txid()])
        self.mine()
        st, _, rec = pc.get(f'{self.api}/tx/hash/{grandchild.txid()}')
        self.assertEqual(rec['confirmations'], 1)

    def test_op_return_output_is_accepted_and_unspendable(self):
        utxo = self.take()
        payload = os.urandom(300)  # needs OP_PUSHDATA2
        tx = pptx.spend(self.funding, [utxo], [(pptx.op_return_script(payload), 0),
                                               (self.funding.script(), utxo[2] - 500)])
        txid = self.assert_accepted(tx)
        self.assertEqual(pptx.parse_tx(pc.get(f'{self.api}/tx/hash/{txid}')[2]['hex']).outputs[0].script,
                         pptx.op_return_script(payload))
        spend_data = pptx.spend(self.funding, [(txid, 0, 0)], [(self.funding.script(), 0)])
        self.assert_rejected(spend_data, 'Missing inputs')

    def test_unknown_outpoint_is_missing_inputs(self):
        tx = self.pay((os.urandom(32).hex(), 0, 50_000), self.funding.script())
        self.assert_rejected(tx, 'Missing inputs')
        genesis_txid = self.initial_unspent[0]['tx_hash']
        tx = self.pay((genesis_txid, GENESIS_OUTPUTS + 5, GENESIS_SATS), self.funding.script())
        self.assert_rejected(tx, 'Missing inputs')

    # -- script failures
    def signed(self, utxo, **knobs):
        txid, vout, value = utxo
        tx = pptx.Tx([pptx.TxIn(txid, vout)], [pptx.TxOut(value - 300, pptx.Key().script())])
        priv = knobs.pop('priv', self.funding.priv)
        return pptx.sign_p2pkh(tx, 0, priv, value, **knobs)

    def test_wrong_key_is_rejected(self):
        utxo = self.take()
        stranger = pptx.Key()
        # A stranger's key and signature: the key hash does not match.
        self.assert_rejected(self.signed(utxo, priv=stranger.priv),
                             SCRIPT_FAILED + 'Script failed an OP_EQUALVERIFY operation)')
        # The right public key, but signed by the stranger.
        self.assert_rejected(self.signed(utxo, priv=stranger.priv, pubkey=self.funding.pub), NULLFAIL)
        self.assert_accepted(self.signed(utxo))

    def test_tampered_digest_and_amount_are_rejected(self):
        utxo = self.take()
        flip = lambda d: bytes([d[0] ^ 1]) + d[1:]  # noqa: E731
        self.assert_rejected(self.signed(utxo, tamper=flip), NULLFAIL)
        self.assert_rejected(self.signed(utxo, digest_amount=utxo[2] + 1), NULLFAIL)
        self.assert_rejected(self.signed(utxo, digest_amount=utxo[2] - 1), NULLFAIL)
        self.assert_accepted(self.signed(utxo))

    def test_signature_encoding_rules(self):
        utxo = self.take()
        self.assert_rejected(self.signed(utxo, low_s=False),
                             SCRIPT_FAILED + 'Non-canonical signature: S value is unnecessarily high)')
        # Without FORKID (a legacy digest), and an undefined hashtype.
        self.assert_rejected(self.signed(utxo, hashtype=pptx.SIGHASH_ALL),
                             SCRIPT_FAILED + 'Signature must use SIGHASH_FORKID)')
        self.assert_rejected(self.signed(utxo, hashtype=0x45),
                             SCRIPT_FAILED + 'Signature hash type missing or not understood)')
        # Not strict DER: r padded with a needless zero byte.
        tx = self.signed(utxo)
        good = self.sig_of(tx)
        r_part = good[2:4 + good[3]]           # 02 len r
        s_part = good[4 + good[3]:]            # 02 len s
        padded_r = b'\x02' + bytes([r_part[1] + 1]) + b'\x00' + r_part[2:]
        bad = b'\x30' + bytes([len(padded_r) + len(s_part)]) + padded_r + s_part
        with self.assertRaises(ValueError):
            pc.der_decode(bad)
        tx.inputs[0].script_sig = pptx.p2pkh_script_sig(bad, pptx.SIGHASH_ALL_FORKID, self.funding.pub)
        self.assert_rejected(tx, SCRIPT_FAILED + 'Non-canonical DER signature)')
        # A key that is not the one the output pays to.
        tx = self.signed(utxo)
        tx.inputs[0].script_sig = pptx.push(self.sig_of(tx) + b'\x41') + pptx.push(b'\x02' * 33)
        self.assert_rejected(tx, SCRIPT_FAILED + 'Script failed an OP_EQUALVERIFY operation)')
        # A non-push opcode in the scriptSig.
        tx = self.signed(utxo)
        tx.inputs[0].script_sig += bytes([pptx.OP_DUP])
        self.assert_rejected(tx, SCRIPT_FAILED + 'Only non-push operators allowed in signatures)')
        # A SIGHASH_SINGLE|FORKID signature is valid.
        self.assert_accepted(self.signed(utxo, hashtype=pptx.SIGHASH_SINGLE | pptx.SIGHASH_FORKID))

    @staticmethod
    def sig_of(tx):
        script = tx.inputs[0].script_sig
        return script[1:1 + script[0]][:-1]  # first push, without its hashtype byte

    # -- amounts and fees
    def test_outputs_above_inputs(self):
        utxo = self.take()
        tx = pptx.spend(self.funding, [utxo], [(self.funding.script(), utxo[2] + 1)])
        self.assert_rejected(tx, 'bad-txns-in-belowout')

    def test_fee_minimum(self):
        utxo = self.take()

        def with_fee(fee):
            return self.pay(utxo, pptx.Key().script(), fee=fee)

        self.assert_rejected(with_fee(0), '66: insufficient priority')
        fee = 1
        for _ in range(6):  # the signature's length can move the size by a byte
            tx = with_fee(fee)
            if required_fee(tx) == fee:
                break
            fee = required_fee(tx)
        self.assertEqual(required_fee(tx), fee)
        below = with_fee(fee - 1)
        if required_fee(below) <= fee - 1:  # a shorter signature may lower the bar
            below = with_fee(required_fee(below) - 1)
        self.assert_rejected(below, '66: insufficient priority')
        self.assert_accepted(tx)

    # -- malformed transactions
    def test_decode_failures(self):
        good = self.pay(self.take(), self.funding.script()).hex()
        for bad in ('zz', '0', '', good[:-2], good + '00', good[:20]):
            self.assert_rejected(bad, 'TX decode failed')
        # Hex in upper case is fine (and resubmitting is then "known").
        st, _, data = self.broadcast(good.upper())
        self.assertEqual(st, 200, data)

    def test_empty_inputs_outputs_and_duplicates(self):
        utxo = self.take()
        self.assert_rejected(pptx.Tx([], [pptx.TxOut(1, self.funding.script())]), 'bad-txns-vin-empty')
        no_out = pptx.Tx([pptx.TxIn(utxo[0], utxo[1])], [])
        pptx.sign_p2pkh(no_out, 0, self.funding.priv, utxo[2])
        self.assert_rejected(no_out, 'bad-txns-vout-empty')
        dup = pptx.spend(self.funding, [utxo, utxo], [(self.funding.script(), utxo[2])])
        self.assert_rejected(dup, 'bad-txns-inputs-duplicate')

    def test_request_shape_errors(self):
        self.assert_error(pc.post(f'{self.api}/tx/raw', {'hex': '00'}), 400, 'VALIDATION_ERROR')
        self.assert_error(pc.post(f'{self.api}/tx/raw', {'txhex': 5}), 400, 'VALIDATION_ERROR')
        self.assert_error(pc.request('POST', f'{self.api}/tx/raw', raw='txhex=00',
                                     content_type='text/plain'), 415, 'UNSUPPORTED_MEDIA_TYPE')
        self.assert_error(pc.get(f'{self.api}/tx/raw'), 405, 'METHOD_NOT_ALLOWED')
        self.assert_error(pc.get(f'{self.url}/nope'), 404, 'NOT_FOUND')

    # -- lookups
    def test_tx_lookup_errors(self):
        self.assert_error(pc.get(f'{self.api}/tx/hash/{os.urandom(32).hex()}'), 404, 'NOT_FOUND')
        self.assert_error(pc.get(f'{self.api}/tx/hash/xyz'), 400, 'VALIDATION_ERROR')

    def test_wrong_network_is_404(self):
        other = f'{self.url}/v1/bsv/main'
        txid = self.initial_unspent[0]['tx_hash']
        self.assert_error(pc.get(f'{other}/chain/info'), 404, 'NOT_FOUND')
        self.assert_error(pc.get(f'{other}/tx/hash/{txid}'), 404, 'NOT_FOUND')
        self.assert_error(pc.get(f'{other}/address/{self.funding.address}/unspent'), 404, 'NOT_FOUND')
        self.assert_error(pc.post(f'{other}/tx/raw', {'txhex': '00'}), 404, 'NOT_FOUND')
        self.assert_error(pc.get(f'{self.url}/v1/bsv/testnet/chain/info'), 404, 'NOT_FOUND')

    def test_bad_address_is_400(self):
        main_addr = pc.p2pkh_address(self.funding.pub, 'main')
        addr = self.funding.address
        broken = addr[:-1] + ('x' if addr[-1] != 'x' else 'y')  # a different last char: bad checksum
        for addr in ('notanaddress', main_addr, broken):
            self.assert_error(pc.get(f'{self.api}/address/{addr}/unspent'), 400, 'VALIDATION_ERROR')
        self.assertEqual(self.unspent(pptx.Key().address), [])

    def test_mine_body(self):
        before = self.info()['blocks']
        self.assertEqual(self.mine(3), {'blocks': before + 3, 'mined': 3})
        for bad in ({'blocks': 0}, {'blocks': 101}, {'blocks': 'x'}, {'other': 1}):
            self.assert_error(pc.post(f'{self.url}/devchain/mine', bad), 400, 'VALIDATION_ERROR')
        self.assertEqual(self.info()['blocks'], before + 3)

    # -- persistence
    def test_restart_keeps_chain_and_mempool(self):
        confirmed = self.pay(self.take(), pptx.Key().script())
        self.assert_accepted(confirmed)
        self.mine()
        to = pptx.Key()
        utxo = self.take()
        pending = self.pay(utxo, to.script())
        self.assert_accepted(pending)
        info = self.info()
        funding_before = self.unspent(self.funding.address)

        self.st.restart('devchain')

        self.assertEqual(self.info(), info)
        self.assertEqual(self.unspent(self.funding.address), funding_before)
        self.assertEqual(self.unspent(to.address)[0]['confirmations'], 0)
        self.assert_accepted(pending)
        self.assert_rejected(self.pay(utxo, pptx.Key().script(), fee=250), '258: txn-mempool-conflict')
        self.assertEqual(pc.get(f'{self.api}/tx/hash/{confirmed.txid()}')[2]['confirmations'], 1)
        self.mine()
        self.assertEqual(self.unspent(to.address)[0]['confirmations'], 1)

    # -- concurrency
    def race(self, txs):
        barrier = threading.Barrier(len(txs))
        results = [None] * len(txs)

        def send(i):
            barrier.wait()
            results[i] = self.broadcast(txs[i])[::2]
        threads = [threading.Thread(target=send, args=(i,)) for i in range(len(txs))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        return results

    def test_concurrent_double_spends_accept_exactly_one(self):
        for _ in range(5):
            utxo = self.take()
            txs = [self.pay(utxo, pptx.Key().script(), fee=200 + i) for i in range(6)]
            results = self.race(txs)
            accepted = [i for i, (st, _) in enumerate(results) if st == 200]
            self.assertEqual(len(accepted), 1, results)
            self.assertEqual(results[accepted[0]][1], txs[accepted[0]].txid())
            for i, (st, data) in enumerate(results):
                if i != accepted[0]:
                    self.assertEqual((st, data), (400, '258: txn-mempool-conflict'))
            # The same bytes sent by many clients at once: all succeed.
            same = self.pay(self.take(), pptx.Key().script())
            self.assertEqual(self.race([same] * 6), [(200, same.txid())] * 6)


class DevchainMainnetTimedBlocks(DevchainBase):
    """A second chain: network main, a block every second (mined lazily
    when a request arrives), in a database of its own name."""
    NETWORK = 'main'
    DB_NAME = 'devchain_timed'
    EXTRA_ENV = {'DEVCHAIN_BLOCK_SEC': '1'}
    WORKERS = 2

    def test_blocks_follow_the_clock(self):
        self.assertEqual(self.initial_info['chain'], 'main')
        self.assert_error(pc.get(f'{self.url}/v1/bsv/test/chain/info'), 404, 'NOT_FOUND')
        utxo = self.take()
        tx = self.pay(utxo, self.funding.script())
        self.assertTrue(self.funding.address.startswith('1'))
        self.assert_accepted(tx)
        start = self.info()['blocks']
        time.sleep(2.2)
        # This request finds the tip stale and mines one block (with our tx,
        # unless the previous request already did).
        self.assertEqual(self.info()['blocks'], start + 1)
        st, _, rec = pc.get(f'{self.api}/tx/hash/{tx.txid()}')
        self.assertEqual(st, 200, rec)
        self.assertGreaterEqual(rec['confirmations'], 1)
        self.assertEqual(self.unspent(self.funding.address)[-1]['tx_hash'], tx.txid())
        # Within the interval nothing more is mined.
        self.assertEqual(self.info()['blocks'], start + 1)


if __name__ == '__main__':
    unittest.main()
