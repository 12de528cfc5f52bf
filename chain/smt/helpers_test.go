package smt_test

import (
	"bytes"
	"crypto/sha256"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/gossipchain/gossipchain/chain/smt"
)

// reference is the root written straight from the definition: H(S, d)
// over a set held in a Go map.
func reference(set map[smt.Hash]smt.Hash) smt.Hash {
	keys := slices.SortedFunc(maps.Keys(set), func(a, b smt.Hash) int { return bytes.Compare(a[:], b[:]) })
	var h func(keys []smt.Hash, d int) smt.Hash
	h = func(keys []smt.Hash, d int) smt.Hash {
		switch len(keys) {
		case 0:
			return smt.Hash{}
		case 1:
			v := set[keys[0]]
			return sha256.Sum256(slices.Concat([]byte{0}, keys[0][:], v[:]))
		}
		i := 0
		for i < len(keys) && keys[i][d/8]>>(7-d%8)&1 == 0 {
			i++
		}
		l, r := h(keys[:i], d+1), h(keys[i:], d+1)
		return sha256.Sum256(slices.Concat([]byte{1}, l[:], r[:]))
	}
	return h(keys, 0)
}

func randomHash(rng *rand.Rand) smt.Hash {
	var h smt.Hash
	for i := range h {
		h[i] = byte(rng.Uint32())
	}
	return h
}

// randomSet returns n random keys with random values.
func randomSet(rng *rand.Rand, n int) map[smt.Hash]smt.Hash {
	set := make(map[smt.Hash]smt.Hash, n)
	for len(set) < n {
		set[randomHash(rng)] = randomHash(rng)
	}
	return set
}

// inserts returns the changes that write set, in a random order.
func inserts(rng *rand.Rand, set map[smt.Hash]smt.Hash) []smt.Change {
	changes := make([]smt.Change, 0, len(set))
	for k, v := range set {
		changes = append(changes, smt.Change{Key: k, Value: v})
	}
	rng.Shuffle(len(changes), func(i, j int) { changes[i], changes[j] = changes[j], changes[i] })
	return changes
}

// build writes set into a new MemStore in one update.
func build(t testing.TB, rng *rand.Rand, set map[smt.Hash]smt.Hash) (*smt.MemStore, smt.Hash) {
	t.Helper()
	s := smt.NewMemStore()
	root, err := smt.Apply(s, smt.Empty, inserts(rng, set))
	if err != nil {
		t.Fatal(err)
	}
	return s, root
}
