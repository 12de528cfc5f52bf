package store

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/gossipchain/gossipchain/chain"
	"github.com/gossipchain/gossipchain/chain/chaintest"
)

func TestPoolAdd(t *testing.T) {
	c := newTestChain(t, chaintest.Difficulty)
	var txs []chain.Transaction
	for i := range 5 {
		tx := chaintest.Tx(fmt.Sprintf("sender%d", i), "bob", 1, uint64(i))
		if err := c.AddTransaction(tx); err != nil {
			t.Fatalf("AddTransaction(%d): %v", i, err)
		}
		txs = append(txs, tx)
	}
	if got := chaintest.IDsOf(c.Pending(0)); !slices.Equal(got, chaintest.IDsOf(txs)) {
		t.Fatal("Pending is not first come, first served")
	}
	if got := chaintest.IDsOf(c.Pending(2)); !slices.Equal(got, chaintest.IDsOf(txs[:2])) {
		t.Error("Pending(2)")
	}
	if got := c.Pending(-1); len(got) != 5 || c.PendingCount() != 5 {
		t.Errorf("Pending(-1) = %d, PendingCount = %d", len(got), c.PendingCount())
	}
	loc, err := c.FindTransaction(txs[2].ID)
	if err != nil || !loc.Pending || loc.Tx != txs[2] || loc.Height != 0 {
		t.Errorf("FindTransaction(pending) = %+v, %v", loc, err)
	}

	// Dedupe by id: the same payment again, and the same payment with
	// another nonce, which is another transaction.
	chaintest.WantErr(t, c.AddTransaction(txs[0]), chain.ErrKnownTransaction)
	if err := c.AddTransaction(chaintest.Tx("sender0", "bob", 1, 99)); err != nil {
		t.Errorf("same payment, other nonce: %v", err)
	}

	// Invalid transactions.
	bad := chaintest.Tx("alice", "bob", 1, 1)
	bad.ID[0] ^= 1
	for _, tx := range []chain.Transaction{
		bad,
		chaintest.Tx(chain.RewardSender, "bob", 1, 1),
		chaintest.Tx("", "bob", 1, 1),
		chaintest.Tx("alice", "bob", 0, 1),
		chaintest.Tx("alice", "bob", chain.MaxAmount+1, 1),
	} {
		err := c.AddTransaction(tx)
		if !errors.Is(err, chain.ErrBadTransaction) || !chain.IsRuleError(err) {
			t.Errorf("AddTransaction(%+v) = %v, want bad_transaction", tx, err)
		}
	}
	if c.PendingCount() != 6 {
		t.Errorf("PendingCount = %d, want 6", c.PendingCount())
	}
}

func TestPoolRejectsMainChainTransactions(t *testing.T) {
	c := newTestChain(t, chaintest.Difficulty)
	p := c.Params()
	in, pending := chaintest.Tx("alice", "bob", 1, 1), chaintest.Tx("carol", "bob", 1, 2)
	if err := c.AddTransaction(pending); err != nil {
		t.Fatal(err)
	}
	b := chaintest.NextBlock(t, &p, c.Genesis(), "miner", in, pending)
	mustAdd(t, c, b)
	if c.PendingCount() != 0 {
		t.Errorf("the block's transaction is still pending")
	}
	for _, tx := range []chain.Transaction{in, pending, b.Transactions[2]} {
		err := c.AddTransaction(tx)
		if tx.IsReward() {
			chaintest.WantErr(t, err, chain.ErrBadTransaction)
			continue
		}
		chaintest.WantErr(t, err, chain.ErrKnownTransaction)
	}
	// A transaction that is only in a side branch may be pending.
	side := chaintest.Tx("dave", "bob", 1, 3)
	mustAdd(t, c, chaintest.NextBlock(t, &p, b, "miner"))
	if res := mustAdd(t, c, chaintest.NextBlock(t, &p, b, "other", side)); res.Status != SideBranch {
		t.Fatalf("status %v", res.Status)
	}
	if err := c.AddTransaction(side); err != nil {
		t.Errorf("transaction of a side branch: %v", err)
	}
}

