package store

import (
	"errors"
	"math/big"
	"slices"
	"testing"
	"time"

	"github.com/gossipchain/gossipchain/chain"
	"github.com/gossipchain/gossipchain/chain/chaintest"
)

func TestExtendAndRead(t *testing.T) {
	c := newTestChain(t, chaintest.Difficulty)
	p := c.Params()
	g := c.Genesis()
	head := c.Head()
	if head.Hash != g.Hash || head.Height != 1 || head.Timestamp != chain.GenesisTimestamp || head.Work.Cmp(chain.Work(chaintest.Difficulty)) != 0 {
		t.Fatalf("initial head %+v", head)
	}
	blocks := []*chain.Block{g}
	for range 10 {
		changed := c.HeadChanged()
		b := chaintest.NextBlock(t, &p, blocks[len(blocks)-1], "miner", chaintest.Tx("alice", "bob", uint64(len(blocks)), 7))
		res := mustAdd(t, c, b)
		if res.Status != Extended || res.Head.Hash != b.Hash || res.Head.Height != b.Index || res.Abandoned != 0 || len(res.Returned) != 0 {
			t.Fatalf("AddBlock result %+v", res)
		}
		select {
		case <-changed:
		default:
			t.Fatal("HeadChanged did not fire")
		}
		blocks = append(blocks, b)
	}
	head = c.Head()
	if head.Height != 11 || head.Hash != blocks[10].Hash || head.Timestamp != blocks[10].Timestamp {
		t.Errorf("head %+v", head)
	}
	if want := new(big.Int).Mul(big.NewInt(11), chain.Work(chaintest.Difficulty)); head.Work.Cmp(want) != 0 {
		t.Errorf("work %v, want %v", head.Work, want)
	}
	head.Work.SetInt64(0) // a caller's copy must not alias the chain's
	if c.Head().Work.Sign() == 0 {
		t.Error("Head().Work aliases the chain's state")
	}
	for i, b := range blocks {
		got, err := c.BlockByHeight(uint64(i + 1))
		if err != nil || got.Hash != b.Hash {
			t.Fatalf("BlockByHeight(%d) = %v, %v", i+1, got, err)
		}
		got, err = c.BlockByHash(b.Hash)
		if err != nil || got.Hash != b.Hash || !slices.Equal(chaintest.IDsOf(got.Transactions), chaintest.IDsOf(b.Transactions)) {
			t.Fatalf("BlockByHash(%s) = %v, %v", b.Hash, got, err)
		}
		if !c.HasBlock(b.Hash) || !c.IsMain(b.Hash) {
			t.Fatalf("block %d not reported stored and main", i+1)
		}
	}
	for _, h := range []uint64{0, 12, 1 << 40} {
		if _, err := c.BlockByHeight(h); !errors.Is(err, chain.ErrNotFound) {
			t.Errorf("BlockByHeight(%d): %v", h, err)
		}
	}
	if _, err := c.BlockByHash(chain.Hash{9}); !errors.Is(err, chain.ErrNotFound) {
		t.Errorf("BlockByHash(unknown): %v", err)
	}
	if c.HasBlock(chain.Hash{9}) || c.IsMain(chain.Hash{9}) {
		t.Error("unknown block reported")
	}

	// MainChain ranges.
	all := chaintest.HashesOf(blocks...)
	ranges := []struct {
		from  uint64
		limit int
		want  []chain.Hash
	}{
		{1, 0, all},
		{0, 0, all},
		{1, -1, all},
		{1, 3, all[:3]},
		{4, 3, all[3:6]},
		{9, 100, all[8:]},
		{11, 0, all[10:]},
		{12, 0, nil},
		{1 << 50, 5, nil},
	}
	for _, r := range ranges {
		var got, raw []chain.Hash
		if err := c.MainChain(r.from, r.limit, func(b *chain.Block) error { got = append(got, b.Hash); return nil }); err != nil {
			t.Fatalf("MainChain(%d, %d): %v", r.from, r.limit, err)
		}
		if err := c.RawMainChain(r.from, r.limit, func(data []byte) error {
			b, err := chain.DecodeBlock(data, 0)
			if err != nil {
				return err
			}
			raw = append(raw, b.Hash)
			return nil
		}); err != nil {
			t.Fatalf("RawMainChain(%d, %d): %v", r.from, r.limit, err)
		}
		if !slices.Equal(got, r.want) || !slices.Equal(raw, r.want) {
			t.Errorf("MainChain(%d, %d) = %d blocks, raw %d, want %d", r.from, r.limit, len(got), len(raw), len(r.want))
		}
	}
	stop := errors.New("stop")
	n := 0
	if err := c.MainChain(1, 0, func(*chain.Block) error { n++; return stop }); err != stop || n != 1 {
		t.Errorf("MainChain stops at fn's error: %v after %d", err, n)
	}

	// FindTransaction: confirmed.
	tx := blocks[3].Transactions[0]
	loc, err := c.FindTransaction(tx.ID)
	if err != nil || loc.Pending || loc.Height != 4 || loc.BlockHash != blocks[3].Hash || loc.Tx != tx {
		t.Errorf("FindTransaction(confirmed) = %+v, %v", loc, err)
	}
	reward := blocks[5].Transactions[1]
	if loc, err := c.FindTransaction(reward.ID); err != nil || loc.Height != 6 {
		t.Errorf("FindTransaction(reward) = %+v, %v", loc, err)
	}
	if _, err := c.FindTransaction(chain.Hash{7}); !errors.Is(err, chain.ErrNotFound) {
		t.Errorf("FindTransaction(unknown): %v", err)
	}
}

