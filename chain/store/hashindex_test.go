package store

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/gossipchain/gossipchain/chain"
	"github.com/gossipchain/gossipchain/chain/chaintest"
)

// TestIndexRuns grows a chain past several flushes of the index tails, so
// that lookups go through merged runs, then reorganises below the indexed
// height and reopens.
func TestIndexRuns(t *testing.T) {
	cfg := testConfig(t, chaintest.ParamsAt(t, 0))
	c := openChain(t, cfg)
	p := c.Params()
	// Each block has two index entries in each of... one block hash, and
	// two transactions: flushEntries/3 blocks per flush.
	n := 3 * flushEntries / 2
	var blocks []*chain.Block
	parent := c.Genesis()
	for i := range n {
		parent = chaintest.NextBlock(t, &p, parent, "m", chaintest.Tx("a", "b", uint64(i+1), 7))
		blocks = append(blocks, parent)
	}
	for i := 0; i < n; i += 2000 {
		if _, _, err := c.AddBlocks(blocks[i:min(i+2000, n)]); err != nil {
			t.Fatal(err)
		}
	}
	runs := func() (blk, txs int, indexed uint64) {
		_ = c.db.View(func(tx *bolt.Tx) error {
			blk = tx.Bucket(bucketHashIx).Stats().KeyN
			txs = tx.Bucket(bucketTxIx).Stats().KeyN
			indexed, _ = metaHeight(tx, metaIndexed)
			return nil
		})
		return
	}
	b, x, indexed := runs()
	if b == 0 || x == 0 || indexed < 2 || indexed == uint64(n+1) {
		t.Fatalf("runs %d %d indexed %d: no flush, or nothing left in the tails", b, x, indexed)
	}
	lookups := func(c *Chain) {
		t.Helper()
		for i := 0; i < n; i += 97 {
			bl := blocks[i]
			if got, err := c.BlockByHash(bl.Hash); err != nil || got.Hash != bl.Hash || !c.IsMain(bl.Hash) {
				t.Fatalf("block %d by hash: %v", bl.Index, err)
			}
			loc, err := c.FindTransaction(bl.Transactions[0].ID)
			if err != nil || loc.Height != bl.Index {
				t.Fatalf("transaction of block %d: %+v %v", bl.Index, loc, err)
			}
		}
		if fork, ok := c.LocateFork([]chain.Hash{blocks[10].Hash}); !ok || fork != 12 {
			t.Fatalf("LocateFork: %d %v", fork, ok)
		}
	}
	lookups(c)
	// A heavier branch forking below the indexed height.
	forkAt := int(indexed) - 10
	branch := chaintest.Branch(t, &p, blocks[forkAt-2], n-forkAt+3, "r")
	res, _, err := c.AddBlocks(branch)
	if err != nil || res.Status != Reorganized {
		t.Fatalf("reorganisation: %+v %v", res, err)
	}
	c.Close()
	c = openChain(t, cfg)
	if c.Head().Hash != branch[len(branch)-1].Hash {
		t.Fatal("head after reopen")
	}
	for _, bl := range branch[:20] {
		if !c.IsMain(bl.Hash) {
			t.Fatalf("branch block %d is not main after reopen", bl.Index)
		}
	}
	for _, bl := range blocks[forkAt-1 : forkAt+20] {
		if !c.HasBlock(bl.Hash) || c.IsMain(bl.Hash) {
			t.Fatalf("abandoned block %d", bl.Index)
		}
		// Its transaction went back to the pool.
		if loc, err := c.FindTransaction(bl.Transactions[0].ID); err != nil || !loc.Pending {
			t.Fatalf("abandoned transaction: %+v %v", loc, err)
		}
	}
	blocks = blocks[:forkAt-2]
	n = len(blocks)
	lookups(c)
}

// TestRunBloom: every entry of a run passes its filter, and few others do.
func TestRunBloom(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	entries := map[chain.Hash]uint64{}
	for i := range 50_000 {
		var h chain.Hash
		binary.BigEndian.PutUint64(h[:], r.Uint64())
		entries[h] = uint64(i)
	}
	run, err := makeRun(entries, nil)
	if err != nil {
		t.Fatal(err)
	}
	sr := storedRun{entries: run, bloom: makeBloom(run)}
	for h := range entries {
		if !sr.mayHold(binary.BigEndian.Uint64(h[:8])) {
			t.Fatalf("the filter misses an entry")
		}
	}
	fp := 0
	const probes = 100_000
	for range probes {
		if sr.mayHold(r.Uint64()) {
			fp++
		}
	}
	if rate := float64(fp) / probes; rate > 0.03 {
		t.Errorf("false positive rate %.3f, want below 0.03", rate)
	} else {
		t.Logf("false positive rate %.4f with %d bits per entry", rate, bloomBitsPerEntry)
	}
}

// TestMergeRuns: merging sorted runs gives one sorted run of every entry.
func TestMergeRuns(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	var runs [][]byte
	total := 0
	for i := range 4 {
		entries := map[chain.Hash]uint64{}
		for j := range 1000 + 500*i {
			var h chain.Hash
			binary.BigEndian.PutUint64(h[:], r.Uint64()%5000) // shared prefixes across runs
			h[8], h[9] = byte(i), byte(j)
			entries[h] = uint64(j)
		}
		run, err := makeRun(entries, nil)
		if err != nil {
			t.Fatal(err)
		}
		runs = append(runs, run)
		total += len(run)
	}
	merged := mergeRuns(runs...)
	if len(merged) != total {
		t.Fatalf("merged %d bytes, want %d", len(merged), total)
	}
	for i := runEntrySize; i < len(merged); i += runEntrySize {
		if binary.BigEndian.Uint64(merged[i:]) < binary.BigEndian.Uint64(merged[i-runEntrySize:]) {
			t.Fatalf("entry %d out of order", i/runEntrySize)
		}
	}
}

// TestLookupsWhileRunsChange: readers never miss a committed block or
// transaction while the writer flushes and merges index runs.
func TestLookupsWhileRunsChange(t *testing.T) {
	c := openChain(t, testConfig(t, chaintest.ParamsAt(t, 0)))
	p := c.Params()
	n := 4*flushEntries/3 + 100 // four flushes and a merge
	var blocks []*chain.Block
	parent := c.Genesis()
	for i := range n {
		parent = chaintest.NextBlock(t, &p, parent, "m", chaintest.Tx("a", "b", uint64(i+1), 11))
		blocks = append(blocks, parent)
	}
	var committed atomic.Int64 // blocks[:committed] are on disk
	var stop atomic.Bool
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for g := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(g), 9))
			for !stop.Load() {
				k := int(committed.Load())
				if k == 0 {
					continue
				}
				b := blocks[r.IntN(k)]
				if !c.HasBlock(b.Hash) {
					errs <- fmt.Errorf("block %d missed", b.Index)
					return
				}
				if loc, err := c.FindTransaction(b.Transactions[0].ID); err != nil || loc.Height != b.Index {
					errs <- fmt.Errorf("transaction of block %d: %+v %v", b.Index, loc, err)
					return
				}
			}
		}()
	}
	for i := 0; i < n; i += 500 {
		end := min(i+500, n)
		if _, _, err := c.AddBlocks(blocks[i:end]); err != nil {
			t.Fatal(err)
		}
		committed.Store(int64(end))
	}
	stop.Store(true)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if g := c.ix.gen.Load(); g < 2 {
		t.Errorf("the runs changed %d times; the test wants flushes", g)
	}
}
