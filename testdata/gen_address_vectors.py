#!/usr/bin/env python3
"""Generates addresses.json in this directory: the address rule of the signed
ledger (PROTOCOL.md 2.4, "Addresses") and the sender cases of the Ed25519
verification rule (PROTOCOL.md 10.7) that ledger.json does not hold.

Written from PROTOCOL.md, the libp2p peer-ID specification and RFC 8032 with
Python's integers and hashlib only (the Ed25519 arithmetic is the one of
gen_ledger_vectors.py), so that the vectors do not come from the Go code they
test. Every address case gives two verdicts:

  consensus  the text is an address: it is base58btc(00 24 08 01 12 20 || K)
             for some 32 bytes K, which "public_key" gives. No curve check.
  policy     a node admits a transaction paying it (POST /transactions): K is
             also a key that the verification rule could ever accept (y < p,
             not of small order, a point of the curve). A refusal is the
             node's policy, never a block rule.

Every signature case gives the network's verdict ("valid"), Go's
crypto/ed25519.Verify's ("plain_ed25519") and RFC 8032's cofactored
equation's ("cofactored"). Run it with python3 from any directory; it
rewrites addresses.json.
"""

import base64
import hashlib
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from gen_ledger_vectors import (  # noqa: E402
    B58, G, L, P, SMALL_ORDER, address, base58, compress, decompress_lax,
    decompress_strict,
    network_verify, plain_verify, point_add, point_mul, point_neg,
    public_key, recover_x, secret_expand, sha512_int, sign,
)

PREFIX = b"\x00\x24\x08\x01\x12\x20"
IDENTITY = (0, 1, 1, 0)


