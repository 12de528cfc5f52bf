package chain

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// The fixture is a format-1 store written by the first release; see
// testdata/store/README.md for what it holds.
const format1Fixture = "../testdata/store/format1.db"

func TestOpenFormat1Fixture(t *testing.T) {
	raw, err := os.ReadFile(format1Fixture)
	if err != nil {
		t.Fatal(err)
	}
	p := testParams(t, testDifficulty)
	cfg := testConfig(t, p)
	if err := os.WriteFile(cfg.Path, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	cfg.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	c, err := Open(cfg)
	if err != nil {
		t.Fatalf("Open of the format-1 fixture: %v", err)
	}
	if !strings.Contains(logs.String(), `level=INFO msg="store migrated"`) || !strings.Contains(logs.String(), "blocks=23 side_blocks=7 pending=15") {
		t.Errorf("no migration log line with the counts:\n%s", logs.String())
	}
	check := func(c *Chain) {
		t.Helper()
		head := c.Head()
		want, _ := ParseHash("0274e3d927d0f541bd19ceacf38dc5c89e091a01037394e81f406c9f695c371f")
		if head.Height != 23 || head.Hash != want {
			t.Fatalf("head %d %s, want 23 %s", head.Height, head.Hash, want)
		}
		hashes := mainHashes(t, c)
		if len(hashes) != 23 || hashes[0] != c.Genesis().Hash {
			t.Fatalf("main chain of %d blocks", len(hashes))
		}
		for i, h := range hashes {
			if b, err := c.BlockByHash(h); err != nil || b.Index != uint64(i+1) || !c.IsMain(h) {
				t.Fatalf("main block %d by hash: %v", i+1, err)
			}
		}
		// The abandoned branch and the extra side block are side blocks.
		var side []Hash
		if err := c.db.View(func(tx *bolt.Tx) error {
			return tx.Bucket(bucketSide).ForEach(func(k, _ []byte) error { side = append(side, Hash(k)); return nil })
		}); err != nil {
			t.Fatal(err)
		}
		if len(side) != 7 {
			t.Fatalf("%d side blocks, want 7", len(side))
		}
		for _, h := range side {
			if !c.HasBlock(h) || c.IsMain(h) {
				t.Errorf("side block %s", h)
			}
		}
		if n := c.PendingCount(); n != 15 {
			t.Errorf("%d pending, want 15", n)
		}
		// A transaction of the branch that won, one returned by the
		// reorganisation, one submitted.
		if loc, err := c.FindTransaction(makeTx("erin", "frank-0", 3, 0).ID); err != nil || loc.Pending || loc.Height != 16 {
			t.Errorf("confirmed transaction: %+v, %v", loc, err)
		}
		for _, tx := range []Transaction{makeTx("alice-14", "bob", 15, 1), makeTx("grace", "heidi-2", 5, 2)} {
			if loc, err := c.FindTransaction(tx.ID); err != nil || !loc.Pending {
				t.Errorf("pending transaction %s: %+v, %v", tx.ID, loc, err)
			}
		}
	}
	check(c)
	// The chain grows on the migrated store, and the side branch competes.
	head, _ := c.BlockByHash(c.Head().Hash)
	more := buildBranch(t, &p, head, 3, "miner-d")
	if _, _, err := c.AddBlocks(more); err != nil {
		t.Fatal(err)
	}
	c.Close()
	logs.Reset()
	c = openChain(t, cfg)
	if strings.Contains(logs.String(), "migrated") {
		t.Error("migrated twice")
	}
	if c.Head().Hash != more[2].Hash {
		t.Error("head after reopen")
	}
	if _, err := os.Stat(cfg.Path + ".migrating"); !os.IsNotExist(err) {
		t.Errorf("temporary file left: %v", err)
	}
	matches, _ := filepath.Glob(filepath.Join(filepath.Dir(cfg.Path), "*"))
	if len(matches) != 1 {
		t.Errorf("files in the data directory: %v", matches)
	}
}
