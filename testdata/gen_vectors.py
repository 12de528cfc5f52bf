#!/usr/bin/env python3
"""Generates gossipchain's consensus vectors for the next protocol version:
compact.json, work.json, retarget.json and netparams.json (with each
network's genesis under header version 3) in this directory.

This is a second implementation of the rules, written from PROTOCOL.md
("Difficulty retargeting (next protocol version)") with Python's integers
and nothing else, so that the vectors do not come from the Go code they
test. Run it with python3 from any directory; it rewrites the four files.
"""

import hashlib
import json
import os
import random
import struct

HERE = os.path.dirname(os.path.abspath(__file__))

# ---------------------------------------------------------------- compact


def compact_decode(c):
    """Bitcoin's SetCompact; returns the target or 'negative'/'overflow'."""
    size = c >> 24
    word = c & 0x007FFFFF
    if size <= 3:
        word >>= 8 * (3 - size)
        value = word
    else:
        value = word << (8 * (size - 3))
    if word != 0 and (c & 0x00800000):
        return "negative"
    if word != 0 and (size > 34 or (word > 0xFF and size > 33) or (word > 0xFFFF and size > 32)):
        return "overflow"
    return value


def compact_encode(t):
    """Bitcoin's GetCompact for 0 <= t < 2^256."""
    assert 0 <= t < 1 << 256
    size = (t.bit_length() + 7) // 8
    if size <= 3:
        word = t << (8 * (3 - size))
    else:
        word = t >> (8 * (size - 3))
    if word & 0x00800000:
        word >>= 8
        size += 1
    return (size << 24) | word


def zero_bits_target(d):
    return (1 << (256 - d)) - 1


def work(t):
    return (1 << 256) // (t + 1)


# ------------------------------------------------------------------ ASERT


def asert(anchor, time_diff, height_diff, spacing, half_life, max_target):
    """aserti3-2d with exact integers, clamped to [1, max_target]."""
    num = (time_diff - spacing * (height_diff + 1)) << 16
    exponent = abs(num) // half_life
    if num < 0:
        exponent = -exponent  # truncation toward zero
    shifts = exponent >> 16  # floor
    frac = exponent & 0xFFFF
    factor = 65536 + ((195766423245049 * frac + 971821376 * frac * frac
                       + 5127 * frac * frac * frac + (1 << 47)) >> 48)
    nxt = anchor * factor
    shifts -= 16
    nxt = nxt >> -shifts if shifts <= 0 else nxt << shifts
    return min(max(nxt, 1), max_target)


class Net:
    def __init__(self, name, block_us, half_life_us, initial, max_target, fixed=False):
        self.name, self.T, self.H = name, block_us, half_life_us
        self.initial, self.max, self.fixed = initial, max_target, fixed

    def json(self):
        return {"name": self.name, "target_block_time_us": self.T, "half_life_us": self.H,
                "initial_target": "0x%08x" % self.initial, "max_target": "0x%08x" % self.max,
                "fixed_difficulty": self.fixed}

    def chain(self, times):
        """Compact target of every block of a chain whose timestamps
        (genesis first) are times."""
        bits = [self.initial]
        marks = [times[0]]
        for i in range(1, len(times)):  # block index i+1, parent index i
            if self.fixed or i == 1:
                b = self.initial
            else:
                solve = self.T
                if i > 2:
                    solve = min(max(times[i - 1] - marks[i - 2], 0), 6 * self.T)
                parent = compact_decode(bits[i - 1])
                b = compact_encode(asert(parent, solve, 0, self.T, self.H, compact_decode(self.max)))
            bits.append(b)
            marks.append(max(marks[i - 1], times[i]))
        return bits


GENESIS = 1704067200_000000
START = GENESIS + 2 * 365 * 86400 * 1_000_000  # two years after the genesis
SEC = 1_000_000


