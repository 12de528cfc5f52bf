package store

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gossipchain/gossipchain/chain"
	"github.com/gossipchain/gossipchain/chain/chaintest"
)

// rollbackFixture is a closed store of 301 blocks whose last commit added
// the last 100 in one batch, as a node catching up writes them.
type rollbackFixture struct {
	params chain.Params
	path   string
	blocks []*chain.Block // heights 2 to 301
	ps     int            // the page size
	newest int            // the meta page of the last commit
	// early is the file's first two pages 51 commits before the last.
	early []byte
	// beforeBatch is the bbolt file before the last commit, and
	// segBefore the size its block file had then.
	beforeBatch []byte
	segBefore   int64
}

func newRollbackFixture(t *testing.T) *rollbackFixture {
	t.Helper()
	p := chaintest.ParamsAt(t, chaintest.Difficulty)
	cfg := testConfig(t, p)
	c := openChain(t, cfg)
	f := &rollbackFixture{params: p, path: cfg.Path, blocks: chaintest.Branch(t, &p, c.Genesis(), 300, "m")}
	if _, _, err := c.AddBlocks(f.blocks[:150]); err != nil {
		t.Fatal(err)
	}
	raw, m := readStoreFile(t, cfg.Path)
	f.ps = int(m.pageSize)
	f.early = raw[:2*f.ps]
	for _, b := range f.blocks[150:200] { // a commit each (single blocks wait for theirs)
		mustAdd(t, c, b)
		c.mu.Lock()
		err := c.flushPendingLocked()
		c.mu.Unlock()
		if err != nil {
			t.Fatal(err)
		}
	}
	f.beforeBatch, _ = readStoreFile(t, cfg.Path)
	f.segBefore = fileSize(t, filepath.Join(segmentDir(cfg.Path), "00000000.seg"))
	if _, _, err := c.AddBlocks(f.blocks[200:]); err != nil {
		t.Fatal(err)
	}
	c.Close()
	_, m = readStoreFile(t, cfg.Path)
	f.newest = int(m.txid % 2)
	return f
}

// copyTo copies the store, with its block files, to a new directory,
// replaces the bbolt file by what damage makes of its bytes, and returns
// its config.
func (f *rollbackFixture) copyTo(t *testing.T, damage func(raw []byte) []byte) Config {
	t.Helper()
	cfg := testConfig(t, f.params)
	if err := os.MkdirAll(segmentDir(cfg.Path), 0o700); err != nil {
		t.Fatal(err)
	}
	segs, err := os.ReadDir(segmentDir(f.path))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range segs {
		copyFile(t, filepath.Join(segmentDir(f.path), e.Name()), filepath.Join(segmentDir(cfg.Path), e.Name()), -1)
	}
	raw, err := os.ReadFile(f.path)
	if err != nil {
		t.Fatal(err)
	}
	raw = damage(raw)
	if err := os.WriteFile(cfg.Path, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// randomise returns damage that fills meta page i with random bytes.
func (f *rollbackFixture) randomise(i int) func(raw []byte) []byte {
	return func(raw []byte) []byte {
		r := rand.New(rand.NewPCG(5, uint64(i)))
		for j := range f.page(raw, i) {
			f.page(raw, i)[j] = byte(r.Uint32())
		}
		return raw
	}
}

// page returns the bytes of meta page i of raw.
func (f *rollbackFixture) page(raw []byte, i int) []byte { return raw[i*f.ps : (i+1)*f.ps] }

// storeBytes returns the bbolt file and the block files of the store at
// path, concatenated.
func storeBytes(t *testing.T, path string) []byte {
	t.Helper()
	out, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	segs, err := os.ReadDir(segmentDir(path))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range segs {
		b, err := os.ReadFile(filepath.Join(segmentDir(path), e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b...)
	}
	return out
}

// openLogged opens cfg with a logger into the returned buffer.
func openLogged(t *testing.T, cfg Config) (*Chain, *bytes.Buffer, error) {
	t.Helper()
	var logs bytes.Buffer
	cfg.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	c, err := Open(cfg)
	if err == nil {
		t.Cleanup(func() { c.Close() })
	}
	return c, &logs, err
}

// TestOpenRolledBack: with the meta page of the store's last commit
// randomised, zeroed or replaced by a stale copy, bbolt would open the
// store one commit back, at height 201 of 301. Open refuses it with an
// error that names the file, the bbolt transaction, the height it would
// start at and the heights lost, and changes nothing; with AcceptRollback
// it opens with a warning and adds the lost blocks again from the block
// files (they extend the older head), and the next open is a normal one.
func TestOpenRolledBack(t *testing.T) {
	f := newRollbackFixture(t)
	cases := []struct {
		name   string
		damage func(raw []byte) []byte
		state  string // how the error describes the page
	}{
		{"randomised", f.randomise(f.newest), "is damaged"},
		{"zeroed", func(raw []byte) []byte { clear(f.page(raw, f.newest)); return raw }, "is damaged"},
		{"stale", func(raw []byte) []byte { copy(f.page(raw, f.newest), f.page(f.early, f.newest)); return raw }, "is stale"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := f.copyTo(t, tc.damage)
			before := storeBytes(t, cfg.Path)
			_, _, err := openLogged(t, cfg)
			if !errors.Is(err, ErrRolledBack) {
				t.Fatalf("Open: %v, want ErrRolledBack", err)
			}
			t.Logf("refused: %v", err)
			raw, _ := os.ReadFile(cfg.Path)
			_, unused, _ := readMetas(raw)
			for _, want := range []string{
				cfg.Path,
				fmt.Sprintf("meta page %d of the bbolt file %s", f.newest, tc.state),
				fmt.Sprintf("at transaction %d, height 201 (head %s)", unused.txid, f.blocks[199].Hash),
				fmt.Sprintf("100 blocks at heights 202-301 (the last %s)", f.blocks[299].Hash),
				"backup", "accept the rollback",
			} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q\ndoes not say %q", err, want)
				}
			}
			if !bytes.Equal(storeBytes(t, cfg.Path), before) {
				t.Fatal("a refused open changed the store")
			}

			cfg.AcceptRollback = true
			c, logs, err := openLogged(t, cfg)
			if err != nil {
				t.Fatalf("Open with AcceptRollback: %v", err)
			}
			if h := c.Head(); h.Height != 301 || h.Hash != f.blocks[299].Hash {
				t.Fatalf("accepted rollback at height %d %s, want 301 %s, replayed from the block files", h.Height, h.Hash, f.blocks[299].Hash)
			}
			if s := logs.String(); !strings.Contains(s, "level=WARN") || !strings.Contains(s, "accepting a store that lost its last commit") ||
				!strings.Contains(s, cfg.Path) || !strings.Contains(s, "heights 202-301") {
				t.Errorf("log of the accepted rollback:\n%s", s)
			}
			t.Logf("accepted: %s", logs)
			c.Close()

			cfg.AcceptRollback = false
			c, logs, err = openLogged(t, cfg)
			if err != nil {
				t.Fatalf("Open after the accepted rollback: %v", err)
			}
			if strings.Contains(logs.String(), "level=WARN") {
				t.Errorf("the open after the accepted rollback warns:\n%s", logs)
			}
			raw, _ = os.ReadFile(cfg.Path)
			if _, unused, err := readMetas(raw); unused != nil || err != nil {
				t.Errorf("meta pages after the accepted rollback: %+v, %v", unused, err)
			}
			if h := c.Head(); h.Height != 301 {
				t.Fatalf("height %d after the accepted rollback, want 301", h.Height)
			}
		})
	}
}

