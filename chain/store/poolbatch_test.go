package store

import (
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"

	"github.com/gossipchain/gossipchain/chain"
	"github.com/gossipchain/gossipchain/chain/chaintest"
)

// TestAddTransactionsBatch: one outcome per transaction, in order (new,
// pending already, in the chain already, a duplicate within the batch,
// invalid, past the pool's bound), the accepted ones in the pool in batch
// order, written in one commit, and there after reopening the store.
func TestAddTransactionsBatch(t *testing.T) {
	p := chaintest.ParamsAt(t, chaintest.Difficulty)
	cfg := testConfig(t, p)
	cfg.PoolMaxCount = 5
	c := openChain(t, cfg)
	confirmed := chaintest.Tx("a", "b", 1, 1)
	mustAdd(t, c, chaintest.NextBlock(t, &p, c.Genesis(), "miner", confirmed))
	pending := chaintest.Tx("a", "b", 1, 2)
	if err := c.AddTransaction(pending); err != nil {
		t.Fatal(err)
	}
	reward := chain.Transaction{Sender: chain.RewardSender, Recipient: "b", Amount: 1}
	reward.ID = reward.ComputeID()
	empty := chain.Transaction{Recipient: "b", Amount: 1}
	empty.ID = empty.ComputeID()
	fresh := func(n uint64) chain.Transaction { return chaintest.Tx("batch", "b", 1, n) }
	txs := []chain.Transaction{fresh(1), pending, fresh(2), confirmed, fresh(1), reward, empty, fresh(3), fresh(4), fresh(5)}
	want := []struct {
		err  error // nil: accepted
		rule bool  // a *chain.RuleError
	}{{}, {err: chain.ErrKnownTransaction}, {}, {err: chain.ErrKnownTransaction}, {err: chain.ErrKnownTransaction},
		{rule: true}, {rule: true}, {}, {}, {err: chain.ErrPoolFull}}

	before := c.commits.commits.Load()
	errs := c.AddTransactions(txs, "")
	if len(errs) != len(txs) {
		t.Fatalf("%d outcomes for %d transactions", len(errs), len(txs))
	}
	for i, w := range want {
		switch {
		case w.rule && !chain.IsRuleError(errs[i]):
			t.Errorf("transaction %d: got %v, want a rule error", i, errs[i])
		case !w.rule && !errors.Is(errs[i], w.err):
			t.Errorf("transaction %d: got %v, want %v", i, errs[i], w.err)
		}
	}
	if n := c.commits.commits.Load() - before; n != 1 {
		t.Errorf("the batch took %d commits, want 1", n)
	}
	wantPool := []chain.Hash{pending.ID, txs[0].ID, txs[2].ID, txs[7].ID, txs[8].ID}
	if got := chaintest.IDsOf(c.Pending(0)); !slices.Equal(got, wantPool) {
		t.Errorf("pool %v, want %v", got, wantPool)
	}
	c.Close()
	c = openChain(t, cfg)
	if got := chaintest.IDsOf(c.Pending(0)); !slices.Equal(got, wantPool) {
		t.Errorf("pool after reopening %v, want %v", got, wantPool)
	}

	errs = c.AddTransactions(make([]chain.Transaction, MaxTransactionBatch+1), "")
	for i, err := range errs {
		if !errors.Is(err, errBatchTooLarge) {
			t.Fatalf("transaction %d of a batch too large: %v", i, err)
		}
	}
}

// TestAddTransactionsSigned: a batch of one sender's nonces in order is
// admitted whole (its signatures checked on every core); a gap, a bad
// signature and a nonce taken are refused one by one.
func TestAddTransactionsSigned(t *testing.T) {
	p := chaintest.SignedParams(t)
	p.Reward = 1000
	c := openChain(t, testConfig(t, p))
	alice, aliceAddr := chaintest.Key(t, "alice")
	_, bobAddr := chaintest.Key(t, "bob")
	mustAdd(t, c, chaintest.NextBlock(t, &p, c.Genesis(), aliceAddr))

	var txs []chain.Transaction
	for n := range uint64(40) {
		txs = append(txs, signedTx(t, c, alice, bobAddr, 1, n))
	}
	forged := signedTx(t, c, alice, bobAddr, 2, 40)
	forged.Amount = 3
	forged.ID = forged.ComputeID()
	txs = append(txs, signedTx(t, c, alice, bobAddr, 1, 42), forged, signedTx(t, c, alice, bobAddr, 5, 3))
	errs := c.AddTransactions(txs, "")
	for i, err := range errs[:40] {
		if err != nil {
			t.Fatalf("nonce %d: %v", i, err)
		}
	}
	for i, code := range []chain.ErrorCode{chain.ErrBadNonce, chain.ErrBadSignature, chain.ErrBadNonce} {
		if got := chain.RuleCode(errs[40+i]); got != code {
			t.Errorf("transaction %d: got %v, want %v", 40+i, errs[40+i], code)
		}
	}
	wantAccount(t, c, aliceAddr, 1000, 0)
	a, err := c.Account(aliceAddr)
	if err != nil || a.Pending != 40 || a.PendingNonce != 40 {
		t.Fatalf("account %+v, %v", a, err)
	}
}

// BenchmarkAddTransactions: admission of batches of 1,000 open
// transactions, each batch in one commit.
func BenchmarkAddTransactions(b *testing.B) {
	cfg := testConfig(b, chaintest.ParamsAt(b, chaintest.Difficulty))
	cfg.PoolMaxCount = b.N*MaxTransactionBatch + 1
	cfg.PoolMaxBytes = 1 << 40
	c := openChain(b, cfg)
	txs := make([]chain.Transaction, MaxTransactionBatch)
	b.ResetTimer()
	for i := range b.N {
		for j := range txs {
			txs[j] = chaintest.Tx(fmt.Sprintf("s%d", i), "r", 1, uint64(j))
		}
		for _, err := range c.AddTransactions(txs, "") {
			if err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.N*MaxTransactionBatch)/b.Elapsed().Seconds(), "tx/s")
}

// BenchmarkAddTransactionConcurrent: single admissions from 64 goroutines
// at once; every one waits for its commit, and the commits are shared
// (group commit): tx/commit is how many transactions one commit wrote.
func BenchmarkAddTransactionConcurrent(b *testing.B) {
	cfg := testConfig(b, chaintest.ParamsAt(b, chaintest.Difficulty))
	cfg.PoolMaxCount = b.N + 64
	cfg.PoolMaxBytes = 1 << 40
	c := openChain(b, cfg)
	var next atomic.Int64
	b.SetParallelism(32) // 64 goroutines on 2 cores
	commits, written := c.commits.commits.Load(), c.commits.written.Load()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := c.AddTransaction(chaintest.Tx("concurrent", "r", 1, uint64(next.Add(1)))); err != nil {
				b.Error(err)
				return
			}
		}
	})
	commits = c.commits.commits.Load() - commits
	written = c.commits.written.Load() - written
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tx/s")
	b.ReportMetric(float64(written)/float64(max(commits, 1)), "tx/commit")
}
