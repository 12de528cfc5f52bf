package store

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"

	"github.com/gossipchain/gossipchain/chain"
	"github.com/gossipchain/gossipchain/chain/chaintest"
)

// quietLogger discards log output.
func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// testConfig returns a Config for a store in a fresh temporary directory with
// the fixed test clock.
func testConfig(t testing.TB, p chain.Params) Config {
	t.Helper()
	return Config{
		Params: p,
		Path:   filepath.Join(t.TempDir(), "chain.db"),
		Now:    func() time.Time { return chaintest.Now },
		Logger: quietLogger(),
	}
}

// openChain opens cfg and closes the chain when the test ends.
func openChain(t testing.TB, cfg Config) *Chain {
	t.Helper()
	c, err := Open(cfg)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// newTestChain opens a fresh test chain at difficulty d.
func newTestChain(t testing.TB, d uint32) *Chain {
	t.Helper()
	return openChain(t, testConfig(t, chaintest.ParamsAt(t, d)))
}

// mustAdd adds b and fails the test on error.
func mustAdd(t testing.TB, c *Chain, b *chain.Block) AddResult {
	t.Helper()
	res, err := c.AddBlock(b)
	if err != nil {
		t.Fatalf("AddBlock(%d %s): %v", b.Index, b.Hash, err)
	}
	return res
}

// mustAddAll adds bs one by one.
func mustAddAll(t testing.TB, c *Chain, bs []*chain.Block) AddResult {
	t.Helper()
	var res AddResult
	for _, b := range bs {
		res = mustAdd(t, c, b)
	}
	return res
}

// mainHashes returns the hashes of the main chain from genesis to head.
func mainHashes(t testing.TB, c *Chain) []chain.Hash {
	t.Helper()
	var out []chain.Hash
	if err := c.MainChain(1, 0, func(b *chain.Block) error { out = append(out, b.Hash); return nil }); err != nil {
		t.Fatalf("MainChain: %v", err)
	}
	return out
}

// signedTx signs a payment from key for the chain's network.
func signedTx(t testing.TB, c *Chain, key crypto.PrivKey, to string, amount, nonce uint64) chain.Transaction {
	t.Helper()
	return chaintest.SignedTx(t, c.Genesis().Hash, key, to, amount, nonce)
}

// wantAccount checks the confirmed balance and next nonce of addr.
func wantAccount(t testing.TB, c *Chain, addr string, balance, nonce uint64) {
	t.Helper()
	a, err := c.Account(addr)
	if err != nil {
		t.Fatal(err)
	}
	if a.Balance != balance || a.NextNonce != nonce {
		t.Fatalf("account %s: balance %d, next nonce %d; want %d, %d", addr[len(addr)-6:], a.Balance, a.NextNonce, balance, nonce)
	}
}

// testMiner mines the blocks of store tests as chain/miner does (which
// imports this package, so its tests cannot): a template of the pool on the
// head, its proof found by chaintest, and AddBlock, again on a new head.
type testMiner struct {
	mu      sync.Mutex // one block at a time
	c       *Chain
	address string
}

// newMiner returns a testMiner paying address, which must be a valid reward
// address on c's network.
func newMiner(c *Chain, address string) (*testMiner, error) {
	p := c.Params()
	if err := p.CheckRewardAddress(address); err != nil {
		return nil, err
	}
	return &testMiner{c: c, address: address}, nil
}

// MineBlock mines one block on the head and adds it.
func (m *testMiner) MineBlock(ctx context.Context) (*chain.Block, AddResult, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for {
		if err := ctx.Err(); err != nil {
			return nil, AddResult{}, err
		}
		b := m.c.BlockTemplate(m.address)
		if err := chaintest.MineBlock(b, b.Bits); err != nil {
			return nil, AddResult{}, err
		}
		res, err := m.c.AddBlock(b)
		if err != nil {
			return nil, res, err
		}
		if res.Status != SideBranch {
			return b, res, nil
		}
	}
}
