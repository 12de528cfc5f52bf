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

// blockCost is what adding one block cost the disk: the bytes of the pages
// it dirtied, and its fsyncs (those of the segments, counted by them, and
// the two of a bbolt commit, data then meta page).
type blockCost struct {
	bytes, syncs int64
}

// addCost adds b alone and returns its cost.
func addCost(tb testing.TB, c *Chain, b *chain.Block) blockCost {
	tb.Helper()
	bytes0, syncs0 := writeBytes(tb), c.seg.syncs
	mustAdd(tb, c, b)
	return blockCost{bytes: writeBytes(tb) - bytes0, syncs: c.seg.syncs - syncs0 + 2}
}

// maxBlockBytes bounds the bytes one mined or gossiped block writes: its
// segment page and the copy-on-write pages of one bbolt commit (the chain
// leaf and its branch, the meta bucket, the root, the pool leaf, the free
// list, the meta page), ten pages, and up to two more when the chain leaf
// splits or the free list grows a page.
const maxBlockBytes = 48 << 10

// TestOneBlockWriteCost: one block of two pending transactions, on a chain
// of 3,000 blocks, dirties at most maxBlockBytes and costs three fsyncs: its
// segment, then bbolt's two. The block's JSON is not written.
func TestOneBlockWriteCost(t *testing.T) {
	p := chaintest.ParamsAt(t, 0)
	c := openChain(t, testConfig(t, p))
	blocks := chaintest.Run{Miner: chaintest.Pay("miner")}.Blocks(t, &p, c.Genesis(), 3000)
	if _, _, err := c.AddBlocks(blocks); err != nil {
		t.Fatal(err)
	}
	parent := blocks[len(blocks)-1]
	var worst blockCost
	for i := range 20 {
		txs := []chain.Transaction{chaintest.Tx("alice", fmt.Sprintf("bob-%d", i), 1, uint64(i)), chaintest.Tx("carol", "dave", 1, uint64(i))}
		for _, tx := range txs {
			if err := c.AddTransaction(tx); err != nil {
				t.Fatal(err)
			}
		}
		parent = chaintest.NextBlock(t, &p, parent, "miner", txs...)
		cost := addCost(t, c, parent)
		worst.bytes, worst.syncs = max(worst.bytes, cost.bytes), max(worst.syncs, cost.syncs)
		if c.PendingCount() != 0 {
			t.Fatalf("%d pending after block %d", c.PendingCount(), parent.Index)
		}
	}
	t.Logf("one block of %d bytes: at most %d bytes written, %d fsyncs", parent.BinarySize(), worst.bytes, worst.syncs)
	if worst.bytes > maxBlockBytes || worst.syncs > 3 {
		t.Errorf("one block wrote %d bytes with %d fsyncs, want at most %d and 3", worst.bytes, worst.syncs, maxBlockBytes)
	}
}
