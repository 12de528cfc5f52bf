package store

import (
	"bytes"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gossipchain/gossipchain/chain"
	"github.com/gossipchain/gossipchain/chain/chaintest"
)

const format5Fixture = "../../testdata/store/format5" // a data directory: chain.db and its segments

// TestOpenFormat5Fixture opens the data directory of format 5, whose
// main-chain records carry their block's header: it is upgraded in place
// with one log line and keeps everything (main chain, side branch, pool,
// indexes); a reorganisation back onto the side branch moves its records,
// long and short, between the main chain and the side blocks, and the
// store opens again.
func TestOpenFormat5Fixture(t *testing.T) {
	p := chaintest.ParamsAt(t, chaintest.Difficulty)
	cfg := testConfig(t, p)
	dir := filepath.Dir(cfg.Path)
	for _, name := range []string{"chain.db", "chain.db.blocks/00000000.seg"} {
		raw, err := os.ReadFile(filepath.Join(format5Fixture, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), raw, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	logs := new(bytes.Buffer)
	cfg.Logger = slog.New(slog.NewTextHandler(logs, nil))
	c := openChain(t, cfg)
	if n := strings.Count(logs.String(), "store upgraded in place"); n != 1 || !strings.Contains(logs.String(), "old_format=5 format=6") {
		t.Errorf("%d upgrade lines, want 1:\n%s", n, logs)
	}

	// Rebuild the fixture's history to know its blocks.
	var main []*chain.Block
	parent := p.Genesis()
	for i := range uint64(6) {
		parent = chaintest.NextBlock(t, &p, parent, "miner-a", chaintest.Tx("alice", "bob", i+1, i))
		main = append(main, parent)
	}
	branch := chaintest.Branch(t, &p, main[2], 4, "miner-b")
	head := c.Head()
	if head.Height != 8 || head.Hash != branch[3].Hash || head.Hash.String() != "0097827b8e199671e156baa1ed6bfbdfc7e5a0fa5ab36a0a0278d1f3779fefe7" {
		t.Fatalf("head %d %s, want 8 %s", head.Height, head.Hash, branch[3].Hash)
	}
	for _, b := range append(main[:3:3], branch...) {
		if got, err := c.BlockByHeight(b.Index); err != nil || got.Hash != b.Hash {
			t.Errorf("height %d: %v, %v", b.Index, got, err)
		}
		if !c.IsMain(b.Hash) {
			t.Errorf("block %d %s is not on the main chain", b.Index, b.Hash)
		}
	}
	for _, b := range main[3:] {
		if got, err := c.BlockByHash(b.Hash); err != nil || got.Hash != b.Hash || c.IsMain(b.Hash) {
			t.Errorf("side block %d: %v, %v, main %v", b.Index, got, err, c.IsMain(b.Hash))
		}
	}
	headers := 0
	if err := c.MainHeaders(1, 0, func(hash chain.Hash, h []byte) error {
		if chain.Hash(h[:chain.HashSize]) == (chain.Hash{}) && hash != p.Genesis().Hash {
			t.Errorf("header of %s without a previous hash", hash)
		}
		headers++
		return nil
	}); err != nil || headers != 8 {
		t.Errorf("MainHeaders: %d headers, %v", headers, err)
	}
	if loc, err := c.FindTransaction(main[0].Transactions[0].ID); err != nil || loc.Pending || loc.Height != 2 {
		t.Errorf("a confirmed transaction: %+v, %v", loc, err)
	}
	if n := c.PendingCount(); n != 4 {
		t.Errorf("%d pending, want 4", n)
	}

	// Back onto the side branch (heights 5 to 7) with two blocks more: its
	// payments leave the pool, the branch of format-5 records goes aside.
	more := chaintest.Branch(t, &p, main[5], 2, "miner-c")
	res := mustAddAll(t, c, more)
	if res.Status != Reorganized || res.Head.Height != 9 {
		t.Fatalf("status %s, head %d", res.Status, res.Head.Height)
	}
	if n := c.PendingCount(); n != 1 {
		t.Errorf("%d pending after the reorganisation, want carol's", n)
	}
	c.Close()
	if v := storedVersion(t, cfg.Path); v != storeVersion {
		t.Errorf("format %d after the upgrade, want %d", v, storeVersion)
	}
	logs.Reset()
	c = openChain(t, cfg)
	if strings.Contains(logs.String(), "upgraded") {
		t.Errorf("upgraded twice:\n%s", logs)
	}
	if h := c.Head(); h.Hash != more[1].Hash {
		t.Errorf("after reopen: head %d %s, want %s", h.Height, h.Hash, more[1].Hash)
	}
	for _, b := range branch {
		if got, err := c.BlockByHash(b.Hash); err != nil || got.Hash != b.Hash || c.IsMain(b.Hash) {
			t.Errorf("abandoned block %d: %v, %v", b.Index, got, err)
		}
	}
	if _, err := c.FindTransaction(chain.Hash{1}); !errors.Is(err, chain.ErrNotFound) {
		t.Errorf("an unknown transaction: %v", err)
	}
}
