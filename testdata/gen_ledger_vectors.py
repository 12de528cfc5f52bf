#!/usr/bin/env python3
"""Generates ledger.json in this directory: the vectors of the signed ledger
(PROTOCOL.md 2.4 and 10.7): addresses of keys, the signed transaction
encoding (with its fee) and its signing bytes, the bounds of amount and fee,
a reward that collects its block's fees, the replacement rule of the pending
pool, and the network's Ed25519 verification rule on valid and invalid
signatures, edge cases included.

A second implementation, written from PROTOCOL.md and RFC 8032 with
Python's integers and hashlib only, so that the vectors do not come from the
Go code they test. Each signature case says whether the network's rule
accepts it ("valid") and whether plain Ed25519 as Go's crypto/ed25519
implements it does ("plain_ed25519"): the cases where the two differ are
those the network's key checks refuse. Run it with python3 from any
directory; it rewrites ledger.json.
"""

import hashlib
import json
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))

# ---------------------------------------------------------------- Ed25519 (RFC 8032)

P = 2**255 - 19
L = 2**252 + 27742317777372353535851937790883648493
D = -121665 * pow(121666, P - 2, P) % P
SQRT_M1 = pow(2, (P - 1) // 4, P)


def inv(x):
    return pow(x, P - 2, P)


def recover_x(y, sign):
    """x of the point with y and the sign bit, or None."""
    x2 = (y * y - 1) * inv(D * y * y + 1) % P
    if x2 == 0:
        return 0 if sign == 0 else None
    x = pow(x2, (P + 3) // 8, P)
    if (x * x - x2) % P != 0:
        x = x * SQRT_M1 % P
    if (x * x - x2) % P != 0:
        return None
    if x & 1 != sign:
        x = P - x
    return x


def point_add(p, q):
    a = (p[1] - p[0]) * (q[1] - q[0]) % P
    b = (p[1] + p[0]) * (q[1] + q[0]) % P
    c = 2 * p[3] * q[3] * D % P
    d = 2 * p[2] * q[2] % P
    e, f, g, h = b - a, d - c, d + c, b + a
    return (e * f % P, g * h % P, f * g % P, e * h % P)


def point_mul(s, p):
    q = (0, 1, 1, 0)
    while s > 0:
        if s & 1:
            q = point_add(q, p)
        p = point_add(p, p)
        s >>= 1
    return q


def point_neg(p):
    return ((P - p[0]) % P, p[1], p[2], (P - p[3]) % P)


def compress(p):
    zi = inv(p[2])
    x, y = p[0] * zi % P, p[1] * zi % P
    return (y | ((x & 1) << 255)).to_bytes(32, "little")


def decompress_strict(b):
    """RFC 8032 decoding: y < p, and x = 0 only with the sign bit clear."""
    v = int.from_bytes(b, "little")
    y, sign = v & ((1 << 255) - 1), v >> 255
    if y >= P:
        return None
    x = recover_x(y, sign)
    return None if x is None else (x, y, 1, x * y % P)


def decompress_lax(b):
    """Go's edwards25519 SetBytes: y is reduced mod p, and x = 0 is accepted
    whatever the sign bit."""
    v = int.from_bytes(b, "little")
    y, sign = (v & ((1 << 255) - 1)) % P, v >> 255
    x = recover_x(y, sign)
    if x is None and sign == 1:
        x = recover_x(y, 0)
        if x != 0:
            x = None
    return None if x is None else (x, y, 1, x * y % P)


GY = 4 * inv(5) % P
G = (recover_x(GY, 0), GY, 1, recover_x(GY, 0) * GY % P)


def sha512_int(b):
    return int.from_bytes(hashlib.sha512(b).digest(), "little")


def secret_expand(seed):
    h = hashlib.sha512(seed).digest()
    a = int.from_bytes(h[:32], "little")
    a &= (1 << 254) - 8
    a |= 1 << 254
    return a, h[32:]


def public_key(seed):
    a, _ = secret_expand(seed)
    return compress(point_mul(a, G))


def sign(seed, msg):
    a, prefix = secret_expand(seed)
    pub = compress(point_mul(a, G))
    r = sha512_int(prefix + msg) % L
    rs = compress(point_mul(r, G))
    k = sha512_int(rs + pub + msg) % L
    return rs + ((r + k * a) % L).to_bytes(32, "little")


def plain_verify(pub, msg, sig):
    """crypto/ed25519.Verify of Go: lax key decoding, S < L, and the
    encoding of [S]B - [k]A compared byte for byte with R."""
    if len(pub) != 32 or len(sig) != 64:
        return False
    a = decompress_lax(pub)
    if a is None:
        return False
    s = int.from_bytes(sig[32:], "little")
    if s >= L:
        return False
    k = sha512_int(sig[:32] + pub + msg) % L
    r = point_add(point_mul(s, G), point_neg(point_mul(k, a)))
    return compress(r) == sig[:32]


SMALL_ORDER = [bytes.fromhex(h) for h in (
    "0100000000000000000000000000000000000000000000000000000000000000",
    "0100000000000000000000000000000000000000000000000000000000000080",
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
    "0000000000000000000000000000000000000000000000000000000000000000",
    "0000000000000000000000000000000000000000000000000000000000000080",
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85",
)]


def network_verify(pub, msg, sig):
    """The network's rule (PROTOCOL.md 10.7): a canonical key, not of small
    order, then plain Ed25519."""
    y = int.from_bytes(pub, "little") & ((1 << 255) - 1)
    if y >= P or pub in SMALL_ORDER:
        return False
    return plain_verify(pub, msg, sig)


def check_small_order_list():
    """Every listed encoding decodes (laxly) to a point of order dividing 8,
    and every point of order dividing 8 in canonical form is listed."""
    for b in SMALL_ORDER:
        pt = decompress_lax(b)
        assert pt is not None and compress(point_mul(8, pt)) == compress((0, 1, 1, 0)), b.hex()
    # The 8-torsion is generated by a point of order 8: its multiples.
    t = decompress_strict(SMALL_ORDER[6])
    multiples = {compress(point_mul(i, t)) for i in range(8)}
    assert multiples <= set(SMALL_ORDER), multiples - set(SMALL_ORDER)


# ---------------------------------------------------------------- addresses

B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def base58(b):
    n = int.from_bytes(b, "big")
    out = ""
    while n:
        n, r = divmod(n, 58)
        out = B58[r] + out
    return "1" * (len(b) - len(b.lstrip(b"\0"))) + out


def address(pub):
    """The libp2p peer ID text: base58btc of the identity multihash (0x00,
    length 0x24) of the protobuf PublicKey {Type: Ed25519 (1), Data: pub}."""
    return base58(b"\x00\x24" + b"\x08\x01\x12\x20" + pub)


# ---------------------------------------------------------------- transactions and genesis

SIGNING_DOMAIN = b"gossipchain/tx-signature/2"
MAX_AMOUNT = 2**53 - 1
FEE_RATE_UNIT = 1000  # a fee rate is a fee per 1000 bytes of encoding


def tx_unsigned(sender, recipient, amount, nonce):
    s, r = sender.encode(), recipient.encode()
    return struct.pack(">H", len(s)) + s + struct.pack(">H", len(r)) + r + struct.pack(">QQ", amount, nonce)


def signing_bytes(genesis, sender, recipient, amount, nonce, fee):
    return SIGNING_DOMAIN + genesis + tx_unsigned(sender, recipient, amount, nonce) + struct.pack(">Q", fee)


def tx_signed(sender, recipient, amount, nonce, fee, sig):
    u = bytearray(tx_unsigned(sender, recipient, amount, nonce))
    u[0] |= 0x80
    return bytes(u) + struct.pack(">Q", fee) + sig


def fields_valid(amount, fee):
    """The bounds of 2.1: an amount from 1, and amount + fee at most 2^53-1."""
    return 1 <= amount and amount + fee <= MAX_AMOUNT


def fee_for_rate(rate, size):
    """The smallest fee whose rate, for size bytes, is at least rate."""
    return -(-rate * size // FEE_RATE_UNIT)


def replacement_min_fee(old_fee, min_rate, size):
    """The pool's rule (10.7): a replacement pays at least 10% more than the
    pending transaction (rounded up), at least the minimum relay fee of its
    own size more, and more in any case."""
    return old_fee + max(-(-old_fee // 10), fee_for_rate(min_rate, size), 1)


def genesis_hash(params_encoding, name, reward, bits):
    commitment = hashlib.sha256(params_encoding).digest()
    reward_tx = tx_unsigned("0", "gossipchain:" + name, reward, 1)
    txid = hashlib.sha256(reward_tx).digest()
    root = hashlib.sha256(b"\x00" + txid).digest()  # RFC 6962 tree hash of one leaf
    # Header version 3: state_root 32 zero bytes here, tx_count 1, proof 0.
    header = commitment + root + bytes(32) + struct.pack(">IQQIQQ", 3, 1, 1704067200_000000, bits, 1, 0)
    return hashlib.sha256(header).digest()


def signed_devnet_params():
    b = b"gossipchain/netparams" + bytes([1, 6]) + b"devnet"
    b += struct.pack(">QQII", 10_000_000, 40_000_000, 0x1e03ffff, 0x1e03ffff)
    b += bytes([0]) + struct.pack(">QII", 1, 1 << 20, 2000)
    return b + bytes([6]) + b"signed"


def seed(name):
    return hashlib.sha256(b"gossipchain test key " + name.encode()).digest()


def vectors():
    check_small_order_list()
    params = signed_devnet_params()
    genesis = genesis_hash(params, "devnet", 1, 0x1e03ffff)
    keys = []
    for name in ("alice", "bob"):
        pub = public_key(seed(name))
        keys.append({"seed": seed(name).hex(), "public_key": pub.hex(), "address": address(pub)})
    alice, bob = keys
    txs = []
    for amount, nonce, fee in ((5, 0, 0), (2**53 - 1, 7, 0), (5, 1, 196), (2**53 - 1001, 2, 1000)):
        unsigned = tx_unsigned(alice["address"], bob["address"], amount, nonce)
        signing = signing_bytes(genesis, alice["address"], bob["address"], amount, nonce, fee)
        sig = sign(seed("alice"), signing)
        assert network_verify(bytes.fromhex(alice["public_key"]), signing, sig)
        enc = tx_signed(alice["address"], bob["address"], amount, nonce, fee, sig)
        txs.append({"sender": alice["address"], "recipient": bob["address"], "amount": amount, "nonce": nonce,
                    "fee": fee, "size": len(enc), "fee_rate": fee * FEE_RATE_UNIT // len(enc),
                    "unsigned_encoding": unsigned.hex(), "signing_bytes": signing.hex(),
                    "signature": sig.hex(), "encoding": enc.hex(), "id": hashlib.sha256(enc).hexdigest()})
    # A signature of version 1 (no fee in the signing bytes) over the first
    # transaction: its encoding decodes, its signature does not verify.
    v1 = b"gossipchain/tx-signature/1" + genesis + bytes.fromhex(txs[0]["unsigned_encoding"])
    v1_enc = tx_signed(alice["address"], bob["address"], 5, 0, 0, sign(seed("alice"), v1))
    bounds = [{"amount": a, "fee": f, "valid": fields_valid(a, f)}
              for a, f in ((1, 0), (1, MAX_AMOUNT - 1), (1, MAX_AMOUNT), (MAX_AMOUNT, 0), (MAX_AMOUNT, 1),
                           (MAX_AMOUNT - 5, 5), (0, 5), (5, 2**64 - 1))]
    # The reward of block 2 of a block holding the transactions above but
    # the second: the network's reward plus their fees.
    fees = [t["fee"] for i, t in enumerate(txs) if i != 1]
    reward_amount = 1 + sum(fees)
    reward_enc = tx_unsigned("0", bob["address"], reward_amount, 2)
    reward = {"network_reward": 1, "index": 2, "recipient": bob["address"], "fees": fees,
              "amount": reward_amount, "encoding": reward_enc.hex(), "id": hashlib.sha256(reward_enc).hexdigest(),
              "wrong_amounts": [1, reward_amount - 1, reward_amount + 1]}
    size = txs[0]["size"]
    replacements = []
    for old_fee, new_fee, min_rate in ((0, 0, 0), (0, 1, 0), (100, 109, 0), (100, 110, 0), (9, 9, 0), (9, 10, 0),
                                       (101, 112, 0), (101, 111, 0), (100, 110, 100000), (100, 100 + fee_for_rate(100000, size), 100000),
                                       (100, 100 + fee_for_rate(100000, size) - 1, 100000), (2000, 2200, 5000)):
        replacements.append({"old_fee": old_fee, "new_fee": new_fee, "size": size, "min_relay_fee_rate": min_rate,
                             "min_fee": replacement_min_fee(old_fee, min_rate, size),
                             "accepted": new_fee >= replacement_min_fee(old_fee, min_rate, size)})
    good = bytes.fromhex(txs[0]["encoding"])
    bad_encodings = [
        ("the signature truncated by one byte", good[:-1]),
        ("the fee and signature cut off after the nonce", good[:-72]),
        ("the fee present but the signature missing", good[:-64]),
        ("an all-zero signature", good[:-64] + bytes(64)),
        ("a trailing byte", good + b"\x00"),
        ("the flag on a sender length over 128", bytes([0x80 | 0x00, 0x81]) + good[2:]),
    ]

    # Signature cases over the signing bytes of the first transaction.
    msg = bytes.fromhex(txs[0]["signing_bytes"])
    apub = bytes.fromhex(alice["public_key"])
    bpub = bytes.fromhex(bob["public_key"])
    sig = bytes.fromhex(txs[0]["signature"])
    cases = []

    def case(desc, pub, m, s):
        cases.append({"description": desc, "public_key": pub.hex(), "message": m.hex(), "signature": s.hex(),
                      "valid": network_verify(pub, m, s), "plain_ed25519": plain_verify(pub, m, s)})

    case("valid", apub, msg, sig)
    case("RFC 8032 test 1 (empty message)",
         bytes.fromhex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"), b"",
         bytes.fromhex("e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
                       "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"))
    case("wrong key", bpub, msg, sig)
    case("another message (the signing bytes of another network)", apub,
         signing_bytes(bytes(32), alice["address"], bob["address"], 5, 0, 0), sig)
    s_int = int.from_bytes(sig[32:], "little")
    case("malleated S: S + L (non-canonical)", apub, msg, sig[:32] + (s_int + L).to_bytes(32, "little"))
    case("S = L", apub, msg, sig[:32] + L.to_bytes(32, "little"))
    case("S with the top bit set", apub, msg, sig[:32] + (s_int | 1 << 255).to_bytes(32, "little"))
    case("one bit of R flipped", apub, msg, bytes([sig[0] ^ 1]) + sig[1:])
    # R of small order: r = 0, so R is the identity and S = k·a.
    a, _ = secret_expand(seed("alice"))
    ident = compress((0, 1, 1, 0))
    k = sha512_int(ident + apub + msg) % L
    case("R of small order (the identity), S = k·a: valid", apub, msg, ident + (k * a % L).to_bytes(32, "little"))
    # The same point R written non-canonically (y = p + 1).
    nc = (P + 1).to_bytes(32, "little")
    k = sha512_int(nc + apub + msg) % L
    case("R non-canonical (the identity as y = p + 1)", apub, msg, nc + (k * a % L).to_bytes(32, "little"))
    # Keys of small order: signatures forged without a private key.
    forged = ident + bytes(32)  # [0]B - [k]·identity = identity
    case("key of order 1 (the identity), forged signature", SMALL_ORDER[0], msg, forged)
    case("key: the identity with the sign bit set, forged signature", SMALL_ORDER[1], msg, forged)
    case("key non-canonical: the identity as y = p + 1, forged signature", (P + 1).to_bytes(32, "little"), msg, forged)
    t8 = SMALL_ORDER[6]
    tpt = decompress_strict(t8)
    for i in range(256):
        m = b"forged for a key of order 8, try %d" % i
        r = compress(point_neg(point_mul(sha512_int(SMALL_ORDER[4] + t8 + m) % L, tpt)))
        if r == SMALL_ORDER[4]:
            case("key of order 8, forged signature (R of order 4, S = 0)", t8, m, SMALL_ORDER[4] + bytes(32))
            break
    else:
        raise SystemExit("no forgery for the order-8 key")
    # A key off the curve: the first y without an x.
    y = 2
    while recover_x(y, 0) is not None:
        y += 1
    case("key not on the curve", y.to_bytes(32, "little"), msg, sig)
    case("key of 31 bytes", apub[:31], msg, sig)

    return {
        "signing_domain": SIGNING_DOMAIN.decode(),
        "network": {"params_encoding": params.hex(), "genesis": genesis.hex()},
        "keys": keys,
        "fee_rate_unit": FEE_RATE_UNIT,
        "transactions": txs,
        "signature_v1": {"description": "signed under gossipchain/tx-signature/1, which did not cover the fee",
                         "encoding": v1_enc.hex()},
        "bounds": bounds,
        "reward_with_fees": reward,
        "replacements": replacements,
        "invalid_encodings": [{"description": d, "encoding": e.hex()} for d, e in bad_encodings],
        "signatures": cases,
        "small_order_keys": [b.hex() for b in SMALL_ORDER],
    }


if __name__ == "__main__":
    with open(os.path.join(HERE, "ledger.json"), "w") as f:
        json.dump(vectors(), f, indent=1)
        f.write("\n")
