package chaintest

import (
	"fmt"
	"testing"

	"github.com/gossipchain/gossipchain/chain"
)

// Run describes consecutive blocks, each the parent of the next: block i
// (counted from 0) holds Txs(i) followed by the reward to Miner(i), is
// Spacing after its parent and is mined at the network's initial target.
// A Run whose Miner pays given addresses is a funded chain: its rewards are
// what signed transactions of those addresses spend.
type Run struct {
	Miner   func(i int) string              // the reward's recipient; required
	Txs     func(i int) []chain.Transaction // before the reward; nil: none
	Spacing chain.Timestamp                 // after the parent; 0: Second, as NewBlock
}

// Pay returns a Run's Miner that rewards addrs in turn: block i pays
// addrs[i % len(addrs)].
func Pay(addrs ...string) func(i int) string {
	return func(i int) string { return addrs[i%len(addrs)] }
}

// Build returns the n mined blocks of r on parent. It is the builder of
// callers without a testing.TB (benchmarks and tools).
func (r Run) Build(p *chain.Params, parent *chain.Block, n int) ([]*chain.Block, error) {
	out := make([]*chain.Block, 0, n)
	for i := range n {
		var txs []chain.Transaction
		if r.Txs != nil {
			txs = r.Txs(i)
		}
		b := NewBlock(p, parent, r.Miner(i), txs...)
		if r.Spacing != 0 {
			b.Timestamp = parent.Timestamp + r.Spacing
		}
		if err := MineBlock(b, b.Bits); err != nil {
			return nil, fmt.Errorf("block %d: %w", b.Index, err)
		}
		out = append(out, b)
		parent = b
	}
	return out, nil
}

// Blocks is Build for tests: it fails t rather than returning an error.
func (r Run) Blocks(t testing.TB, p *chain.Params, parent *chain.Block, n int) []*chain.Block {
	t.Helper()
	out, err := r.Build(p, parent, n)
	if err != nil {
		t.Fatal(err)
	}
	return out
}
