package store

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/gossipchain/gossipchain/chain/chaintest"
)

// damageTemplate writes a small store (a chain, a side block, pending
// transactions) and returns its bytes and page size.
func damageTemplate(t *testing.T) ([]byte, int) {
	t.Helper()
	cfg := testConfig(t, chaintest.ParamsAt(t, chaintest.Difficulty))
	c := openChain(t, cfg)
	p := c.Params()
	blocks := chaintest.Branch(t, &p, c.Genesis(), 30, "m")
	mustAddAll(t, c, blocks)
	mustAdd(t, c, chaintest.NextBlock(t, &p, blocks[20], "s"))
	for i := range 20 {
		if err := c.AddTransaction(chaintest.Tx("a", "b", uint64(i+1), 1)); err != nil {
			t.Fatal(err)
		}
	}
	c.Close()
	raw, m := readStoreFile(t, cfg.Path)
	return raw, int(m.pageSize)
}

// readStoreFile returns the bytes of the bbolt file at path and the meta
// page bbolt uses.
func readStoreFile(t *testing.T, path string) ([]byte, boltMeta) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	m, err := chooseMeta(raw)
	if err != nil {
		t.Fatal(err)
	}
	return raw, m
}

// TestOpenDamagedFiles: every kind of damage to the file gives an error
// that names it and says what to do, and never a panic.
func TestOpenDamagedFiles(t *testing.T) {
	raw, ps := damageTemplate(t)
	m, _ := chooseMeta(raw)
	p := chaintest.ParamsAt(t, chaintest.Difficulty)
	flip := func(off int, n int) func([]byte) []byte {
		return func(b []byte) []byte {
			for i := off; i < off+n && i < len(b); i++ {
				b[i] ^= 0x5a
			}
			return b
		}
	}
	random := func(n int) []byte {
		r := rand.New(rand.NewPCG(1, 2))
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		return b
	}
	otherBolt := func(t *testing.T) []byte {
		path := filepath.Join(t.TempDir(), "other.db")
		db, err := bolt.Open(path, 0o600, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := db.Update(func(tx *bolt.Tx) error {
			b, err := tx.CreateBucket([]byte("widgets"))
			if err != nil {
				return err
			}
			return b.Put([]byte("k"), []byte("v"))
		}); err != nil {
			t.Fatal(err)
		}
		db.Close()
		out, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	cases := []struct {
		name      string
		refuseNew bool
		file      func(t *testing.T) []byte
		want      string
	}{
		{"empty in a data directory with an identity", true, func(*testing.T) []byte { return nil }, "empty"},
		{"truncated to 100 bytes", false, func(*testing.T) []byte { return raw[:100:100] }, "damaged"},
		{"truncated to one page", false, func(*testing.T) []byte { return raw[:ps:ps] }, "truncated"},
		{"truncated to half", false, func(*testing.T) []byte { return raw[: len(raw)/2 : len(raw)/2] }, "truncated"},
		{"random bytes", false, func(*testing.T) []byte { return random(len(raw)) }, "not a bbolt store"},
		{"both meta pages flipped", false, func(*testing.T) []byte {
			return flip(ps+16, 40)(flip(16, 40)(clone(raw)))
		}, "meta pages"},
		{"root page overwritten", false, func(*testing.T) []byte {
			b := clone(raw)
			copy(b[int(m.root)*ps:], random(ps))
			return b
		}, "root page"},
		{"free-page list overwritten", false, func(*testing.T) []byte {
			b := clone(raw)
			copy(b[int(m.freelist)*ps:], random(ps))
			return b
		}, "free-page list"},
		{"a bbolt file without our buckets", false, otherBolt, "not a gossipchain store"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig(t, p)
			cfg.RefuseNew = tc.refuseNew
			if err := os.WriteFile(cfg.Path, tc.file(t), 0o600); err != nil {
				t.Fatal(err)
			}
			c, err := Open(cfg)
			if err == nil {
				c.Close()
				t.Fatal("Open accepted a damaged store")
			}
			msg := err.Error()
			if !strings.Contains(msg, tc.want) || !strings.Contains(msg, cfg.Path) {
				t.Errorf("error %q, want it to name the file and mention %q", msg, tc.want)
			}
			if !strings.Contains(msg, "backup") && !strings.Contains(msg, "another data directory") && tc.want != "not a gossipchain store" {
				t.Errorf("error %q does not say what to do", msg)
			}
		})
	}
	// Without an identity, an empty file is a new store.
	cfg := testConfig(t, p)
	if err := os.WriteFile(cfg.Path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	openChain(t, cfg).Close()
}

// TestOpenEveryPageDamaged overwrites each page of a store (format 2, and
// the format-1 fixture) in turn with random bytes: Open never panics, and
// an error names the file. (Damage to a page that opening does not read,
// such as a free page or a block below the verified height, shows when
// that page is read.)
func TestOpenEveryPageDamaged(t *testing.T) {
	raw, ps := damageTemplate(t)
	fixture, err := os.ReadFile(format1Fixture)
	if err != nil {
		t.Fatal(err)
	}
	p := chaintest.ParamsAt(t, chaintest.Difficulty)
	r := rand.New(rand.NewPCG(3, 4))
	for _, store := range []struct {
		name string
		raw  []byte
	}{{"format 2", raw}, {"format 1", fixture}} {
		refused := 0
		for page := 0; page < len(store.raw)/ps; page++ {
			b := clone(store.raw)
			for i := page * ps; i < (page+1)*ps; i++ {
				b[i] = byte(r.Uint32())
			}
			cfg := testConfig(t, p)
			if err := os.WriteFile(cfg.Path, b, 0o600); err != nil {
				t.Fatal(err)
			}
			c, err := Open(cfg)
			if err == nil {
				c.Close()
				continue
			}
			refused++
			if !strings.Contains(err.Error(), cfg.Path) {
				t.Errorf("%s page %d: error %q does not name the file", store.name, page, err)
			}
		}
		t.Logf("%s: %d of %d damaged pages refused at open", store.name, refused, len(store.raw)/ps)
	}
}

func clone(b []byte) []byte { return append([]byte(nil), b...) }
