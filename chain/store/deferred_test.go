package store

import (
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/gossipchain/gossipchain/chain"
	"github.com/gossipchain/gossipchain/chain/chaintest"
)

// pendingLen returns how many blocks wait for their commit.
func pendingLen(c *Chain) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.pend == nil {
		return 0
	}
	return len(c.pend.recs)
}

// TestPendingBlocksAreRead: single blocks acknowledged before their
// commit are found by every read (by height, hash, transaction, in the
// main-chain walks, the locator), and still after a batch commits them.
func TestPendingBlocksAreRead(t *testing.T) {
	c := newTestChain(t, chaintest.Difficulty)
	p := c.Params()
	base := chaintest.Branch(t, &p, c.Genesis(), 5, "m")
	if _, _, err := c.AddBlocks(base); err != nil {
		t.Fatal(err)
	}
	parent := base[len(base)-1]
	var singles []*chain.Block
	for i := range 10 {
		tx := chaintest.Tx("alice", "bob", uint64(i+1), uint64(i))
		if err := c.AddTransaction(tx); err != nil {
			t.Fatal(err)
		}
		parent = chaintest.NextBlock(t, &p, parent, "m", tx)
		mustAdd(t, c, parent)
		singles = append(singles, parent)
	}
	if n := pendingLen(c); n != len(singles) {
		t.Fatalf("%d blocks pending, want %d", n, len(singles))
	}
	all := append(append([]*chain.Block{c.Genesis()}, base...), singles...)
	check := func(when string) {
		t.Helper()
		for _, b := range all {
			if got, err := c.BlockByHeight(b.Index); err != nil || got.Hash != b.Hash {
				t.Fatalf("%s: block at %d: %v", when, b.Index, err)
			}
			if got, err := c.BlockByHash(b.Hash); err != nil || got.Index != b.Index || !c.IsMain(b.Hash) {
				t.Fatalf("%s: block %d by hash: %v", when, b.Index, err)
			}
		}
		for _, b := range singles {
			loc, err := c.FindTransaction(b.Transactions[1].ID)
			if err != nil || loc.Pending || loc.Height != b.Index {
				t.Fatalf("%s: transaction of block %d: %+v %v", when, b.Index, loc, err)
			}
		}
		if got := mainHashes(t, c); !slices.Equal(got, chaintest.HashesOf(all...)) {
			t.Fatalf("%s: the main chain walk gives %d blocks, want %d", when, len(got), len(all))
		}
		var raw int
		if err := c.RawMainChain(uint64(len(all)-2), 0, func([]byte) error { raw++; return nil }); err != nil || raw != 3 {
			t.Fatalf("%s: RawMainChain from the pending blocks: %d blocks, %v", when, raw, err)
		}
		if loc := c.Locator(); loc[0] != parent.Hash {
			t.Fatalf("%s: the locator starts at %s, want the head", when, loc[0])
		}
		if h, ok := c.LocateFork([]chain.Hash{singles[3].Hash}); !ok || h != singles[3].Index {
			t.Fatalf("%s: LocateFork: %d %v", when, h, ok)
		}
		if c.PendingCount() != 0 {
			t.Fatalf("%s: %d pending transactions, want 0", when, c.PendingCount())
		}
	}
	check("pending")
	// A batch commits them first.
	more := chaintest.Branch(t, &p, parent, 2, "m")
	if _, _, err := c.AddBlocks(more); err != nil {
		t.Fatal(err)
	}
	all, parent = append(all, more...), more[1]
	if n := pendingLen(c); n != 0 {
		t.Fatalf("%d blocks pending after a batch", n)
	}
	check("committed")
	c = reopen(t, c)
	check("reopened")
}

// TestPendingBlocksCommitted: the Chain's own goroutine commits the
// pending blocks once there are deferBlocks of them.
func TestPendingBlocksCommitted(t *testing.T) {
	c := newTestChain(t, chaintest.Difficulty)
	p := c.Params()
	for _, b := range chaintest.Branch(t, &p, c.Genesis(), deferBlocks, "m") {
		mustAdd(t, c, b)
	}
	for deadline := time.Now().Add(30 * time.Second); pendingLen(c) != 0; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d blocks still pending after 30 s", pendingLen(c))
		}
	}
	if err := c.read(func(v *view) error {
		head, err := dbHead(v.tx)
		if err != nil || head != c.Head().Hash {
			t.Errorf("the committed head is %s (%v), want %s", head, err, c.Head().Hash)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// BenchmarkOpenReplay is BenchmarkOpen with deferBlocks-1 single blocks
// acknowledged after the last commit, as a kill leaves them: Open adds
// them again.
func BenchmarkOpenReplay(b *testing.B) {
	p, blocks := longChain(b)
	n := len(blocks) - (deferBlocks - 1)
	cfg := testConfig(b, p)
	cfg.Now = time.Now
	c := openChain(b, cfg)
	if _, _, err := c.AddBlocks(blocks[:n]); err != nil {
		b.Fatal(err)
	}
	for _, bl := range blocks[n:] {
		mustAdd(b, c, bl)
	}
	// The files as a kill leaves them: bbolt's as of the last commit, the
	// segments with the records past it.
	saved := filepath.Join(b.TempDir(), "chain.db")
	files := []string{cfg.Path}
	segs, err := filepath.Glob(filepath.Join(segmentDir(cfg.Path), "*.seg"))
	if err != nil {
		b.Fatal(err)
	}
	files = append(files, segs...)
	restore := func(from, to string) {
		for _, f := range files {
			rel, _ := filepath.Rel(filepath.Dir(cfg.Path), f)
			copyFile(b, filepath.Join(from, rel), filepath.Join(to, rel), -1)
		}
	}
	restore(filepath.Dir(cfg.Path), filepath.Dir(saved))
	c.Close()
	for b.Loop() {
		b.StopTimer()
		restore(filepath.Dir(saved), filepath.Dir(cfg.Path))
		b.StartTimer()
		c, err := Open(cfg)
		if err != nil {
			b.Fatal(err)
		}
		if h := c.Head(); h.Hash != blocks[len(blocks)-1].Hash {
			b.Fatalf("head %d after open, want %d", h.Height, blocks[len(blocks)-1].Index)
		}
		c.Close()
	}
	b.ReportMetric(float64(len(blocks)*b.N)/b.Elapsed().Seconds(), "blocks/s")
}
