// Package smt is the authenticated account state: a sparse Merkle map from
// 32-byte keys to 32-byte value hashes, whose root a header can commit to
// and against which a balance and a nonce, or the absence of an account,
// can be proven.
//
// It keeps no state of its own and imports no other gossipchain package.
// Nodes live in a [NodeStore] the caller provides ([MemStore] in memory;
// the node's store keeps them in bbolt); chain decides what keys and
// values are (for the signed ledger, key = SHA-256 of the address and
// value = SHA-256 of the balance and the next nonce).
//
// # Definition
//
// A key k is 256 bits, read from the most significant bit of its first
// byte: bit i of k is (k[i/8] >> (7 − i mod 8)) & 1; 0 turns left at depth
// i, 1 turns right. For a set S of (key, value hash) pairs whose keys all
// share their first d bits, the hash H(S, d) of the subtree at depth d is:
//
//	H({}, d)           = 32 zero bytes                                  (empty)
//	H({(k, v)}, d)     = SHA-256(0x00 || k || v)                        (a leaf, 65 bytes hashed)
//	H(S, d), |S| ≥ 2   = SHA-256(0x01 || H(S0, d+1) || H(S1, d+1))      (an internal node, 65 bytes hashed)
//
// where S0 holds the pairs of S whose key has bit d = 0 and S1 those with
// bit d = 1 (a map holds each key once). The root of the map is H(S, 0).
// A subtree with one key is its leaf, wherever it stands: a leaf sits at
// the depth where its key's path becomes unique, not at depth 256 (as in
// Diem's Jellyfish Merkle tree and the compact sparse Merkle tree), so a
// key costs about log2 n hashes, not 256. A subtree that holds two keys
// agreeing on their next j bits is a chain of j internal nodes, each with
// one empty child, above the node that splits them. The root depends on
// the set alone, never on the order in which keys were written or
// removed; the empty map's root is 32 zero bytes.
//
// # Proofs
//
// The path of a key k from the root goes down, at depth i, to the child
// on the side of bit i of k, until it reaches an empty subtree or a leaf.
// Its length n (0 ≤ n ≤ 256) is the number of internal nodes it passes;
// sibling i (0 ≤ i < n) is the hash of the other child of the node at
// depth i. The path ends in one of three ways: in k's own leaf (k is in
// the map: kind 0, included), in an empty subtree (kind 1, absent) or in
// the leaf of another key k' that shares k's first n bits (kind 2,
// absent; the proof carries k' and its value hash v').
//
// A proof is encoded as:
//
//	byte 0               kind: 0, 1 or 2
//	bytes 1-2            n, big-endian, 0 ≤ n ≤ 256
//	next ⌈n/8⌉ bytes     bitmap: bit i (byte i/8, mask 0x80 >> (i mod 8)) is 1
//	                     when sibling i is not empty; bits from n on are 0
//	then                 each non-empty sibling, 32 bytes, in order of i (root first)
//	then, kind 2 only    k' (32 bytes) and v' (32 bytes)
//
// and nothing after. A decoder refuses any other encoding: a kind above 2,
// n above 256, a bitmap bit set from n on, a sibling marked non-empty that
// is 32 zero bytes, an empty sibling n − 1 (the deepest sibling of a path
// is never empty: its parent holds at least two keys), a short or long
// input. So a root and a key have exactly one valid proof. The longest is
// [MaxProofSize] = 8,291 bytes; a map of n random keys gives paths of
// about log2 n levels, each with a sibling: at a million keys a proof is
// 655 bytes on average (675 for an absence).
//
// To verify that the map with root R maps k to v (inclusion), or holds
// no k (absence): refuse kind 0 for an absence and kinds 1 and 2 for an
// inclusion; for kind 2, refuse k' = k or a k' whose first n bits differ
// from k's. Start from t = SHA-256(0x00 || k || v) for kind 0, 32 zero
// bytes for kind 1, SHA-256(0x00 || k' || v') for kind 2; for i from n − 1
// down to 0, with s the sibling i (32 zero bytes when empty), set t =
// SHA-256(0x01 || t || s) when bit i of k is 0 and t = SHA-256(0x01 || s ||
// t) when it is 1. The proof is valid exactly when t = R.
//
// # Storage
//
// A node is stored as the 65 bytes it hashes (0x00 || k || v or 0x01 ||
// left || right) under its hash; an empty subtree is never stored. Nodes
// are content-addressed and never rewritten, so every root a header ever
// committed to stays provable until its nodes are pruned; pruning, which
// needs to know which nodes later roots still share, is the store's.
// [Update] reads the paths of the changed keys and returns the new root
// with the nodes it created, O(changes × log n); the caller writes them
// with the block that causes them. [Prove] reads one node per level.
// testdata/smt.json holds vectors written by an independent generator,
// testdata/gen_merkle_vectors.py.
package smt
