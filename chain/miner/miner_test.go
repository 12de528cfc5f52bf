package miner

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gossipchain/gossipchain/chain"
	"github.com/gossipchain/gossipchain/chain/chaintest"
	"github.com/gossipchain/gossipchain/chain/store"
)

// testConfig returns the store configuration of a test chain in a fresh
// temporary directory, with the fixed test clock.
func testConfig(t testing.TB, p chain.Params) store.Config {
	t.Helper()
	return store.Config{Params: p, Path: filepath.Join(t.TempDir(), "chain.db"), Now: func() time.Time { return chaintest.Now },
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
}

// openChain opens cfg and closes the chain when the test ends.
func openChain(t testing.TB, cfg store.Config) *store.Chain {
	t.Helper()
	c, err := store.Open(cfg)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// newTestChain opens a fresh test chain at difficulty d.
func newTestChain(t testing.TB, d uint32) *store.Chain {
	t.Helper()
	return openChain(t, testConfig(t, chaintest.ParamsAt(t, d)))
}

func newTestMiner(t testing.TB, c *store.Chain, threads int) *Miner {
	t.Helper()
	m, err := New(c, Config{Address: "miner-1", Threads: threads})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestMineBlock(t *testing.T) {
	c := newTestChain(t, 8)
	m := newTestMiner(t, c, 2)
	var txs []chain.Transaction
	for i := range 5 {
		tx := chaintest.Tx("alice", "bob", uint64(i+1), uint64(i))
		if err := c.AddTransaction(tx); err != nil {
			t.Fatal(err)
		}
		txs = append(txs, tx)
	}
	changed := c.HeadChanged()
	b, res, err := m.MineBlock(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != store.Extended || res.Head.Hash != b.Hash || b.Index != 2 || b.PreviousHash != c.Genesis().Hash {
		t.Fatalf("result %+v, block %d", res, b.Index)
	}
	select {
	case <-changed:
	default:
		t.Error("HeadChanged did not fire")
	}
	if chain.LeadingZeroBits(b.Hash) < 8 || b.Hash != b.ComputeHash() || b.Bits != chain.MustCompact(chain.ZeroBitsTarget(8)) {
		t.Errorf("block %s does not meet difficulty 8", b.Hash)
	}
	if got := chaintest.IDsOf(b.Transactions[:5]); !slices.Equal(got, chaintest.IDsOf(txs)) {
		t.Error("block does not hold the pending transactions first come, first served")
	}
	r := b.Reward()
	if r == nil || r.Recipient != "miner-1" || r.Amount != c.Params().Reward || r.Nonce != 2 || len(b.Transactions) != 6 {
		t.Errorf("reward %+v", r)
	}
	if c.PendingCount() != 0 {
		t.Errorf("%d transactions still pending", c.PendingCount())
	}
	if m.HashRate() < 0 || m.Attempts() == 0 || m.Address() != "miner-1" {
		t.Errorf("HashRate %v, Attempts %d", m.HashRate(), m.Attempts())
	}
	// The next block goes on top.
	b2, res, err := m.MineBlock(context.Background())
	if err != nil || b2.PreviousHash != b.Hash || res.Head.Height != 3 || len(b2.Transactions) != 1 {
		t.Fatalf("second block: %+v, %v", res, err)
	}
}

func TestMinerTemplateLimits(t *testing.T) {
	p := chaintest.ParamsAt(t, 4)
	p.MaxBlockTxs = 4
	c := openChain(t, testConfig(t, p))
	m := newTestMiner(t, c, 1)
	for i := range 10 {
		if err := c.AddTransaction(chaintest.Tx("alice", "bob", 1, uint64(i))); err != nil {
			t.Fatal(err)
		}
	}
	b, _, err := m.MineBlock(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Transactions) != 4 || c.PendingCount() != 7 {
		t.Errorf("block holds %d transactions, %d pending; want 4 and 7", len(b.Transactions), c.PendingCount())
	}

	// The size bound.
	p = chaintest.ParamsAt(t, 4)
	p.MaxBlockSize = chain.HeaderSize + 4 + 3*300
	c = openChain(t, testConfig(t, p))
	m = newTestMiner(t, c, 1)
	long := strings.Repeat("x", chain.MaxAddressLen)
	for i := range 5 {
		if err := c.AddTransaction(chaintest.Tx(long, long, 1, uint64(i))); err != nil {
			t.Fatal(err)
		}
	}
	b, _, err = m.MineBlock(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	// 3 × 276 bytes and the reward fit in 1000 bytes, a fourth does not.
	if b.BinarySize() > p.MaxBlockSize || len(b.Transactions) != 4 || c.PendingCount() != 2 {
		t.Errorf("block of %d bytes with %d transactions", b.BinarySize(), len(b.Transactions))
	}
}

func TestMinerTimestampNotBeforeMedian(t *testing.T) {
	// The local clock is behind the chain: the template uses the median.
	p := chaintest.ParamsAt(t, 4)
	cfg := testConfig(t, p)
	cfg.Now = func() time.Time { return chain.GenesisTimestamp.Time() }
	c := openChain(t, cfg)
	blocks := chaintest.Branch(t, &p, c.Genesis(), 12, "alice")
	if _, _, err := c.AddBlocks(blocks); err != nil {
		t.Fatal(err)
	}
	b, _, err := newTestMiner(t, c, 1).MineBlock(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if b.Timestamp != blocks[6].Timestamp {
		t.Errorf("timestamp %s, want the median %s", b.Timestamp, blocks[6].Timestamp)
	}
}

func TestMinerStopsOnCancel(t *testing.T) {
	c := newTestChain(t, 60) // out of reach
	m := newTestMiner(t, c, 2)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, _, err := m.MineBlock(ctx)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("MineBlock = %v, want deadline exceeded", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("MineBlock took %v to stop", d)
	}
	if m.Attempts() == 0 || m.HashRate() <= 0 {
		t.Errorf("no attempts counted: %d, %v", m.Attempts(), m.HashRate())
	}
	// Already cancelled.
	ctx, cancel = context.WithCancel(context.Background())
	cancel()
	if _, _, err := m.MineBlock(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("MineBlock(cancelled) = %v", err)
	}
}

func TestMinerRestartsOnNewHead(t *testing.T) {
	c := newTestChain(t, 60)
	m := newTestMiner(t, c, 2)
	b := c.BlockTemplate(m.address)
	changed := make(chan struct{})
	done := make(chan bool)
	go func() {
		_, ok := m.search(context.Background(), b, changed)
		done <- ok
	}()
	time.Sleep(20 * time.Millisecond)
	close(changed)
	select {
	case ok := <-done:
		if ok {
			t.Error("search reported a proof at difficulty 60")
		}
	case <-time.After(2 * time.Second):
		t.Fatal("search did not stop on a new head")
	}
}

func TestMinerFollowsNewHead(t *testing.T) {
	// A block arriving while the miner works: the mined block ends up on
	// the longest chain, never as a side branch of the miner's own making.
	c := newTestChain(t, 12)
	p := c.Params()
	m := newTestMiner(t, c, 1)
	other := chaintest.NextBlock(t, &p, c.Genesis(), "other")
	var wg sync.WaitGroup
	wg.Add(1)
	var mined *chain.Block
	var err error
	go func() {
		defer wg.Done()
		mined, _, err = m.MineBlock(context.Background())
	}()
	_, addErr := c.AddBlock(other)
	wg.Wait()
	if err != nil || addErr != nil {
		t.Fatalf("MineBlock: %v, AddBlock: %v", err, addErr)
	}
	if !c.IsMain(mined.Hash) || c.Head().Hash != mined.Hash {
		t.Error("the mined block is not the head")
	}
}

func TestMineBlockSerialised(t *testing.T) {
	c := newTestChain(t, 6)
	m := newTestMiner(t, c, 1)
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, _, err := m.MineBlock(context.Background()); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if h := c.Head().Height; h != 5 {
		t.Errorf("height %d after 4 blocks, want 5", h)
	}
}

func TestNewMiner(t *testing.T) {
	c := newTestChain(t, 4)
	for _, addr := range []string{"", chain.RewardSender, "a\x00b", strings.Repeat("a", chain.MaxAddressLen+1)} {
		if _, err := New(c, Config{Address: addr}); err == nil {
			t.Errorf("NewMiner(%q) succeeded", addr)
		}
	}
	m, err := New(c, Config{Address: "me"})
	if err != nil || m.threads != runtime.NumCPU() {
		t.Errorf("default threads: %v, %v", m, err)
	}
}
