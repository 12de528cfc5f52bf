package e2e

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/gossipchain/gossipchain/chain"
	"github.com/gossipchain/gossipchain/chain/store"
)

// TestKillWhileSyncing kills a node with SIGKILL several times while it
// syncs a long chain, and checks its store on each restart: it opens (the
// store check passes), holds at least the height it last reported, its
// chain links, and it then finishes the sync.
func TestKillWhileSyncing(t *testing.T) {
	const length = 40_000
	const difficulty = 2
	params, err := chain.NewParams("e2e", difficulty)
	if err != nil {
		t.Fatal(err)
	}
	srcDir, head := sourceDir(t, params, length)

	src := startNode(t, nodeOptions{datadir: srcDir, difficulty: difficulty})
	victim := startNode(t, nodeOptions{difficulty: difficulty, bootstrap: []string{src.multiaddr()}})
	var reported uint64
	for kill := 0; kill < 3; kill++ {
		target := uint64(length) * uint64(kill+1) / 5
		waitFor(t, fmt.Sprintf("the syncing node passes height %d", target), waitTimeout, func() error {
			s, err := victim.status()
			if err != nil {
				return err
			}
			reported = max(reported, s.Height)
			if s.Height < target {
				return fmt.Errorf("at height %d", s.Height)
			}
			return nil
		})
		victim.kill()
		// Alone, the store must hold what was reported.
		bootstrap := victim.opts.bootstrap
		victim.opts.bootstrap = nil
		victim.restart()
		s := victim.mustStatus()
		if s.Height < reported {
			t.Fatalf("kill %d: height %d after restart, below the reported %d", kill, s.Height, reported)
		}
		hashes, err := victim.chainHashes()
		if err != nil || uint64(len(hashes)) != s.Height {
			t.Fatalf("kill %d: GET /chain after restart: %d blocks, %v", kill, len(hashes), err)
		}
		victim.stop()
		victim.opts.bootstrap = bootstrap
		victim.restart()
	}
	waitFor(t, "the node finishes the sync", waitTimeout, func() error {
		s, err := victim.status()
		if err != nil {
			return err
		}
		if s.Head != head.Hash {
			return fmt.Errorf("at %d of %d", s.Height, head.Height)
		}
		return nil
	})
	t.Logf("killed 3 times while syncing %d blocks (reported heights up to %d); each restart opened the store with its chain intact", length, reported)
}

// sourceDir returns the data directory of a source node, its store written
// directly, and its head: a chain of length blocks on params, added in
// batches of 2,000 as a syncing node adds them.
func sourceDir(t testing.TB, params chain.Params, length int) (string, store.Head) {
	t.Helper()
	dir := t.TempDir()
	c, err := store.Open(store.Config{Params: params, Path: filepath.Join(dir, "chain.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	parent := c.Genesis()
	var batch []*chain.Block
	for i := 1; i < length; i++ {
		parent = mineBlock(t, params, parent, "source")
		batch = append(batch, parent)
		if len(batch) == 2000 || i == length-1 {
			if _, _, err := c.AddBlocks(batch); err != nil {
				t.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	return dir, c.Head()
}
