package merkle

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"

	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
)

// HashSize is the size of a leaf and of every hash of the tree, in bytes.
const HashSize = sha256.Size

// Hash is a SHA-256 digest: a leaf (a transaction id), a node or a root.
type Hash = [HashSize]byte

// The domain separation prefixes of RFC 6962.
const (
	leafPrefix = 0x00
	nodePrefix = 0x01
)

// ErrBadProof is wrapped by every error of [VerifyInclusion].
var ErrBadProof = errors.New("merkle: inclusion proof does not verify")

// LeafHash returns SHA-256(0x00 || leaf), the hash of a leaf in the tree.
func LeafHash(leaf Hash) Hash {
	var b [1 + HashSize]byte
	b[0] = leafPrefix
	copy(b[1:], leaf[:])
	return sha256.Sum256(b[:])
}

// NodeHash returns SHA-256(0x01 || left || right), the hash of an interior
// node.
func NodeHash(left, right Hash) Hash {
	var b [1 + 2*HashSize]byte
	b[0] = nodePrefix
	copy(b[1:], left[:])
	copy(b[1+HashSize:], right[:])
	return sha256.Sum256(b[:])
}

// Builder computes the root of a list of leaves added one at a time, in
// one pass and without allocating. It keeps the roots of the perfect
// subtrees that the leaves added so far fill, one per set bit of their
// count. The zero Builder is an empty list.
type Builder struct {
	n       uint64
	subtree [64]Hash // subtree[i]: the root of 2^i leaves, when bit i of n is set
}

// Add appends a leaf.
func (b *Builder) Add(leaf Hash) {
	h := LeafHash(leaf)
	level := 0
	for ; b.n&(1<<level) != 0; level++ {
		h = NodeHash(b.subtree[level], h)
	}
	b.subtree[level] = h
	b.n++
}

// Len returns the number of leaves added.
func (b *Builder) Len() uint64 { return b.n }

// Root returns the tree hash of the leaves added so far: the perfect
// subtrees joined from the smallest (rightmost) to the largest, which is
// MTH's split at the largest power of two below n applied at every level.
func (b *Builder) Root() Hash {
	if b.n == 0 {
		return sha256.Sum256(nil)
	}
	var root Hash
	found := false
	for level := range b.subtree {
		if b.n&(1<<level) == 0 {
			continue
		}
		if !found {
			root, found = b.subtree[level], true
			continue
		}
		root = NodeHash(b.subtree[level], root)
	}
	return root
}

// Root returns the tree hash of leaves (MTH in the package doc).
func Root(leaves []Hash) Hash {
	var b Builder
	for _, l := range leaves {
		b.Add(l)
	}
	return b.Root()
}

// InclusionProof returns the path that proves leaves[index] in the tree of
// leaves, from the leaf up (PATH in the package doc). Building it hashes
// every leaf once.
func InclusionProof(index int, leaves []Hash) ([]Hash, error) {
	if index < 0 || index >= len(leaves) {
		return nil, fmt.Errorf("merkle: index %d outside a tree of %d leaves", index, len(leaves))
	}
	var path []Hash
	for len(leaves) > 1 {
		k := splitPoint(len(leaves))
		if index < k {
			path = append(path, Root(leaves[k:]))
			leaves = leaves[:k]
		} else {
			path = append(path, Root(leaves[:k]))
			leaves = leaves[k:]
			index -= k
		}
	}
	// The loop walks from the root down; the path goes from the leaf up.
	for i, j := 0, len(path)-1; i < j; i, j = i+1, j-1 {
		path[i], path[j] = path[j], path[i]
	}
	return path, nil
}

// splitPoint returns the largest power of two smaller than n, for n > 1.
func splitPoint(n int) int {
	k := 1
	for k<<1 < n {
		k <<= 1
	}
	return k
}

// VerifyInclusion checks that path proves leaf at index in a tree of size
// leaves whose root is root. It returns nil when it does, and an error
// wrapping [ErrBadProof] that says why when it does not.
func VerifyInclusion(root Hash, index, size uint64, leaf Hash, path []Hash) error {
	hashes := make([][]byte, len(path))
	for i := range path {
		hashes[i] = path[i][:]
	}
	leafHash := LeafHash(leaf)
	got, err := proof.RootFromInclusionProof(rfc6962.DefaultHasher, index, size, leafHash[:], hashes)
	if err != nil {
		return fmt.Errorf("%w: leaf %d of %d: %w", ErrBadProof, index, size, err)
	}
	if !bytes.Equal(got, root[:]) {
		return fmt.Errorf("%w: leaf %d of %d gives root %x, not %x", ErrBadProof, index, size, got, root)
	}
	return nil
}