func TestEqualWorkFirstSeenStays(t *testing.T) {
	c := newTestChain(t, chaintest.Difficulty)
	p := c.Params()
	a := chaintest.Branch(t, &p, c.Genesis(), 4, "alice")
	b := chaintest.Branch(t, &p, c.Genesis(), 4, "bob")
	mustAddAll(t, c, a)
	for _, blk := range b {
		changed := c.HeadChanged()
		if res := mustAdd(t, c, blk); res.Status != SideBranch || res.Head.Hash != a[3].Hash {
			t.Fatalf("side block %d: %+v", blk.Index, res)
		}
		select {
		case <-changed:
			t.Fatal("HeadChanged fired for a side branch")
		default:
		}
		if !c.HasBlock(blk.Hash) || c.IsMain(blk.Hash) {
			t.Fatalf("side block %d: stored %v main %v", blk.Index, c.HasBlock(blk.Hash), c.IsMain(blk.Hash))
		}
	}
	if got := mainHashes(t, c); !slices.Equal(got, chaintest.HashesOf(append([]*chain.Block{c.Genesis()}, a...)...)) {
		t.Error("main chain changed on equal work")
	}
	// Also when the equal branch arrives in one batch.
	bb := chaintest.Branch(t, &p, c.Genesis(), 4, "carol")
	res, n, err := c.AddBlocks(bb)
	if err != nil || n != 4 || res.Status != SideBranch || c.Head().Hash != a[3].Hash {
		t.Errorf("equal-work batch: %+v, %d, %v", res, n, err)
	}
}

func TestHeavierBranchBlockByBlock(t *testing.T) {
	c := newTestChain(t, chaintest.Difficulty)
	p := c.Params()
	a := chaintest.Branch(t, &p, c.Genesis(), 5, "alice")
	b := chaintest.Branch(t, &p, c.Genesis(), 6, "bob")
	mustAddAll(t, c, a)
	for i, blk := range b {
		changed := c.HeadChanged()
		res := mustAdd(t, c, blk)
		if i < 5 {
			if res.Status != SideBranch || c.Head().Hash != a[4].Hash {
				t.Fatalf("b%d: %+v", blk.Index, res)
			}
			continue
		}
		if res.Status != Reorganized || res.Head.Hash != blk.Hash || res.Head.Height != 7 || res.Abandoned != 5 {
			t.Fatalf("overtaking block: %+v", res)
		}
		select {
		case <-changed:
		default:
			t.Fatal("HeadChanged did not fire on reorganisation")
		}
	}
	if got := mainHashes(t, c); !slices.Equal(got, chaintest.HashesOf(append([]*chain.Block{c.Genesis()}, b...)...)) {
		t.Fatal("main chain is not the heavier branch")
	}
	for _, blk := range a {
		if !c.HasBlock(blk.Hash) || c.IsMain(blk.Hash) {
			t.Errorf("abandoned block %d: stored %v main %v", blk.Index, c.HasBlock(blk.Hash), c.IsMain(blk.Hash))
		}
		if _, err := c.FindTransaction(blk.Transactions[0].ID); !errors.Is(err, chain.ErrNotFound) {
			t.Errorf("reward of abandoned block %d still indexed: %v", blk.Index, err)
		}
	}
	// The old branch comes back when it becomes heavier again.
	a6 := chaintest.NextBlock(t, &p, a[4], "alice")
	a7 := chaintest.NextBlock(t, &p, a6, "alice")
	if res := mustAdd(t, c, a6); res.Status != SideBranch {
		t.Fatalf("a6: %+v", res)
	}
	if res := mustAdd(t, c, a7); res.Status != Reorganized || res.Abandoned != 6 {
		t.Fatalf("a7: %+v", res)
	}
	if got := mainHashes(t, c); !slices.Equal(got, chaintest.HashesOf(append(append([]*chain.Block{c.Genesis()}, a...), a6, a7)...)) {
		t.Fatal("main chain did not return to the first branch")
	}
}

