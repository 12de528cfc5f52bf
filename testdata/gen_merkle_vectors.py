#!/usr/bin/env python3
"""Generates merkle.json and smt.json in this directory: the vectors of the
transaction tree (RFC 6962's Merkle tree hash over transaction ids, with
inclusion proofs) and of the account-state map (the sparse Merkle map with
lifted leaves, its roots and its encoded proofs of inclusion and absence).

A second implementation, written from the definitions in the package docs
of chain/merkle and chain/smt (to be copied into PROTOCOL.md) and RFC 6962
with Python's hashlib only, so that the vectors do not come from the Go
code they test. Every valid proof is checked by this script's own
verifier, and every forged one refused by it, before it is written. Run it
with python3 from any directory; it rewrites both files.
"""

import hashlib
import json
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
ZERO = bytes(32)


def sha(*parts):
    return hashlib.sha256(b"".join(parts)).digest()


def be32(i):
    return struct.pack(">I", i)


# ---------------------------------------------------------------- transaction tree (RFC 6962)


def tx_leaf(i):
    """The i-th leaf of every tree in merkle.json."""
    return sha(be32(i))


def split(n):
    """The largest power of two smaller than n, for n > 1."""
    k = 1
    while 2 * k < n:
        k *= 2
    return k


def mth(d):
    if len(d) == 0:
        return sha(b"")
    if len(d) == 1:
        return sha(b"\x00", d[0])
    k = split(len(d))
    return sha(b"\x01", mth(d[:k]), mth(d[k:]))


def path(m, d):
    """RFC 6962 2.1.1 PATH(m, D[n]), from the leaf up."""
    if len(d) == 1:
        return []
    k = split(len(d))
    if m < k:
        return path(m, d[:k]) + [mth(d[k:])]
    return path(m - k, d[k:]) + [mth(d[:k])]


