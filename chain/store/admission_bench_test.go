package store

import (
	"fmt"
	"testing"
	"time"

	"github.com/gossipchain/gossipchain/chain"
	"github.com/gossipchain/gossipchain/chain/chaintest"
)

// BenchmarkUnfundedAdmission compares, in one run and interleaved, what an
// unfunded signed transaction from a fresh key costs the pool (refused
// before its signature) with what verifying its signature costs, which the
// pool paid for each one before. Metrics: each one's time per transaction
// and their ratio.
func BenchmarkUnfundedAdmission(b *testing.B) {
	p := chaintest.SignedParams(b)
	c := openChain(b, testConfig(b, p))
	_, bob := chaintest.Key(b, "bob")
	txs := make([]chain.Transaction, 1024)
	for i := range txs {
		key, _ := chaintest.Key(b, fmt.Sprint("fresh ", i))
		txs[i] = signedTx(b, c, key, bob, 1, 0)
	}
	var refuse, verify time.Duration
	i := 0
	for b.Loop() {
		tx := &txs[i%len(txs)]
		i++
		t0 := time.Now()
		if err := c.AddTransactionFrom(*tx, "peer"); chain.RuleCode(err) != chain.ErrInsufficientBalance {
			b.Fatalf("unfunded transaction: %v", err)
		}
		t1 := time.Now()
		if err := verifyTx(tx, c.Genesis().Hash); err != nil {
			b.Fatal(err)
		}
		refuse, verify = refuse+t1.Sub(t0), verify+time.Since(t1)
	}
	n := float64(b.N)
	b.ReportMetric(float64(refuse.Nanoseconds())/n, "refuse-ns/tx")
	b.ReportMetric(float64(verify.Nanoseconds())/n, "verify-ns/tx")
	b.ReportMetric(verify.Seconds()/refuse.Seconds(), "verify/refuse")
}

// BenchmarkChainedCheck compares, in one run and interleaved, pool
// admission's "already in a block" check of a new transaction id on a chain
// of 20,000 blocks: through the duplicate filter (chainedLocked) and through
// the transaction index alone, as before. Metrics: each one's time per id
// and their ratio.
func BenchmarkChainedCheck(b *testing.B) {
	c, _ := lookupChain(b, 20_000)
	deadline := time.Now().Add(time.Minute)
	for size, _ := c.dupFilterBytes(); size == 0; size, _ = c.dupFilterBytes() {
		if time.Now().After(deadline) {
			b.Fatal("the duplicate filter was not built within a minute")
		}
		time.Sleep(10 * time.Millisecond)
	}
	txs := []chain.Transaction{{}}
	errs := []error{nil}
	var filtered, indexed time.Duration
	i := 0
	for b.Loop() {
		i++
		txs[0].ID = chain.Hash{byte(i), byte(i >> 8), byte(i >> 16), byte(i >> 24), 0xa5}
		t0 := time.Now()
		c.mu.Lock()
		in := c.chainedLocked(txs, errs)[0].in
		c.mu.Unlock()
		t1 := time.Now()
		c.mu.Lock()
		var found bool
		_ = c.read(func(v *view) error { _, found = v.txHeight(txs[0].ID); return nil })
		c.mu.Unlock()
		if in || found {
			b.Fatal("a new id found in the chain")
		}
		filtered, indexed = filtered+t1.Sub(t0), indexed+time.Since(t1)
	}
	n := float64(b.N)
	b.ReportMetric(float64(filtered.Nanoseconds())/n, "filter-ns/id")
	b.ReportMetric(float64(indexed.Nanoseconds())/n, "index-ns/id")
	b.ReportMetric(indexed.Seconds()/filtered.Seconds(), "index/filter")
}
