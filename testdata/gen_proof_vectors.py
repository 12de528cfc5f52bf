#!/usr/bin/env python3
"""Generates proofs.json in this directory: the vectors of the binary proof
forms (PROTOCOL.md 13): transaction proofs against real version-3 headers,
the account-level state commitment (address -> key, value hash of balance
and next nonce, roots of small account sets) and account proofs of
inclusion and of both kinds of absence, and encodings a verifier refuses,
each with its reason.

A second implementation, written from PROTOCOL.md (2.1, 2.2, 2.4, 10.8 and
13) with Python's hashlib only, so that the vectors do not come from the
Go code they test. It takes the transaction tree and the account-state map
of gen_merkle_vectors.py and the transactions, keys and addresses of
gen_ledger_vectors.py and the address rule of gen_address_vectors.py. Every valid proof is decoded and verified by this
script's own verifier, and every refused one refused by it, before it is
written. The headers carry a fixed proof and bits: their proof of work does
not hold (these vectors test the proof forms, not the header chain). Run it
with python3 from any directory; it rewrites proofs.json.
"""

import hashlib
import json
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from gen_ledger_vectors import (  # noqa: E402
    address, genesis_hash, public_key, seed, sign, signed_devnet_params,
    signing_bytes, tx_signed, tx_unsigned,
)
from gen_address_vectors import consensus_key  # noqa: E402
from gen_merkle_vectors import (  # noqa: E402
    ZERO, mth, path, sha, smt_hash, smt_prove, smt_verify,
    verify_inclusion,
)

TYPE_TX, TYPE_ACCOUNT = 0x01, 0x02
HEADER_SIZE = 136
HEADER_VERSION = 3
MAX_TX_SIZE = 348
MAX_MAP_PROOF = 8291
ADDRESS_LEN = 52
BITS = 0x1f00ffff
GENESIS_TIME = 1704067200_000000


class Refused(Exception):
    """A proof that a decoder or a verifier refuses; stage says which must."""

    def __init__(self, stage, reason):
        super().__init__(reason)
        self.stage = stage


# ---------------------------------------------------------------- headers and transactions


def header(index, tx_root, tx_count, state_root=ZERO):
    """A version-3 header (PROTOCOL.md 2.2) of block index; previous_hash
    is derived from the index, the proof is 0."""
    prev = sha(b"gossipchain proof vectors: parent of", struct.pack(">Q", index))
    return (prev + tx_root + state_root
            + struct.pack(">IQqIQQ", HEADER_VERSION, index, GENESIS_TIME + index * 10_000_000, BITS, tx_count, 0))


def decode_header(h):
    if len(h) != HEADER_SIZE:
        raise Refused("decode", "header of %d bytes" % len(h))
    version, index, _, _, tx_count, _ = struct.unpack(">IQqIQQ", h[96:])
    if version != HEADER_VERSION:
        raise Refused("decode", "header version %d" % version)
    return {"tx_root": h[32:64], "state_root": h[64:96], "index": index, "tx_count": tx_count,
            "hash": sha(h)}


def decode_tx(t):
    """The binary transaction decoder of 2.1 and 2.4: lengths within 128,
    the fee and a signature that is not all zero when the sender length
    carries the flag, nothing after."""
    def field(b, flags):
        if len(b) < 2:
            raise Refused("verify", "transaction truncated")
        n = struct.unpack(">H", b[:2])[0] & ~flags
        if n > 128 or len(b) < 2 + n:
            raise Refused("verify", "transaction field too long or truncated")
        return b[2 + n:]
    signed = len(t) >= 2 and t[0] & 0x80
    rest = field(field(t, 0x8000), 0)
    if len(rest) < 16:
        raise Refused("verify", "transaction truncated")
    rest = rest[16:]
    if signed:
        if len(rest) < 72 or rest[8:72] == bytes(64):
            raise Refused("verify", "fee and signature truncated or all zero")
        rest = rest[72:]
    if rest:
        raise Refused("verify", "bytes after the transaction")


