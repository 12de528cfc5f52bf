package e2e

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A data directory of the first release (store format 1, protocol 1),
// given to a node process: the old chain file is set aside, a new chain
// starts, the old pending transactions are in the new pool, and one WARN
// line says so.
func TestProtocol1DataDirectorySetAside(t *testing.T) {
	raw, err := os.ReadFile("../testdata/store/format1.db")
	if err != nil {
		t.Fatal(err)
	}
	// A node that has run before: it has an identity key. Its chain.db
	// becomes the first release's.
	dir := t.TempDir()
	n := startNode(t, nodeOptions{network: "testnet", difficulty: 6, datadir: dir})
	id := n.mustStatus().PeerID
	n.stop()
	if err := os.WriteFile(filepath.Join(dir, "chain.db"), raw, 0o600); err != nil {
		t.Fatal(err)
	}
	n.ResetLog()
	n.restart()
	st := n.mustStatus()
	if st.PeerID != id {
		t.Errorf("peer ID %s after the upgrade, was %s: the identity key changed", st.PeerID, id)
	}
	if st.Height != 1 || st.Pending != 15 {
		t.Errorf("height %d, %d pending; want a new chain (height 1) with the 15 pending transactions", st.Height, st.Pending)
	}
	var warn []string
	for _, line := range strings.Split(n.Log(), "\n") {
		if strings.Contains(line, "level=WARN") {
			warn = append(warn, line)
		}
	}
	if len(warn) != 1 || !strings.Contains(warn[0], "set aside") || !strings.Contains(warn[0], filepath.Join(dir, "chain.db.protocol1")) {
		t.Errorf("WARN lines: %q", warn)
	}
	if kept, err := os.ReadFile(filepath.Join(dir, "chain.db.protocol1")); err != nil || !bytes.Equal(kept, raw) {
		t.Errorf("the old file is not kept as it was: %v", err)
	}
	// A restart opens the new chain and sets nothing aside again.
	n.stop()
	n.restart()
	if st := n.mustStatus(); st.Height != 1 || st.Pending != 15 {
		t.Errorf("after restart: height %d, %d pending", st.Height, st.Pending)
	}
	if c := strings.Count(n.Log(), "set aside"); c != 1 {
		t.Errorf("%d set-aside lines after a restart, want the first run's only", c)
	}
}
