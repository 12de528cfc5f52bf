package store

import (
	"errors"
	"runtime"
	"sync"

	"github.com/gossipchain/gossipchain/chain"
)

// MaxTransactionBatch bounds the transactions of one AddTransactions call.
const MaxTransactionBatch = 1000

// errBatchTooLarge is the outcome of every transaction of a batch larger
// than MaxTransactionBatch.
var errBatchTooLarge = errors.New("more transactions than one batch may hold")

// AddTransactions validates each of txs and adds those that pass to the
// pending pool, in order, as AddTransactionFrom would one by one, and
// returns one outcome per transaction (nil: pending and on disk). The
// accepted transactions are written in one store transaction, shared with
// whatever else is being admitted meanwhile (group commit).
func (c *Chain) AddTransactions(txs []chain.Transaction, origin string) []error {
	errs, durable := c.AddTransactionsAsync(txs, origin)
	FailDurable(errs, <-durable)
	return errs
}

// AddTransactionsAsync is AddTransactions that returns once the accepted
// transactions are in the pool in memory: errs holds the outcome of each
// admission, and durable receives the outcome of writing the accepted ones
// to disk (nil once they are all durable; on an error they all left the
// pool again). It never returns a nil channel.
func (c *Chain) AddTransactionsAsync(txs []chain.Transaction, origin string) (errs []error, durable <-chan error) {
	errs = make([]error, len(txs))
	if len(txs) > MaxTransactionBatch {
		for i := range errs {
			errs[i] = errBatchTooLarge
		}
		return errs, written()
	}
	c.checkAll(txs, errs)

	// The main-chain look-ups and the admissions under one hold of
	// Chain.mu, and every entry in one submission to the committer.
	c.mu.Lock()
	at := c.chainedLocked(txs, errs)
	entries := make([]*poolEntry, 0, len(txs))
	var full []int // full pool: admitted by eviction below
	for i := range txs {
		if errs[i] != nil {
			continue
		}
		e, err := c.admitLocked(txs[i], at[i])
		switch {
		case err == nil:
			entries = append(entries, e)
		case errors.Is(err, chain.ErrPoolFull) && !errors.Is(err, chain.ErrAccountFull):
			full = append(full, i)
		default:
			errs[i] = err
		}
	}
	if len(entries) > 0 {
		durable = c.commits.submit(entries)
	}
	c.pool.mu.Lock()
	for _, e := range entries {
		c.pool.quota.record(e.tx.ID, origin)
	}
	c.pool.mu.Unlock()
	c.mu.Unlock()

	for _, i := range full {
		// Written by the call, as for AddTransactionAsyncFrom.
		if errs[i] = c.evictAndInsert(txs[i], origin); errs[i] == nil {
			c.recordOrigin(txs[i].ID, origin)
		}
	}
	if durable == nil {
		durable = written()
	}
	return errs, durable
}

// FailDurable sets the outcome of every accepted transaction of errs (the
// nil entries, as AddTransactionsAsync returns them) to err, the outcome
// of writing them, if err is not nil.
func FailDurable(errs []error, err error) {
	if err == nil {
		return
	}
	for i := range errs {
		if errs[i] == nil {
			errs[i] = err
		}
	}
}

// checkAll runs the checks of pool admission that come before Chain.mu is
// taken on each of txs into errs, cheapest first: checkTransaction; on a
// signed network then the ledger rule against the senders' accounts
// (checkFunds), and only for what passed both, the Ed25519 signature. The
// signatures of a large batch are verified on every core.
func (c *Chain) checkAll(txs []chain.Transaction, errs []error) {
	for i := range txs {
		errs[i] = c.checkTransaction(&txs[i])
	}
	if !c.params.Signed() {
		return
	}
	c.checkFunds(txs, errs)
	workers := min(runtime.GOMAXPROCS(0), len(txs)/16)
	if workers <= 1 {
		for i := range txs {
			if errs[i] == nil {
				errs[i] = c.verifyCached(&txs[i])
			}
		}
		return
	}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := w; i < len(txs); i += workers {
				if errs[i] == nil {
					errs[i] = c.verifyCached(&txs[i])
				}
			}
		})
	}
	wg.Wait()
}
