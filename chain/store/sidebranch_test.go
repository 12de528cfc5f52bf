package store

import (
	"errors"
	"fmt"
	"testing"

	"github.com/gossipchain/gossipchain/chain"
	"github.com/gossipchain/gossipchain/chain/chaintest"
)

// TestSideBranchFlood: unrequested side blocks are stored only within
// MaxSideForkDepth of the head and MaxSideBlocksPerHeight per height, so a
// flood of siblings of the head and of deep forks leaves the store within
// MaxSideBlocksPerHeight × (MaxSideForkDepth + 1) side blocks; a requested
// deep fork is stored, and PruneSideBranches deletes every side block whose
// fork fell more than MaxSideForkDepth below the head.
func TestSideBranchFlood(t *testing.T) {
	c := newTestChain(t, 4)
	p := c.Params()
	main := chaintest.Branch(t, &p, c.Genesis(), 30, "main")
	mustAddAll(t, c, main)
	head := main[len(main)-1]

	// 100 siblings of the head: MaxSideBlocksPerHeight are stored, the rest
	// refused without a rule error.
	stored := 0
	for i := range 100 {
		b := chaintest.NextBlock(t, &p, main[len(main)-2], fmt.Sprintf("sib%d", i))
		_, err := c.AddUnrequestedBlock(b)
		switch {
		case err == nil:
			stored++
		case errors.Is(err, ErrSideBranchRefused) && !chain.IsRuleError(err):
		default:
			t.Fatalf("sibling %d: %v", i, err)
		}
	}
	if stored != MaxSideBlocksPerHeight {
		t.Fatalf("%d siblings of the head stored, want %d", stored, MaxSideBlocksPerHeight)
	}
	// A fork deeper than MaxSideForkDepth is refused.
	deep := chaintest.NextBlock(t, &p, main[len(main)-2-MaxSideForkDepth], "deep")
	if _, err := c.AddUnrequestedBlock(deep); !errors.Is(err, ErrSideBranchRefused) {
		t.Fatalf("deep fork: %v, want ErrSideBranchRefused", err)
	}
	// A flood of short forks at every depth allowed stays within the bound.
	for d := 1; d <= MaxSideForkDepth; d++ {
		parent := main[len(main)-1-d]
		for i := range 5 {
			_, err := c.AddUnrequestedBlock(chaintest.NextBlock(t, &p, parent, fmt.Sprintf("f%d-%d", d, i)))
			if err != nil && !errors.Is(err, ErrSideBranchRefused) {
				t.Fatal(err)
			}
		}
	}
	bound := MaxSideBlocksPerHeight * (MaxSideForkDepth + 1)
	if n := c.SideBlocks(); n > bound {
		t.Fatalf("%d side blocks stored, bound %d", n, bound)
	}
	if c.Head().Hash != head.Hash {
		t.Fatalf("head moved to %s", c.Head().Hash)
	}

	// A requested deep fork (as a sync adds it) is stored at any depth...
	fork := chaintest.Branch(t, &p, c.Genesis(), 20, "fork")
	if _, n, err := c.AddFetchedBlocks(fork); err != nil || n != len(fork) {
		t.Fatalf("requested fork: %d added, %v", n, err)
	}
	// ...and pruned once no sync needs it, with every shallow side block
	// whose fork the head has left behind.
	if n, err := c.PruneSideBranches(true); err != nil || n != 0 {
		t.Fatalf("prune keeping requested: %d, %v", n, err)
	}
	mustAddAll(t, c, chaintest.Branch(t, &p, head, MaxSideForkDepth+2, "main"))
	n, err := c.PruneSideBranches(false)
	if err != nil {
		t.Fatal(err)
	}
	if c.SideBlocks() != 0 || n < len(fork) {
		t.Fatalf("after pruning: %d side blocks left, %d deleted", c.SideBlocks(), n)
	}
	if c.HasBlock(fork[0].Hash) || c.HasBlock(fork[len(fork)-1].Hash) {
		t.Fatalf("pruned fork still stored")
	}
	for _, b := range main {
		if !c.HasBlock(b.Hash) || !c.IsMain(b.Hash) {
			t.Fatalf("main-chain block %d lost", b.Index)
		}
	}
	// A pruned block sent again is judged again, like a new one.
	if _, err := c.AddUnrequestedBlock(fork[0]); !errors.Is(err, ErrSideBranchRefused) {
		t.Fatalf("pruned deep block again: %v", err)
	}
}