def reward(recipient, amount, index):
    return tx_unsigned("0", recipient, amount, index)


# ---------------------------------------------------------------- transaction proofs (type 0x01)


def encode_tx_proof(h, m, t, p, k=None):
    k = len(p) if k is None else k
    return (bytes([TYPE_TX]) + h + struct.pack(">I", m) + struct.pack(">H", len(t)) + t
            + bytes([k]) + b"".join(p))


def decode_tx_proof(b):
    if len(b) < 1 + HEADER_SIZE + 4 + 2 or b[0] != TYPE_TX:
        raise Refused("decode", "short input or not type 0x01")
    hdr = decode_header(b[1:1 + HEADER_SIZE])
    off = 1 + HEADER_SIZE
    m, size = struct.unpack(">IH", b[off:off + 6])
    off += 6
    if not 1 <= size <= MAX_TX_SIZE:
        raise Refused("verify", "transaction length %d outside 1..348" % size)
    t = b[off:off + size]
    off += size
    if len(t) != size or off >= len(b):
        raise Refused("decode", "truncated")
    k = b[off]
    off += 1
    if len(b) != off + 32 * k:
        raise Refused("decode", "%d bytes where %d path hashes need %d" % (len(b) - off, k, 32 * k))
    return hdr, m, t, [b[off + 32 * i:off + 32 * (i + 1)] for i in range(k)]


def path_len(m, n):
    """The RFC 6962 path length of leaf m in a tree of n leaves."""
    length = 0
    while n > 1:
        k = 1
        while 2 * k < n:
            k *= 2
        if m < k:
            n = k
        else:
            m, n = m - k, n - k
        length += 1
    return length


def verify_tx_proof(b, tid):
    hdr, m, t, p = decode_tx_proof(b)
    if m >= hdr["tx_count"]:
        raise Refused("verify", "position beyond the header's tx_count")
    if len(p) != path_len(m, hdr["tx_count"]):
        raise Refused("verify", "path length is not that of (m, tx_count)")
    if sha(t) != tid:
        raise Refused("verify", "the transaction is not the one asked for")
    decode_tx(t)
    if not verify_inclusion(hdr["tx_root"], m, hdr["tx_count"], tid, p):
        raise Refused("verify", "the path does not lead to tx_root")
    return hdr


def open_block(index, n):
    """n transactions of an open network: n-1 payments, then the reward."""
    txs = [tx_unsigned("sender %d" % (i % 7), "recipient %d" % i, i + 1, i) for i in range(n - 1)]
    return txs + [reward("miner", 1, index)]


KEYS = {name: public_key(seed(name)) for name in ("alice", "bob", "carol")}
ADDR = {name: address(pub) for name, pub in KEYS.items()}
GENESIS = genesis_hash(signed_devnet_params(), "devnet", 1, 0x1e03ffff)