func TestPoolBounds(t *testing.T) {
	p := chaintest.ParamsAt(t, chaintest.Difficulty)
	cfg := testConfig(t, p)
	cfg.PoolMaxCount = 3
	c := openChain(t, cfg)
	for i := range 3 {
		if err := c.AddTransaction(chaintest.Tx("a", "b", 1, uint64(i))); err != nil {
			t.Fatal(err)
		}
	}
	err := c.AddTransaction(chaintest.Tx("a", "b", 1, 3))
	chaintest.WantErr(t, err, chain.ErrPoolFull)
	if chain.IsRuleError(err) {
		t.Error("ErrPoolFull is a rule error")
	}
	// A block frees room.
	mustAdd(t, c, chaintest.NextBlock(t, &p, c.Genesis(), "m", c.Pending(1)...))
	if err := c.AddTransaction(chaintest.Tx("a", "b", 1, 3)); err != nil {
		t.Errorf("after a block: %v", err)
	}

	// The byte bound: each of these transactions is 2+1+2+1+16 = 22 bytes.
	cfg = testConfig(t, p)
	cfg.PoolMaxBytes = 3*22 + 21
	c = openChain(t, cfg)
	for i := range 3 {
		if err := c.AddTransaction(chaintest.Tx("a", "b", 1, uint64(i))); err != nil {
			t.Fatal(err)
		}
	}
	chaintest.WantErr(t, c.AddTransaction(chaintest.Tx("a", "b", 1, 3)), chain.ErrPoolFull)
	if err := c.AddTransaction(chaintest.Tx("", "b", 1, 3)); !chain.IsRuleError(err) {
		t.Errorf("an invalid transaction to a full pool: %v, want a rule error", err)
	}
}

func TestPoolBoundOnReorg(t *testing.T) {
	p := chaintest.ParamsAt(t, chaintest.Difficulty)
	cfg := testConfig(t, p)
	cfg.PoolMaxCount = 2
	c := openChain(t, cfg)
	t1, t2, t3, t4 := chaintest.Tx("u1", "v", 1, 1), chaintest.Tx("u2", "v", 1, 2), chaintest.Tx("u3", "v", 1, 3), chaintest.Tx("u4", "v", 1, 4)
	a := chaintest.NextBlock(t, &p, c.Genesis(), "alice", t1, t2)
	mustAdd(t, c, a)
	for _, tx := range []chain.Transaction{t3, t4} {
		if err := c.AddTransaction(tx); err != nil {
			t.Fatal(err)
		}
	}
	// B holds t4: one slot frees, t1 (the older) comes back, t2 does not fit.
	b2 := chaintest.NextBlock(t, &p, c.Genesis(), "bob", t4)
	mustAdd(t, c, b2)
	res := mustAdd(t, c, chaintest.NextBlock(t, &p, b2, "bob"))
	if res.Status != Reorganized || !slices.Equal(chaintest.IDsOf(res.Returned), []chain.Hash{t1.ID}) {
		t.Fatalf("result %+v", res)
	}
	if got := chaintest.IDsOf(c.Pending(0)); !slices.Equal(got, []chain.Hash{t1.ID, t3.ID}) {
		t.Errorf("pending %v, want t1, t3", got)
	}
	c = reopen(t, c)
	if got := chaintest.IDsOf(c.Pending(0)); !slices.Equal(got, []chain.Hash{t1.ID, t3.ID}) {
		t.Errorf("pending after reopen %v, want t1, t3", got)
	}
}

