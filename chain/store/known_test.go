package store

import (
	"fmt"
	"slices"
	"testing"

	"github.com/gossipchain/gossipchain/chain"
	"github.com/gossipchain/gossipchain/chain/chaintest"
)

// indexedChain returns a chain whose transaction index has a run and a
// tail, and its blocks, each with one transaction besides the reward.
func indexedChain(t testing.TB) (*Chain, []*chain.Block) {
	t.Helper()
	p := chaintest.ParamsAt(t, 0)
	c := openChain(t, testConfig(t, p))
	run := chaintest.Run{
		Miner: chaintest.Pay("miner"),
		Txs: func(i int) []chain.Transaction {
			return []chain.Transaction{chaintest.Tx(fmt.Sprintf("s%d", i%13), "r", 1, uint64(i))}
		},
	}
	blocks := run.Blocks(t, &p, c.Genesis(), flushEntries/3+100)
	for i := 0; i < len(blocks); i += 1000 {
		mustAddAll(t, c, blocks[i:min(i+1000, len(blocks))])
	}
	return c, blocks
}

// TestUnknownTransactions: ids pending or on the main chain (in an index
// run, in the tail) are known, before and after the duplicate filter is
// built; new ids are not.
func TestUnknownTransactions(t *testing.T) {
	c, blocks := indexedChain(t)
	pendingTx := chaintest.Tx("alice", "bob", 7, 1)
	if err := c.AddTransaction(pendingTx); err != nil {
		t.Fatal(err)
	}
	known := []chain.Hash{pendingTx.ID, blocks[10].Transactions[1].ID, blocks[len(blocks)-1].Transactions[1].ID}
	var fresh []chain.Hash
	for i := range 1000 {
		fresh = append(fresh, chaintest.Tx("nobody", "r", uint64(i+1), 0).ID)
	}
	check := func(when string) {
		t.Helper()
		got := c.UnknownTransactions(append(slices.Clone(known), fresh...))
		slices.SortFunc(got, func(a, b chain.Hash) int { return slices.Compare(a[:], b[:]) })
		want := slices.SortedFunc(slices.Values(fresh), func(a, b chain.Hash) int { return slices.Compare(a[:], b[:]) })
		if !slices.Equal(got, want) {
			t.Fatalf("%s: %d unknown of %d known and %d new ids, want the %d new", when, len(got), len(known), len(fresh), len(fresh))
		}
	}
	check("before the filter")
	waitDupFilter(t, c, len(blocks))
	check("with the filter")
	if got := c.UnknownTransactions(known); len(got) != 0 {
		t.Fatalf("known ids said unknown: %v", got)
	}
}

// BenchmarkAnnouncedIDs: the look-ups of one announcement of
// MaxPoolInventory (4,096) new ids on a chain with an index run and a
// tail, one FindTransaction per id (find) against one UnknownTransactions
// call (unknown).
func BenchmarkAnnouncedIDs(b *testing.B) {
	c, blocks := indexedChain(b)
	waitDupFilter(b, c, len(blocks))
	ids := make([]chain.Hash, 4096)
	for i := range ids {
		ids[i] = chaintest.Tx("nobody", "r", uint64(i+1), 0).ID
	}
	b.Run("find", func(b *testing.B) {
		for b.Loop() {
			for _, id := range ids {
				_, _ = c.FindTransaction(id)
			}
		}
	})
	b.Run("unknown", func(b *testing.B) {
		for b.Loop() {
			if len(c.UnknownTransactions(ids)) != len(ids) {
				b.Fatal("a new id said known")
			}
		}
	})
}
