package store

import (
	"fmt"
	"testing"
	"time"

	"github.com/gossipchain/gossipchain/chain"
	"github.com/gossipchain/gossipchain/chain/chaintest"
)

// waitDupFilter waits until a filter holding at least ids ids is
// installed and no build runs, and returns its capacity.
func waitDupFilter(t testing.TB, c *Chain, ids int) int {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		c.mu.Lock()
		ready := c.dups.bits != nil && !c.dups.building && c.dups.n >= ids
		limit := c.dups.limit
		c.mu.Unlock()
		if ready {
			return limit
		}
		if time.Now().After(deadline) {
			t.Fatalf("no duplicate filter of %d ids after 30s", ids)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// wantDupHolds checks that the filter may hold every transaction of blocks:
// it never says "not there" of an id on the main chain.
func wantDupHolds(t *testing.T, c *Chain, blocks []*chain.Block) {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, b := range blocks {
		for _, tx := range b.Transactions {
			if !c.dups.mayHold(tx.ID) {
				t.Fatalf("the duplicate filter lost transaction %s of block %d", tx.ID, b.Index)
			}
		}
	}
}

// TestDupFilter: the filter holds every id the main chain holds: built from
// the tails, rebuilt at twice its size once full, and built from the index
// runs on open; the duplicate check finds an id of a run and one of the
// tail through it; it costs at most 2.5 bytes per id past its minimum.
func TestDupFilter(t *testing.T) {
	p := chaintest.ParamsAt(t, 0)
	cfg := testConfig(t, p)
	c := openChain(t, cfg)
	var blocks []*chain.Block
	run := chaintest.Run{
		Miner: chaintest.Pay("miner"),
		Txs: func(i int) []chain.Transaction { // new ids in every run
			return []chain.Transaction{chaintest.Tx(fmt.Sprintf("s%d", i%13), "r", 1, uint64(len(blocks)+i))}
		},
	}
	add := func(n int) {
		parent := c.Genesis()
		if len(blocks) > 0 {
			parent = blocks[len(blocks)-1]
		}
		more := run.Blocks(t, &p, parent, n)
		for i := 0; i < n; i += 1000 {
			mustAddAll(t, c, more[i:min(i+1000, n)])
		}
		blocks = append(blocks, more...)
	}
	// A new store's filter, then past its capacity a larger one.
	limit := waitDupFilter(t, c, 1)
	add(limit/2 + 1)
	if grown := waitDupFilter(t, c, 2*len(blocks)); grown <= limit {
		t.Fatalf("capacity %d after %d ids, was %d", grown, 2*len(blocks), limit)
	}
	wantDupHolds(t, c, blocks)

	// Enough blocks for an index run (three entries per block), then the
	// filter built on open from the runs and the tails.
	add(flushEntries/3 - len(blocks) + 100)
	c.Close()
	c = openChain(t, cfg)
	waitDupFilter(t, c, 2*len(blocks))
	wantDupHolds(t, c, blocks)
	size, ids := c.dupFilterBytes()
	t.Logf("filter of %d ids: %d bytes, %.2f bytes per id", ids, size, float64(size)/float64(ids))
	if limit := max(2*ids, dupFilterMin); size > limit*dupFilterBits/8+bloomBlockBytes {
		t.Errorf("filter of %d ids takes %d bytes, more than %d bits per id of capacity %d", ids, size, dupFilterBits, limit)
	}

	// A duplicate of an id in a run, then of one in the tail.
	head := blocks[len(blocks)-1]
	for _, old := range []*chain.Block{blocks[100], blocks[len(blocks)-3]} {
		dup := chaintest.NextBlock(t, &p, head, "miner", old.Transactions[0])
		_, err := c.AddBlock(dup)
		chaintest.WantErr(t, err, chain.ErrDuplicateTx)
	}
}
