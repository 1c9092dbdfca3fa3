# SPDX-License-Identifier: MIT
"""Bitcoin SV transactions in plain Python for the e2e tests, independent of
module/crypto: wire format, txids, P2PKH and OP_FALSE OP_RETURN scripts, the
FORKID (BIP143-style) signature hash over the prevout amount, and P2PKH
signing with ppclient's secp256k1.

Txids are handled in display order (reversed hex, as explorers and the chain
API show them); the wire carries them reversed back. Python 3.11 stdlib only.
"""

import hashlib
import struct

import ppclient as pc

SIGHASH_ALL = 0x01
SIGHASH_NONE = 0x02
SIGHASH_SINGLE = 0x03
SIGHASH_FORKID = 0x40
SIGHASH_ANYONECANPAY = 0x80
SIGHASH_ALL_FORKID = SIGHASH_ALL | SIGHASH_FORKID

OP_0 = 0x00
OP_PUSHDATA1 = 0x4c
OP_PUSHDATA2 = 0x4d
OP_PUSHDATA4 = 0x4e
OP_RETURN = 0x6a
OP_DUP = 0x76
OP_HASH160 = 0xa9
OP_EQUALVERIFY = 0x88
OP_CHECKSIG = 0xac


def sha256d(data):
    return hashlib.sha256(hashlib.sha256(data).digest()).digest()


def varint(n):
    if n < 0xfd:
        return bytes([n])
    if n <= 0xffff:
        return b'\xfd' + struct.pack('<H', n)
    if n <= 0xffffffff:
        return b'\xfe' + struct.pack('<I', n)
    return b'\xff' + struct.pack('<Q', n)


def push(data):
    """Minimal push of `data` (no OP_1..OP_16 rewriting)."""
    n = len(data)
    if n < OP_PUSHDATA1:
        return bytes([n]) + data
    if n <= 0xff:
        return bytes([OP_PUSHDATA1, n]) + data
    if n <= 0xffff:
        return bytes([OP_PUSHDATA2]) + struct.pack('<H', n) + data
    return bytes([OP_PUSHDATA4]) + struct.pack('<I', n) + data


def p2pkh_script(pkh):
    if len(pkh) != 20:
        raise ValueError('pubkey hash must be 20 bytes')
    return bytes([OP_DUP, OP_HASH160, 20]) + pkh + bytes([OP_EQUALVERIFY, OP_CHECKSIG])


def p2pkh_script_for(address, network='test'):
    return p2pkh_script(pc.address_hash160(address, network))


def op_return_script(*pushes):
    """OP_FALSE OP_RETURN <push>...: a provably unspendable data output."""
    return bytes([OP_0, OP_RETURN]) + b''.join(push(p) for p in pushes)


class TxIn:
    def __init__(self, txid, vout, script_sig=b'', sequence=0xffffffff):
        self.txid = txid          # display hex
        self.vout = vout
        self.script_sig = script_sig
        self.sequence = sequence

    def outpoint(self):
        return bytes.fromhex(self.txid)[::-1] + struct.pack('<I', self.vout)


class TxOut:
    def __init__(self, value, script):
        self.value = value
        self.script = script

    def serialize(self):
        return struct.pack('<Q', self.value) + varint(len(self.script)) + self.script


class Tx:
    def __init__(self, inputs=None, outputs=None, version=1, locktime=0):
        self.version = version
        self.inputs = list(inputs or [])
        self.outputs = list(outputs or [])
        self.locktime = locktime

    def serialize(self):
        out = struct.pack('<I', self.version) + varint(len(self.inputs))
        for i in self.inputs:
            out += i.outpoint() + varint(len(i.script_sig)) + i.script_sig + struct.pack('<I', i.sequence)
        out += varint(len(self.outputs))
        for o in self.outputs:
            out += o.serialize()
        return out + struct.pack('<I', self.locktime)

    def hex(self):
        return self.serialize().hex()

    def txid(self):
        return sha256d(self.serialize())[::-1].hex()


