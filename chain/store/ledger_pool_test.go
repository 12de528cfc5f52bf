package store

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/libp2p/go-libp2p/core/crypto"

	"github.com/gossipchain/gossipchain/chain"
	"github.com/gossipchain/gossipchain/chain/chaintest"
)

// TestSignedPoolRules: nonces in order (a gap is refused, the transaction
// filling it comes first), a per-account bound, no replacement, and a full
// pool that evicts a transaction also evicts its sender's later nonces.
func TestSignedPoolRules(t *testing.T) {
	p := chaintest.SignedParams(t)
	p.Reward = 1000
	cfg := testConfig(t, p)
	cfg.PoolMaxPerAccount = 4
	c := openChain(t, cfg)
	alice, aliceAddr := chaintest.Key(t, "alice")
	_, bobAddr := chaintest.Key(t, "bob")
	mustAdd(t, c, chaintest.NextBlock(t, &p, c.Genesis(), aliceAddr))

	chaintest.WantErr(t, c.AddTransaction(signedTx(t, c, alice, bobAddr, 1, 1)), chain.ErrBadNonce) // a gap
	for n := range uint64(4) {
		if err := c.AddTransaction(signedTx(t, c, alice, bobAddr, 1, n)); err != nil {
			t.Fatalf("nonce %d: %v", n, err)
		}
	}
	err := c.AddTransaction(signedTx(t, c, alice, bobAddr, 1, 4))
	if !errors.Is(err, chain.ErrAccountFull) || !errors.Is(err, chain.ErrPoolFull) {
		t.Fatalf("past the per-account bound: %v", err)
	}
	// From a peer, the bound holds too: no eviction makes room.
	err = c.AddTransactionFrom(signedTx(t, c, alice, bobAddr, 1, 4), "peer")
	if !errors.Is(err, chain.ErrAccountFull) {
		t.Fatalf("past the per-account bound from a peer: %v", err)
	}
	chaintest.WantErr(t, c.AddTransaction(signedTx(t, c, alice, bobAddr, 2, 2)), chain.ErrBadNonce) // no replacement
	a, err := c.Account(aliceAddr)
	if err != nil || a.Pending != 4 || a.PendingNonce != 4 || a.NextNonce != 0 {
		t.Fatalf("account %+v, %v", a, err)
	}
	// The miner takes them in nonce order.
	m, err := newMiner(c, bobAddr)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := newMiner(c, "not-an-address"); err == nil {
		t.Fatal("a miner paying a non-address on a signed network")
	}
	b, _, err := m.MineBlock(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Transactions) != 5 {
		t.Fatalf("mined %d transactions", len(b.Transactions))
	}
	wantAccount(t, c, aliceAddr, 996, 4)
	wantAccount(t, c, bobAddr, 1004, 0)
}

// TestSignedPoolEviction: in a full pool, evicting a sender's transaction
// evicts its later nonces as well, so that no sender is left with a gap.
func TestSignedPoolEviction(t *testing.T) {
	p := chaintest.SignedParams(t)
	p.Reward = 1000
	cfg := testConfig(t, p)
	cfg.PoolMaxCount = 4
	c := openChain(t, cfg)
	alice, aliceAddr := chaintest.Key(t, "alice")
	carol, carolAddr := chaintest.Key(t, "carol")
	_, bobAddr := chaintest.Key(t, "bob")
	b2 := chaintest.NextBlock(t, &p, c.Genesis(), aliceAddr)
	mustAdd(t, c, b2)
	mustAdd(t, c, chaintest.NextBlock(t, &p, b2, carolAddr))
	for n := range uint64(4) {
		if err := c.AddTransactionFrom(signedTx(t, c, alice, bobAddr, 1, n), "flooder"); err != nil {
			t.Fatal(err)
		}
	}
	// A newcomer evicts the flooder's newest, nonce 3.
	if err := c.AddTransactionFrom(signedTx(t, c, carol, bobAddr, 1, 0), "other"); err != nil {
		t.Fatal(err)
	}
	a, _ := c.Account(aliceAddr)
	if a.Pending != 3 || a.PendingNonce != 3 {
		t.Fatalf("alice after the eviction: %+v", a)
	}
	// Evict from the middle: when a sender's transactions came from two
	// origins, the evicted one may not be the sender's last.
	cfg2 := testConfig(t, p)
	cfg2.PoolMaxCount = 3
	c2 := openChain(t, cfg2)
	mustAdd(t, c2, b2)
	_ = c2.AddTransactionFrom(signedTx(t, c2, alice, bobAddr, 1, 0), "x")
	_ = c2.AddTransactionFrom(signedTx(t, c2, alice, bobAddr, 1, 1), "x")
	_ = c2.AddTransactionFrom(signedTx(t, c2, alice, bobAddr, 1, 2), "y")
	// y holds the least; x the most: x's newest (nonce 1) goes, and with
	// it nonce 2 of y, which could no longer be mined.
	mustAddTx := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	mustAdd(t, c2, chaintest.NextBlock(t, &p, b2, carolAddr))
	mustAddTx(c2.AddTransactionFrom(signedTx(t, c2, carol, bobAddr, 1, 0), "z"))
	a, _ = c2.Account(aliceAddr)
	if a.Pending != 1 || a.PendingNonce != 1 {
		t.Fatalf("alice after evicting from the middle: %+v (pending %v)", a, c2.Pending(0))
	}
}

