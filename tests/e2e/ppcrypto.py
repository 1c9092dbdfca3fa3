# SPDX-License-Identifier: MIT
"""The Bitcoin-side crypto of the test client (ppclient.py re-exports all of
it), Python 3.11 standard library only, independent of module/crypto:
- secp256k1 in plain affine arithmetic: point add/mul, compressed keys,
  RFC 6979 deterministic ECDSA (SHA-256), low-S, strict DER;
- RIPEMD-160 (hashlib's depends on OpenSSL's legacy provider, so we carry our
  own), Base58Check and P2PKH addresses.

Slow but simple: a point multiplication takes a few milliseconds.
"""

import hashlib
import hmac
import os
import struct

# --------------------------------------------------------------------------
# secp256k1

P = 2**256 - 2**32 - 977
N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
G = (0x79BE667EF9DCBBAC55A06295CE870B07029BFCDB2DCE28D959F2815B16F81798,
     0x483ADA7726A3C4655DA4FBFC0E1108A8FD17B448A68554199C47D08FFB10D4B8)
HALF_N = N // 2
INFINITY = None  # the point at infinity


def is_on_curve(pt):
    if pt is None:
        return True
    x, y = pt
    return 0 <= x < P and 0 <= y < P and (y * y - x * x * x - 7) % P == 0


def point_neg(pt):
    return None if pt is None else (pt[0], (-pt[1]) % P)


def point_add(a, b):
    """a + b in affine coordinates (None is infinity)."""
    if a is None:
        return b
    if b is None:
        return a
    if a[0] == b[0]:
        if (a[1] + b[1]) % P == 0:
            return None  # a == -b (covers doubling a point with y == 0)
        lam = 3 * a[0] * a[0] * pow(2 * a[1], -1, P) % P
    else:
        lam = (b[1] - a[1]) * pow(b[0] - a[0], -1, P) % P
    x = (lam * lam - a[0] - b[0]) % P
    return (x, (lam * (a[0] - x) - a[1]) % P)


def point_mul(k, pt=G):
    """k * pt by double-and-add (not constant time: test use only)."""
    k %= N
    acc = None
    while k:
        if k & 1:
            acc = point_add(acc, pt)
        pt = point_add(pt, pt)
        k >>= 1
    return acc


def pubkey_point(priv):
    priv = _int(priv)
    if not 1 <= priv < N:
        raise ValueError('private key out of range')
    return point_mul(priv, G)


def serialize_pubkey(pt):
    """33-byte compressed encoding."""
    if pt is None:
        raise ValueError('cannot serialize infinity')
    return bytes([2 + (pt[1] & 1)]) + pt[0].to_bytes(32, 'big')