def verify_inclusion(root, index, size, leaf, proof):
    """RFC 9162 2.1.3.2."""
    if index >= size:
        return False
    fn, sn, r = index, size - 1, sha(b"\x00", leaf)
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = sha(b"\x01", p, r)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = sha(b"\x01", r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def proof_case(leaves, index, root, proof):
    return {"size": len(leaves), "index": index, "leaf": leaves[index].hex(),
            "root": root.hex(), "path": [p.hex() for p in proof]}


def merkle_vectors():
    sizes = [0, 1, 2, 3, 5, 7, 8, 2000]
    leaves = [tx_leaf(i) for i in range(2000)]
    trees, proofs, invalid = [], [], []
    for n in sizes:
        d = leaves[:n]
        root = mth(d)
        trees.append({"size": n, "root": root.hex()})
        indices = range(n) if n <= 8 else [0, 1, 1023, 1024, 1535, 1536, 1983, 1984, 1998, 1999]
        for m in indices:
            p = path(m, d)
            assert verify_inclusion(root, m, n, d[m], p)
            proofs.append(proof_case(d, m, root, p))
    # Forgeries, each refused by the verifier above.
    d = leaves[:7]
    root = mth(d)
    p = path(2, d)

    def bad(description, case):
        assert not verify_inclusion(bytes.fromhex(case["root"]), case["index"], case["size"],
                                    bytes.fromhex(case["leaf"]), [bytes.fromhex(x) for x in case["path"]])
        case["description"] = description
        invalid.append(case)

    flipped = [p[0][:31] + bytes([p[0][31] ^ 1])] + p[1:]
    bad("a bit of the first hash flipped", proof_case(d, 2, root, flipped))
    bad("the last hash missing", proof_case(d, 2, root, p[:-1]))
    bad("a hash added", proof_case(d, 2, root, p + [root]))
    bad("two hashes swapped", proof_case(d, 2, root, [p[1], p[0]] + p[2:]))
    case = proof_case(d, 2, root, p)
    case["index"] = 3
    bad("another index", case)
    case = proof_case(d, 2, root, p)
    case["index"], case["size"] = 7, 7
    bad("an index beyond the size", case)
    case = proof_case(d, 2, root, p)
    case["leaf"] = d[3].hex()
    bad("another leaf", case)
    # Bitcoin's tree gives [a, b, c] and [a, b, c, c] one root; this one does not.
    dup = d + [d[-1]]
    case = proof_case(dup, 7, root, path(7, dup))
    bad("the last leaf repeated (CVE-2012-2459), against the root of the list without it", case)
    return {"leaf_rule": "leaf i is SHA-256 of i as 4 bytes big-endian; a tree of n leaves holds leaves 0 to n-1",
            "leaves": [x.hex() for x in leaves[:8]],
            "trees": trees, "proofs": proofs, "invalid_proofs": invalid}


# ---------------------------------------------------------------- account-state map


def bit(k, i):
    return (k[i // 8] >> (7 - i % 8)) & 1


def smt_hash(items, d=0):
    """H(S, d) over a list of (key, value hash) pairs."""
    if not items:
        return ZERO
    if len(items) == 1:
        return sha(b"\x00", items[0][0], items[0][1])
    s0 = [kv for kv in items if bit(kv[0], d) == 0]
    s1 = [kv for kv in items if bit(kv[0], d) == 1]
    return sha(b"\x01", smt_hash(s0, d + 1), smt_hash(s1, d + 1))


def smt_prove(items, key):
    """The encoded proof of key: kind, n, bitmap, siblings, other leaf."""
    siblings, d, s = [], 0, items
    other = b""
    while True:
        if not s:
            kind = 1
            break
        if len(s) == 1:
            kind = 0 if s[0][0] == key else 2
            if kind == 2:
                other = s[0][0] + s[0][1]
            break
        s0 = [kv for kv in s if bit(kv[0], d) == 0]
        s1 = [kv for kv in s if bit(kv[0], d) == 1]
        if bit(key, d) == 0:
            siblings.append(smt_hash(s1, d + 1))
            s = s0
        else:
            siblings.append(smt_hash(s0, d + 1))
            s = s1
        d += 1
    return encode_proof(kind, siblings, other)


def encode_proof(kind, siblings, other=b""):
    n = len(siblings)
    bitmap = bytearray((n + 7) // 8)
    body = b""
    for i, s in enumerate(siblings):
        if s != ZERO:
            bitmap[i // 8] |= 0x80 >> (i % 8)
            body += s
    return bytes([kind]) + struct.pack(">H", n) + bytes(bitmap) + body + other


def smt_verify(root, key, value, proof):
    """value None claims absence. Decodes canonically, then recomputes."""
    if len(proof) < 3:
        return False
    kind, n = proof[0], struct.unpack(">H", proof[1:3])[0]
    if kind > 2 or n > 256:
        return False
    nb = (n + 7) // 8
    bitmap, rest = proof[3:3 + nb], proof[3 + nb:]
    if len(bitmap) != nb or (n % 8 and bitmap[-1] & (0xFF >> (n % 8))):
        return False
    siblings = []
    for i in range(n):
        if bitmap[i // 8] & (0x80 >> (i % 8)):
            if len(rest) < 32 or rest[:32] == ZERO:
                return False
            siblings.append(rest[:32])
            rest = rest[32:]
        else:
            siblings.append(ZERO)
    if n > 0 and siblings[-1] == ZERO:
        return False
    if kind == 2:
        if len(rest) < 64:
            return False
        ok, ov, rest = rest[:32], rest[32:64], rest[64:]
    if rest:
        return False
    if (value is None) != (kind != 0):
        return False
    if kind == 0:
        t = sha(b"\x00", key, value)
    elif kind == 1:
        t = ZERO
    else:
        if ok == key or any(bit(ok, i) != bit(key, i) for i in range(n)):
            return False
        t = sha(b"\x00", ok, ov)
    for i in range(n - 1, -1, -1):
        t = sha(b"\x01", t, siblings[i]) if bit(key, i) == 0 else sha(b"\x01", siblings[i], t)
    return t == root


def key_of(i):
    return sha(b"key", be32(i))


def value_of(i, version=0):
    return sha(b"value", be32(i), be32(version))


def proof_cases(items, root, keys):
    """Proofs of keys in the map of items, each checked by smt_verify."""
    values = dict(items)
    out = []
    for k in keys:
        proof = smt_prove(items, k)
        v = values.get(k)
        assert smt_verify(root, k, v, proof)
        out.append({"key": k.hex(), "value": v.hex() if v else None, "kind": proof[0], "proof": proof.hex()})
    return out


def neighbour(k):
    """k with its last bit flipped: a path that ends in k's leaf."""
    return k[:31] + bytes([k[31] ^ 1])


def map_case(description, items, probe, generated=None):
    root = smt_hash(items)
    case = {"description": description}
    if generated is None:
        case["entries"] = [{"key": k.hex(), "value": v.hex()} for k, v in items]
    else:
        case["generated"] = generated
    case["root"] = root.hex()
    case["proofs"] = proof_cases(items, root, probe)
    return case


def smt_vectors():
    maps = []
    maps.append(map_case("the empty map", [], [key_of(0)]))
    one = [(key_of(0), value_of(0))]
    maps.append(map_case("one key", one, [key_of(0), key_of(1)]))
    for n in (2, 3, 5, 16):
        items = [(key_of(i), value_of(i)) for i in range(n)]
        probe = [k for k, _ in items] + [key_of(1000 + i) for i in range(8)] + [neighbour(items[0][0])]
        maps.append(map_case("%d keys" % n, items, probe))
    a = key_of(0)
    b = neighbour(a)
    c = bytes([a[0] ^ 0x80]) + a[1:]
    deep = [(a, value_of(0)), (b, value_of(1)), (c, value_of(2))]
    maps.append(map_case("keys that differ in their last bit only: a path of 256 levels", deep,
                         [a, b, c, bytes([a[0] ^ 0x40]) + a[1:]]))
    big = [(key_of(i), value_of(i)) for i in range(1000)]
    probe = [key_of(i) for i in (0, 1, 499, 998, 999)] + [key_of(1000 + i) for i in range(8)]
    probe += [neighbour(key_of(i)) for i in (2, 3)]
    maps.append(map_case("1,000 keys", big, probe, generated=1000))
    for m in maps:
        kinds = {p["kind"] for p in m["proofs"]}
        if m["description"] in ("16 keys", "1,000 keys"):
            assert kinds == {0, 1, 2}, (m["description"], kinds)

    # A sequence of updates: inserts, then changed values, removals and
    # removals of absent keys, down to the empty map.
    state = {}
    steps = []

    def step(description, changes, probe):
        for ch in changes:
            if ch[1] is None:
                state.pop(ch[0], None)
            else:
                state[ch[0]] = ch[1]
        items = sorted(state.items())
        root = smt_hash(items)
        steps.append({"description": description,
                      "changes": [{"key": k.hex(), "value": v.hex()} if v else {"key": k.hex(), "delete": True}
                                  for k, v in changes],
                      "root": root.hex(), "proofs": proof_cases(items, root, probe)})

    step("insert keys 0 to 99", [(key_of(i), value_of(i)) for i in range(100)], [key_of(0), key_of(100)])
    step("new values for keys 0 to 19, remove keys 20 to 49, insert keys 100 to 119, remove absent key 5000",
         [(key_of(i), value_of(i, 1)) for i in range(20)] + [(key_of(i), None) for i in range(20, 50)]
         + [(key_of(i), value_of(i)) for i in range(100, 120)] + [(key_of(5000), None)],
         [key_of(0), key_of(20), key_of(49), key_of(100), neighbour(key_of(30))])
    step("remove every key but 7 and 50",
         [(key_of(i), None) for i in list(range(0, 7)) + list(range(8, 20)) + list(range(51, 120))],
         [key_of(7), key_of(50), key_of(0)])
    step("remove key 7: key 50's leaf becomes the root", [(key_of(7), None)], [key_of(50), key_of(7)])
    step("remove key 50: the empty map", [(key_of(50), None)], [key_of(50)])
    assert steps[-1]["root"] == ZERO.hex()

    invalid = []
    items = [(key_of(i), value_of(i)) for i in range(16)]
    root = smt_hash(items)

    def bad(description, key, value, proof):
        assert not smt_verify(root, key, value, proof), description
        invalid.append({"description": description, "root": root.hex(), "key": key.hex(),
                        "value": value.hex() if value else None, "proof": proof.hex()})

    k, v = key_of(3), value_of(3)
    p = smt_prove(items, k)
    n = struct.unpack(">H", p[1:3])[0]
    nb = (n + 7) // 8
    sibs = [p[3 + nb + 32 * i:3 + nb + 32 * (i + 1)] for i in range(n)]  # every sibling is non-empty here
    assert all(s != ZERO for s in sibs) and 2 <= n < 8
    bad("a bit of a sibling flipped", k, v, p[:-1] + bytes([p[-1] ^ 1]))
    bad("another value", k, value_of(4), p)
    bad("inclusion proof claimed as absence", k, None, p)
    bad("the last byte cut", k, v, p[:-1])
    bad("a byte added", k, v, p + b"\x00")
    bad("the deepest level cut", k, v, encode_proof(0, sibs[:-1]))
    bad("a level added with an empty sibling", k, v, encode_proof(0, sibs + [ZERO]))
    bad("a level added", k, v, encode_proof(0, sibs + [key_of(99)]))
    bad("two siblings swapped", k, v, encode_proof(0, [sibs[1], sibs[0]] + sibs[2:]))
    bad("a sibling marked non-empty that is 32 zero bytes", k, v, p[:3 + nb] + ZERO + p[3 + nb + 32:])
    bad("kind 3", k, v, bytes([3]) + p[1:])
    bad("a bitmap bit set beyond n", k, v, p[:3] + bytes([p[3] | (0x80 >> n)]) + p[3 + nb:] + key_of(98))
    absent = key_of(1003)
    pa = smt_prove(items, absent)
    bad("absence proof claimed as inclusion", absent, value_of(0), pa)
    q = smt_prove(items, neighbour(k))
    assert q[0] == 2
    bad("absence proof of the other leaf's own key", k, None, q)
    other_off_path = q[:-64] + key_of(999) + q[-32:]
    bad("the other leaf's key is off the path", neighbour(k), None, other_off_path)
    return {"key_rule": "key i is SHA-256(\"key\" || i as 4 bytes big-endian); "
                        "value i in version j is SHA-256(\"value\" || i as 4 bytes || j as 4 bytes), big-endian; "
                        "a map with \"generated\": n holds keys 0 to n-1 with their version-0 values",
            "maps": maps, "updates": steps, "invalid_proofs": invalid}


def main():
    for name, obj in (("merkle.json", merkle_vectors()), ("smt.json", smt_vectors())):
        with open(os.path.join(HERE, name), "w") as f:
            json.dump(obj, f, indent=1)
            f.write("\n")


if __name__ == "__main__":
    main()
