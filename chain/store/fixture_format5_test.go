package store

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/gossipchain/gossipchain/chain"
	"github.com/gossipchain/gossipchain/chain/chaintest"
)

// TestWriteFormat5Fixture writes testdata/store/format5/, the data
// directory of an open network's store in format 5 (chain.db and its
// segments, headers of version 3), when GOSSIPCHAIN_FORMAT5_FIXTURE names
// the directory to write; see testdata/store/README.md.
func TestWriteFormat5Fixture(t *testing.T) {
	out := os.Getenv("GOSSIPCHAIN_FORMAT5_FIXTURE")
	if out == "" {
		t.Skip("GOSSIPCHAIN_FORMAT5_FIXTURE is not set")
	}
	p := chaintest.ParamsAt(t, chaintest.Difficulty)
	cfg := testConfig(t, p)
	c := openChain(t, cfg)
	// Six blocks of one payment each on the genesis, then a branch from
	// height 4 that takes over at height 8: heights 5 to 7 stay as a side
	// branch and their payments return to the pool.
	var main []*chain.Block
	parent := c.Genesis()
	for i := range uint64(6) {
		parent = chaintest.NextBlock(t, &p, parent, "miner-a", chaintest.Tx("alice", "bob", i+1, i))
		main = append(main, parent)
	}
	mustAddAll(t, c, main)
	branch := chaintest.Branch(t, &p, main[2], 4, "miner-b")
	if res := mustAddAll(t, c, branch); res.Status != Reorganized {
		t.Fatalf("status %s", res.Status)
	}
	if err := c.AddTransaction(chaintest.Tx("carol", "dave", 7, 0)); err != nil {
		t.Fatal(err)
	}
	for _, tx := range c.Pending(0) {
		t.Logf("pending %s", tx.ID)
	}
	for _, b := range append(main, branch...) {
		t.Logf("block %d %s", b.Index, b.Hash)
	}
	c.Close()
	if err := os.MkdirAll(filepath.Join(out, "chain.db.blocks"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"chain.db", "chain.db.blocks/00000000.seg"} {
		raw, err := os.ReadFile(filepath.Join(filepath.Dir(cfg.Path), name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(out, name), raw, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