def unbase58(s):
    """The bytes of base58btc text (each leading '1' a zero byte), or None."""
    n = 0
    for c in s:
        if c not in B58:
            return None
        n = n * 58 + B58.index(c)
    zeros = len(s) - len(s.lstrip("1"))
    body = n.to_bytes((n.bit_length() + 7) // 8, "big") if n else b""
    return b"\0" * zeros + body


def consensus_key(text):
    """The key of an address, or None: the rule of PROTOCOL.md 2.4, as the
    definition states it (decode, check the 38 bytes, encode again)."""
    raw = unbase58(text)
    if raw is None or len(raw) != 38 or raw[:6] != PREFIX:
        return None
    key = raw[6:]
    return key if address(key) == text else None


def spendable(key):
    """The policy: a key that the verification rule could accept."""
    y = int.from_bytes(key, "little") & ((1 << 255) - 1)
    if y >= P or key in SMALL_ORDER:
        return False
    return recover_x(y, key[31] >> 7) is not None


def cofactored_verify(pub, msg, sig):
    """RFC 8032 5.1.7 with the cofactor: [8][S]B = [8]R + [8][k]A, strict
    decoding of A and R, S < L."""
    a, r = decompress_strict(pub), decompress_strict(sig[:32])
    s = int.from_bytes(sig[32:], "little")
    if a is None or r is None or s >= L:
        return False
    k = sha512_int(sig[:32] + pub + msg) % L
    lhs = point_mul(8, point_mul(s, G))
    rhs = point_mul(8, point_add(r, point_mul(k, a)))
    return compress(lhs) == compress(rhs)


def cid_base32(mh):
    """A CIDv1 of codec libp2p-key (0x72), multibase base32 ('b')."""
    return "b" + base64.b32encode(b"\x01\x72" + mh).decode().lower().rstrip("=")


def cid_base36(mh):
    """The same CID in multibase base36 ('k')."""
    n, out = int.from_bytes(b"\x01\x72" + mh, "big"), ""
    while n:
        n, r = divmod(n, 36)
        out = "0123456789abcdefghijklmnopqrstuvwxyz"[r] + out
    return "k" + out


def address_cases():
    rfc = bytes.fromhex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
    seed = hashlib.sha256(b"gossipchain address vectors").digest()
    a, _ = secret_expand(seed)
    pub = public_key(seed)
    valid = address(pub)
    cases = []

    def key_case(description, key):
        cases.append((description, address(key)))

    def text_case(description, text):
        cases.append((description, text))

    key_case("a key (RFC 8032 test 1)", rfc)
    key_case("a key", pub)
    orders = ["order 1 (the identity)", "order 1, x = 0 with the sign bit set",
              "order 2", "order 2, x = 0 with the sign bit set",
              "order 4", "order 4", "order 8", "order 8", "order 8", "order 8"]
    for o, k in zip(orders, SMALL_ORDER):
        key_case("a point of small order: " + o, k)
    y = 2
    while recover_x(y, 0) is not None:
        y += 1
    key_case("not a curve point (y = %d has no x)" % y, y.to_bytes(32, "little"))
    key_case("not a curve point (all bytes 0x02)", b"\x02" * 32)
    for d in range(19):
        enc = (P + d).to_bytes(32, "little")
        pt = decompress_lax(enc)
        kind = "no point" if pt is None else (
            "a point of small order" if compress(point_mul(8, pt)) == compress(IDENTITY) else "a point of large order")
        key_case("y = p + %d, not canonical (%s)" % (d, kind), enc)
    key_case("y = 2^255 - 1 with the sign bit set (all bytes 0xff)", b"\xff" * 32)
    mixed = compress(point_add(point_mul(a, G), decompress_lax(SMALL_ORDER[6])))
    key_case("a point of mixed order (a key plus a point of order 8)", mixed)

    text_case("all lower case", valid.lower())
    text_case("all upper case", valid.upper())
    # One letter's case changed where both cases are base58 digits: the
    # text of another key (or of none).
    for i in range(len(valid) - 1, 7, -1):
        c = valid[i]
        if c.swapcase() != c and c.swapcase() in B58:
            text_case("the case of character %d changed" % (i + 1), valid[:i] + c.swapcase() + valid[i + 1:])
            break
    mh = b"\x00\x24\x08\x01\x12\x20" + pub
    text_case("multibase: 'z' and the base58btc text", "z" + valid)
    text_case("CIDv1 libp2p-key, base32", cid_base32(mh))
    text_case("CIDv1 libp2p-key, base36", cid_base36(mh))
    text_case("sha2-256 multihash of the key (Qm…)", base58(b"\x12\x20" + hashlib.sha256(mh[2:]).digest()))
    text_case("empty", "")
    text_case("the reward sender", "0")
    text_case("a leading space", " " + valid)
    text_case("a trailing newline", valid + "\n")
    text_case("the last character removed", valid[:-1])
    text_case("a character added", valid + "1")
    for bad in "0OIl":
        text_case("'%s' (not a base58 digit) in place of the last character" % bad, valid[:-1] + bad)
    text_case("the prefix 12D3KooW, then the smallest digits", "12D3KooW" + "1" * 44)
    text_case("the prefix 12D3KooW, then the largest digits", "12D3KooW" + "z" * 44)
    # 52 characters with the prefix whose bytes are another protobuf: the
    # data length byte 0x1f (31 bytes and one more) and 0x21 (33, short).
    for length in (0x1F, 0x21):
        n = int.from_bytes(b"\x24\x08\x01\x12" + bytes([length]) + pub, "big")
        text = "1" + base58(n.to_bytes(37, "big"))
        text_case("the prefix 12D3KooW, the key's data length byte 0x%02x" % length, text)
    text_case("a secp256k1 peer ID", base58(b"\x00\x25\x08\x02\x12\x21\x02" + b"\x11" * 32))

    out = []
    for description, text in cases:
        key = consensus_key(text)
        entry = {"description": description, "address": text, "consensus": key is not None}
        if key is not None:
            entry["public_key"] = key.hex()
        entry["policy"] = key is not None and spendable(key)
        out.append(entry)
    return out


def signature_cases():
    seed = hashlib.sha256(b"gossipchain address vectors").digest()
    a, _ = secret_expand(seed)
    t8 = decompress_lax(SMALL_ORDER[6])
    mixed = compress(point_add(point_mul(a, G), t8))
    cases = []

    def case(description, pub, msg, sig):
        cases.append({
            "description": description, "public_key": pub.hex(), "message": msg.hex(), "signature": sig.hex(),
            "valid": network_verify(pub, msg, sig), "plain_ed25519": plain_verify(pub, msg, sig),
            "cofactored": cofactored_verify(pub, msg, sig),
        })

    def sign_mixed(want_k0):
        # S = r + k·a for the key a·B + T8: [S]B − [k]A = R − [k]T8, which
        # is R exactly when k ≡ 0 (mod 8).
        for i in range(10000):
            msg = b"a key of mixed order, try %d" % i
            r = sha512_int(seed + msg) % L
            rs = compress(point_mul(r, G))
            k = sha512_int(rs + mixed + msg) % L
            if (k % 8 == 0) == want_k0:
                return msg, rs + ((r + k * a) % L).to_bytes(32, "little")
        raise SystemExit("no message found")

    msg, sig = sign_mixed(True)
    case("key of mixed order, k ≡ 0 (mod 8): valid", mixed, msg, sig)
    msg, sig = sign_mixed(False)
    case("key of mixed order, k ≢ 0 (mod 8): invalid (the cofactored equation holds)", mixed, msg, sig)

    pub = public_key(seed)
    msg = b"gossipchain address vectors"
    good = sign(seed, msg)
    case("a key's own signature", pub, msg, good)
    # R of mixed order: R' = R + T8 and S unchanged give [S]B − [k']A ≠ R'.
    r8 = compress(point_add(decompress_lax(good[:32]), t8))
    case("R of mixed order (R + a point of order 8), S unchanged", pub, msg, r8 + good[32:])
    # R of mixed order that the cofactorless equation accepts: R = [r]B + T8
    # with S = r + k·a needs [S]B − [k]A = [r]B, so it is never valid.
    # R the identity's other encoding (x = 0, sign bit set), S = k·a.
    rneg = bytes.fromhex(SMALL_ORDER[1].hex())
    k = sha512_int(rneg + pub + msg) % L
    case("R the identity with the sign bit set (x = 0), S = k·a", pub, msg, rneg + (k * a % L).to_bytes(32, "little"))
    # A the order-2 point with the sign bit set, and a forgery for it.
    a2 = SMALL_ORDER[3]
    for i in range(256):
        m = b"forged for the order-2 key, try %d" % i
        k = sha512_int(SMALL_ORDER[0] + a2 + m) % L
        if k % 2 == 0:
            case("key of order 2 with the sign bit set, forged signature (R the identity, S = 0)",
                 a2, m, SMALL_ORDER[0] + bytes(32))
            break
    # A non-canonical encoding of a point of large order (y = p + d): no one
    # knows its secret, but the rule refuses it before any equation.
    for d in range(19):
        enc = (P + d).to_bytes(32, "little")
        pt = decompress_lax(enc)
        if pt is not None and compress(point_mul(8, pt)) != compress(IDENTITY):
            case("key y = p + %d (a point of large order, not canonical), any signature" % d, enc, msg, good)
            break
    return cases


def vectors():
    return {"addresses": address_cases(), "signatures": signature_cases()}


if __name__ == "__main__":
    with open(os.path.join(HERE, "addresses.json"), "w") as f:
        json.dump(vectors(), f, indent=1, ensure_ascii=False)
        f.write("\n")