def retarget_vectors():
    nets = [
        Net("t1s", SEC, 60 * SEC, compact_encode(zero_bits_target(20)), compact_encode(zero_bits_target(8))),
        Net("proposed", 10 * SEC, 40 * SEC, compact_encode(zero_bits_target(22)), compact_encode(zero_bits_target(22))),
        Net("fixed", SEC, 60 * SEC, compact_encode(zero_bits_target(20)), compact_encode(zero_bits_target(20)), fixed=True),
        Net("small", SEC, 10 * SEC, 0x05010000, 0x0700FFFF),
    ]
    by = {n.name: n for n in nets}
    rng = random.Random(20261201)
    cases = []

    def add(net, desc, times):
        bits = by[net].chain(times)
        cases.append({"network": net, "description": desc,
                      "blocks": [{"timestamp": t, "target": "0x%08x" % b} for t, b in zip(times, bits)]})

    def spaced(net, gaps):
        times, t = [GENESIS], START
        for g in gaps:
            t += g
            times.append(t)
        return times

    T = SEC
    add("t1s", "fresh network two years after the genesis, blocks on schedule: the initial target throughout",
        spaced("t1s", [T] * 30))
    add("t1s", "instant blocks: each one 2^(1/60) harder", spaced("t1s", [0] * 40))
    add("t1s", "blocks at three times the target: easier, up to the maximum target",
        spaced("t1s", [3 * T] * 300))
    add("t1s", "one 1000 s gap counts as 6 s", spaced("t1s", [T] * 5 + [1000 * T] + [T] * 5))
    add("t1s", "block 2 stamped at the genesis time, then the clock",
        [GENESIS, GENESIS] + [START + i * T for i in range(1, 20)])
    add("t1s", "timestamps that go back count as instant blocks; the next counts from the latest",
        spaced("t1s", [T, T, T, 5 * T, -3 * T, -1 * T, 2 * T, T, T, 7 * T, -6 * T, T, T, T]))
    add("t1s", "a block 5 s in the future, then the clock",
        spaced("t1s", [T] * 5 + [6 * T, -4 * T, T, T, T, T, T]))
    add("t1s", "200 blocks with exponentially distributed solve times (mean 1 s)",
        spaced("t1s", [int(rng.expovariate(1.0) * T) for _ in range(200)]))
    add("t1s", "200 blocks, hash rate ten times the initial equilibrium",
        spaced("t1s", [int(rng.expovariate(10.0) * T) for _ in range(200)]))
    add("proposed", "10 s blocks at 1/4 of the interval, then slow ones against the maximum target",
        spaced("proposed", [int(2.5 * SEC)] * 60 + [40 * SEC] * 60))
    add("fixed", "fixed difficulty: the initial target whatever the timestamps",
        spaced("fixed", [0, 5 * T, 100 * T, -2 * T, T]))
    add("small", "the smallest network target, 2^32: instant blocks make it harder, slow ones ease it to the maximum",
        spaced("small", [0] * 10 + [6 * T] * 50))

    asert_cases = []
    for anchor, td, hd, spacing, hl, mx in [
        (compact_decode(0x1d00ffff), 1200, 1, 600, 172800, (1 << 224) - 1),
        (compact_decode(0x1802aee8), 3600 * 24 * 3, 100, 600, 172800, (1 << 224) - 1),
        (zero_bits_target(20), 1500000, 0, 1000000, 60000000, zero_bits_target(8)),
        (zero_bits_target(20), -59000000, 0, 1000000, 60000000, zero_bits_target(8)),
        (zero_bits_target(4), 10**12, 0, 1000000, 60000000, (1 << 256) - 1),
        (zero_bits_target(1), 0, 10**6, 1, 1, (1 << 256) - 1),
        (12345, -(1 << 62), 0, 1, 1, 1 << 100),
        ((1 << 255) + 12345, 987654321, 77, 1000, 100000, (1 << 256) - 1),
    ]:
        tgt = asert(anchor, td, hd, spacing, hl, mx)
        asert_cases.append({"anchor_target": hex(anchor), "time_diff": td, "height_diff": hd,
                            "spacing": spacing, "half_life": hl, "max_target": hex(mx),
                            "target": hex(tgt), "compact": "0x%08x" % compact_encode(tgt)})
    return {"networks": [n.json() for n in nets], "chains": cases, "asert": asert_cases}


