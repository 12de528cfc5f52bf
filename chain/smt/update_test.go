package smt_test

import (
	"errors"
	"maps"
	"math/rand/v2"
	"testing"

	"github.com/gossipchain/gossipchain/chain/smt"
)

func TestRootMatchesDefinition(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{0, 1, 2, 3, 4, 5, 8, 17, 100, 1000} {
		set := randomSet(rng, n)
		if _, root := build(t, rng, set); root != reference(set) {
			t.Fatalf("%d keys: root %x, want %x", n, root, reference(set))
		}
	}
}

// TestRootIsTheSets: after random sequences of inserts, updates and
// deletes in batches of random sizes, the root is that of the final set
// built from scratch, whatever the order; and every root along the way
// stays provable. This is what makes the state after any reorganisation
// equal to a replay from genesis.
func TestRootIsTheSets(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for round := range 30 {
		s := smt.NewMemStore()
		root := smt.Empty
		set := map[smt.Hash]smt.Hash{}
		var keys []smt.Hash // every key ever written, to update and delete
		type snapshot struct {
			root smt.Hash
			set  map[smt.Hash]smt.Hash
		}
		var history []snapshot
		for range 1 + rng.IntN(12) {
			var changes []smt.Change
			seen := map[smt.Hash]bool{}
			for range rng.IntN(60) {
				c := smt.Change{Key: randomHash(rng), Value: randomHash(rng)}
				if len(keys) > 0 && rng.IntN(3) > 0 {
					c.Key = keys[rng.IntN(len(keys))]
					c.Delete = rng.IntN(2) == 0
				}
				if seen[c.Key] {
					continue
				}
				seen[c.Key] = true
				changes = append(changes, c)
				if c.Delete {
					delete(set, c.Key)
				} else {
					set[c.Key] = c.Value
					keys = append(keys, c.Key)
				}
			}
			var err error
			if root, err = smt.Apply(s, root, changes); err != nil {
				t.Fatal(err)
			}
			history = append(history, snapshot{root, maps.Clone(set)})
		}
		if want := reference(set); root != want {
			t.Fatalf("round %d: root after the updates %x, from scratch %x", round, root, want)
		}
		if _, fresh := build(t, rng, set); fresh != root {
			t.Fatalf("round %d: root after the updates %x, built in one update %x", round, root, fresh)
		}
		for i, snap := range history {
			for k, v := range snap.set {
				checkIncluded(t, s, snap.root, k, v)
				break
			}
			if snap.root != reference(snap.set) {
				t.Fatalf("round %d, update %d: root %x, want %x", round, i, snap.root, reference(snap.set))
			}
		}
	}
}

func TestDeleteAll(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	set := randomSet(rng, 300)
	s, root := build(t, rng, set)
	var changes []smt.Change
	for k := range set {
		changes = append(changes, smt.Change{Key: k, Delete: true})
	}
	// Half in one update, the rest one by one.
	root, err := smt.Apply(s, root, changes[:150])
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range changes[150:] {
		if root, err = smt.Apply(s, root, []smt.Change{c}); err != nil {
			t.Fatal(err)
		}
	}
	if root != smt.Empty {
		t.Fatalf("root after deleting every key %x, want empty", root)
	}
}

func TestDeleteAbsentChangesNothing(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	set := randomSet(rng, 50)
	s, root := build(t, rng, set)
	got, nodes, err := smt.Update(s, root, []smt.Change{{Key: randomHash(rng), Delete: true}})
	if err != nil || got != root || len(nodes) != 0 {
		t.Fatalf("deleting an absent key: root %x (was %x), %d nodes, %v", got, root, len(nodes), err)
	}
}

func TestUpdateRefusals(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	k := randomHash(rng)
	s := smt.NewMemStore()
	if _, _, err := smt.Update(s, smt.Empty, []smt.Change{{Key: k}, {Key: k, Delete: true}}); err == nil {
		t.Error("two changes of one key: no error")
	}
	unknown := randomHash(rng)
	if _, _, err := smt.Update(s, unknown, []smt.Change{{Key: k}}); !errors.Is(err, smt.ErrMissingNode) {
		t.Errorf("update of a root not in the store: got %v, want ErrMissingNode", err)
	}
	if _, err := smt.Prove(s, unknown, k); !errors.Is(err, smt.ErrMissingNode) {
		t.Errorf("proof in a root not in the store: got %v, want ErrMissingNode", err)
	}
}

// TestUpdateCost: an update touching c keys of a map of n creates about
// c × log2 n nodes, not c × 256.
func TestUpdateCost(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	set := randomSet(rng, 10_000)
	s, root := build(t, rng, set)
	changes := inserts(rng, randomSet(rng, 100))
	_, nodes, err := smt.Update(s, root, changes)
	if err != nil {
		t.Fatal(err)
	}
	// log2(10,100) ≈ 13.3 levels, plus a few where two keys share bits.
	if max := 100 * 20; len(nodes) > max {
		t.Fatalf("100 inserts into 10,000 keys created %d nodes, want at most %d", len(nodes), max)
	}
}