// TestSignatureCache: a transaction the pool admitted is not verified
// again when a block holding it is validated; one it did not is.
func TestSignatureCache(t *testing.T) {
	p := chaintest.SignedParams(t)
	p.Reward = 100
	c := openChain(t, testConfig(t, p))
	alice, aliceAddr := chaintest.Key(t, "alice")
	_, bobAddr := chaintest.Key(t, "bob")
	b2 := chaintest.NextBlock(t, &p, c.Genesis(), aliceAddr)
	mustAdd(t, c, b2)
	pooled := signedTx(t, c, alice, bobAddr, 1, 0)
	if err := c.AddTransaction(pooled); err != nil {
		t.Fatal(err)
	}
	fresh := signedTx(t, c, alice, bobAddr, 1, 1)
	before := verifications.Load()
	mustAdd(t, c, chaintest.NextBlock(t, &p, b2, bobAddr, pooled, fresh))
	if n := verifications.Load() - before; n != 1 {
		t.Fatalf("%d verifications for a block of one pooled and one new transaction, want 1", n)
	}
	// The cache is bounded.
	s := newSigCache(3)
	for i := range 10 {
		s.add(chain.Hash{byte(i + 1)})
	}
	if s.len() != 3 || !s.has(chain.Hash{10}) || s.has(chain.Hash{1}) {
		t.Fatalf("cache of 3 holds %d", s.len())
	}
}

// TestSignedConcurrent: payments submitted from several goroutines (some
// racing for one nonce) while blocks are mined and read: afterwards the
// pool continues every account and the accounts equal a replay.
func TestSignedConcurrent(t *testing.T) {
	p := chaintest.SignedParams(t)
	p.Reward = 1000
	c := openChain(t, testConfig(t, p))
	const users = 3
	keys := make([]crypto.PrivKey, users)
	addrs := make([]string, users)
	for i := range keys {
		keys[i], addrs[i] = chaintest.Key(t, fmt.Sprint("user", i))
	}
	m, err := newMiner(c, addrs[0])
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, _, err := m.MineBlock(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var accepted atomic.Int64
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 40 {
				from := (g + i) % users
				acc, err := c.Account(addrs[from])
				if err != nil {
					t.Error(err)
					return
				}
				if acc.Balance <= acc.PendingSpend {
					continue
				}
				tx, err := chain.SignTransaction(keys[from], addrs[(from+1)%users], 1+uint64(i)%(acc.Balance-acc.PendingSpend), acc.PendingNonce, c.Genesis().Hash)
				if err != nil {
					t.Error(err)
					return
				}
				switch err := c.AddTransaction(tx); {
				case err == nil:
					accepted.Add(1)
				case chain.RuleCode(err) == chain.ErrBadNonce, chain.RuleCode(err) == chain.ErrInsufficientBalance, errors.Is(err, chain.ErrKnownTransaction), errors.Is(err, chain.ErrPoolFull):
					// Another goroutine took the nonce first.
				default:
					t.Error(err)
				}
				_, _ = c.AccountTransactions(addrs[from], "", 5)
			}
		}()
	}
	var miner sync.WaitGroup
	miner.Add(1)
	go func() {
		defer miner.Done()
		for ctx.Err() == nil {
			if _, _, err := m.MineBlock(ctx); err != nil && ctx.Err() == nil {
				t.Error(err)
				return
			}
		}
	}()
	wg.Wait()
	cancel()
	miner.Wait()
	if n := accepted.Load(); n < 20 {
		t.Fatalf("only %d payments accepted", n)
	}
	checkPoolLedger(t, c, addrs)
	checkReplay(t, c, addrs)
	checkHistory(t, c, addrs, 50)
}

// TestReturnedTxsThatDoNotFit: a reorganisation returns a sender's
// transactions to a full pool; those that do not fit take the sender's
// later pending nonces with them, so that no sender is left with a gap.
func TestReturnedTxsThatDoNotFit(t *testing.T) {
	p := chaintest.SignedParams(t)
	p.Reward = 100
	cfg := testConfig(t, p)
	cfg.PoolMaxCount = 2
	c := openChain(t, cfg)
	alice, aliceAddr := chaintest.Key(t, "alice")
	bob, bobAddr := chaintest.Key(t, "bob")
	_, minerAddr := chaintest.Key(t, "miner")
	b2 := chaintest.NextBlock(t, &p, c.Genesis(), aliceAddr)
	b3 := chaintest.NextBlock(t, &p, b2, bobAddr)
	mustAdd(t, c, b2)
	mustAdd(t, c, b3)
	a0, a1, a2 := signedTx(t, c, alice, minerAddr, 1, 0), signedTx(t, c, alice, minerAddr, 1, 1), signedTx(t, c, alice, minerAddr, 1, 2)
	b4 := chaintest.NextBlock(t, &p, b3, minerAddr, a0, a1)
	mustAdd(t, c, b4)
	if err := c.AddTransaction(a2); err != nil {
		t.Fatal(err)
	}
	if err := c.AddTransaction(signedTx(t, c, bob, minerAddr, 1, 0)); err != nil {
		t.Fatal(err)
	}
	// A heavier branch without alice's payments: they come back to a full
	// pool.
	x4 := chaintest.NextBlock(t, &p, b3, minerAddr)
	x5 := chaintest.NextBlock(t, &p, x4, minerAddr)
	mustAdd(t, c, x4)
	res := mustAdd(t, c, x5)
	if res.Status != Reorganized {
		t.Fatalf("status %s", res.Status)
	}
	checkPoolLedger(t, c, []string{aliceAddr, bobAddr, minerAddr})
	if len(res.Dropped) == 0 {
		t.Fatal("nothing reported dropped")
	}
	c.Close()
	c = openChain(t, cfg)
	checkPoolLedger(t, c, []string{aliceAddr, bobAddr, minerAddr})
}