// reorgTxEnv: main chain A (a2 holds t1, a3 holds t2) with t3 and t4
// pending; branch B forks at the genesis and holds t2 (b2) and t3 (b3).
type reorgTxEnv struct {
	c              *Chain
	p              chain.Params
	a, b           []*chain.Block
	t1, t2, t3, t4 chain.Transaction
}

func newReorgTxEnv(t *testing.T, depth int) *reorgTxEnv {
	e := &reorgTxEnv{c: newTestChain(t, chaintest.Difficulty)}
	e.p = e.c.Params()
	e.t1, e.t2, e.t3, e.t4 = chaintest.Tx("u1", "v", 1, 1), chaintest.Tx("u2", "v", 1, 2), chaintest.Tx("u3", "v", 1, 3), chaintest.Tx("u4", "v", 1, 4)
	a2 := chaintest.NextBlock(t, &e.p, e.c.Genesis(), "alice", e.t1)
	a3 := chaintest.NextBlock(t, &e.p, a2, "alice", e.t2)
	e.a = append([]*chain.Block{a2, a3}, chaintest.Branch(t, &e.p, a3, depth-2, "alice")...)
	b2 := chaintest.NextBlock(t, &e.p, e.c.Genesis(), "bob", e.t2)
	b3 := chaintest.NextBlock(t, &e.p, b2, "bob", e.t3)
	e.b = append([]*chain.Block{b2, b3}, chaintest.Branch(t, &e.p, b3, depth-1, "bob")...)
	mustAddAll(t, e.c, e.a)
	for _, tx := range []chain.Transaction{e.t3, e.t4} {
		if err := e.c.AddTransaction(tx); err != nil {
			t.Fatal(err)
		}
	}
	return e
}

func (e *reorgTxEnv) check(t *testing.T, res AddResult) {
	t.Helper()
	if res.Status != Reorganized || res.Abandoned != len(e.a) || res.Head.Hash != e.b[len(e.b)-1].Hash {
		t.Fatalf("result %+v", res)
	}
	// t1 came back (to the front); t2 and t3 are in the new branch; rewards
	// of abandoned blocks are not returned.
	if got := chaintest.IDsOf(res.Returned); !slices.Equal(got, []chain.Hash{e.t1.ID}) {
		t.Errorf("Returned = %d transactions, want t1 only", len(got))
	}
	if got := chaintest.IDsOf(e.c.Pending(0)); !slices.Equal(got, []chain.Hash{e.t1.ID, e.t4.ID}) {
		t.Errorf("pending = %v, want t1, t4", got)
	}
	for _, tc := range []struct {
		tx      chain.Transaction
		pending bool
		height  uint64
	}{{e.t1, true, 0}, {e.t2, false, 2}, {e.t3, false, 3}, {e.t4, true, 0}} {
		loc, err := e.c.FindTransaction(tc.tx.ID)
		if err != nil || loc.Pending != tc.pending || loc.Height != tc.height {
			t.Errorf("FindTransaction(%s) = %+v, %v", tc.tx.Sender, loc, err)
		}
	}
	// A returned transaction is pending again: AddTransaction says so.
	chaintest.WantErr(t, e.c.AddTransaction(e.t1), chain.ErrKnownTransaction)
	chaintest.WantErr(t, e.c.AddTransaction(e.t3), chain.ErrKnownTransaction)
}

