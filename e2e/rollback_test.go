package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/gossipchain/gossipchain/chain"
)

// TestRolledBackStore: a node syncs 300 blocks and is killed; the meta page
// of its store's last commit is then zeroed, so that bbolt would open the
// store one commit back. The node refuses to start, with one log line that
// names the file, the heights lost and --accept-rollback; with the flag it
// warns and starts at the height it had: the lost commit's blocks extend
// the older head, and are added again from its block files.
func TestRolledBackStore(t *testing.T) {
	const length = 301
	const difficulty = 2
	params, err := chain.NewParams("e2e", difficulty)
	if err != nil {
		t.Fatal(err)
	}
	srcDir, _ := sourceDir(t, params, length)

	src := startNode(t, nodeOptions{datadir: srcDir, difficulty: difficulty})
	victim := startNode(t, nodeOptions{difficulty: difficulty, bootstrap: []string{src.multiaddr()}})
	waitFor(t, "the node syncs", waitTimeout, func() error {
		if s, err := victim.status(); err != nil || s.Height != length {
			return fmt.Errorf("height %d (%v)", s.Height, err)
		}
		return nil
	})
	victim.kill()
	path := filepath.Join(victim.opts.datadir, "chain.db")
	zeroNewestMeta(t, path)

	victim.ResetLog()
	if err := victim.Restart(context.Background(), victim.args()...); err == nil {
		t.Fatalf("the node started on a store that lost its last commit, at height %d", victim.mustStatus().Height)
	}
	var failed []string
	for _, line := range strings.Split(victim.Log(), "\n") {
		if strings.Contains(line, "gossipchain failed") {
			failed = append(failed, line)
		}
	}
	if len(failed) != 1 {
		t.Fatalf("want one line saying why the node did not start, got %d in:\n%s", len(failed), victim.Log())
	}
	for _, want := range []string{path, "lost its last commit", "at heights", fmt.Sprintf("-%d", length), "--accept-rollback"} {
		if !strings.Contains(failed[0], want) {
			t.Errorf("the refusal does not say %q:\n%s", want, failed[0])
		}
	}
	t.Logf("refused: %s", failed[0])

	victim.opts.extra = []string{"--accept-rollback"}
	victim.restart()
	if s := victim.mustStatus(); s.Height != length {
		t.Errorf("the accepted rollback starts at height %d, want %d, replayed from the block files", s.Height, length)
	}
	victim.waitLog("the warning of the accepted rollback", `level=WARN`, `accepting a store that lost its last commit`, `lost="\d+ blocks at heights`)
	sameHead(t, []*node{src, victim}, length)
}

// zeroNewestMeta zeroes the meta page that the last commit of the bbolt
// file at path wrote: bbolt writes transaction n's on page n mod 2.
func zeroNewestMeta(t *testing.T, path string) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	var txid, pageSize int
	err = db.View(func(tx *bolt.Tx) error {
		txid, pageSize = tx.ID(), tx.DB().Info().PageSize
		return nil
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt(make([]byte, pageSize), int64(txid%2*pageSize)); err != nil {
		t.Fatal(err)
	}
}
