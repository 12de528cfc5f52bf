package store

import (
	"bytes"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gossipchain/gossipchain/chain"
	"github.com/gossipchain/gossipchain/chain/chaintest"
)

// The fixture is a format-1 store written by the first release; see
// testdata/store/README.md for what it holds.
const format1Fixture = "../../testdata/store/format1.db"

func TestOpenFormat1Fixture(t *testing.T) {
	raw, err := os.ReadFile(format1Fixture)
	if err != nil {
		t.Fatal(err)
	}
	p := chaintest.ParamsAt(t, chaintest.Difficulty)
	cfg := testConfig(t, p)
	cfg.RefuseNew = true // the data directory of a node that has run before
	dir := filepath.Dir(cfg.Path)
	if err := os.WriteFile(cfg.Path, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	key := filepath.Join(dir, "identity.key")
	if err := os.WriteFile(key, []byte("the node's identity"), 0o600); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	cfg.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	c, err := Open(cfg)
	if err != nil {
		t.Fatalf("Open of the format-1 fixture: %v", err)
	}
	// One WARN line says what happened and where the old file is.
	aside := cfg.Path + Protocol1Suffix
	var warn string
	for _, line := range strings.Split(logs.String(), "\n") {
		if strings.Contains(line, "level=WARN") {
			if warn != "" {
				t.Errorf("more than one WARN line:\n%s", logs.String())
			}
			warn = line
		}
	}
	for _, want := range []string{"set aside", "new chain", "old_file=" + aside, "old_network=testnet", "old_height=23", "pending_readmitted=15", "pending_dropped=0"} {
		if !strings.Contains(warn, want) {
			t.Errorf("WARN line %q lacks %q", warn, want)
		}
	}
	// The old file is kept byte for byte; the identity key is untouched.
	if kept, err := os.ReadFile(aside); err != nil || !bytes.Equal(kept, raw) {
		t.Errorf("old file set aside: %v (equal %v)", err, bytes.Equal(kept, raw))
	}
	if k, err := os.ReadFile(key); err != nil || string(k) != "the node's identity" {
		t.Errorf("identity key: %q, %v", k, err)
	}
	// A new chain of this network, with the old pool's pending transactions.
	check := func(c *Chain) {
		t.Helper()
		if head := c.Head(); head.Height != 1 || head.Hash != p.Genesis().Hash {
			t.Fatalf("head %d %s, want the genesis %s", head.Height, head.Hash, p.Genesis().Hash)
		}
		if n := c.PendingCount(); n != 15 {
			t.Errorf("%d pending, want 15", n)
		}
		// One returned by the old reorganisation, one submitted.
		for _, tx := range []chain.Transaction{chaintest.Tx("alice-14", "bob", 15, 1), chaintest.Tx("grace", "heidi-2", 5, 2)} {
			if loc, err := c.FindTransaction(tx.ID); err != nil || !loc.Pending {
				t.Errorf("pending transaction %s: %+v, %v", tx.ID, loc, err)
			}
		}
		// A transaction of the old main chain is not carried over.
		if _, err := c.FindTransaction(chaintest.Tx("erin", "frank-0", 3, 0).ID); !errors.Is(err, chain.ErrNotFound) {
			t.Errorf("a confirmed transaction of the old chain: %v", err)
		}
	}
	check(c)
	// The new chain grows and mines the re-admitted transactions.
	m, err := newMiner(c, "miner-d")
	if err != nil {
		t.Fatal(err)
	}
	b, _, err := m.MineBlock(t.Context())
	if err != nil || len(b.Transactions) != 16 {
		t.Fatalf("mined %v with %d transactions", err, len(b.Transactions))
	}
	c.Close()
	logs.Reset()
	c = openChain(t, cfg)
	if strings.Contains(logs.String(), "set aside") {
		t.Error("set aside twice")
	}
	if c.Head().Hash != b.Hash || c.PendingCount() != 0 {
		t.Errorf("after reopen: head %s, %d pending", c.Head().Hash, c.PendingCount())
	}
	matches, _ := filepath.Glob(filepath.Join(dir, "*"))
	slices.Sort(matches)
	if want := []string{cfg.Path, segmentDir(cfg.Path), aside, key}; !slices.Equal(matches, want) {
		t.Errorf("files in the data directory: %v, want %v", matches, want)
	}
}