func TestReorgReturnsTransactions(t *testing.T) {
	e := newReorgTxEnv(t, 3)
	var res AddResult
	for _, blk := range e.b {
		res = mustAdd(t, e.c, blk)
	}
	e.check(t, res)

	// Back to A: B's t3 returns, t1 leaves the pool again, t2 (in both) stays
	// confirmed.
	a5 := chaintest.NextBlock(t, &e.p, e.a[len(e.a)-1], "alice")
	a6 := chaintest.NextBlock(t, &e.p, a5, "alice")
	mustAdd(t, e.c, a5)
	res = mustAdd(t, e.c, a6)
	if res.Status != Reorganized || !slices.Equal(chaintest.IDsOf(res.Returned), []chain.Hash{e.t3.ID}) {
		t.Fatalf("reorganisation back: %+v", res)
	}
	if got := chaintest.IDsOf(e.c.Pending(0)); !slices.Equal(got, []chain.Hash{e.t3.ID, e.t4.ID}) {
		t.Errorf("pending after the way back = %v, want t3, t4", got)
	}
}

func TestReorgInOneBatch(t *testing.T) {
	e := newReorgTxEnv(t, 3)
	res, n, err := e.c.AddBlocks(e.b)
	if err != nil || n != len(e.b) {
		t.Fatalf("AddBlocks: %d, %v", n, err)
	}
	e.check(t, res)
}

func TestDeepReorg(t *testing.T) {
	for _, batch := range []bool{false, true} {
		name := "block by block"
		if batch {
			name = "one batch"
		}
		t.Run(name, func(t *testing.T) {
			e := newReorgTxEnv(t, 30)
			var res AddResult
			if batch {
				var err error
				if res, _, err = e.c.AddBlocks(e.b); err != nil {
					t.Fatal(err)
				}
			} else {
				for i, blk := range e.b {
					res = mustAdd(t, e.c, blk)
					if want := SideBranch; i < 30 && res.Status != want {
						t.Fatalf("b%d: %v", blk.Index, res.Status)
					}
				}
			}
			e.check(t, res)
			if c := e.c; c.Head().Height != 32 {
				t.Errorf("height %d", c.Head().Height)
			}
			// The store agrees after a reopen.
			c := reopen(t, e.c)
			if got := mainHashes(t, c); !slices.Equal(got, chaintest.HashesOf(append([]*chain.Block{c.Genesis()}, e.b...)...)) {
				t.Error("main chain after reopen")
			}
			if got := chaintest.IDsOf(c.Pending(0)); !slices.Equal(got, []chain.Hash{e.t1.ID, e.t4.ID}) {
				t.Errorf("pending after reopen = %v", got)
			}
		})
	}
}

// reopen closes c and opens its store again with the same configuration.
func reopen(t *testing.T, c *Chain) *Chain {
	t.Helper()
	path := c.db.Path()
	p := c.Params()
	if err := c.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	cfg := testConfig(t, p)
	cfg.Path = path
	return openChain(t, cfg)
}

