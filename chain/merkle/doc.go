// Package merkle is the Merkle tree of a block's transaction ids: the tree
// hash of RFC 6962 (section 2.1), as Certificate Transparency logs and
// github.com/transparency-dev/merkle define it, over SHA-256.
//
// It keeps no state and imports no other gossipchain package, so that the
// values package chain can commit to its transaction list with it.
//
// # Definition
//
// The leaves are the transaction ids of a block in block order, d[0] …
// d[n-1], each 32 bytes. The tree hash MTH of a list of n leaves is:
//
//	MTH({})       = SHA-256()                                   (the empty string)
//	MTH({d[0]})   = SHA-256(0x00 || d[0])                       (33 bytes hashed)
//	MTH(d[0:n])   = SHA-256(0x01 || MTH(d[0:k]) || MTH(d[k:n])) (65 bytes hashed), n > 1
//
// where k is the largest power of two smaller than n (k < n ≤ 2k). The
// prefix byte separates leaves from interior nodes, so no leaf can pass for
// a node or the other way round, and no node is ever duplicated: a list and
// the same list with its last leaf repeated have different roots, which is
// the ambiguity of Bitcoin's tree (CVE-2012-2459) that this one cannot
// have. The root of an empty list is
// e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855.
//
// # Inclusion proofs
//
// The inclusion proof of leaf m (0 ≤ m < n) in a tree of n leaves is the
// list of hashes PATH(m, d[0:n]) of RFC 6962 section 2.1.1, from the leaf
// up:
//
//	PATH(0, {d[0]}) = {}
//	PATH(m, d[0:n]) = PATH(m, d[0:k]) : MTH(d[k:n])     if m < k
//	PATH(m, d[0:n]) = PATH(m-k, d[k:n]) : MTH(d[0:k])   if m ≥ k
//
// (":" appends). Its length is fixed by m and n: at most ⌈log2 n⌉
// hashes, 11 for a block of 2,000 transactions. On the wire it is the
// concatenation of the hashes, 32 bytes each, with m and n beside it. A
// verifier recomputes the root from the leaf and the path as RFC 9162
// section 2.1.3.2 describes and compares it with the root it trusts;
// [VerifyInclusion] does so with transparency-dev/merkle's verifier, and
// refuses an index outside the tree or a path of the wrong length.
//
// # What the root does not commit to
//
// The root does not commit to n. A path proves that the leaf sits at the
// end of a sequence of left and right turns from the root; with the true
// n that sequence names exactly one index, but other pairs (m', n') can
// share it (leaf 0 of 5 and leaf 0 of 6 take the same turns). Membership
// is proven whatever size the verifier assumes; the index is only as
// right as the size, so a verifier takes n from what it trusts (a header
// that commits to the transaction count), never from the prover alone.
//
// # Where it is used
//
// [Root] and [Builder] compute the root (one pass, no allocation);
// [InclusionProof] builds a path; [VerifyInclusion] checks one.
// testdata/merkle.json holds vectors written by an independent generator,
// testdata/gen_merkle_vectors.py.
package merkle
