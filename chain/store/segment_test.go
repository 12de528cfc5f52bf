package store

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gossipchain/gossipchain/chain/chaintest"
)

// copyFile copies src to dst, then truncates dst to n bytes if n >= 0.
func copyFile(t testing.TB, src, dst string, n int64) {
	t.Helper()
	raw, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if n >= 0 {
		raw = raw[:n]
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, raw, 0o600); err != nil {
		t.Fatal(err)
	}
}

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return st.Size()
}

// TestTornSegmentTail: a crash after the segment append of a block and
// before the commit that refers to it leaves any prefix of its record in
// the segment. Cut at every byte offset of that record, the store opens at
// the block before, with the segment cut back to the last whole record, and
// the block can be added again; the whole record is replayed.
func TestTornSegmentTail(t *testing.T) {
	p := chaintest.ParamsAt(t, chaintest.Difficulty)
	cfg := testConfig(t, p)
	c := openChain(t, cfg)
	blocks := chaintest.Branch(t, &p, c.Genesis(), 5, "miner")
	mustAddAll(t, c, blocks[:4])
	c.Close()
	before := cfg.Path + ".before"
	copyFile(t, cfg.Path, before, -1)
	seg0 := filepath.Join(segmentDir(cfg.Path), "00000000.seg")
	start := fileSize(t, seg0)
	c = openChain(t, cfg)
	mustAdd(t, c, blocks[4])
	c.Close()
	end := fileSize(t, seg0)
	if want := int64(segHeaderSize + blocks[4].BinarySize()); end-start != want {
		t.Fatalf("the last record is %d bytes, want %d", end-start, want)
	}
	last := blocks[3]
	for cut := start; cut <= end; cut++ {
		run := testConfig(t, p)
		copyFile(t, before, run.Path, -1)
		copyFile(t, seg0, filepath.Join(segmentDir(run.Path), "00000000.seg"), cut)
		c, err := Open(run)
		if err != nil {
			t.Fatalf("cut at %d of [%d, %d]: %v", cut, start, end, err)
		}
		// The whole record is a block acknowledged before its commit:
		// opening adds it again.
		want, wantSize := last, start
		if cut == end {
			want, wantSize = blocks[4], end
		}
		if h := c.Head(); h.Hash != want.Hash {
			t.Fatalf("cut at %d: head %d, want %d", cut, h.Height, want.Index)
		}
		if n := fileSize(t, filepath.Join(segmentDir(run.Path), "00000000.seg")); n != wantSize {
			t.Fatalf("cut at %d: segment of %d bytes after open, want %d", cut, n, wantSize)
		}
		if cut < end {
			mustAdd(t, c, blocks[4])
		}
		c.Close()
		c = openChain(t, run)
		if h := c.Head(); h.Hash != blocks[4].Hash {
			t.Fatalf("cut at %d: head %d after the block was added again", cut, h.Height)
		}
		if got, err := c.BlockByHash(blocks[4].Hash); err != nil || got.Hash != blocks[4].Hash {
			t.Fatalf("cut at %d: %v", cut, err)
		}
		c.Close()
	}
}

// TestDamagedSegment: a segment shorter than what the store committed, or
// a record that does not match its checksum, is an error naming the file.
func TestDamagedSegment(t *testing.T) {
	p := chaintest.ParamsAt(t, chaintest.Difficulty)
	cfg := testConfig(t, p)
	c := openChain(t, cfg)
	blocks := chaintest.Branch(t, &p, c.Genesis(), 6, "miner")
	mustAddAll(t, c, blocks)
	c.Close()
	seg0 := filepath.Join(segmentDir(cfg.Path), "00000000.seg")
	raw, err := os.ReadFile(seg0)
	if err != nil {
		t.Fatal(err)
	}

	short := testConfig(t, p)
	copyFile(t, cfg.Path, short.Path, -1)
	copyFile(t, seg0, filepath.Join(segmentDir(short.Path), "00000000.seg"), int64(len(raw)-1))
	if _, err := Open(short); err == nil || !strings.Contains(err.Error(), "00000000.seg") {
		t.Fatalf("Open of a short segment: %v, want an error naming it", err)
	}

	// A flipped byte in the body of the block at height 2: opening reads
	// the blocks whose index entries it rebuilds, this one among them.
	flipped := testConfig(t, p)
	copyFile(t, cfg.Path, flipped.Path, -1)
	at := 2*segHeaderSize + p.Genesis().BinarySize() + blocks[0].BinarySize()/2
	bad := append([]byte(nil), raw...)
	bad[at] ^= 1
	if err := os.MkdirAll(segmentDir(flipped.Path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(segmentDir(flipped.Path), "00000000.seg"), bad, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(flipped); err == nil || !strings.Contains(err.Error(), "00000000.seg is damaged") {
		t.Fatalf("Open of a segment with a flipped byte: %v, want an error naming it", err)
	}
}