def signed_block(index, n):
    """n transactions of the signed devnet of ledger.json: n-1 signed
    payments, then the reward with their fees."""
    txs, fees, names = [], 0, ("alice", "bob", "carol")
    for i in range(n - 1):
        s, r = names[i % 3], names[(i + 1) % 3]
        fee = 100 * i
        msg = signing_bytes(GENESIS, ADDR[s], ADDR[r], 10 + i, i // 3, fee)
        txs.append(tx_signed(ADDR[s], ADDR[r], 10 + i, i // 3, fee, sign(seed(s), msg)))
        fees += fee
    return txs + [reward(ADDR["carol"], 1 + fees, index)]


def tx_block(description, index, txs, positions):
    ids = [sha(t) for t in txs]
    root = mth(ids)
    h = header(index, root, len(txs))
    proofs = []
    for m in positions:
        p = path(m, ids)
        b = encode_tx_proof(h, m, txs[m], p)
        assert verify_tx_proof(b, ids[m])["hash"] == sha(h)
        proofs.append({"index": m, "id": ids[m].hex(), "transaction": txs[m].hex(),
                       "path": [x.hex() for x in p], "proof": b.hex(), "size": len(b)})
    return {"description": description, "header": h.hex(), "hash": sha(h).hex(), "height": index,
            "tx_count": len(txs), "tx_root": root.hex(), "proofs": proofs}


def tx_vectors():
    return [
        tx_block("one transaction (the reward): an empty path", 2, open_block(2, 1), [0]),
        tx_block("two signed transactions", 3, signed_block(3, 2), [0, 1]),
        tx_block("three transactions", 4, open_block(4, 3), [0, 1, 2]),
        tx_block("five signed transactions", 5, signed_block(5, 5), range(5)),
        tx_block("seven transactions", 6, open_block(6, 7), range(7)),
        tx_block("2,000 transactions: paths of 10 and 11 hashes", 7, open_block(7, 2000),
                 [0, 1, 1023, 1024, 1535, 1536, 1983, 1984, 1998, 1999]),
    ]


# ---------------------------------------------------------------- account proofs (type 0x02)


def account_key(addr):
    return sha(addr.encode())


def value_hash(balance, nonce):
    return sha(struct.pack(">QQ", balance, nonce))


def encode_account_proof(h, addr, balance, nonce, mp, size=None):
    size = len(mp) if size is None else size
    return (bytes([TYPE_ACCOUNT]) + h + addr.encode("latin-1") + struct.pack(">QQH", balance, nonce, size) + mp)


def decode_account_proof(b):
    fixed = 1 + HEADER_SIZE + ADDRESS_LEN + 18
    if len(b) < fixed or b[0] != TYPE_ACCOUNT:
        raise Refused("decode", "short input or not type 0x02")
    hdr = decode_header(b[1:1 + HEADER_SIZE])
    addr = b[1 + HEADER_SIZE:1 + HEADER_SIZE + ADDRESS_LEN]
    balance, nonce, size = struct.unpack(">QQH", b[fixed - 18:fixed])
    if len(b) != fixed + size:
        raise Refused("decode", "map proof length %d, %d bytes follow" % (size, len(b) - fixed))
    if not 3 <= size <= MAX_MAP_PROOF:
        raise Refused("verify", "map proof length %d outside 3..8291" % size)
    return hdr, addr, balance, nonce, b[fixed:]


def verify_account_proof(b, asked):
    hdr, addr, balance, nonce, mp = decode_account_proof(b)
    if addr != asked.encode("latin-1"):
        raise Refused("verify", "the proof is of another address than asked")
    if consensus_key(asked) is None:
        raise Refused("verify", "not an address")
    value = None if balance == 0 and nonce == 0 else value_hash(balance, nonce)
    if not smt_verify(hdr["state_root"], account_key(asked), value, mp):
        raise Refused("verify", "the map proof does not verify")
    return hdr


def decode_any(b):
    """The decoder of either form, by the type byte."""
    if b[:1] == bytes([TYPE_TX]):
        return decode_tx_proof(b)
    if b[:1] == bytes([TYPE_ACCOUNT]):
        return decode_account_proof(b)
    raise Refused("decode", "unknown type byte")


def addresses(n):
    """Addresses of keys (Ed25519 public keys of seeds "proof vector i")."""
    return [address(public_key(hashlib.sha256(b"gossipchain proof vector %d" % i).digest())) for i in range(n)]


POOL = addresses(40)


def account_map(description, index, accounts, probes):
    """A set of accounts (address, balance, next nonce), its root, a header
    stating it, and the account proofs of probes."""
    items = sorted((account_key(a), value_hash(bal, nn)) for a, bal, nn in accounts)
    root = smt_hash(items)
    h = header(index, mth([sha(reward(ADDR["carol"], 1, index))]), 1, root)
    held = {a: (bal, nn) for a, bal, nn in accounts}
    proofs = []
    for a in probes:
        bal, nn = held.get(a, (0, 0))
        mp = smt_prove(items, account_key(a))
        b = encode_account_proof(h, a, bal, nn, mp)
        assert verify_account_proof(b, a)["hash"] == sha(h)
        proofs.append({"address": a, "balance": bal, "next_nonce": nn, "present": a in held,
                       "kind": mp[0], "map_proof": mp.hex(), "proof": b.hex(), "size": len(b)})
    return {"description": description, "accounts": [{"address": a, "balance": bal, "next_nonce": nn}
                                                      for a, bal, nn in accounts],
            "root": root.hex(), "header": h.hex(), "hash": sha(h).hex(), "height": index, "proofs": proofs}


def probes_of_kinds(items, exclude):
    """The first address of POOL outside exclude for each absence kind
    that the map of items has."""
    found = {}
    for a in POOL:
        kind = smt_prove(items, account_key(a))[0]
        if a not in exclude and kind not in found:
            found[kind] = a
    return [found[k] for k in sorted(found)]


def account_vectors():
    entries = [(ADDR["alice"], 5, 0), (ADDR["bob"], 0, 3), (ADDR["carol"], 2**53 - 1, 2**64 - 1),
               (POOL[0], 1, 0), (POOL[1], 0, 1), (POOL[2], 0, 0)]
    accounts = [{"address": a, "balance": bal, "next_nonce": nn, "key": account_key(a).hex(),
                 "value_hash": value_hash(bal, nn).hex()} for a, bal, nn in entries]
    maps = [account_map("no account: every address is absent at the empty root (kind 1, n = 0)", 10, [],
                        [ADDR["alice"]]),
            account_map("one account: another address ends in its leaf (kind 2, n = 0)", 11,
                        [(ADDR["alice"], 5, 0)], [ADDR["alice"], ADDR["bob"]])]
    three = [(ADDR["alice"], 5, 0), (ADDR["bob"], 0, 3), (ADDR["carol"], 2**53 - 1, 2**64 - 1)]
    eight = three + [(a, 100 + i, i) for i, a in enumerate(POOL[3:8])]
    for index, (description, accounts_) in enumerate((("three accounts", three), ("eight accounts", eight)), 12):
        items = sorted((account_key(a), value_hash(bal, nn)) for a, bal, nn in accounts_)
        held = [a for a, _, _ in accounts_]
        maps.append(account_map(description + ": every one included, and the absences of the kinds it has",
                                index, accounts_, held + probes_of_kinds(items, held)))
    assert {p["kind"] for p in maps[-1]["proofs"]} == {0, 1, 2}
    return accounts, maps


# ---------------------------------------------------------------- refused encodings


def refused_vectors(txs, maps):
    out = []

    def refuse(description, kind, b, asked):
        verify = verify_tx_proof if kind == "transaction" else verify_account_proof
        try:
            verify(b, asked)
        except Refused as e:
            if e.stage == "decode":
                try:
                    decode_any(b)
                except Refused:
                    pass
                else:
                    raise SystemExit("decoded by its type byte: " + description)
            out.append({"description": description, "type": kind, "proof": b.hex(),
                        "id" if kind == "transaction" else "address": asked.hex() if kind == "transaction" else asked,
                        "stage": e.stage, "reason": str(e)})
            return
        raise SystemExit("not refused: " + description)

    blk = txs[4]  # seven transactions
    good = bytes.fromhex(blk["proofs"][2]["proof"])
    tid = bytes.fromhex(blk["proofs"][2]["id"])
    h, m, t, p = bytes.fromhex(blk["header"]), 2, bytes.fromhex(blk["proofs"][2]["transaction"]), \
        [bytes.fromhex(x) for x in blk["proofs"][2]["path"]]
    tx = "transaction"
    refuse("empty", tx, b"", tid)
    refuse("the type byte alone", tx, bytes([TYPE_TX]), tid)
    refuse("the last byte cut", tx, good[:-1], tid)
    refuse("a byte appended", tx, good + b"\x00", tid)
    refuse("type byte 0x02 on a transaction proof", tx, bytes([TYPE_ACCOUNT]) + good[1:], tid)
    refuse("type byte 0x00", tx, bytes([0]) + good[1:], tid)
    refuse("type byte 0x03", tx, bytes([3]) + good[1:], tid)
    v2 = h[:96] + struct.pack(">I", 2) + h[100:]
    refuse("a header of version 2", tx, encode_tx_proof(v2, m, t, p), tid)
    refuse("path length one short (k and the hashes agree)", tx, encode_tx_proof(h, m, t, p[:-1]), tid)
    refuse("path length one long (k and the hashes agree)", tx, encode_tx_proof(h, m, t, p + [p[0]]), tid)
    refuse("k says one hash more than follow", tx, encode_tx_proof(h, m, t, p, len(p) + 1), tid)
    refuse("k says one hash fewer than follow", tx, encode_tx_proof(h, m, t, p, len(p) - 1), tid)
    refuse("a bit of the first path hash flipped", tx,
           encode_tx_proof(h, m, t, [p[0][:31] + bytes([p[0][31] ^ 1])] + p[1:]), tid)
    refuse("two path hashes swapped", tx, encode_tx_proof(h, m, t, [p[1], p[0]] + p[2:]), tid)
    refuse("a bit of the header's tx_root flipped", tx,
           encode_tx_proof(h[:32] + bytes([h[32] ^ 1]) + h[33:], m, t, p), tid)
    refuse("the position of another transaction (m = 3)", tx, encode_tx_proof(h, 3, t, p), tid)
    refuse("a position beyond tx_count (m = 7 of 7)", tx, encode_tx_proof(h, 7, t, p), tid)
    refuse("a byte of the transaction changed (its amount)", tx,
           encode_tx_proof(h, m, t[:-1] + bytes([t[-1] ^ 1]), p), tid)
    refuse("a valid proof of another transaction than asked", tx, good, bytes.fromhex(blk["proofs"][3]["id"]))
    refuse("transaction length 0", tx, encode_tx_proof(h, m, b"", p), tid)
    long_t = tx_unsigned("s" * 128, "r" * 128, 1, 0) + bytes(349 - 276)
    refuse("transaction length 349", tx, encode_tx_proof(h, m, long_t, p), sha(long_t))
    # A block whose tree holds the id of bytes that are no transaction (a
    # signed transaction with an all-zero signature): the path verifies,
    # the transaction does not decode.
    sblk = txs[1]
    st = bytearray(bytes.fromhex(sblk["proofs"][0]["transaction"]))
    st[-64:] = bytes(64)
    st = bytes(st)
    ids = [sha(st), bytes.fromhex(sblk["proofs"][1]["id"])]
    bh = header(20, mth(ids), 2)
    refuse("in the tree, but an all-zero signature: not a transaction", tx,
           encode_tx_proof(bh, 0, st, path(0, ids)), ids[0])
    # The 2,000-transaction block: 11 hashes at most.
    big = txs[5]["proofs"][-1]
    bp = [bytes.fromhex(x) for x in big["path"]]
    refuse("12 path hashes in a block of 2,000", tx,
           encode_tx_proof(bytes.fromhex(txs[5]["header"]), big["index"], bytes.fromhex(big["transaction"]),
                           bp + [bp[-1]]), bytes.fromhex(big["id"]))

    acc = "account"
    eight = maps[3]
    inc = next(x for x in eight["proofs"] if x["present"] and x["balance"] > 0)
    absent1 = next(x for x in eight["proofs"] if x["kind"] == 1)
    absent2 = next(x for x in eight["proofs"] if x["kind"] == 2)
    good = bytes.fromhex(inc["proof"])
    eh, ea = bytes.fromhex(eight["header"]), inc["address"]
    emp = bytes.fromhex(inc["map_proof"])
    refuse("empty", acc, b"", ea)
    refuse("the last byte cut", acc, good[:-1], ea)
    refuse("a byte appended", acc, good + b"\x00", ea)
    refuse("type byte 0x01 on an account proof", acc, bytes([TYPE_TX]) + good[1:], ea)
    refuse("type byte 0x03", acc, bytes([3]) + good[1:], ea)
    refuse("a header of version 2", acc,
           encode_account_proof(eh[:96] + struct.pack(">I", 2) + eh[100:], ea, inc["balance"], inc["next_nonce"], emp),
           ea)
    refuse("map proof length says one byte more than follow", acc,
           encode_account_proof(eh, ea, inc["balance"], inc["next_nonce"], emp, len(emp) + 1), ea)
    refuse("map proof length 2", acc, encode_account_proof(eh, ea, 0, 0, b"\x01\x00"), ea)
    refuse("another balance", acc, encode_account_proof(eh, ea, inc["balance"] + 1, inc["next_nonce"], emp), ea)
    refuse("another next nonce", acc, encode_account_proof(eh, ea, inc["balance"], inc["next_nonce"] + 1, emp), ea)
    refuse("a zero account with an inclusion proof", acc, encode_account_proof(eh, ea, 0, 0, emp), ea)
    refuse("an absent account claimed with a balance (absence proof of kind 1)", acc,
           encode_account_proof(eh, absent1["address"], 5, 0, bytes.fromhex(absent1["map_proof"])), absent1["address"])
    refuse("an absent account claimed with a balance (absence proof of kind 2)", acc,
           encode_account_proof(eh, absent2["address"], 5, 0, bytes.fromhex(absent2["map_proof"])), absent2["address"])
    refuse("a bit of the last map-proof byte flipped", acc,
           encode_account_proof(eh, ea, inc["balance"], inc["next_nonce"], emp[:-1] + bytes([emp[-1] ^ 1])), ea)
    refuse("a bit of the header's state_root flipped", acc,
           encode_account_proof(eh[:64] + bytes([eh[64] ^ 1]) + eh[65:], ea, inc["balance"], inc["next_nonce"], emp),
           ea)
    refuse("a valid proof of another address than asked", acc, good, absent1["address"])
    # A present account claimed absent by a kind-2 proof whose other leaf
    # is its own: the key equals the other key.
    items = sorted((account_key(a["address"]), value_hash(a["balance"], a["next_nonce"])) for a in eight["accounts"])
    own = smt_prove(items, account_key(ea))
    forged = bytes([2]) + own[1:] + account_key(ea) + value_hash(inc["balance"], inc["next_nonce"])
    refuse("a present account claimed absent by a kind-2 proof of its own leaf", acc,
           encode_account_proof(eh, ea, 0, 0, forged), ea)
    # Text of 52 characters that is no address, in a map that holds its
    # key: the map proof verifies, the address rule refuses.
    for text in ("12D3KooW" + "0" * 44, "12D3KooX" + ea[8:]):
        m_items = [(account_key(text), value_hash(1, 0))]
        nh = header(21, mth([sha(reward(ADDR["carol"], 1, 21))]), 1, smt_hash(m_items))
        mp = smt_prove(m_items, account_key(text))
        refuse("%r is not an address (its key is in the map)" % text, acc,
               encode_account_proof(nh, text, 1, 0, mp), text)
    return out


def main():
    txs = tx_vectors()
    accounts, maps = account_vectors()
    vectors = {
        "note": "the headers' proof of work does not hold: these vectors test the proof forms of "
                "PROTOCOL.md 13, not a header chain; every header is version 3 with bits 0x1f00ffff and proof 0",
        "signed_network": {"genesis": GENESIS.hex(),
                           "note": "the signed transactions are signed for the signed devnet of ledger.json"},
        "transaction_blocks": txs,
        "accounts": accounts,
        "account_maps": maps,
        "refused": refused_vectors(txs, maps),
    }
    with open(os.path.join(HERE, "proofs.json"), "w") as f:
        json.dump(vectors, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
