package store

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/gossipchain/gossipchain/chain"
	"github.com/gossipchain/gossipchain/chain/chaintest"
)

// writeBytes reads what this process has caused to be written to storage
// (write_bytes of /proc/self/io: every page it dirtied, 4 KiB each).
func writeBytes(tb testing.TB) int64 {
	tb.Helper()
	f, err := os.Open("/proc/self/io")
	if err != nil {
		tb.Skipf("no /proc/self/io: %v", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "write_bytes: "); ok {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				tb.Fatal(err)
			}
			return n
		}
	}
	tb.Skip("no write_bytes in /proc/self/io")
	return 0
}

// blockCost is what a write cost the disk: the bytes of the pages it
// dirtied, and its fsyncs (those of the segments, counted by them, and the
// two of each bbolt commit, data then meta page).
type blockCost struct {
	bytes, syncs int64
}

// commits returns the id of c's last bbolt commit.
func commits(tb testing.TB, c *Chain) int64 {
	tb.Helper()
	tx, err := c.db.Begin(false)
	if err != nil {
		tb.Fatal(err)
	}
	defer tx.Rollback()
	return int64(tx.ID())
}

// measure runs fn and returns what it cost.
func measure(tb testing.TB, c *Chain, fn func()) blockCost {
	tb.Helper()
	bytes0, syncs0, commits0 := writeBytes(tb), c.seg.syncs, commits(tb, c)
	fn()
	return blockCost{bytes: writeBytes(tb) - bytes0, syncs: c.seg.syncs - syncs0 + 2*(commits(tb, c)-commits0)}
}

// maxBlockBytes bounds the bytes one mined or gossiped block writes: its
// segment record, a page or two; its bbolt changes wait for the periodic
// commit (deferred.go).
const maxBlockBytes = 12 << 10

// TestOneBlockWriteCost: one block of two pending transactions, on a chain
// of 3,000 blocks, dirties at most maxBlockBytes and costs at most two
// fsyncs, in the mean and the worst of 20: its segment record, fsynced. The
// commit of the blocks' bbolt changes that follows is reported amortised
// over them, and with it every block is found after reopening. On an open
// network and on a signed one, whose blocks also change accounts and undo
// data.
func TestOneBlockWriteCost(t *testing.T) {
	t.Run("open", func(t *testing.T) {
		writeCost(t, chaintest.ParamsAt(t, 0), "miner", func(i int) []chain.Transaction {
			return []chain.Transaction{chaintest.Tx("alice", fmt.Sprintf("bob-%d", i), 1, uint64(i)), chaintest.Tx("carol", "dave", 1, uint64(i))}
		})
	})
	t.Run("signed", func(t *testing.T) {
		p := chaintest.ParamsAt(t, 0)
		p.Ledger = chain.LedgerSigned
		key, miner := chaintest.Key(t, "miner")
		_, bob := chaintest.Key(t, "bob")
		writeCost(t, p, miner, func(i int) []chain.Transaction {
			return []chain.Transaction{chaintest.SignedTx(t, p.Genesis().Hash, key, bob, 1, uint64(2*i)), chaintest.SignedTx(t, p.Genesis().Hash, key, bob, 1, uint64(2*i+1))}
		})
	})
}

// writeCost is TestOneBlockWriteCost on the network of p, with blocks
// paying miner and holding txs(i), submitted first, as block i.
func writeCost(t *testing.T, p chain.Params, miner string, txs func(i int) []chain.Transaction) {
	c, _, parent := openRun(t, p, miner, 3000)
	const n = 20
	var worst, sum blockCost
	for i := range n {
		txs := txs(i)
		for _, tx := range txs {
			if err := c.AddTransaction(tx); err != nil {
				t.Fatal(err)
			}
		}
		parent = chaintest.NextBlock(t, &p, parent, miner, txs...)
		b := parent
		cost := measure(t, c, func() { mustAdd(t, c, b) })
		worst.bytes, worst.syncs = max(worst.bytes, cost.bytes), max(worst.syncs, cost.syncs)
		sum.bytes, sum.syncs = sum.bytes+cost.bytes, sum.syncs+cost.syncs
		if c.PendingCount() != 0 {
			t.Fatalf("%d pending after block %d", c.PendingCount(), parent.Index)
		}
	}
	flush := measure(t, c, func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		if err := c.flushPendingLocked(); err != nil {
			t.Fatal(err)
		}
	})
	t.Logf("one block of %d bytes: mean %d bytes and %.1f fsyncs, worst %d bytes and %d fsyncs", parent.BinarySize(), sum.bytes/n, float64(sum.syncs)/n, worst.bytes, worst.syncs)
	t.Logf("the commit of their bbolt changes: %d bytes, %d fsyncs; amortised with it, %d bytes and %.2f fsyncs a block",
		flush.bytes, flush.syncs, (sum.bytes+flush.bytes)/n, float64(sum.syncs+flush.syncs)/n)
	if worst.bytes > maxBlockBytes || worst.syncs > 2 || sum.bytes/n > maxBlockBytes || sum.syncs > 2*n {
		t.Errorf("one block wrote %d bytes (mean %d) with %d fsyncs (mean %.1f), want at most %d and 2", worst.bytes, sum.bytes/n, worst.syncs, float64(sum.syncs)/n, maxBlockBytes)
	}
	if flush.syncs != 2 {
		t.Errorf("the commit of %d blocks cost %d fsyncs, want bbolt's 2", n, flush.syncs)
	}
	c = reopen(t, c)
	if h := c.Head(); h.Hash != parent.Hash {
		t.Errorf("head %d after reopen, want %d", h.Height, parent.Index)
	}
}