def compact_vectors():
    decode = []
    for c in [0x00000000, 0x00123456, 0x01003456, 0x02000056, 0x03000000, 0x04000000,
              0x00923456, 0x01803456, 0x02800056, 0x03800000, 0x04800000, 0x01123456,
              0x02123456, 0x03123456, 0x04123456, 0x05009234, 0x1d00ffff, 0x1e0fffff,
              0x1f00ffff, 0x20123456, 0x2100ffff, 0x22000001, 0x01fedcba, 0x04923456,
              0x21010000, 0x22000100, 0x23000001, 0xff123456, 0x01010000, 0x03008000]:
        v = compact_decode(c)
        if isinstance(v, str):
            decode.append({"compact": "0x%08x" % c, "error": v})
        else:
            decode.append({"compact": "0x%08x" % c, "target": hex(v), "canonical": "0x%08x" % compact_encode(v)})
    encode = []
    for t in [0, 1, 0x7f, 0x80, 0xff, 0x1234, 0x800000, 0x123456789, (1 << 224) - 1, (1 << 256) - 1] + \
            [zero_bits_target(d) for d in (0, 1, 8, 16, 20, 32, 64, 255, 256)]:
        encode.append({"target": hex(t), "compact": "0x%08x" % compact_encode(t)})
    return {"decode": decode, "encode": encode}


def work_vectors():
    targets = [{"target": hex(t), "work": hex(work(t))} for t in
               [0, 1, 2, 0xffff << 208, (1 << 224) - 1, (1 << 255), (1 << 256) - 1] +
               [zero_bits_target(d) for d in (0, 1, 20, 64, 256)]]
    rng = random.Random(11)
    chains = []
    for n in (1, 2, 10, 100):
        compacts = [compact_encode((1 << 256) - 1 >> rng.randrange(250)) for _ in range(n)]
        total = sum(work(compact_decode(c)) for c in compacts)
        chains.append({"compacts": ["0x%08x" % c for c in compacts], "total_work": hex(total)})
    return {"targets": targets, "chains": chains}


def netparams_encode(p):
    b = b"gossipchain/netparams" + bytes([1, len(p["name"])]) + p["name"].encode()
    b += struct.pack(">QQII", p["target_block_time_us"], p["half_life_us"],
                     int(p["initial_target"], 16), int(p["max_target"], 16))
    b += bytes([1 if p["fixed_difficulty"] else 0])
    b += struct.pack(">QII", p["reward"], p["max_block_size"], p["max_block_txs"])
    b += bytes([len(p["ledger"])]) + p["ledger"].encode()
    return b


# ------------------------------------------------------ header v3, genesis


