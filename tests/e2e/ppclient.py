# SPDX-License-Identifier: MIT
"""Test client for PatchProof, Python 3.11 standard library only.

An independent implementation of what a real client does, so the end-to-end
tests do not share code (or bugs) with module/crypto:
- secp256k1, ECDSA, RIPEMD-160, Base58Check and P2PKH addresses (ppcrypto.py,
  re-exported here: tests use pc.sign_message and the like);
- the SVD client and KMS maths of DESIGN.md section 3, HS256 JWT helpers and
  canonical JSON;
- small HTTP helpers (http.client) returning (status, headers, body).

Slow but simple: a point multiplication takes a few milliseconds.
"""

import base64
import hmac
import json
import os
import http.client
import ssl
import time
import urllib.parse

from ppcrypto import (  # noqa: F401 (re-exported)
    P, N, G, HALF_N, INFINITY, is_on_curve, point_neg, point_add, point_mul, pubkey_point,
    serialize_pubkey, parse_pubkey, pubkey_hex, random_privkey, sha256, hmac_sha256, ripemd160,
    hash160, NETWORK_VERSION, base58_encode, base58_decode, base58check_encode, base58check_decode,
    p2pkh_address, address_from_priv, address_hash160, rfc6979_nonce, sign_digest, verify_digest,
    der_encode, der_decode, sign_digest_der, sign_message, verify_message, high_s_variant, _int)


# --------------------------------------------------------------------------
# SVD (DESIGN.md section 3)

def hk(key, ikm, label):
    """HK(key, ikm, label) = HMAC(key=HMAC(key=key, msg=ikm), msg=label)."""
    if isinstance(label, str):
        label = label.encode()
    return hmac_sha256(hmac_sha256(key, ikm), label)


def make_challenge(ts=None, rand=None):
    """M: 8-byte big-endian unix seconds || 16 random bytes (raw bytes)."""
    ts = int(time.time()) if ts is None else int(ts)
    rand = os.urandom(16) if rand is None else rand
    if len(rand) != 16:
        raise ValueError('need 16 random bytes')
    return ts.to_bytes(8, 'big') + rand


def _m_bytes(m):
    return bytes.fromhex(m) if isinstance(m, str) else bytes(m)


def svd_h(m):
    """h = SHA256(M) as a big-endian integer (not reduced)."""
    return int.from_bytes(sha256(_m_bytes(m)), 'big')


def svd_v2c(pmc, m):
    """V2C = PMC + h*G (pmc: point, bytes or hex)."""
    if not isinstance(pmc, tuple):
        pmc = parse_pubkey(pmc)
    return point_add(pmc, point_mul(svd_h(m) % N, G))


def svd_client_key(pmc_priv, m):
    """The key the client signs with: (pmcPriv + h) mod n."""
    return (_int(pmc_priv) + svd_h(m)) % N


def svd_sign(pmc_priv, m, low_s=True):
    """signatureHex for /api/svd/complete: ECDSA over SHA256(M) with
    (pmcPriv + h) mod n, strict DER hex."""
    return sign_digest_der(svd_client_key(pmc_priv, m), sha256(_m_bytes(m)), low_s).hex()


def svd_shared_x(pms, pmc, m):
    """KMS side: x-coordinate of ((PMS + h) mod n) * V2C, 32 bytes."""
    pt = point_mul((_int(pms) + svd_h(m)) % N, svd_v2c(pmc, m))
    return pt[0].to_bytes(32, 'big')


def svd_client_shared_x(pmc_priv, pms_pub, m):
    """Client side of the same x: ((pmcPriv + h) mod n) * (PMSpub + h*G).
    Equal to svd_shared_x because both are (p2c * p2s) * G."""
    if not isinstance(pms_pub, tuple):
        pms_pub = parse_pubkey(pms_pub)
    h = svd_h(m) % N
    pt = point_mul(svd_client_key(pmc_priv, m), point_add(pms_pub, point_mul(h, G)))
    return pt[0].to_bytes(32, 'big')


def svd_shared_secret(pms, pmc, m):
    """S = HK(SHA256(PMSpub33 || PMC33 || M), x, "SVD-Session")."""
    if not isinstance(pmc, tuple):
        pmc = parse_pubkey(pmc)
    mb = _m_bytes(m)
    pms_pub = serialize_pubkey(pubkey_point(pms))
    salt = sha256(pms_pub + serialize_pubkey(pmc) + mb)
    return hk(salt, svd_shared_x(pms, pmc, mb), b'SVD-Session')


def svd_proof(user_id, m, secret):
    """hex(HK(SHA256(userId || jti raw), S, "JWT-Token")) with jti = SHA256(M)."""
    jti = sha256(_m_bytes(m))
    return hk(sha256(user_id.encode() + jti), secret, b'JWT-Token').hex()


def svd_jti(m):
    return sha256(_m_bytes(m)).hex()


# --------------------------------------------------------------------------
# JSON and JWT

def canonical_json(obj, sort_keys=True):
    """Compact JSON escaped like JavaScript's JSON.stringify (raw UTF-8,
    short escapes, other controls as lowercase \\u00xx, '/' not escaped)."""
    return json.dumps(obj, ensure_ascii=False, separators=(',', ':'),
                      sort_keys=sort_keys, allow_nan=False)


def b64url_encode(data):
    return base64.urlsafe_b64encode(data).rstrip(b'=').decode()


def b64url_decode(text):
    return base64.urlsafe_b64decode(text + '=' * (-len(text) % 4))


def jwt_decode(token):
    """(header, payload, signature bytes) without verifying anything."""
    h, p, s = token.split('.')
    return json.loads(b64url_decode(h)), json.loads(b64url_decode(p)), b64url_decode(s)


