#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# Independent reference for the SVD known-answer test in tests/unit/test_svd.cpp:
# plain affine secp256k1 arithmetic in Python, no shared code with module/crypto.
import hashlib
import hmac

P = 2**256 - 2**32 - 977
N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
G = (0x79BE667EF9DCBBAC55A06295CE870B07029BFCDB2DCE28D959F2815B16F81798,
     0x483ADA7726A3C4655DA4FBFC0E1108A8FD17B448A68554199C47D08FFB10D4B8)


def add(a, b):
    if a is None:
        return b
    if b is None:
        return a
    if a[0] == b[0] and (a[1] + b[1]) % P == 0:
        return None
    if a == b:
        lam = 3 * a[0] * a[0] * pow(2 * a[1], -1, P) % P
    else:
        lam = (b[1] - a[1]) * pow(b[0] - a[0], -1, P) % P
    x = (lam * lam - a[0] - b[0]) % P
    return (x, (lam * (a[0] - x) - a[1]) % P)


def mul(k, pt):
    acc = None
    while k:
        if k & 1:
            acc = add(acc, pt)
        pt = add(pt, pt)
        k >>= 1
    return acc


def ser(pt):
    return bytes([2 + (pt[1] & 1)]) + pt[0].to_bytes(32, 'big')


def hk(key, ikm, label):
    inner = hmac.new(key, ikm, hashlib.sha256).digest()
    return hmac.new(inner, label, hashlib.sha256).digest()


pmc_priv = int.from_bytes(hashlib.sha256(b'patchproof test pmc').digest(), 'big') % N
pms = int.from_bytes(hashlib.sha256(b'patchproof test pms').digest(), 'big') % N
m = bytes.fromhex('0000000065f1a2b3') + bytes(range(16))
h = int.from_bytes(hashlib.sha256(m).digest(), 'big')
pmc = mul(pmc_priv, G)
pms_pub = mul(pms, G)
v2c = add(pmc, mul(h, G))
x = mul((pms + h) % N, v2c)[0].to_bytes(32, 'big')
s = hk(hashlib.sha256(ser(pms_pub) + ser(pmc) + m).digest(), x, b'SVD-Session')
jti = hashlib.sha256(m).digest()
proof = hk(hashlib.sha256(b'alice' + jti).digest(), s, b'JWT-Token')
print('pmc_priv', pmc_priv.to_bytes(32, 'big').hex())
print('pms     ', pms.to_bytes(32, 'big').hex())
print('M       ', m.hex())
print('PMC     ', ser(pmc).hex())
print('PMSpub  ', ser(pms_pub).hex())
print('V2C     ', ser(v2c).hex())
print('x       ', x.hex())
print('S       ', s.hex())
print('proof   ', proof.hex())
