package store

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gossipchain/gossipchain/chain"
	"github.com/gossipchain/gossipchain/chain/chaintest"
)

// The fixtures are stores written by earlier releases; see
// testdata/store/README.md for what they hold.
const (
	format1Fixture = "../../testdata/store/format1.db"
	format2Fixture = "../../testdata/store/format2.db"
	format3Fixture = "../../testdata/store/format3.db"
	format4Fixture = "../../testdata/store/format4" // a data directory: chain.db and its segments
)

// setAsideCase is a store of an earlier protocol copied into a new data
// directory beside an identity key, opened with one WARN line saying where
// it went.
type setAsideCase struct {
	cfg   Config
	dir   string
	key   string
	aside string
	old   map[string][]byte // file name in the data directory → contents before Open
	logs  *bytes.Buffer
	warn  string
	c     *Chain
}

// openSetAside copies the fixture files (name in the data directory →
// fixture path) into a new data directory and opens it for p, which sets
// the store aside with suffix.
func openSetAside(t *testing.T, p chain.Params, files map[string]string, suffix string) *setAsideCase {
	t.Helper()
	sc := &setAsideCase{cfg: testConfig(t, p), old: map[string][]byte{}, logs: new(bytes.Buffer)}
	sc.cfg.RefuseNew = true // the data directory of a node that has run before
	sc.dir = filepath.Dir(sc.cfg.Path)
	sc.aside = sc.cfg.Path + suffix
	for name, from := range files {
		raw, err := os.ReadFile(from)
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(sc.dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, raw, 0o600); err != nil {
			t.Fatal(err)
		}
		sc.old[name] = raw
	}
	sc.key = filepath.Join(sc.dir, "identity.key")
	if err := os.WriteFile(sc.key, []byte("the node's identity"), 0o600); err != nil {
		t.Fatal(err)
	}
	sc.cfg.Logger = slog.New(slog.NewTextHandler(sc.logs, nil))
	c, err := Open(sc.cfg)
	if err != nil {
		t.Fatalf("Open of the fixture: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	sc.c = c
	for _, line := range strings.Split(sc.logs.String(), "\n") {
		if strings.Contains(line, "level=WARN") {
			if sc.warn != "" {
				t.Errorf("more than one WARN line:\n%s", sc.logs.String())
			}
			sc.warn = line
		}
	}
	return sc
}

// check checks the WARN line for want, that every old file is kept byte
// for byte under the set-aside name, that the identity key is untouched and
// that the new chain is at the network's genesis with pending
// transactions.
func (sc *setAsideCase) check(t *testing.T, pending int, want ...string) {
	t.Helper()
	for _, w := range append([]string{"set aside", "new chain", "old_file=" + sc.aside}, want...) {
		if !strings.Contains(sc.warn, w) {
			t.Errorf("WARN line %q lacks %q", sc.warn, w)
		}
	}
	for name, raw := range sc.old {
		moved := sc.aside + strings.TrimPrefix(filepath.Join(sc.dir, name), sc.cfg.Path)
		if kept, err := os.ReadFile(moved); err != nil || !bytes.Equal(kept, raw) {
			t.Errorf("old file %s set aside as %s: %v (equal %v)", name, moved, err, bytes.Equal(kept, raw))
		}
	}
	if k, err := os.ReadFile(sc.key); err != nil || string(k) != "the node's identity" {
		t.Errorf("identity key: %q, %v", k, err)
	}
	p := sc.c.Params()
	if head := sc.c.Head(); head.Height != 1 || head.Hash != p.Genesis().Hash {
		t.Fatalf("head %d %s, want the genesis %s", head.Height, head.Hash, p.Genesis().Hash)
	}
	if n := sc.c.PendingCount(); n != pending {
		t.Errorf("%d pending, want %d", n, pending)
	}
}

// reopen mines a block on the new chain, closes it, opens it again and
// checks that nothing is set aside twice; it returns the data directory's
// files.
func (sc *setAsideCase) reopen(t *testing.T, txs int) []string {
	t.Helper()
	miner := "miner-d"
	if p := sc.c.Params(); p.Signed() {
		_, miner = chaintest.Key(t, "miner")
	}
	m, err := newMiner(sc.c, miner)
	if err != nil {
		t.Fatal(err)
	}
	b, _, err := m.MineBlock(t.Context())
	if err != nil || len(b.Transactions) != txs {
		t.Fatalf("mined %v with %d transactions, want %d", err, len(b.Transactions), txs)
	}
	sc.c.Close()
	sc.logs.Reset()
	c := openChain(t, sc.cfg)
	if strings.Contains(sc.logs.String(), "set aside") {
		t.Error("set aside twice")
	}
	if c.Head().Hash != b.Hash || c.PendingCount() != 0 {
		t.Errorf("after reopen: head %s, %d pending", c.Head().Hash, c.PendingCount())
	}
	c.Close()
	if v := storedVersion(t, sc.cfg.Path); v != storeVersion {
		t.Errorf("new store of format %d, want %d", v, storeVersion)
	}
	matches, _ := filepath.Glob(filepath.Join(sc.dir, "*"))
	slices.Sort(matches)
	return matches
}

func TestOpenFormat1Fixture(t *testing.T) {
	p := chaintest.ParamsAt(t, chaintest.Difficulty)
	sc := openSetAside(t, p, map[string]string{"chain.db": format1Fixture}, Protocol1Suffix)
	sc.check(t, 15, "store of protocol 1", "old_network=testnet", "old_height=23", "pending_readmitted=15", "pending_dropped=0")
	// One returned by the old reorganisation, one submitted.
	for _, tx := range []chain.Transaction{chaintest.Tx("alice-14", "bob", 15, 1), chaintest.Tx("grace", "heidi-2", 5, 2)} {
		if loc, err := sc.c.FindTransaction(tx.ID); err != nil || !loc.Pending {
			t.Errorf("pending transaction %s: %+v, %v", tx.ID, loc, err)
		}
	}
	// A transaction of the old main chain is not carried over.
	if _, err := sc.c.FindTransaction(chaintest.Tx("erin", "frank-0", 3, 0).ID); !errors.Is(err, chain.ErrNotFound) {
		t.Errorf("a confirmed transaction of the old chain: %v", err)
	}
	files := sc.reopen(t, 16)
	if want := []string{sc.cfg.Path, segmentDir(sc.cfg.Path), sc.aside, sc.key}; !slices.Equal(files, want) {
		t.Errorf("files in the data directory: %v, want %v", files, want)
	}
}

// TestOpenProtocol2Fixtures opens the stores of formats 2 to 4, whose
// headers are of version 2: each is set aside as chain.db.protocol2 (with
// its segments, format 4) and a new chain starts with its pending
// transactions. Formats 2 and 3 were upgraded in place before header
// version 3; their genesis now differs from every network's, so they are
// set aside like format 4.
func TestOpenProtocol2Fixtures(t *testing.T) {
	signed := chaintest.SignedParams(t)
	signed.Reward = 50
	for _, tc := range []struct {
		name  string
		p     chain.Params
		files map[string]string
		want  []string
		// pending: re-admitted to the new chain. A signed network's
		// transactions sign the old genesis, so none of them is.
		pending, dropped, mined int
	}{
		{"format2", chaintest.ParamsAt(t, chaintest.Difficulty), map[string]string{"chain.db": format2Fixture},
			[]string{"old_format=2", "old_network=testnet", "old_height=23"}, 15, 0, 16},
		{"format3", signed, map[string]string{"chain.db": format3Fixture},
			[]string{"old_format=3", "old_network=testnet", "old_height=7"}, 0, 2, 1},
		{"format4", chaintest.ParamsAt(t, chaintest.Difficulty), map[string]string{
			"chain.db":                     format4Fixture + "/chain.db",
			"chain.db.blocks/00000000.seg": format4Fixture + "/chain.db.blocks/00000000.seg",
		}, []string{"old_format=4", "old_network=testnet", "old_height=8"}, 4, 0, 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sc := openSetAside(t, tc.p, tc.files, Protocol2Suffix)
			want := append([]string{"store of protocol 2", fmt.Sprintf("pending_readmitted=%d", tc.pending),
				fmt.Sprintf("pending_dropped=%d", tc.dropped)}, tc.want...)
			if len(tc.files) > 1 {
				want = append(want, "old_segments="+segmentDir(sc.aside))
			}
			sc.check(t, tc.pending, want...)
			files := sc.reopen(t, tc.mined)
			want = []string{sc.cfg.Path, segmentDir(sc.cfg.Path), sc.aside, sc.key}
			if len(tc.files) > 1 {
				want = append(want, segmentDir(sc.aside))
			}
			slices.Sort(want)
			if !slices.Equal(files, want) {
				t.Errorf("files in the data directory: %v, want %v", files, want)
			}
		})
	}
}