func TestPoolPersists(t *testing.T) {
	c := newTestChain(t, chaintest.Difficulty)
	p := c.Params()
	var want []chain.Hash
	for i := range 20 {
		tx, err := chain.NewTransaction("alice", "bob", uint64(i+1))
		if err != nil {
			t.Fatal(err)
		}
		if err := c.AddTransaction(tx); err != nil {
			t.Fatal(err)
		}
		want = append(want, tx.ID)
	}
	// Three of them are mined.
	mined := c.Pending(3)
	mustAdd(t, c, chaintest.NextBlock(t, &p, c.Genesis(), "m", mined...))
	want = want[3:]
	c = reopen(t, c)
	if got := chaintest.IDsOf(c.Pending(0)); !slices.Equal(got, want) {
		t.Fatalf("pending after reopen: %d transactions, want %d in order", len(got), len(want))
	}
	// New transactions go after the loaded ones.
	tx := chaintest.Tx("carol", "dave", 1, 1)
	if err := c.AddTransaction(tx); err != nil {
		t.Fatal(err)
	}
	c = reopen(t, c)
	if got := chaintest.IDsOf(c.Pending(0)); len(got) != len(want)+1 || got[len(got)-1] != tx.ID {
		t.Error("a transaction added after a reopen is not last")
	}
}

func TestPoolCleansStaleEntriesOnOpen(t *testing.T) {
	c := newTestChain(t, chaintest.Difficulty)
	p := c.Params()
	inChain, good := chaintest.Tx("alice", "bob", 1, 1), chaintest.Tx("carol", "dave", 1, 2)
	mustAdd(t, c, chaintest.NextBlock(t, &p, c.Genesis(), "m", inChain))
	if err := c.AddTransaction(good); err != nil {
		t.Fatal(err)
	}
	path := c.db.Path()
	c.Close()

	// What a crash between a block and a pending write can leave behind, and
	// worse: a confirmed transaction, a duplicate, garbage, a bad key, an
	// invalid transaction and a reward.
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	bad, reward := chaintest.Tx("", "x", 1, 1), chain.NewRewardTransaction("m", 1, 5)
	err = db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketPool)
		for i, v := range [][]byte{
			inChain.AppendBinary(nil),
			good.AppendBinary(nil),
			{1, 2, 3},
			bad.AppendBinary(nil),
			reward.AppendBinary(nil),
		} {
			if err := b.Put(seqKey(int64(100+i)), v); err != nil {
				return err
			}
		}
		return b.Put([]byte("bad"), good.AppendBinary(nil))
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}

	cfg := testConfig(t, p)
	cfg.Path = path
	c = openChain(t, cfg)
	if got := chaintest.IDsOf(c.Pending(0)); !slices.Equal(got, []chain.Hash{good.ID}) {
		t.Fatalf("pending after reopen: %d transactions, want only the good one", len(got))
	}
	c.Close()
	db, err = bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.View(func(tx *bolt.Tx) error {
		if n := tx.Bucket(bucketPool).Stats().KeyN; n != 1 {
			t.Errorf("pool bucket holds %d entries after cleaning, want 1", n)
		}
		return nil
	})
}

func TestPoolConcurrentAdds(t *testing.T) {
	c := newTestChain(t, chaintest.Difficulty)
	var wg sync.WaitGroup
	errs := make(chan error, 200)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 25 {
				errs <- c.AddTransaction(chaintest.Tx(fmt.Sprintf("s%d", g), "r", 1, uint64(i)))
				// A duplicate from another goroutine is known.
				if err := c.AddTransaction(chaintest.Tx("shared", "r", 1, uint64(i))); err != nil && !errors.Is(err, chain.ErrKnownTransaction) {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := c.PendingCount(); n != 8*25+25 {
		t.Errorf("PendingCount = %d, want %d", n, 8*25+25)
	}
}

// TestPoolGroupCommit: submissions that arrive together share store
// transactions (and so disk syncs), each of them durable when it returns.
func TestPoolGroupCommit(t *testing.T) {
	cfg := testConfig(t, chaintest.ParamsAt(t, chaintest.Difficulty))
	c := openChain(t, cfg)
	const n = 64
	start := make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs <- c.AddTransaction(chaintest.Tx("group", "r", 1, uint64(i)))
		}()
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	commits := c.commits.commits.Load()
	if commits >= n {
		t.Errorf("%d commits for %d concurrent submissions: none shared", commits, n)
	}
	t.Logf("%d concurrent submissions in %d commits", n, commits)
	c.Close()
	c = openChain(t, cfg)
	if got := c.PendingCount(); got != n {
		t.Errorf("%d pending after reopen, want %d", got, n)
	}
}