def parse_pubkey(data):
    """Compressed key (bytes or hex) -> point; ValueError unless 02/03, x < p
    and x on the curve (the rule of DESIGN.md for pmcHex)."""
    if isinstance(data, str):
        data = bytes.fromhex(data)
    if len(data) != 33 or data[0] not in (2, 3):
        raise ValueError('not a compressed public key')
    x = int.from_bytes(data[1:], 'big')
    if x >= P:
        raise ValueError('x not below p')
    y2 = (pow(x, 3, P) + 7) % P
    y = pow(y2, (P + 1) // 4, P)  # p = 3 mod 4, so this is the square root if one exists
    if y * y % P != y2:
        raise ValueError('x not on the curve')
    if (y & 1) != (data[0] & 1):
        y = P - y
    return (x, y)


def pubkey_hex(priv):
    return serialize_pubkey(pubkey_point(priv)).hex()


def _int(v):
    if isinstance(v, int):
        return v
    if isinstance(v, str):
        v = bytes.fromhex(v)
    return int.from_bytes(v, 'big')


def random_privkey():
    while True:
        k = int.from_bytes(os.urandom(32), 'big')
        if 1 <= k < N:
            return k


# --------------------------------------------------------------------------
# hashes

def sha256(data):
    return hashlib.sha256(data).digest()


def hmac_sha256(key, msg):
    return hmac.new(key, msg, hashlib.sha256).digest()


# RIPEMD-160 tables (word order, rotations, constants) from the algorithm's
# definition, left line then right line.
_RL = [list(range(16)),
       [7, 4, 13, 1, 10, 6, 15, 3, 12, 0, 9, 5, 2, 14, 11, 8],
       [3, 10, 14, 4, 9, 15, 8, 1, 2, 7, 0, 6, 13, 11, 5, 12],
       [1, 9, 11, 10, 0, 8, 12, 4, 13, 3, 7, 15, 14, 5, 6, 2],
       [4, 0, 5, 9, 7, 12, 2, 10, 14, 1, 3, 8, 11, 6, 15, 13]]
_RR = [[5, 14, 7, 0, 9, 2, 11, 4, 13, 6, 15, 8, 1, 10, 3, 12],
       [6, 11, 3, 7, 0, 13, 5, 10, 14, 15, 8, 12, 4, 9, 1, 2],
       [15, 5, 1, 3, 7, 14, 6, 9, 11, 8, 12, 2, 10, 0, 4, 13],
       [8, 6, 4, 1, 3, 11, 15, 0, 5, 12, 2, 13, 9, 7, 10, 14],
       [12, 15, 10, 4, 1, 5, 8, 7, 6, 2, 13, 14, 0, 3, 9, 11]]
_SL = [[11, 14, 15, 12, 5, 8, 7, 9, 11, 13, 14, 15, 6, 7, 9, 8],
       [7, 6, 8, 13, 11, 9, 7, 15, 7, 12, 15, 9, 11, 7, 13, 12],
       [11, 13, 6, 7, 14, 9, 13, 15, 14, 8, 13, 6, 5, 12, 7, 5],
       [11, 12, 14, 15, 14, 15, 9, 8, 9, 14, 5, 6, 8, 6, 5, 12],
       [9, 15, 5, 11, 6, 8, 13, 12, 5, 12, 13, 14, 11, 8, 5, 6]]
_SR = [[8, 9, 9, 11, 13, 15, 15, 5, 7, 7, 8, 11, 14, 14, 12, 6],
       [9, 13, 15, 7, 12, 8, 9, 11, 7, 7, 12, 7, 6, 15, 13, 11],
       [9, 7, 15, 11, 8, 6, 6, 14, 12, 13, 5, 14, 13, 13, 7, 5],
       [15, 5, 8, 11, 14, 14, 6, 14, 6, 9, 12, 9, 12, 5, 15, 8],
       [8, 5, 12, 9, 12, 5, 14, 6, 8, 13, 6, 5, 15, 13, 11, 11]]
_KL = [0x00000000, 0x5A827999, 0x6ED9EBA1, 0x8F1BBCDC, 0xA953FD4E]
_KR = [0x50A28BE6, 0x5C4DD124, 0x6D703EF3, 0x7A6D76E9, 0x00000000]
_M32 = 0xFFFFFFFF


def _rmd_f(rnd, x, y, z):
    if rnd == 0:
        return x ^ y ^ z
    if rnd == 1:
        return (x & y) | (~x & z)
    if rnd == 2:
        return (x | ~y) ^ z
    if rnd == 3:
        return (x & z) | (y & ~z)
    return x ^ (y | ~z)


def _rol(v, n):
    v &= _M32
    return ((v << n) | (v >> (32 - n))) & _M32


def ripemd160(data):
    h = [0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0]
    msg = bytes(data) + b'\x80'
    msg += b'\x00' * ((56 - len(msg)) % 64) + struct.pack('<Q', 8 * len(data))
    for off in range(0, len(msg), 64):
        x = struct.unpack('<16I', msg[off:off + 64])
        al, bl, cl, dl, el = h
        ar, br, cr, dr, er = h
        for rnd in range(5):
            for i in range(16):
                t = _rol(al + _rmd_f(rnd, bl, cl, dl) + x[_RL[rnd][i]] + _KL[rnd],
                         _SL[rnd][i]) + el
                al, el, dl, cl, bl = el, dl, _rol(cl, 10), bl, t & _M32
                # the right line runs the boolean functions in reverse order
                t = _rol(ar + _rmd_f(4 - rnd, br, cr, dr) + x[_RR[rnd][i]] + _KR[rnd],
                         _SR[rnd][i]) + er
                ar, er, dr, cr, br = er, dr, _rol(cr, 10), br, t & _M32
        h = [(h[1] + cl + dr) & _M32, (h[2] + dl + er) & _M32,
             (h[3] + el + ar) & _M32, (h[4] + al + br) & _M32,
             (h[0] + bl + cr) & _M32]
    return struct.pack('<5I', *h)


def hash160(data):
    return ripemd160(sha256(data))


# --------------------------------------------------------------------------
# Base58Check and addresses

_B58 = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz'
NETWORK_VERSION = {'main': 0x00, 'test': 0x6f}


def base58_encode(data):
    n = int.from_bytes(data, 'big')
    out = ''
    while n:
        n, rem = divmod(n, 58)
        out = _B58[rem] + out
    zeros = len(data) - len(data.lstrip(b'\x00'))
    return '1' * zeros + out


def base58_decode(text):
    n = 0
    for ch in text:
        idx = _B58.find(ch)
        if idx < 0:
            raise ValueError('not base58')
        n = n * 58 + idx
    body = n.to_bytes((n.bit_length() + 7) // 8, 'big') if n else b''
    zeros = len(text) - len(text.lstrip('1'))
    return b'\x00' * zeros + body


def base58check_encode(payload):
    return base58_encode(payload + sha256(sha256(payload))[:4])


def base58check_decode(text):
    raw = base58_decode(text)
    if len(raw) < 4 or sha256(sha256(raw[:-4]))[:4] != raw[-4:]:
        raise ValueError('bad checksum')
    return raw[:-4]


def p2pkh_address(pub, network='main'):
    """Address of a compressed key (bytes, hex, or point)."""
    if isinstance(pub, tuple):
        pub = serialize_pubkey(pub)
    elif isinstance(pub, str):
        pub = bytes.fromhex(pub)
    return base58check_encode(bytes([NETWORK_VERSION[network]]) + hash160(pub))


def address_from_priv(priv, network='main'):
    return p2pkh_address(pubkey_point(priv), network)


def address_hash160(address, network='main'):
    """hash160 inside a P2PKH address of `network`; ValueError otherwise."""
    raw = base58check_decode(address)
    if len(raw) != 21 or raw[0] != NETWORK_VERSION[network]:
        raise ValueError('not a P2PKH address for ' + network)
    return raw[1:]


# --------------------------------------------------------------------------
# ECDSA: RFC 6979 nonces, low-S, strict DER

def rfc6979_nonce(priv, digest, extra=b''):
    """Deterministic k for a 32-byte digest (RFC 6979 section 3.2, HMAC-SHA256).
    Yields candidates; the signer takes the first that gives r, s != 0."""
    x = _int(priv).to_bytes(32, 'big')
    h = (int.from_bytes(digest, 'big') % N).to_bytes(32, 'big')  # bits2octets
    v = b'\x01' * 32
    k = b'\x00' * 32
    k = hmac_sha256(k, v + b'\x00' + x + h + extra)
    v = hmac_sha256(k, v)
    k = hmac_sha256(k, v + b'\x01' + x + h + extra)
    v = hmac_sha256(k, v)
    while True:
        v = hmac_sha256(k, v)  # qlen == hlen == 256: one block per candidate
        cand = int.from_bytes(v, 'big')
        if 1 <= cand < N:
            yield cand
        k = hmac_sha256(k, v + b'\x00')
        v = hmac_sha256(k, v)


def sign_digest(priv, digest, low_s=True):
    """ECDSA over a 32-byte digest (used as is). Returns (r, s)."""
    if len(digest) != 32:
        raise ValueError('digest must be 32 bytes')
    d = _int(priv)
    if not 1 <= d < N:
        raise ValueError('private key out of range')
    z = int.from_bytes(digest, 'big')
    for k in rfc6979_nonce(d, digest):
        r = point_mul(k, G)[0] % N
        if r == 0:
            continue
        s = pow(k, -1, N) * (z + r * d) % N
        if s == 0:
            continue
        if low_s and s > HALF_N:
            s = N - s
        return r, s


def verify_digest(pub, digest, r, s, allow_high_s=False):
    """ECDSA verify over a 32-byte digest; pub is a point, bytes or hex."""
    if not isinstance(pub, tuple):
        pub = parse_pubkey(pub)
    if not (1 <= r < N and 1 <= s < N):
        return False
    if s > HALF_N and not allow_high_s:
        return False
    z = int.from_bytes(digest, 'big')
    w = pow(s, -1, N)
    pt = point_add(point_mul(z * w % N, G), point_mul(r * w % N, pub))
    return pt is not None and pt[0] % N == r


def der_encode(r, s):
    """Strict (BIP 66) DER of (r, s)."""
    def part(v):
        b = v.to_bytes((v.bit_length() + 7) // 8 or 1, 'big')
        if b[0] & 0x80:
            b = b'\x00' + b  # keep it positive
        return b'\x02' + bytes([len(b)]) + b
    body = part(r) + part(s)
    return b'\x30' + bytes([len(body)]) + body


def der_decode(sig):
    """Strict DER -> (r, s); ValueError on any deviation (BIP 66 rules)."""
    if isinstance(sig, str):
        sig = bytes.fromhex(sig)
    if len(sig) < 8 or len(sig) > 72 or sig[0] != 0x30 or sig[1] != len(sig) - 2:
        raise ValueError('bad DER envelope')
    out = []
    pos = 2
    for _ in range(2):
        if pos + 2 > len(sig) or sig[pos] != 0x02:
            raise ValueError('bad DER integer tag')
        ln = sig[pos + 1]
        val = sig[pos + 2:pos + 2 + ln]
        if ln == 0 or len(val) != ln:
            raise ValueError('bad DER integer length')
        if val[0] & 0x80:
            raise ValueError('negative DER integer')
        if ln > 1 and val[0] == 0 and not val[1] & 0x80:
            raise ValueError('DER integer with excess padding')
        out.append(int.from_bytes(val, 'big'))
        pos += 2 + ln
    if pos != len(sig):
        raise ValueError('trailing bytes after DER')
    return out[0], out[1]


def sign_digest_der(priv, digest, low_s=True):
    return der_encode(*sign_digest(priv, digest, low_s))


def sign_message(priv, message):
    """DER hex of a low-S signature over SHA256(message) (str is UTF-8)."""
    if isinstance(message, str):
        message = message.encode()
    return sign_digest_der(priv, sha256(message)).hex()


def verify_message(pub, message, sig_der):
    if isinstance(message, str):
        message = message.encode()
    try:
        r, s = der_decode(sig_der)
    except ValueError:
        return False
    return verify_digest(pub, sha256(message), r, s)


def high_s_variant(sig_der):
    """The same signature with s replaced by n - s (high-S), still strict DER."""
    r, s = der_decode(sig_der)
    return der_encode(r, N - s if s <= HALF_N else s)
