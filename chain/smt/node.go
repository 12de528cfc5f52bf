package smt

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"sync"
)

// HashSize is the size of a key, a value hash and every node hash, in
// bytes.
const HashSize = sha256.Size

// Hash is a SHA-256 digest: a key, a value hash, a node hash or a root.
type Hash = [HashSize]byte

// NodeSize is the size of a node's encoding: a prefix byte and two
// hashes.
const NodeSize = 1 + 2*HashSize

// The prefixes of leaves and internal nodes.
const (
	leafPrefix = 0x00
	nodePrefix = 0x01
)

// Empty is the hash of an empty subtree, and the root of an empty map:
// 32 zero bytes.
var Empty Hash

// ErrMissingNode is wrapped by the errors of [Update] and [Prove] when a
// node the root refers to is not in the store (never written, or pruned).
var ErrMissingNode = errors.New("smt: node not in the store")

// Node is a node as it is stored: Data is its encoding, 0x00 || key ||
// value hash for a leaf and 0x01 || left || right for an internal node,
// and Hash is SHA-256(Data). The hash of a node is the hash of its
// encoding, so a store keyed by hash is content-addressed.
type Node struct {
	Hash Hash
	Data [NodeSize]byte
}

// NodeReader gives the nodes that [Update] and [Prove] walk.
type NodeReader interface {
	// Get returns the encoding of the node whose hash is h, or an error
	// wrapping ErrMissingNode. The slice is read before the next call.
	Get(h Hash) ([]byte, error)
}

// NodeStore keeps nodes by hash. Put writes a batch; writing a node that
// is already there changes nothing.
type NodeStore interface {
	NodeReader
	Put(nodes []Node) error
}

// LeafHash returns SHA-256(0x00 || key || value), the hash of a leaf.
func LeafHash(key, value Hash) Hash {
	n := newNode(leafPrefix, key, value)
	return n.Hash
}

// NodeHash returns SHA-256(0x01 || left || right), the hash of an internal
// node.
func NodeHash(left, right Hash) Hash {
	n := newNode(nodePrefix, left, right)
	return n.Hash
}

func newNode(prefix byte, a, b Hash) Node {
	var n Node
	n.Data[0] = prefix
	copy(n.Data[1:], a[:])
	copy(n.Data[1+HashSize:], b[:])
	n.Hash = sha256.Sum256(n.Data[:])
	return n
}

// parsed is a node read from a store: a leaf (a = key, b = value hash) or
// an internal node (a = left, b = right).
type parsed struct {
	leaf bool
	a, b Hash
}

// get reads and parses the node h from r.
func get(r NodeReader, h Hash) (parsed, error) {
	data, err := r.Get(h)
	if err != nil {
		return parsed{}, fmt.Errorf("smt: node %x: %w", h, err)
	}
	if len(data) != NodeSize || data[0] > nodePrefix {
		return parsed{}, fmt.Errorf("smt: node %x is malformed (%d bytes)", h, len(data))
	}
	p := parsed{leaf: data[0] == leafPrefix}
	copy(p.a[:], data[1:])
	copy(p.b[:], data[1+HashSize:])
	return p, nil
}

// bit returns bit i of key, the most significant bit of key[0] first: 0
// turns left at depth i, 1 turns right.
func bit(key Hash, i int) byte {
	return key[i/8] >> (7 - i%8) & 1
}

// samePrefix reports whether a and b agree on their first n bits.
func samePrefix(a, b Hash, n int) bool {
	full := n / 8
	if !bytes.Equal(a[:full], b[:full]) {
		return false
	}
	if n%8 == 0 {
		return true
	}
	mask := byte(0xff) << (8 - n%8)
	return a[full]&mask == b[full]&mask
}

// MemStore is a NodeStore in memory. It is safe for concurrent use.
type MemStore struct {
	mu    sync.RWMutex
	nodes map[Hash][]byte
}

var _ NodeStore = (*MemStore)(nil)

// NewMemStore returns an empty MemStore.
func NewMemStore() *MemStore {
	return &MemStore{nodes: make(map[Hash][]byte)}
}

// Get implements NodeReader. The slice it returns is the store's own:
// read it, never change it.
func (s *MemStore) Get(h Hash) ([]byte, error) {
	s.mu.RLock()
	data, ok := s.nodes[h]
	s.mu.RUnlock()
	if !ok {
		return nil, ErrMissingNode
	}
	return data, nil
}

// Put implements NodeStore.
func (s *MemStore) Put(nodes []Node) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range nodes {
		if _, ok := s.nodes[nodes[i].Hash]; !ok {
			s.nodes[nodes[i].Hash] = slices.Clone(nodes[i].Data[:])
		}
	}
	return nil
}

// Len returns the number of nodes stored.
func (s *MemStore) Len() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.nodes)
}