func TestAddBlocksBatch(t *testing.T) {
	c := newTestChain(t, chaintest.Difficulty)
	p := c.Params()
	blocks := chaintest.Branch(t, &p, c.Genesis(), 10, "alice")

	// The genesis and known blocks are skipped, not fatal.
	mustAddAll(t, c, blocks[:2])
	batch := append([]*chain.Block{c.Genesis()}, blocks[:5]...)
	res, n, err := c.AddBlocks(batch)
	if err != nil || n != 3 || res.Status != Extended || res.Head.Hash != blocks[4].Hash {
		t.Fatalf("AddBlocks(genesis, known, new) = %+v, %d, %v", res, n, err)
	}
	// Everything known.
	if _, n, err := c.AddBlocks(batch); n != 0 || !errors.Is(err, chain.ErrKnownBlock) {
		t.Errorf("AddBlocks(known) = %d, %v", n, err)
	}
	// Empty batch.
	if _, n, err := c.AddBlocks(nil); n != 0 || !errors.Is(err, chain.ErrKnownBlock) {
		t.Errorf("AddBlocks(nil) = %d, %v", n, err)
	}
	// An invalid block stops the batch; the ones before it stay.
	bad := chaintest.CloneBlock(blocks[7])
	bad.Hash[0] ^= 1
	res, n, err = c.AddBlocks([]*chain.Block{blocks[5], blocks[6], bad, blocks[8]})
	if n != 2 || !errors.Is(err, chain.ErrBadHash) || res.Head.Hash != blocks[6].Hash || res.Status != Extended {
		t.Errorf("AddBlocks(valid, valid, bad, valid) = %+v, %d, %v", res, n, err)
	}
	if c.HasBlock(blocks[8].Hash) {
		t.Error("block after the invalid one was stored")
	}
	// An orphan stops the batch too.
	res, n, err = c.AddBlocks([]*chain.Block{blocks[7], blocks[9]})
	if n != 1 || !errors.Is(err, chain.ErrUnknownParent) || res.Head.Hash != blocks[7].Hash {
		t.Errorf("AddBlocks(valid, orphan) = %+v, %d, %v", res, n, err)
	}
	if c.HasBlock(blocks[9].Hash) {
		t.Error("orphan was stored")
	}
	// Invalid first: nothing added.
	if _, n, err := c.AddBlocks([]*chain.Block{bad}); n != 0 || !errors.Is(err, chain.ErrBadHash) {
		t.Errorf("AddBlocks(bad) = %d, %v", n, err)
	}
	// A batch whose blocks depend on each other (parents inside the batch)
	// and on a fake genesis in the middle.
	fake := chaintest.CloneBlock(c.Genesis())
	fake.Timestamp++
	chaintest.Seal(t, fake)
	res, n, err = c.AddBlocks([]*chain.Block{blocks[8], fake, blocks[9]})
	if n != 1 || !errors.Is(err, chain.ErrBadGenesis) || res.Head.Hash != blocks[8].Hash {
		t.Errorf("AddBlocks(valid, fake genesis) = %+v, %d, %v", res, n, err)
	}
}

func TestLocator(t *testing.T) {
	c := newTestChain(t, 0)
	p := c.Params()
	if got := c.Locator(); !slices.Equal(got, []chain.Hash{c.Genesis().Hash}) {
		t.Fatalf("locator of the genesis alone: %v", got)
	}
	blocks := append([]*chain.Block{c.Genesis()}, chaintest.Branch(t, &p, c.Genesis(), 299, "alice")...)
	if _, _, err := c.AddBlocks(blocks[1:]); err != nil {
		t.Fatal(err)
	}
	loc := c.Locator()
	if len(loc) > MaxLocator || loc[0] != blocks[299].Hash || loc[len(loc)-1] != c.Genesis().Hash {
		t.Fatalf("locator %d entries, first %s", len(loc), loc[0])
	}
	// Heights strictly decrease; the first ten are consecutive, then the gaps grow.
	var heights []uint64
	for _, h := range loc {
		b, err := c.BlockByHash(h)
		if err != nil {
			t.Fatal(err)
		}
		heights = append(heights, b.Index)
	}
	for i := 1; i < len(heights); i++ {
		gap := heights[i-1] - heights[i]
		if gap == 0 || i < 10 && gap != 1 || i > 1 && heights[i] != 1 && gap < heights[i-2]-heights[i-1] {
			t.Fatalf("locator heights %v", heights)
		}
	}

	// A peer on a branch from height 100 finds the fork at 100.
	other := newTestChain(t, 0)
	if _, _, err := other.AddBlocks(blocks[1:100]); err != nil {
		t.Fatal(err)
	}
	side := chaintest.Branch(t, &p, blocks[99], 50, "bob")
	if _, _, err := other.AddBlocks(side); err != nil {
		t.Fatal(err)
	}
	h, ok := c.LocateFork(other.Locator())
	if !ok || h > 100 || h < 100-32 {
		t.Errorf("LocateFork(other) = %d, %v; want close below 100", h, ok)
	}
	if h, ok := other.LocateFork(c.Locator()); !ok || h > 100 {
		t.Errorf("other.LocateFork = %d, %v", h, ok)
	}
	if h, ok := c.LocateFork(c.Locator()); !ok || h != 300 {
		t.Errorf("LocateFork(own) = %d, %v", h, ok)
	}
	// Unknown hashes and side-branch hashes are skipped.
	mustAdd(t, c, side[0]) // stored, but on a side branch
	if h, ok := c.LocateFork([]chain.Hash{{1}, side[0].Hash, blocks[42].Hash}); !ok || h != 43 {
		t.Errorf("LocateFork(unknown, side, 43) = %d, %v", h, ok)
	}
	if _, ok := c.LocateFork([]chain.Hash{{1}}); ok {
		t.Error("LocateFork(unknown) found a fork")
	}
	if _, ok := c.LocateFork(nil); ok {
		t.Error("LocateFork(nil) found a fork")
	}
	// Only the first MaxLocator entries are read.
	long := make([]chain.Hash, MaxLocator)
	long = append(long, c.Genesis().Hash)
	if _, ok := c.LocateFork(long); ok {
		t.Error("LocateFork read past MaxLocator")
	}
}