def jwt_sign(header, payload, secret):
    """HS256 token from dicts (for crafting expired/forged tokens in tests).
    secret: str (used as its UTF-8 bytes, like the service) or bytes."""
    if isinstance(secret, str):
        secret = secret.encode()
    signing_input = (b64url_encode(canonical_json(header, False).encode()) + '.' +
                     b64url_encode(canonical_json(payload, False).encode()))
    sig = hmac_sha256(secret, signing_input.encode())
    return signing_input + '.' + b64url_encode(sig)


def jwt_verify(token, secret):
    """True when the HS256 signature matches (claims not checked)."""
    if isinstance(secret, str):
        secret = secret.encode()
    head, _, sig = token.rpartition('.')
    try:
        return hmac.compare_digest(hmac_sha256(secret, head.encode()), b64url_decode(sig))
    except ValueError:
        return False


# --------------------------------------------------------------------------
# HTTP

def _ssl_context(verify):
    if verify is True:
        return ssl.create_default_context()
    ctx = ssl.create_default_context(cafile=verify if isinstance(verify, str) else None)
    if verify is False:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return ctx


def request(method, url, body=None, headers=None, raw=None,
            content_type='application/json', timeout=15, verify=False):
    """One HTTP request. body: JSON-encoded (compact); raw: bytes/str sent as
    is. content_type=None sends no Content-Type (urllib.request would add a
    form type, so this goes through http.client directly). verify: False
    (accept the dev self-signed cert), True (system CAs) or a CA file path.
    Redirects are not followed.

    Returns (status, headers, data): headers is a dict with lowercase names
    (repeated headers joined by ', '); data is the parsed JSON when the
    response says JSON and parses, else the text."""
    hdrs = {k: v for k, v in (headers or {}).items() if v is not None}
    data = None
    if body is not None:
        data = json.dumps(body, ensure_ascii=False, separators=(',', ':')).encode()
    elif raw is not None:
        data = raw.encode() if isinstance(raw, str) else raw
    if data is not None and content_type is not None and \
            not any(k.lower() == 'content-type' for k in hdrs):
        hdrs['Content-Type'] = content_type
    parts = urllib.parse.urlsplit(url)
    path = (parts.path or '/') + ('?' + parts.query if parts.query else '')
    if parts.scheme == 'https':
        conn = http.client.HTTPSConnection(parts.hostname, parts.port or 443,
                                           timeout=timeout, context=_ssl_context(verify))
    elif parts.scheme == 'http':
        conn = http.client.HTTPConnection(parts.hostname, parts.port or 80, timeout=timeout)
    else:
        raise ValueError('unsupported URL ' + url)
    try:
        if data is not None and not any(k.lower() == 'content-length' for k in hdrs):
            hdrs['Content-Length'] = str(len(data))
        conn.request(method, path, body=data, headers=hdrs)
        resp = conn.getresponse()
        status = resp.status
        out_headers = {}
        for k, v in resp.getheaders():
            k = k.lower()
            out_headers[k] = out_headers[k] + ', ' + v if k in out_headers else v
        payload = resp.read()
    finally:
        conn.close()
    text = payload.decode('utf-8', errors='replace')
    ctype = out_headers.get('content-type', '').lower()
    if 'json' in ctype:
        try:
            return status, out_headers, json.loads(text)
        except ValueError:
            pass
    return status, out_headers, text


def get(url, **kw):
    return request('GET', url, **kw)


def post(url, body=None, **kw):
    return request('POST', url, body=body, **kw)


def put(url, body=None, **kw):
    return request('PUT', url, body=body, **kw)


def delete(url, **kw):
    return request('DELETE', url, **kw)


class Client:
    """A PatchProof API client bound to a base URL and optional API key/JWT."""

    def __init__(self, base_url, api_key=None, token=None, verify=False, timeout=15):
        self.base_url = base_url.rstrip('/')
        self.api_key = api_key
        self.token = token
        self.verify = verify
        self.timeout = timeout

    def _headers(self, headers, key, jwt):
        h = {}
        if key and self.api_key:
            h['x-api-key'] = self.api_key
        if jwt and self.token:
            h['Authorization'] = 'Bearer ' + self.token
        h.update(headers or {})
        return h

    def call(self, method, path, body=None, key=True, jwt=False, headers=None, **kw):
        kw.setdefault('timeout', self.timeout)
        kw.setdefault('verify', self.verify)
        return request(method, self.base_url + path, body=body,
                       headers=self._headers(headers, key, jwt), **kw)

    # SVD login (DESIGN.md section 3)
    def svd_register(self, user_id, pmc_hex):
        return self.call('POST', '/api/svd/register', {'userId': user_id, 'pmcHex': pmc_hex})

    def svd_begin(self, user_id):
        return self.call('POST', '/api/svd/begin', {'userId': user_id})

    def svd_complete(self, user_id, m_hex, signature_hex):
        return self.call('POST', '/api/svd/complete',
                         {'userId': user_id, 'M': m_hex, 'signatureHex': signature_hex})

    def svd_login(self, user_id, pmc_priv):
        """begin + sign + complete; returns the token (also kept on self)
        or raises AssertionError with the failing response."""
        st, _, body = self.svd_begin(user_id)
        if st != 200:
            raise AssertionError(f'begin: {st} {body}')
        m = body['M']
        st, _, body = self.svd_complete(user_id, m, svd_sign(pmc_priv, m))
        if st != 200:
            raise AssertionError(f'complete: {st} {body}')
        self.token = body['token']
        return self.token
