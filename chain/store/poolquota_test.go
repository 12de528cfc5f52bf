package store

import (
	"errors"
	"fmt"
	"testing"

	"github.com/gossipchain/gossipchain/chain"
	"github.com/gossipchain/gossipchain/chain/chaintest"
)

// TestPoolFairness: a peer that fills the pending pool does not lock anyone
// out: every other origin's transaction gets in by evicting the flooder's
// newest, the flooder itself gets ErrPoolFull, and the pool stays within its
// bounds, on disk as in memory.
func TestPoolFairness(t *testing.T) {
	cfg := testConfig(t, chaintest.ParamsAt(t, 4))
	cfg.PoolMaxCount = 50
	c := openChain(t, cfg)
	for i := range 50 {
		if err := c.AddTransactionFrom(chaintest.Tx("flood", "x", 1, uint64(i)), "flooder"); err != nil {
			t.Fatalf("flood %d: %v", i, err)
		}
	}
	err := c.AddTransactionFrom(chaintest.Tx("flood", "x", 1, 50), "flooder")
	if !errors.Is(err, chain.ErrPoolFull) {
		t.Fatalf("flooder over a full pool: %v, want ErrPoolFull", err)
	}
	// Honest peers and this node's own submissions get in.
	var honest []chain.Hash
	for i := range 10 {
		origin := []string{"", "peerA", "peerB"}[i%3]
		tx := chaintest.Tx("honest", fmt.Sprint(i), 1, uint64(i))
		if err := c.AddTransactionFrom(tx, origin); err != nil {
			t.Fatalf("honest %d from %q: %v", i, origin, err)
		}
		honest = append(honest, tx.ID)
	}
	if n := c.PendingCount(); n != 50 {
		t.Fatalf("pool holds %d, bound 50", n)
	}
	if got := c.PendingFrom("flooder"); got != 40 {
		t.Fatalf("flooder holds %d, want 40", got)
	}
	// The flooder's oldest stay (its newest went first).
	if loc, err := c.FindTransaction(chaintest.Tx("flood", "x", 1, 0).ID); err != nil || !loc.Pending {
		t.Fatalf("flooder's oldest evicted: %v", err)
	}
	if _, err := c.FindTransaction(chaintest.Tx("flood", "x", 1, 49).ID); !errors.Is(err, chain.ErrNotFound) {
		t.Fatalf("flooder's newest kept: %v", err)
	}
	// Equal contributors do not evict each other: fill with two origins.
	for i := range 40 {
		if err := c.AddTransactionFrom(chaintest.Tx("b", "x", 1, uint64(i)), "peerB"); err != nil && !errors.Is(err, chain.ErrPoolFull) {
			t.Fatal(err)
		}
	}
	if a, f := c.PendingFrom("peerB"), c.PendingFrom("flooder"); a > f+1 || f > a+1 {
		t.Fatalf("peerB %d and flooder %d do not share the pool evenly", a, f)
	}
	// What survives a restart matches memory.
	ids := chaintest.IDsOf(c.Pending(0))
	c.Close()
	c2 := openChain(t, cfg)
	if got := chaintest.IDsOf(c2.Pending(0)); len(got) != len(ids) {
		t.Fatalf("after restart %d pending, before %d", len(got), len(ids))
	}
	for _, id := range honest[:3] {
		if loc, err := c2.FindTransaction(id); err != nil || !loc.Pending {
			t.Fatalf("honest transaction %s lost: %v", id, err)
		}
	}
}
