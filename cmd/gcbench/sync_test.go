package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gossipchain/gossipchain/chain"
)

// TestChainGenParts: the chain made a part at a time is the chain of
// buildBlocks, block for block.
func TestChainGenParts(t *testing.T) {
	p, err := benchParams()
	if err != nil {
		t.Fatal(err)
	}
	whole, err := buildBlocks(p, 200, genTxsPerBlock)
	if err != nil {
		t.Fatal(err)
	}
	g := newChainGen(p, genTxsPerBlock)
	var parts []*chain.Block
	for _, n := range []int{70, 0, 1, 129} {
		bs, err := g.next(n)
		if err != nil {
			t.Fatal(err)
		}
		parts = append(parts, bs...)
	}
	if len(parts) != len(whole) {
		t.Fatalf("%d blocks in parts, want %d", len(parts), len(whole))
	}
	for i := range whole {
		if parts[i].Hash != whole[i].Hash {
			t.Fatalf("block %d: %s in parts, %s whole", i+1, parts[i].Hash, whole[i].Hash)
		}
	}
}

// TestStreamChain: streamChain writes a data directory per length, holding
// that many blocks, and a block file of the longest chain, which the
// references read back; a damaged block file is a clear error.
func TestStreamChain(t *testing.T) {
	p, err := benchParams()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	sizes := []int{100, 200}
	dirs := []string{filepath.Join(dir, "a"), filepath.Join(dir, "b")}
	file := filepath.Join(dir, "blocks.bin")
	var marked []int
	src, err := streamChain(p, sizes, dirs, file, func(n int) { marked = append(marked, n) })
	if err != nil {
		t.Fatal(err)
	}
	if len(marked) != 2 || marked[0] != 100 || marked[1] != 200 {
		t.Errorf("marked %v, want [100 200]", marked)
	}
	for i, d := range dirs {
		c, err := openStore(d, p)
		if err != nil {
			t.Fatal(err)
		}
		if h := c.Head().Height; h != uint64(sizes[i])+1 {
			t.Errorf("%s: height %d, want %d", d, h, sizes[i]+1)
		}
		c.Close()
	}

	want, err := buildBlocks(p, 200, genTxsPerBlock)
	if err != nil {
		t.Fatal(err)
	}
	var got [][]byte
	err = readBlockFile(file, 150, 64, func(recs [][]byte) error {
		if len(recs) > 64 {
			t.Errorf("a batch of %d records, want at most 64", len(recs))
		}
		for _, r := range recs {
			got = append(got, bytes.Clone(r))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 150 {
		t.Fatalf("read %d records, want 150", len(got))
	}
	var size int64
	for i, b := range want {
		enc := b.AppendBinary(nil)
		size += int64(len(enc))
		if i < len(got) && !bytes.Equal(got[i], enc) {
			t.Fatalf("record %d is not block %d's binary encoding", i+1, b.Index)
		}
		if i == 99 && src.bytes[0] != size {
			t.Errorf("bytes of 100 blocks %d, want %d", src.bytes[0], size)
		}
	}
	if src.bytes[1] != size {
		t.Errorf("bytes of 200 blocks %d, want %d", src.bytes[1], size)
	}

	if d, err := boltSequential(filepath.Join(dir, "bolt.db"), file, 200); err != nil || d <= 0 {
		t.Errorf("boltSequential: %v, %v", d, err)
	}
	if d, err := libp2pStream(t.Context(), file, 200); err != nil || d <= 0 {
		t.Errorf("libp2pStream: %v, %v", d, err)
	}

	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	cut := filepath.Join(dir, "cut.bin")
	if err := os.WriteFile(cut, data[:len(data)-10], 0o644); err != nil {
		t.Fatal(err)
	}
	err = readBlockFile(cut, 200, addBatch, func([][]byte) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "record 200") {
		t.Errorf("reading a cut block file: %v, want an error naming record 200", err)
	}
	if _, err := boltSequential(filepath.Join(dir, "bolt2.db"), cut, 200); err == nil {
		t.Error("boltSequential of a cut block file: no error")
	}
	huge := append([]byte{0xff, 0xff, 0xff, 0xff}, data...)
	if err := os.WriteFile(cut, huge, 0o644); err != nil {
		t.Fatal(err)
	}
	err = readBlockFile(cut, 1, addBatch, func([][]byte) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "at most") {
		t.Errorf("reading a record longer than the limit: %v, want an error", err)
	}
}

// TestSync runs gcbench sync on chains of 100 and 200 blocks with real node
// processes: every row is there with a figure, its runs and the load, and a
// run reproduces itself.
func TestSync(t *testing.T) {
	if testing.Short() {
		t.Skip("starts node processes")
	}
	var log bytes.Buffer
	e := &env{workDir: t.TempDir(), procs: newProcSet(), sink: &rowSink{}, command: "gcbench sync", log: &log}
	defer e.procs.stopAll()
	if err := runSync(t.Context(), e, []string{"--blocks", "200,100", "--runs", "2", "--timeout", "2m"}); err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	rows := e.sink.rows
	if len(rows) != 12 {
		t.Fatalf("%d rows, want 12:\n%+v", len(rows), rows)
	}
	wants := []string{
		"3a start-up of a node on an empty data directory",
		"3b fresh node process catching up 100 blocks",
		"3c bytes the syncing node wrote to disk per block, 100 blocks",
		"3d peak anonymous memory of the syncing node (RssAnon",
		"3e start-up of a node holding 100 blocks",
		"3f fresh node process catching up 200 blocks",
		"3j flatness of the sync rate: rate at 100 ÷ rate at 200 blocks",
		"3k peak anonymous memory of the syncing node, 200 ÷ 100 blocks",
		"3l gcbench's own anonymous memory",
	}
	byID := make(map[string]Row)
	for _, r := range rows {
		byID[r.ID] = r
	}
	for _, w := range wants {
		id, what, _ := strings.Cut(w, " ")
		if r := byID[id]; !strings.HasPrefix(r.What, what) {
			t.Errorf("row %s: %q, want it to start %q", id, r.What, what)
		}
	}
	for _, r := range rows {
		if r.ID == "3l" {
			continue
		}
		if s := r.Spread; s == nil || s.N != 2 || !(s.Min > 0) || s.Min > s.Median || s.Median > s.Max {
			t.Errorf("row %s: spread %+v, want 2 runs with 0 < min ≤ median ≤ max", r.ID, s)
		}
		if r.Load == nil || r.CPU == "" {
			t.Errorf("row %s: load %v, CPU %q, want both", r.ID, r.Load, r.CPU)
		}
	}
	for _, c := range checkRows(rows, rows) {
		if c.comparable() != (c.Cur.ID != "3l") || (c.comparable() && !c.Reproduced) {
			t.Errorf("row %s against itself: comparable %v, reproduced %v", c.Cur.ID, c.comparable(), c.Reproduced)
		}
	}
}
