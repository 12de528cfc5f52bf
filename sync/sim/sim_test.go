package sim

import (
	"context"
	"path/filepath"
	"runtime"
	"testing"
	"testing/synctest"
	"time"
)

// bubble runs f in a synctest bubble. Under the race detector it runs on
// one P, as go-libp2p-pubsub's own tests do: concurrent bubble timers
// trip a runtime bug in the detector (golang/go#78156).
func bubble(t *testing.T, f func(t *testing.T)) {
	if raceEnabled {
		prev := runtime.GOMAXPROCS(1)
		t.Cleanup(func() { runtime.GOMAXPROCS(prev) })
	}
	synctest.Test(t, f)
}

// TestSmallNetwork runs 30 complete nodes in three regions: every node
// accepts every block, and after a region is cut off and healed every node
// is on the heaviest head with the abandoned transaction pending again.
func TestSmallNetwork(t *testing.T) {
	bubble(t, func(t *testing.T) {
		ctx := context.Background()
		lat, inside := ThreeRegions()
		nw, err := NewNetwork(Config{Latency: lat, Inside: inside, Seed: 1,
			ValidateCost: 200 * time.Microsecond, StoreCost: time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		defer nw.Close()
		if err := nw.AddNodes(ctx, 30); err != nil {
			t.Fatal(err)
		}
		if err := nw.WaitReady(ctx, 30*time.Second); err != nil {
			t.Fatal(err)
		}
		r, err := nw.Propagate(ctx, 3, time.Second, 0)
		if err != nil {
			t.Fatal(err)
		}
		t.Log(r)
		if r.Missing != 0 {
			t.Fatalf("%d (block, node) pairs missing", r.Missing)
		}
		p, err := nw.PartitionHeal(ctx, 2, 5*time.Second, 30*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		t.Log(p)
		if p.Converged < 0 {
			t.Fatal("not every node is on the heaviest head after the heal")
		}
		if p.Back != p.Returned {
			t.Fatal("the abandoned branch's transaction is not pending again in the region")
		}
	})
}

// TestSeedChain starts nodes from a prepared store (the scenarios' long
// history): each node opens a copy of the whole store, its block segments
// included, and starts at its height.
func TestSeedChain(t *testing.T) {
	params := simParams(t)
	seed := filepath.Join(t.TempDir(), "chain.db")
	const length = 20
	if err := PrepareChain(t.Context(), params, seed, length); err != nil {
		t.Fatal(err)
	}
	bubble(t, func(t *testing.T) {
		nw, err := NewNetwork(Config{Params: params, Seed: 1, SeedChain: seed})
		if err != nil {
			t.Fatal(err)
		}
		defer nw.Close()
		if err := nw.AddNodes(context.Background(), 2); err != nil {
			t.Fatal(err)
		}
		for _, nd := range nw.Nodes() {
			if got := nd.Chain.Head().Height; got != length {
				t.Errorf("node %d starts at height %d, want %d", nd.Index, got, length)
			}
		}
	})
}
