package store

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/libp2p/go-libp2p/core/crypto"

	"github.com/gossipchain/gossipchain/chain"
	"github.com/gossipchain/gossipchain/chain/chaintest"
)

// feeTx signs a payment of amount with fee from key on c's network.
func feeTx(t testing.TB, c *Chain, key crypto.PrivKey, to string, amount, fee, nonce uint64) chain.Transaction {
	t.Helper()
	tx, err := chain.SignTransactionFee(key, to, amount, fee, nonce, c.Genesis().Hash)
	if err != nil {
		t.Fatal(err)
	}
	return tx
}

// feeChain opens a signed chain with cfg's changes and funds the keys
// "payer 0" … "payer n-1" with 1,000 each (one block each), and returns
// their keys.
func feeChain(t *testing.T, n int, change func(*Config)) (*Chain, []crypto.PrivKey) {
	t.Helper()
	p := chaintest.SignedParams(t)
	p.Reward = 1000
	cfg := testConfig(t, p)
	if change != nil {
		change(&cfg)
	}
	c := openChain(t, cfg)
	keys := make([]crypto.PrivKey, n)
	parent := c.Genesis()
	for i := range keys {
		var addr string
		keys[i], addr = chaintest.Key(t, fmt.Sprint("payer ", i))
		b := chaintest.NextBlock(t, &p, parent, addr)
		mustAdd(t, c, b)
		parent = b
	}
	return c, keys
}

// templateIDs is the ids of the next block's transactions, reward left out.
func templateIDs(c *Chain, miner string) []chain.Hash {
	b := c.BlockTemplate(miner)
	return chaintest.IDsOf(b.Transactions[:len(b.Transactions)-1])
}

// TestFeePriority: a flood of low-fee transactions, whether it fills the
// pool or only the next block many times over, cannot keep a transaction
// that pays more out of the next block; the template's reward collects
// the fees, and the block is valid.
func TestFeePriority(t *testing.T) {
	for _, full := range []bool{false, true} {
		t.Run(fmt.Sprintf("full=%v", full), func(t *testing.T) {
			c, keys := feeChain(t, 5, func(cfg *Config) {
				if full {
					cfg.PoolMaxCount = 40
				}
				cfg.Params.MaxBlockTxs = 4 // three transactions and the reward
			})
			_, bob := chaintest.Key(t, "bob")
			for _, k := range keys[:4] { // the flood: 40 transactions of fee 1
				var txs []chain.Transaction
				for n := range uint64(10) {
					txs = append(txs, feeTx(t, c, k, bob, 1, 1, n))
				}
				for i, err := range c.AddTransactions(txs, "flooder") {
					if err != nil {
						t.Fatalf("flood %d: %v", i, err)
					}
				}
			}
			rich := feeTx(t, c, keys[4], bob, 1, 5, 0)
			if err := c.AddTransactionFrom(rich, "honest"); err != nil {
				t.Fatalf("the transaction paying more: %v", err)
			}
			if full && c.PendingCount() != 40 {
				t.Fatalf("%d pending, want the bound 40", c.PendingCount())
			}
			ids := templateIDs(c, bob)
			if len(ids) != 3 || ids[0] != rich.ID {
				t.Fatalf("template %v: want %s first of 3", ids, rich.ID)
			}
			b := c.BlockTemplate(bob)
			if got, want := b.Transactions[len(b.Transactions)-1].Amount, c.Params().Reward+5+1+1; got != want {
				t.Fatalf("reward %d, want %d", got, want)
			}
			chaintest.Mine(t, b, b.Bits)
			mustAdd(t, c, b)
		})
	}
}

// TestPackageRate: a sender's transaction paying much does not lift one
// paying little before it (the package rate is the lowest along the
// nonce chain), and a template takes each sender's in nonce order.
func TestPackageRate(t *testing.T) {
	c, keys := feeChain(t, 2, nil)
	_, bob := chaintest.Key(t, "bob")
	a0 := feeTx(t, c, keys[0], bob, 1, 0, 0)
	a1 := feeTx(t, c, keys[0], bob, 1, 50, 1) // held back by a0
	b0 := feeTx(t, c, keys[1], bob, 1, 3, 0)
	b1 := feeTx(t, c, keys[1], bob, 1, 2, 1)
	for _, tx := range []chain.Transaction{a0, a1, b0, b1} {
		if err := c.AddTransaction(tx); err != nil {
			t.Fatal(err)
		}
	}
	want := chaintest.IDsOf([]chain.Transaction{b0, b1, a0, a1})
	if got := templateIDs(c, bob); !slices.Equal(got, want) {
		t.Fatalf("template order %v, want %v", got, want)
	}
}

