#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Writes the seed corpora of tests/fuzz/corpus/<target>/ from the public test
vectors (../shared/testdata) plus a few hand-made inputs per target. The
output is committed; run again after changing an input format:

    tests/fuzz/make-corpus.py [--testdata DIR] [--patchproof build/patchproof]

--patchproof (the CLI) is needed only for the keystore seeds, which hold
freshly generated keys sealed under the fuzz target's fixed master key.
"""
import argparse
import base64
import hashlib
import hmac
import json
import os
import pathlib
import shutil
import subprocess
import tempfile

ROOT = pathlib.Path(__file__).resolve().parent
G = "0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798"  # secp256k1 generator
TEST_ADDR = "mzK2FFDEhxqHcmrJw1ysqFkVyhUULo45hZ"
JWT_SECRET = b"fuzz-jwt-secret-0123456789abcdef0123456789"  # fuzz_jwt.cpp / fuzz_routes.cpp
MASTER_HEX = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"  # fuzz_keystore.cpp


def b64u(b: bytes) -> str:
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


class Corpus:
    def __init__(self, out: pathlib.Path):
        self.out = out
        self.count = {}

    def add(self, target: str, data):
        if isinstance(data, str):
            data = data.encode()
        d = self.out / target
        d.mkdir(parents=True, exist_ok=True)
        (d / hashlib.sha1(data).hexdigest()).write_bytes(data)
        self.count[target] = self.count.get(target, 0) + 1


def load(testdata, rel):
    with open(os.path.join(testdata, rel)) as f:
        return json.load(f)


def compressed(uncompressed_hex: str) -> str:
    raw = bytes.fromhex(uncompressed_hex)
    x, y = raw[1:33], raw[33:65]
    return ("03" if y[-1] & 1 else "02") + x.hex()


def crypto_seeds(c: Corpus, testdata):
    ecdsa = load(testdata, "wycheproof/ecdsa_secp256k1_sha256_bitcoin_test.json")
    for group in ecdsa["testGroups"][:3]:
        key = compressed(group["publicKey"]["uncompressed"])
        for t in group["tests"][:25]:
            sig = bytes.fromhex(t["sig"])
            c.add("der", sig)
            c.add("der", bytes.fromhex(key) + sig)
            c.add("hex", t["sig"])
            c.add("hex", t["sig"].upper()[:31])
            c.add("base64url", b64u(sig))
    for h, b58 in load(testdata, "bitcoin/base58_encode_decode.json"):
        c.add("base58", b58)
        c.add("hex", h)
    for row in load(testdata, "bitcoin/key_io_valid.json")[:40]:
        c.add("base58", row[0])
    for row in load(testdata, "bitcoin/key_io_invalid.json")[:20]:
        c.add("base58", row[0])
    for row in load(testdata, "bsv/sighash.json")[1:40]:
        if isinstance(row, list) and len(row) >= 2:
            c.add("tx", bytes.fromhex(row[0]))
    for s in ["", "=", "AA", "AAA", "AAAA", "_-_-", "aGVsbG8", "aGVsbG8=", "a b"]:
        c.add("base64url", s)


def jwt_seeds(c: Corpus):
    def token(header, payload, key=JWT_SECRET):
        head = b64u(json.dumps(header, separators=(",", ":")).encode())
        body = b64u(json.dumps(payload, separators=(",", ":")).encode())
        mac = hmac.new(key, f"{head}.{body}".encode(), hashlib.sha256).digest()
        return f"{head}.{body}.{b64u(mac)}"

    now = 1700000000  # fuzz_jwt.cpp's clock
    jti = "b" * 64
    good = {"sub": "alice", "jti": jti, "cnf": {"msha256": jti}, "iat": now, "nbf": now - 30, "exp": now + 900}
    hs = {"alg": "HS256", "typ": "JWT"}
    for flags, header, payload in [
        (0, hs, good),
        (4 | 8, hs, dict(good, iss="patchproof", aud=["patchproof-api", "x"])),
        (16, hs, {"sub": "alice"}),
        (0, {"alg": "none"}, good),
        (0, dict(hs, kid="svd-1"), dict(good, exp=now - 100)),
        (0, dict(hs, crit=["b64"]), good),
    ]:
        c.add("jwt", bytes([flags]) + token(header, payload).encode())
    c.add("jwt", b"\x01" + token(hs, good, b"fuzz-jwt-previous-0123456789abcdef01234567").encode())


def json_seeds(c: Corpus, testdata):
    sun = load(testdata, "ntag424/sun.json")
    docs = [
        '{"b":1,"a":[true,false,null],"c":{"z":"\\u0000\\n\\u001f/","y":-9007199254740991}}',
        '{"\\u00e9":"\\ud83d\\ude00","e\\u0301":"","":{}}',
        '[1,2,[3,[4,{}]]]',
        '"str"',
        '{"real":1.5}',
        '{"big":9007199254740993}',
        json.dumps({"sun": sun["sun"][:2], "diversification": sun["diversification"][:1]}, ensure_ascii=False),
        json.dumps({"product": {"uid_tag_id": "patch-0001", "name": "Jacket"},
                    "metadata": {"notes": "x" * 40, "image": "https://example.test/p.png"}}),
    ]
    for i, d in enumerate(docs):
        c.add("canonical_json", bytes([i & 3]) + d.encode())


def route_seeds(c: Corpus):
    sig = "3006020101020101"
    bodies = {
        "POST /api/svd/register": {"userId": "alice", "pmcHex": G},
        "PUT /api/svd/register": {"pmcHex": G},
        "POST /api/svd/begin": {"userId": "alice"},
        "POST /api/svd/complete": {"userId": "alice", "M": "0" * 48, "signatureHex": sig},
        "POST /v1/patches": {
            "product": {"uid_tag_id": "patch-0001", "name": "Jacket", "category": "outerwear", "sku": "J-1",
                        "serial_number": "SN1", "material": "wool"},
            "metadata": {"notes": "first run", "image": "https://example.test/p.png", "patch_location": "sleeve"},
            "auth": {"owner": TEST_ADDR}},
        "POST /v1/patches/{txid}/transfer-ownership": {
            "newOwnerAddress": TEST_ADDR, "currentOwnerPubKey": G, "currentOwnerSignature": sig},
        "POST /v1/patches/{uid}/unlock-content": {"ownerPubKey": G, "ownerSignature": sig},
        "PUT /v1/patches/{uid}/content": {"content": "secret text"},
        "POST /v1/pos/claim-intent": {
            "uid": "patch-0001", "customer": {"address": TEST_ADDR, "userId": "bob", "pubKey": G},
            "challenge": {"ts": 1700000000000, "nonce": "abcdef12"}, "signature": sig},
        "POST /v1/pos/claim-approve": {"intentId": "a" * 32, "approvedBy": "clerk-7"},
        "POST /v1/admin/utxo-maintain": {"action": "auto", "dryRun": True},
        "POST /v1/admin/batch-anchor": {"limit": 100},
        "POST /v1/auth/request-verification": {"identifier": "user@example.com"},
        "POST /v1/auth/submit-verification": {"identifier": "user@example.com", "code": "123456"},
    }
    for route, body in bodies.items():
        text = json.dumps(body, separators=(",", ":"))
        c.add("routes", f"{route}\n\x00extra\n{text}")
        c.add("routes", f"{route}\n\x02\u00e9\u00e9\n{text}")
        c.add("routes", f"{route}\n\n{text[:len(text) // 2]}")
    # Issue 7 defect 1: an unknown metadata key of 63 'a' + 'é' (the cut at
    # 64 bytes split the character) with a long value.
    body = bodies["POST /v1/patches"]
    meta = dict(body["metadata"], **{"a" * 63 + "\u00e9": "v" * 1000})
    text = json.dumps(dict(body, metadata=meta), ensure_ascii=False, separators=(",", ":"))
    c.add("routes", f"POST /v1/patches\n\x01{'a' * 63}\u00e9\n{text}")


def fcgi_seeds(c: Corpus):
    def req(params, body=b""):
        return b"\x00".join(p.encode() for p in params) + b"\x00\x00" + body
    c.add("fcgi_head", req(["REQUEST_METHOD=POST", "REQUEST_URI=/v1/patches?x=1", "QUERY_STRING=x=1",
                            "CONTENT_TYPE=application/json", "CONTENT_LENGTH=2", "REMOTE_ADDR=127.0.0.1",
                            "REQUEST_ID=abc-123", "HTTP_X_API_KEY=k", "HTTP_AUTHORIZATION=Bearer t"], b"{}"))
    c.add("fcgi_head", req(["REQUEST_METHOD=GET", "DOCUMENT_URI=/health", "CONTENT_LENGTH=", "REQUEST_ID=" + "x" * 65]))
    c.add("fcgi_head", req(["CONTENT_LENGTH=99999999999999999999", "HTTP_=", "HTTP_X__Y=1"], b"abc"))
    c.add("fcgi_head", req(["CONTENT_LENGTH=5", "CONTENT_LENGTH=+3", "REQUEST_ID=a b"], b"ab"))


def client_seeds(c: Corpus):
    sep = "\n=====\n"
    kms = {
        "sign\x00": ["200\n" + json.dumps({"signatures": [{"signatureHex": "$SIG0", "pubKeyHex": "$PUB0"}]})],
        "sign\x01": ["200\n" + json.dumps({"signatures": [{"signatureHex": "$SIG0", "pubKeyHex": "$PUB0"},
                                                          {"signatureHex": "$SIG1", "pubKeyHex": "$PUB1"}]})],
        "sign\x02": ["200\n" + json.dumps({"signatures": [{"signatureHex": "$SIG1", "pubKeyHex": "$PUB0"}]})],
        "derive": ["200\n" + json.dumps({"sharedSecretHex": "ab" * 32, "kid": "svd-0123"})],
        "keys": ["200\n" + json.dumps({"keys": [{"label": "issuer", "keyIdentifier": G, "addressMain": "1x",
                                                 "addressTest": "mx"}]})],
        "health": ["200\n{\"status\":\"ok\"}", "503\n{}"],
    }
    for op, parts in kms.items():
        c.add("kms_client", op + "\n" + sep.join(parts))
    c.add("kms_client", "sign\x00\n403\n{\"error\":\"scope\"}")
    chain = {
        "broadcast": ["200\n\"$TXID\"", "200\n{\"txid\":\"$TXID\"}"],
        "unspent": ["200\n" + json.dumps([{"tx_hash": "ab" * 32, "tx_pos": 1, "value": 5000, "height": 7}]),
                    "200\n" + json.dumps({"blocks": 10, "bestblockhash": "cd" * 32})],
        "info": ["200\n" + json.dumps({"blocks": 10, "bestblockhash": "cd" * 32})],
        "tx": ["200\n" + json.dumps({"txid": "$TXID", "hex": "0100", "blockheight": None, "confirmations": 0})],
    }
    for op, parts in chain.items():
        c.add("chain_client", op + "\n" + sep.join(parts))
    c.add("chain_client", "broadcast\n400\n{\"error\":\"txn-already-known\"}")
    c.add("chain_client", "broadcast\n400\n257: txn-mempool-conflict")
    c.add("chain_client", "unspent\n200\n{\"result\":[{\"tx_hash\":\"" + "ef" * 32 +
          "\",\"tx_pos\":0,\"value\":1,\"height\":0,\"confirmations\":null}]}")


def keystore_seeds(c: Corpus, patchproof):
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "keystore.json")
        env = dict(os.environ, KMS_MASTER_KEY=MASTER_HEX)
        for label in ["issuer", "svd"]:
            subprocess.run([patchproof, "kms", "keygen", "--label", label, "--keystore", path], env=env,
                           check=True, stdout=subprocess.DEVNULL)
            text = pathlib.Path(path).read_bytes()
            c.add("keystore", b"\x00" + text)
            c.add("keystore", b"\x01" + text)
    c.add("keystore", b"\x01" + json.dumps({"format": "patchproof-kms-keystore", "version": 1, "kdf": None,
                                             "keys": [], "mac": "00" * 32}).encode())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--testdata", default=str(ROOT.parent.parent.parent / "shared" / "testdata"))
    ap.add_argument("--patchproof", default=None, help="the patchproof CLI, for keystore seeds")
    ap.add_argument("--out", default=str(ROOT / "corpus"))
    args = ap.parse_args()
    out = pathlib.Path(args.out)
    keep_keystore = None
    if not args.patchproof and (out / "keystore").is_dir():
        keep_keystore = {p.name: p.read_bytes() for p in (out / "keystore").iterdir()}
    if out.exists():
        shutil.rmtree(out)
    c = Corpus(out)
    crypto_seeds(c, args.testdata)
    jwt_seeds(c)
    json_seeds(c, args.testdata)
    route_seeds(c)
    fcgi_seeds(c)
    client_seeds(c)
    if args.patchproof:
        keystore_seeds(c, args.patchproof)
    elif keep_keystore:
        for data in keep_keystore.values():
            c.add("keystore", data)
    for target, n in sorted(c.count.items()):
        print(f"{target}: {n} seeds")


if __name__ == "__main__":
    main()