func TestHeadChangedWakesWaiters(t *testing.T) {
	c := newTestChain(t, chaintest.Difficulty)
	p := c.Params()
	ch := c.HeadChanged()
	done := make(chan struct{})
	go func() {
		<-ch
		close(done)
	}()
	mustAdd(t, c, chaintest.NextBlock(t, &p, c.Genesis(), "m"))
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("waiter not woken")
	}
	if c.HeadChanged() == ch {
		t.Error("HeadChanged returns the closed channel")
	}
}

// TestSideBranchIsValidated checks that a block on a side branch is held
// to the same rules: its median time and ancestry are its own branch's.
func TestSideBranchIsValidated(t *testing.T) {
	c := newTestChain(t, chaintest.Difficulty)
	p := c.Params()
	a := chaintest.Branch(t, &p, c.Genesis(), 15, "alice")
	mustAddAll(t, c, a)
	// A side branch from a2 whose timestamps are late in the main chain's
	// terms but fine in its own.
	s := chaintest.NextBlock(t, &p, a[0], "bob")
	mustAdd(t, c, s)
	old := chaintest.NewBlock(&p, s, "bob")
	old.Timestamp = a[0].Timestamp - 1 // before its own branch's median
	chaintest.Seal(t, old)
	_, err := c.AddBlock(old)
	chaintest.WantErr(t, err, chain.ErrTimeTooOld)
	ok := chaintest.NewBlock(&p, s, "bob")
	ok.Timestamp = s.Timestamp // the median of its branch
	chaintest.Seal(t, ok)
	if res := mustAdd(t, c, ok); res.Status != SideBranch {
		t.Errorf("status %v", res.Status)
	}
}

func TestLongSideBranchInBatches(t *testing.T) {
	// A competing branch much longer than one batch arrives in batches, as
	// the sync layer sends it.
	c := newTestChain(t, 0)
	p := c.Params()
	main := chaintest.Branch(t, &p, c.Genesis(), 1200, "alice")
	if _, _, err := c.AddBlocks(main); err != nil {
		t.Fatal(err)
	}
	txs := []chain.Transaction{chaintest.Tx("x", "y", 1, 1), chaintest.Tx("x", "y", 1, 2)}
	if err := c.AddTransaction(txs[0]); err != nil {
		t.Fatal(err)
	}
	side := []*chain.Block{chaintest.NextBlock(t, &p, main[99], "bob", txs...)}
	side = append(side, chaintest.Branch(t, &p, side[0], 1200, "bob")...)
	start := time.Now()
	var res AddResult
	for i := 0; i < len(side); i += 500 {
		var n int
		var err error
		res, n, err = c.AddBlocks(side[i:min(i+500, len(side))])
		if err != nil || n != min(500, len(side)-i) {
			t.Fatalf("batch at %d: %d, %v", i, n, err)
		}
	}
	t.Logf("%d side-branch blocks in %v", len(side), time.Since(start))
	if res.Status != Reorganized || c.Head().Hash != side[len(side)-1].Hash || res.Abandoned != 1100 {
		t.Errorf("result %+v", res)
	}
	if c.PendingCount() != 0 {
		t.Errorf("pool still holds %d transactions", c.PendingCount())
	}
	// A duplicate deep in the branch ancestry is still found.
	dup := chaintest.NextBlock(t, &p, side[len(side)-1], "bob", txs[1])
	_, err := c.AddBlock(dup)
	chaintest.WantErr(t, err, chain.ErrDuplicateTx)
}

