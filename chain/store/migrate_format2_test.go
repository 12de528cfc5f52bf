package store

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gossipchain/gossipchain/chain"
	"github.com/gossipchain/gossipchain/chain/chaintest"
)

// The fixture is a format-2 store written by the previous release; see
// testdata/store/README.md for what it holds.
const format2Fixture = "../../testdata/store/format2.db"

// format2Head is the head of the fixture's main chain, at height 23.
const format2Head = "017b56e257544e049bf2f574094e225779f6bed67bb61c4d6ec8ffe4efe91a03"

// format2Abandoned are the blocks of heights 16 to 21 that the fixture's
// reorganisation left as a side branch.
var format2Abandoned = []string{
	"00c8c8ac65328faf80525fff0aca6651d3a1765b24e4a9b79860368158b36807",
	"00bcd93fc359199448e66f38c99c1fc4469aeb0cf864b63b6ec5269c5531c6a4",
	"015475b776381e3c8b8c4f156c66ab2dae1b1f95eca96257b0a277dfa411fc10",
	"02af6ae058f53ae216911fbd4471a3c0e7c6f0f7d6c468f7430efec5442f5bc3",
	"02808599ce5296191504739bb08fbec191f25c14ae78f5be40be25a3d50aa249",
	"008d17f7a52b0a8f96841e0d619b1fd3a2862c5c13bb9feba83b046c29077053",
}

// openFixture copies the store fixture at path, which must be of format
// version, into a new data directory and opens it for p, logging into logs.
func openFixture(t *testing.T, path string, p chain.Params, version uint64) (Config, *bytes.Buffer, *Chain) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	cfg := testConfig(t, p)
	cfg.RefuseNew = true
	if err := os.WriteFile(cfg.Path, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	if v := storedVersion(t, cfg.Path); v != version {
		t.Fatalf("fixture of version %d, want %d", v, version)
	}
	logs := new(bytes.Buffer)
	cfg.Logger = slog.New(slog.NewTextHandler(logs, nil))
	c, err := Open(cfg)
	if err != nil {
		t.Fatalf("Open of the format-%d fixture: %v", version, err)
	}
	return cfg, logs, c
}

// TestOpenFormat2Fixture opens a store that the previous release wrote: it
// is upgraded in place to format 3 with its main chain, its side branch, its
// indexes and its pending pool, once, and the chain goes on from its head.
func TestOpenFormat2Fixture(t *testing.T) {
	p := chaintest.ParamsAt(t, chaintest.Difficulty)
	p.HalfLife = 10 * time.Minute // the default half-life when the fixture was written
	cfg, logs, c := openFixture(t, format2Fixture, p, 2)
	if n := strings.Count(logs.String(), "store upgraded from format 2 to format 4"); n != 1 {
		t.Errorf("%d upgrade lines in:\n%s", n, logs.String())
	}
	if strings.Contains(logs.String(), "level=WARN") {
		t.Errorf("a WARN line on the upgrade:\n%s", logs.String())
	}
	head, err := chain.ParseHash(format2Head)
	if err != nil {
		t.Fatal(err)
	}
	check := func(c *Chain) {
		t.Helper()
		if h := c.Head(); h.Height != 23 || h.Hash != head {
			t.Fatalf("head %d %s, want 23 %s", h.Height, h.Hash, head)
		}
		for _, s := range format2Abandoned {
			h, _ := chain.ParseHash(s)
			if _, err := c.BlockByHash(h); err != nil {
				t.Errorf("side block %s: %v", s, err)
			}
		}
		// 12 transactions returned by the reorganisation, then 3 submitted.
		if n := c.PendingCount(); n != 15 {
			t.Errorf("%d pending, want 15", n)
		}
		for i := range 3 {
			tx := chaintest.Tx("grace", fmt.Sprintf("heidi-%d", i), 5, uint64(i))
			if loc, err := c.FindTransaction(tx.ID); err != nil || !loc.Pending {
				t.Errorf("submitted transaction %d: %+v, %v", i, loc, err)
			}
		}
		// The transaction index finds what the main chain holds, below and
		// above the fork.
		for _, want := range []struct {
			tx     chain.Transaction
			height uint64
		}{
			{chaintest.Tx("alice-0", "bob", 1, 1), 2},
			{chaintest.Tx("carol", "dave-13", 2, 13), 15},
			{chaintest.Tx("erin", "frank-7", 3, 7), 23},
		} {
			loc, err := c.FindTransaction(want.tx.ID)
			if err != nil || loc.Pending || loc.Height != want.height {
				t.Errorf("transaction %s: %+v, %v; want height %d", want.tx.ID, loc, err, want.height)
			}
		}
		// A transaction of an abandoned block is pending, not in a block.
		if loc, err := c.FindTransaction(chaintest.Tx("alice-15", "bob", 16, 1).ID); err != nil || !loc.Pending {
			t.Errorf("returned transaction: %+v, %v", loc, err)
		}
		if _, err := c.Account("alice-0"); !errors.Is(err, chain.ErrNotSigned) {
			t.Errorf("accounts of the open ledger: %v, want ErrNotSigned", err)
		}
	}
	check(c)
	m, err := newMiner(c, "miner-c")
	if err != nil {
		t.Fatal(err)
	}
	b, _, err := m.MineBlock(t.Context())
	if err != nil || b.Index != 24 || len(b.Transactions) != 16 {
		t.Fatalf("mined %v at %d with %d transactions", err, b.Index, len(b.Transactions))
	}
	c.Close()
	if v := storedVersion(t, cfg.Path); v != storeVersion {
		t.Fatalf("version %d after the upgrade, want %d", v, storeVersion)
	}
	logs.Reset()
	c = openChain(t, cfg)
	if strings.Contains(logs.String(), "upgraded") {
		t.Error("upgraded twice")
	}
	if h := c.Head(); h.Hash != b.Hash || c.PendingCount() != 0 {
		t.Errorf("after reopen: head %d %s, %d pending", h.Height, h.Hash, c.PendingCount())
	}
}