// TestReplacement: a pending transaction is replaced by one of the same
// sender and nonce paying at least 10% more (and the minimum relay fee
// more), refused below with an error naming the fee needed; the store
// keeps exactly the replacement across a reopen.
func TestReplacement(t *testing.T) {
	c, keys := feeChain(t, 1, nil)
	_, bob := chaintest.Key(t, "bob")
	addr, _ := chain.AddressOf(keys[0])
	old := feeTx(t, c, keys[0], bob, 10, 100, 0)
	next := feeTx(t, c, keys[0], bob, 10, 100, 1)
	for _, tx := range []chain.Transaction{old, next} {
		if err := c.AddTransaction(tx); err != nil {
			t.Fatal(err)
		}
	}
	low := feeTx(t, c, keys[0], bob, 10, 109, 0)
	err := c.AddTransaction(low)
	chaintest.WantErr(t, err, chain.ErrBadNonce)
	if !strings.Contains(err.Error(), "at least 110") {
		t.Fatalf("refusal %q does not name the fee needed, 110", err)
	}
	// The balance must cover every pending transaction with the new one.
	chaintest.WantErr(t, c.AddTransaction(feeTx(t, c, keys[0], bob, 800, 110, 0)), chain.ErrInsufficientBalance)
	chaintest.WantErr(t, c.AddTransaction(old), chain.ErrKnownTransaction)

	repl := feeTx(t, c, keys[0], bob, 10, 110, 0)
	if err := c.AddTransaction(repl); err != nil {
		t.Fatalf("replacement at 10%% more: %v", err)
	}
	check := func(c *Chain) {
		t.Helper()
		if _, err := c.FindTransaction(old.ID); !errors.Is(err, chain.ErrNotFound) {
			t.Fatalf("the replaced transaction: %v", err)
		}
		got := chaintest.IDsOf(c.AccountPending(addr))
		if want := chaintest.IDsOf([]chain.Transaction{repl, next}); !slices.Equal(got, want) {
			t.Fatalf("pending %v, want %v", got, want)
		}
		if a, _ := c.Account(addr); a.PendingSpend != 10+110+10+100 {
			t.Fatalf("pending spend %d, want 230", a.PendingSpend)
		}
	}
	check(c)
	check(reopen(t, c))
}

// TestRelayMinimum: below the minimum relay fee rate a transaction is
// refused with an error naming the minimum; the replacement must add it.
func TestRelayMinimum(t *testing.T) {
	c, keys := feeChain(t, 1, func(cfg *Config) { cfg.MinRelayFeeRate = 1000 }) // 1 a byte
	_, bob := chaintest.Key(t, "bob")
	tx := feeTx(t, c, keys[0], bob, 1, 0, 0)
	size := uint64(tx.EncodedSize())
	err := c.AddTransaction(feeTx(t, c, keys[0], bob, 1, size-1, 0))
	if !errors.Is(err, chain.ErrFeeTooLow) || !strings.Contains(err.Error(), fmt.Sprint("at least ", size)) {
		t.Fatalf("fee %d for %d bytes: %v, want %v naming %d", size-1, size, err, chain.ErrFeeTooLow, size)
	}
	if err := c.AddTransaction(feeTx(t, c, keys[0], bob, 1, size, 0)); err != nil {
		t.Fatal(err)
	}
	// 10% more is 11 more here, less than the minimum relay fee, 196.
	chaintest.WantErr(t, c.AddTransaction(feeTx(t, c, keys[0], bob, 1, 2*size-1, 0)), chain.ErrBadNonce)
	if err := c.AddTransaction(feeTx(t, c, keys[0], bob, 1, 2*size, 0)); err != nil {
		t.Fatal(err)
	}
}

