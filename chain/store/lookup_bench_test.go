package store

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/gossipchain/gossipchain/chain"
	"github.com/gossipchain/gossipchain/chain/chaintest"
)

// lookupChain is a store of n blocks, one transaction each besides the
// reward, for the look-up benchmarks.
func lookupChain(b *testing.B, n int) (*Chain, []*chain.Block) {
	b.Helper()
	c := openChain(b, testConfig(b, chaintest.ParamsAt(b, 0)))
	p := c.Params()
	blocks := make([]*chain.Block, 0, n)
	parent := c.Genesis()
	for i := range n {
		parent = chaintest.NextBlock(b, &p, parent, "m", chaintest.Tx(fmt.Sprintf("s%d", i%97), "r", uint64(i+1), uint64(i)))
		blocks = append(blocks, parent)
	}
	for i := 0; i < n; i += 2000 {
		if _, _, err := c.AddBlocks(blocks[i:min(i+2000, n)]); err != nil {
			b.Fatal(err)
		}
	}
	return c, blocks
}

// BenchmarkLookups measures the reads by hash and by transaction id on a
// chain of 100,000 blocks: a main-chain block by hash, a confirmed
// transaction by id, and a hash the store does not hold.
func BenchmarkLookups(b *testing.B) {
	c, blocks := lookupChain(b, 100_000)
	r := rand.New(rand.NewPCG(1, 2))
	b.Run("BlockByHash", func(b *testing.B) {
		for b.Loop() {
			bl := blocks[r.IntN(len(blocks))]
			if got, err := c.BlockByHash(bl.Hash); err != nil || got.Index != bl.Index {
				b.Fatal(err)
			}
		}
	})
	b.Run("FindTransaction", func(b *testing.B) {
		for b.Loop() {
			bl := blocks[r.IntN(len(blocks))]
			if loc, err := c.FindTransaction(bl.Transactions[0].ID); err != nil || loc.Height != bl.Index {
				b.Fatal(err)
			}
		}
	})
	b.Run("HasBlockMiss", func(b *testing.B) {
		var h chain.Hash
		for b.Loop() {
			h[0], h[1], h[2], h[3] = byte(r.Uint32()), byte(r.Uint32()), byte(r.Uint32()), byte(r.Uint32())
			if c.HasBlock(h) {
				b.Fatal("unknown hash found")
			}
		}
	})
}
