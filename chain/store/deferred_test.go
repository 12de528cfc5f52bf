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
	saved := crashCopy(b, cfg.Path, b.TempDir())
	c.Close()
	for b.Loop() {
		b.StopTimer()
		crashCopy(b, saved, filepath.Dir(cfg.Path))
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

// storedAccounts counts the accounts of a signed network's store: bbolt's,
// with the changes of the blocks not yet committed.
func storedAccounts(c *Chain) int {
	n := 0
	_ = c.read(func(v *view) error {
		held := map[string]bool{}
		_ = v.tx.Bucket(bucketAccounts).ForEach(func(k, _ []byte) error { held[string(k)] = true; return nil })
		if v.pend != nil {
			for _, m := range v.pend.accts {
				for addr, raw := range m {
					held[addr] = raw != nil
				}
			}
		}
		for _, ok := range held {
			if ok {
				n++
			}
		}
		return nil
	})
	return n
}

// crashCopy copies the store at path, open or not, into dir as a kill
// leaves it: the bbolt file as of its last commit, the segments with every
// record written. It returns the copy's path.
func crashCopy(tb testing.TB, path, dir string) string {
	tb.Helper()
	segs, err := filepath.Glob(filepath.Join(segmentDir(path), "*.seg"))
	if err != nil {
		tb.Fatal(err)
	}
	to := filepath.Join(dir, filepath.Base(path))
	copyFile(tb, path, to, -1)
	for _, f := range segs {
		copyFile(tb, f, filepath.Join(segmentDir(to), filepath.Base(f)), -1)
	}
	return to
}

// TestReplaySigned: on a signed network, blocks acknowledged before their
// commit are all there after a kill, with the accounts they leave, their
// payments out of the pool and the payment that follows them still in it.
func TestReplaySigned(t *testing.T) {
	p := chaintest.ParamsAt(t, 0)
	p.Ledger = chain.LedgerSigned
	p.Reward = 1000
	key, miner := chaintest.Key(t, "miner")
	_, bob := chaintest.Key(t, "bob")
	const run, n = 10, 5
	c, cfg, parent := openRun(t, p, miner, run)
	for i := range n {
		tx := signedTx(t, c, key, bob, 7, uint64(i))
		if err := c.AddTransaction(tx); err != nil {
			t.Fatal(err)
		}
		parent = chaintest.NextBlock(t, &p, parent, miner, tx)
		mustAdd(t, c, parent)
	}
	next := signedTx(t, c, key, bob, 1, n)
	if err := c.AddTransaction(next); err != nil {
		t.Fatal(err)
	}
	if got := pendingLen(c); got != n {
		t.Fatalf("%d blocks pending, want %d", got, n)
	}
	want := func(c *Chain) {
		t.Helper()
		if h := c.Head(); h.Hash != parent.Hash {
			t.Fatalf("head %d, want %d", h.Height, parent.Index)
		}
		reward := p.Reward
		wantAccount(t, c, miner, uint64(run+n)*reward-7*n, n)
		wantAccount(t, c, bob, 7*n, 0)
		if got := chaintest.IDsOf(c.Pending(0)); !slices.Equal(got, []chain.Hash{next.ID}) {
			t.Fatalf("pending %v, want only the payment after the blocks", got)
		}
	}
	want(c)
	killed := testConfig(t, p)
	killed.Path = crashCopy(t, cfg.Path, t.TempDir())
	k := openChain(t, killed)
	want(k)
	k.Close()
	want(reopen(t, c))
}

// openRun opens a store of p holding a run of n blocks paying miner, added
// in one batch, and returns it, its configuration and the last block.
func openRun(t testing.TB, p chain.Params, miner string, n int) (*Chain, Config, *chain.Block) {
	t.Helper()
	cfg := testConfig(t, p)
	c := openChain(t, cfg)
	blocks := chaintest.Run{Miner: chaintest.Pay(miner)}.Blocks(t, &p, c.Genesis(), n)
	if _, _, err := c.AddBlocks(blocks); err != nil {
		t.Fatal(err)
	}
	return c, cfg, blocks[len(blocks)-1]
}

// TestReplayStopsAtABranch: the records past the last commit are added
// again only while they extend the head; a block of another branch whose
// commit a crash cut off (never acknowledged) is cut from the segment with
// what follows it.
func TestReplayStopsAtABranch(t *testing.T) {
	p := chaintest.ParamsAt(t, chaintest.Difficulty)
	cfg := testConfig(t, p)
	c := openChain(t, cfg)
	blocks := chaintest.Branch(t, &p, c.Genesis(), 4, "m")
	if _, _, err := c.AddBlocks(blocks); err != nil {
		t.Fatal(err)
	}
	before := crashCopy(t, cfg.Path, t.TempDir())
	seg0 := filepath.Join(segmentDir(cfg.Path), "00000000.seg")
	size := fileSize(t, seg0)
	// A rival branch that wins, then a block on it: their records follow
	// the last commit of before.
	rival := chaintest.Branch(t, &p, blocks[1], 3, "rival")
	if _, _, err := c.AddBlocks(rival); err != nil {
		t.Fatal(err)
	}
	c.Close()
	run := testConfig(t, p)
	run.Path = crashCopy(t, before, t.TempDir())
	copyFile(t, seg0, filepath.Join(segmentDir(run.Path), "00000000.seg"), -1)
	c = openChain(t, run)
	if h := c.Head(); h.Hash != blocks[3].Hash {
		t.Fatalf("head %d %s, want %d %s", h.Height, h.Hash, blocks[3].Index, blocks[3].Hash)
	}
	if c.HasBlock(rival[0].Hash) {
		t.Fatal("the rival block, never committed, is stored")
	}
	if n := fileSize(t, filepath.Join(segmentDir(run.Path), "00000000.seg")); n != size {
		t.Fatalf("segment of %d bytes after open, want %d", n, size)
	}
	mustAddAll(t, c, rival)
	if h := c.Head(); h.Hash != rival[2].Hash {
		t.Fatalf("head %d after the rival branch was added again", h.Height)
	}
}