// TestFeeEviction: a full pool evicts the lowest package rate first, the
// last transaction of its sender, for a newcomer that pays more, and
// refuses one that does not.
func TestFeeEviction(t *testing.T) {
	c, keys := feeChain(t, 6, func(cfg *Config) { cfg.PoolMaxCount = 4 })
	_, bob := chaintest.Key(t, "bob")
	txs := []chain.Transaction{
		feeTx(t, c, keys[0], bob, 1, 50, 0),
		feeTx(t, c, keys[0], bob, 1, 1, 1), // package rate of fee 1: evicted first
		feeTx(t, c, keys[1], bob, 1, 3, 0),
		feeTx(t, c, keys[2], bob, 1, 5, 0),
	}
	for _, tx := range txs {
		if err := c.AddTransactionFrom(tx, "peer"); err != nil {
			t.Fatal(err)
		}
	}
	pendingIDs := func() []chain.Hash {
		ids := chaintest.IDsOf(c.Pending(0))
		slices.SortFunc(ids, func(a, b chain.Hash) int { return strings.Compare(a.String(), b.String()) })
		return ids
	}
	same := feeTx(t, c, keys[3], bob, 1, 1, 0) // pays no more than the lowest
	chaintest.WantErr(t, c.AddTransactionFrom(same, "peer"), chain.ErrPoolFull)
	chaintest.WantErr(t, c.AddTransactionFrom(same, "newcomer"), chain.ErrPoolFull) // nor by the quotas
	for _, step := range []struct {
		tx      chain.Transaction
		evicted chain.Transaction
	}{
		{feeTx(t, c, keys[4], bob, 1, 2, 0), txs[1]},
		{feeTx(t, c, keys[5], bob, 1, 4, 0), feeTx(t, c, keys[4], bob, 1, 2, 0)},
		{feeTx(t, c, keys[3], bob, 1, 6, 0), txs[2]},
	} {
		before := pendingIDs()
		if err := c.AddTransactionFrom(step.tx, "peer"); err != nil {
			t.Fatalf("fee %d: %v", step.tx.Fee, err)
		}
		if c.pool.has(step.evicted.ID) || !slices.Contains(before, step.evicted.ID) {
			t.Fatalf("fee %d: %s (fee %d) not evicted", step.tx.Fee, step.evicted.ID, step.evicted.Fee)
		}
	}
	if c.PendingCount() != 4 {
		t.Fatalf("%d pending, want 4", c.PendingCount())
	}
}

// TestFeeEstimates: on an empty chain every estimate is the minimum relay
// fee rate; a pool that overflows the next block raises the 1-block
// estimate above the rate the block would leave out, not the 10-block
// one; a full block raises the estimates to its clearing rate.
func TestFeeEstimates(t *testing.T) {
	p := chaintest.SignedParams(t)
	cfg := testConfig(t, p)
	cfg.MinRelayFeeRate = 7
	empty := openChain(t, cfg).FeeEstimates()
	for _, e := range empty.Estimates {
		if e.FeeRate != 7 || e.Fee != chain.FeeForRate(7, empty.TypicalSize) {
			t.Fatalf("empty chain: %+v, want the minimum 7", e)
		}
	}
	if empty.TypicalSize != 196 || empty.Unit != chain.FeeRateUnit || len(empty.Estimates) != 3 {
		t.Fatalf("empty chain: %+v", empty)
	}

	c, keys := feeChain(t, 2, func(cfg *Config) { cfg.Params.MaxBlockTxs = 4 })
	_, bob := chaintest.Key(t, "bob")
	var txs []chain.Transaction
	for n := range uint64(4) { // fees 40, 30, 20, 10: the last is left out
		txs = append(txs, feeTx(t, c, keys[0], bob, 1, 40-10*n, n))
	}
	for _, err := range c.AddTransactions(txs, "") {
		if err != nil {
			t.Fatal(err)
		}
	}
	est := c.FeeEstimates()
	leftOut := uint64(10*chain.FeeRateUnit) / 196 // package rate of fee 10
	if est.Estimates[0].FeeRate != leftOut+1 || est.Estimates[2].FeeRate != 0 {
		t.Fatalf("estimates %+v: want %d for 1 block, 0 for 10", est.Estimates, leftOut+1)
	}
	if rich := feeTx(t, c, keys[1], bob, 1, est.Estimates[0].Fee, 0); rich.FeeRate() <= leftOut {
		t.Fatalf("the 1-block fee %d does not beat the rate %d", rich.Fee, leftOut)
	}
	b := c.BlockTemplate(bob)
	chaintest.Mine(t, b, b.Bits)
	mustAdd(t, c, b)
	// The block was full; its clearing rate is fee 20's.
	est = c.FeeEstimates()
	if want := uint64(20*chain.FeeRateUnit) / 196; est.Estimates[0].FeeRate != want || est.Estimates[2].FeeRate != 0 || est.RecentBlocks != 3 {
		t.Fatalf("after a full block: %+v, want %d for 1 block, 0 for 10 (the funding blocks had room)", est, want)
	}
}