def merkle_root(leaves):
    """RFC 6962's tree hash (MTH) of a list of 32-byte leaves."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return hashlib.sha256(b"\x00" + leaves[0]).digest()
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return hashlib.sha256(b"\x01" + merkle_root(leaves[:k]) + merkle_root(leaves[k:])).digest()


def tx_encode(sender, recipient, amount, nonce):
    """The canonical (unsigned) transaction, PROTOCOL.md 2.1."""
    s, r = sender.encode(), recipient.encode()
    return struct.pack(">H", len(s)) + s + struct.pack(">H", len(r)) + r + struct.pack(">QQ", amount, nonce)


def header_v3(prev, tx_root, state_root, index, timestamp, bits, tx_count, proof):
    """The 136-byte header of version 3, PROTOCOL.md 2.2."""
    h = prev + tx_root + state_root + struct.pack(">IQqIQQ", 3, index, timestamp, bits, tx_count, proof)
    assert len(h) == 136
    return h


def genesis(p, commitment):
    """The genesis of a network (PROTOCOL.md 10.5) in its binary form (2.3),
    its hash and the id of its one transaction, the reward."""
    reward = tx_encode("0", "gossipchain:" + p["name"], p["reward"], 1)
    txid = hashlib.sha256(reward).digest()
    h = header_v3(commitment, merkle_root([txid]), bytes(32), 1, GENESIS,
                  int(p["initial_target"], 16), 1, 0)
    return h + struct.pack(">I", 1) + reward, hashlib.sha256(h).hexdigest(), txid.hex()


def netparams_vectors():
    base = {"name": "devnet", "target_block_time_us": 10 * SEC, "half_life_us": 40 * SEC,
            "initial_target": "0x%08x" % compact_encode(zero_bits_target(22)),
            "max_target": "0x%08x" % compact_encode(zero_bits_target(22)),
            "fixed_difficulty": False, "reward": 1, "max_block_size": 1 << 20,
            "max_block_txs": 2000, "ledger": "open"}
    variants = [("the proposed devnet", {})]
    variants += [("fixed difficulty", {"fixed_difficulty": True}),
                 ("1 s blocks, 1 min half-life", {"name": "fast", "target_block_time_us": SEC, "half_life_us": 60 * SEC,
                                                  "initial_target": "0x%08x" % compact_encode(zero_bits_target(20)),
                                                  "max_target": "0x%08x" % compact_encode(zero_bits_target(8))}),
                 ("reward 50", {"reward": 50}),
                 ("the signed ledger", {"ledger": "signed"})]
    valid = []
    for desc, change in variants:
        p = dict(base, **change)
        enc = netparams_encode(p)
        commit = hashlib.sha256(enc).digest()
        g, ghash, rid = genesis(p, commit)
        valid.append({"description": desc, "params": p, "encoding": enc.hex(),
                      "commitment": commit.hex(), "genesis_binary": g.hex(),
                      "genesis_hash": ghash, "genesis_reward_id": rid})
    good = netparams_encode(base)
    mode = 21 + 1 + 1 + len(base["name"]) + 8 + 8 + 4 + 4  # offset of the difficulty mode
    invalid = [
        ("empty", b""),
        ("truncated by one byte", good[:-1]),
        ("a trailing byte", good + b"\x00"),
        ("version 2", good[:21] + b"\x02" + good[22:]),
        ("another magic", b"G" + good[1:]),
        ("difficulty mode 2", good[:mode] + b"\x02" + good[mode + 1:]),
        ("ledger mode \"utxo\" (unknown)", netparams_encode(dict(base, ledger="utxo"))),
        ("empty ledger mode", netparams_encode(dict(base, ledger=""))),
        ("initial target easier than the maximum", netparams_encode(
            dict(base, initial_target="0x%08x" % compact_encode(zero_bits_target(8))))),
        ("non-canonical initial target 0x04000100 (0x03010000)", netparams_encode(
            dict(base, initial_target="0x04000100"))),
        ("zero initial target", netparams_encode(dict(base, initial_target="0x00000000"))),
        ("initial target below 2^32", netparams_encode(dict(base, initial_target="0x047fffff"))),
        ("half-life of 1 block time", netparams_encode(dict(base, half_life_us=10 * SEC))),
        ("reward 0", netparams_encode(dict(base, reward=0))),
        ("name with an upper-case letter", netparams_encode(dict(base, name="Devnet"))),
    ]
    return {"valid": valid, "invalid": [{"description": d, "encoding": e.hex()} for d, e in invalid]}


def write(name, obj):
    with open(os.path.join(HERE, name), "w") as f:
        json.dump(obj, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    assert compact_encode(zero_bits_target(16)) == 0x1f00ffff
    assert merkle_root([]).hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    write("compact.json", compact_vectors())
    write("work.json", work_vectors())
    write("retarget.json", retarget_vectors())
    write("netparams.json", netparams_vectors())