func TestLocatorHeights(t *testing.T) {
	c := newTestChain(t, 0)
	p := c.Params()
	if _, _, err := c.AddBlocks(chaintest.Branch(t, &p, c.Genesis(), 99, "a")); err != nil {
		t.Fatal(err)
	}
	var got []uint64
	for _, h := range c.Locator() {
		b, err := c.BlockByHash(h)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, b.Index)
	}
	want := []uint64{100, 99, 98, 97, 96, 95, 94, 93, 92, 91, 89, 85, 77, 61, 29, 1}
	if !slices.Equal(got, want) {
		t.Errorf("locator heights %v, want %v", got, want)
	}
}

// TestReorgBackAndForthInOneBatch has a batch switch branches three times,
// abandoning a2 twice: its transaction must come back to the pool once.
func TestReorgBackAndForthInOneBatch(t *testing.T) {
	c := newTestChain(t, chaintest.Difficulty)
	p := c.Params()
	t1, t2 := chaintest.Tx("u1", "v", 1, 1), chaintest.Tx("u2", "v", 1, 2)
	a2 := chaintest.NextBlock(t, &p, c.Genesis(), "alice", t1)
	mustAdd(t, c, a2)
	b2 := chaintest.NextBlock(t, &p, c.Genesis(), "bob", t2)
	b3 := chaintest.NextBlock(t, &p, b2, "bob")
	a3 := chaintest.NextBlock(t, &p, a2, "alice")
	a4 := chaintest.NextBlock(t, &p, a3, "alice")
	b4 := chaintest.NextBlock(t, &p, b3, "bob")
	b5 := chaintest.NextBlock(t, &p, b4, "bob")
	res, n, err := c.AddBlocks([]*chain.Block{b2, b3, a3, a4, b4, b5})
	if err != nil || n != 6 || res.Status != Reorganized || res.Head.Hash != b5.Hash {
		t.Fatalf("AddBlocks = %+v, %d, %v", res, n, err)
	}
	if got := chaintest.IDsOf(res.Returned); !slices.Equal(got, []chain.Hash{t1.ID}) {
		t.Errorf("Returned %d transactions, want t1 once", len(got))
	}
	if got := chaintest.IDsOf(c.Pending(0)); !slices.Equal(got, []chain.Hash{t1.ID}) || c.PendingCount() != 1 {
		t.Errorf("pending %v (count %d), want t1 once", got, c.PendingCount())
	}
	c = reopen(t, c)
	if got := chaintest.IDsOf(c.Pending(0)); !slices.Equal(got, []chain.Hash{t1.ID}) {
		t.Errorf("pending after reopen %v", got)
	}
	if loc, err := c.FindTransaction(t2.ID); err != nil || loc.Height != 2 || loc.BlockHash != b2.Hash {
		t.Errorf("t2: %+v, %v", loc, err)
	}
}

func TestAddStatusString(t *testing.T) {
	for s, want := range map[AddStatus]string{Extended: "extended", Reorganized: "reorganized", SideBranch: "side_branch", 0: "none"} {
		if got := s.String(); got != want {
			t.Errorf("AddStatus(%d).String() = %q, want %q", int(s), got, want)
		}
	}
}

// TestAddBlockThenBeforeDurable: the valid callback runs once the block has
// passed every rule and before it is written: the head is still the old one
// and the block is not readable yet; once AddBlockThen returns, both are.
func TestAddBlockThenBeforeDurable(t *testing.T) {
	c := newTestChain(t, chaintest.Difficulty)
	p := c.Params()
	b := chaintest.NextBlock(t, &p, c.Genesis(), "alice")
	called := false
	res, err := c.AddBlockThen(b, func() {
		called = true
		if c.Head().Hash == b.Hash {
			t.Error("the head moved before the block was written")
		}
	})
	if err != nil || !called || res.Status != Extended || c.Head().Hash != b.Hash || !c.HasBlock(b.Hash) {
		t.Fatalf("AddBlockThen: %+v, %v, called %v", res, err, called)
	}
	// An invalid block never reaches the callback.
	bad := chaintest.NewBlock(&p, b, "mallory")
	chaintest.Unmine(t, bad, p.InitialTarget)
	if _, err := c.AddBlockThen(bad, func() { t.Error("valid called for an invalid block") }); !chain.IsRuleError(err) {
		t.Fatalf("invalid block: %v", err)
	}
}