def parse_tx(data):
    """Wire bytes (or hex) -> Tx; ValueError on anything malformed."""
    if isinstance(data, str):
        data = bytes.fromhex(data)
    pos = 0

    def take(n):
        nonlocal pos
        if pos + n > len(data):
            raise ValueError('truncated')
        chunk = data[pos:pos + n]
        pos += n
        return chunk

    def read_varint():
        first = take(1)[0]
        if first < 0xfd:
            return first
        width = {0xfd: 2, 0xfe: 4, 0xff: 8}[first]
        return int.from_bytes(take(width), 'little')

    tx = Tx(version=struct.unpack('<I', take(4))[0])
    for _ in range(read_varint()):
        txid = take(32)[::-1].hex()
        vout = struct.unpack('<I', take(4))[0]
        script = take(read_varint())
        seq = struct.unpack('<I', take(4))[0]
        tx.inputs.append(TxIn(txid, vout, script, seq))
    for _ in range(read_varint()):
        value = struct.unpack('<Q', take(8))[0]
        tx.outputs.append(TxOut(value, take(read_varint())))
    tx.locktime = struct.unpack('<I', take(4))[0]
    if pos != len(data):
        raise ValueError('trailing bytes')
    return tx


def sighash_forkid(tx, index, script_code, amount, hashtype=SIGHASH_ALL_FORKID):
    """The 32-byte digest (natural order) an input's signature commits to:
    BIP143's layout, which BSV uses with SIGHASH_FORKID."""
    base = hashtype & 0x1f
    anyone = bool(hashtype & SIGHASH_ANYONECANPAY)
    zero = b'\x00' * 32
    hash_prevouts = zero if anyone else sha256d(b''.join(i.outpoint() for i in tx.inputs))
    if anyone or base in (SIGHASH_SINGLE, SIGHASH_NONE):
        hash_sequence = zero
    else:
        hash_sequence = sha256d(b''.join(struct.pack('<I', i.sequence) for i in tx.inputs))
    if base not in (SIGHASH_SINGLE, SIGHASH_NONE):
        hash_outputs = sha256d(b''.join(o.serialize() for o in tx.outputs))
    elif base == SIGHASH_SINGLE and index < len(tx.outputs):
        hash_outputs = sha256d(tx.outputs[index].serialize())
    else:
        hash_outputs = zero
    txin = tx.inputs[index]
    preimage = (struct.pack('<I', tx.version) + hash_prevouts + hash_sequence + txin.outpoint() +
                varint(len(script_code)) + script_code + struct.pack('<Q', amount) +
                struct.pack('<I', txin.sequence) + hash_outputs + struct.pack('<I', tx.locktime) +
                struct.pack('<I', hashtype))
    return sha256d(preimage)


def p2pkh_script_sig(sig_der, hashtype, pubkey33):
    return push(sig_der + bytes([hashtype])) + push(pubkey33)


def sign_p2pkh(tx, index, priv, amount, hashtype=SIGHASH_ALL_FORKID, low_s=True,
               digest_amount=None, pubkey=None, tamper=None):
    """Sign input `index` (a P2PKH prevout of `amount` paying priv's key) and
    set its scriptSig. Test knobs: digest_amount signs over another amount,
    pubkey puts another key in the scriptSig, tamper(digest) -> digest
    corrupts what is signed, low_s=False yields a high-S signature."""
    pub = pc.serialize_pubkey(pc.pubkey_point(priv))
    script_code = p2pkh_script(pc.hash160(pub))
    digest = sighash_forkid(tx, index, script_code,
                            amount if digest_amount is None else digest_amount, hashtype)
    if tamper:
        digest = tamper(digest)
    sig = pc.sign_digest_der(priv, digest)
    if not low_s:
        sig = pc.high_s_variant(sig)
    tx.inputs[index].script_sig = p2pkh_script_sig(sig, hashtype, pubkey or pub)
    return tx


class Key:
    """A private key with its compressed public key, hash and address."""

    def __init__(self, priv=None, network='test'):
        self.priv = priv or pc.random_privkey()
        self.pub = pc.serialize_pubkey(pc.pubkey_point(self.priv))
        self.pkh = pc.hash160(self.pub)
        self.network = network
        self.address = pc.p2pkh_address(self.pub, network)

    def script(self):
        return p2pkh_script(self.pkh)


def spend(key, utxos, outputs, hashtype=SIGHASH_ALL_FORKID):
    """A signed transaction spending `utxos` [(txid, vout, amount)], all
    paying `key`, to `outputs` [(script, value)]."""
    tx = Tx([TxIn(t, v) for t, v, _ in utxos], [TxOut(value, script) for script, value in outputs])
    for i, (_, _, amount) in enumerate(utxos):
        sign_p2pkh(tx, i, key.priv, amount, hashtype)
    return tx