// TestOpenOneMetaPageDamaged: damage that loses nothing the store holds
// opens the store as before, with a warning: the older meta page
// randomised (the store opens at its head), or the newer one when the
// block files hold nothing past the older commit's end (its commit wrote
// no block, so what it lost cannot be named). With both pages sound,
// blocks past the end of the last commit are a batch on the head whose
// commit a crash cut off: they are added again, without a warning.
func TestOpenOneMetaPageDamaged(t *testing.T) {
	f := newRollbackFixture(t)
	older := f.copyTo(t, f.randomise(1-f.newest))
	c, logs, err := openLogged(t, older)
	if err != nil {
		t.Fatalf("Open with the older meta page damaged: %v", err)
	}
	if h := c.Head(); h.Height != 301 {
		t.Fatalf("height %d with the older meta page damaged, want 301", h.Height)
	}
	if s := logs.String(); !strings.Contains(s, "level=WARN") || !strings.Contains(s, fmt.Sprintf("page=%d", 1-f.newest)) || !strings.Contains(s, older.Path) {
		t.Errorf("log of a damaged older meta page:\n%s", s)
	}

	// The newer page damaged, and the block files cut back to the end the
	// older commit recorded.
	newer := f.copyTo(t, f.randomise(f.newest))
	if err := os.Truncate(filepath.Join(segmentDir(newer.Path), "00000000.seg"), f.segBefore); err != nil {
		t.Fatal(err)
	}
	c, logs, err = openLogged(t, newer)
	if err != nil {
		t.Fatalf("Open with the newer meta page damaged and no later block: %v", err)
	}
	if h := c.Head(); h.Height != 201 || !strings.Contains(logs.String(), "level=WARN") {
		t.Fatalf("height %d, want 201, with a warning:\n%s", h.Height, logs)
	}

	// Both pages sound, the block files of the 301 blocks beside the bbolt
	// file of 201: the last batch did not commit.
	crashed := f.copyTo(t, func([]byte) []byte { return clone(f.beforeBatch) })
	c, logs, err = openLogged(t, crashed)
	if err != nil {
		t.Fatalf("Open of a batch that did not commit: %v", err)
	}
	if h := c.Head(); h.Height != 301 || strings.Contains(logs.String(), "level=WARN") || !strings.Contains(logs.String(), "replayed") {
		t.Fatalf("height %d, want 301, with an information line:\n%s", h.Height, logs)
	}
}
