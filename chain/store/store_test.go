package store

import (
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/gossipchain/gossipchain/chain"
	"github.com/gossipchain/gossipchain/chain/chaintest"
)

func TestReopenKeepsEverything(t *testing.T) {
	c := newTestChain(t, chaintest.Difficulty)
	p := c.Params()
	main := chaintest.Branch(t, &p, c.Genesis(), 12, "alice")
	mustAddAll(t, c, main)
	side := chaintest.Branch(t, &p, main[3], 3, "bob")
	mustAddAll(t, c, side)
	tx := chaintest.Tx("carol", "dave", 3, 3)
	if err := c.AddTransaction(tx); err != nil {
		t.Fatal(err)
	}
	head := c.Head()
	locator := c.Locator()

	c = reopen(t, c)
	if got := c.Head(); got.Hash != head.Hash || got.Height != head.Height || got.Work.Cmp(head.Work) != 0 || got.Timestamp != head.Timestamp {
		t.Errorf("head after reopen %+v, want %+v", got, head)
	}
	if got := mainHashes(t, c); !slices.Equal(got, chaintest.HashesOf(append([]*chain.Block{c.Genesis()}, main...)...)) {
		t.Error("main chain after reopen")
	}
	for _, b := range side {
		if !c.HasBlock(b.Hash) || c.IsMain(b.Hash) {
			t.Errorf("side block %d after reopen", b.Index)
		}
	}
	if !slices.Equal(c.Locator(), locator) {
		t.Error("locator after reopen")
	}
	if loc, err := c.FindTransaction(tx.ID); err != nil || !loc.Pending {
		t.Errorf("pending transaction after reopen: %+v, %v", loc, err)
	}
	// The side branch still competes: two more blocks overtake.
	more := chaintest.Branch(t, &p, side[2], 7, "bob")
	res, _, err := c.AddBlocks(more)
	if err != nil || res.Status != Reorganized || res.Head.Height != 15 {
		t.Errorf("reorganisation after reopen: %+v, %v", res, err)
	}
	// And the median time is restored: the next block is held to it.
	b := chaintest.NewBlock(&p, more[6], "bob")
	b.Timestamp = more[1].Timestamp - 1 // more[1] is the median of the last 11
	chaintest.Seal(t, b)
	_, err = c.AddBlock(b)
	chaintest.WantErr(t, err, chain.ErrTimeTooOld)
}

func TestOpenWrongNetwork(t *testing.T) {
	cfg := testConfig(t, chaintest.ParamsAt(t, chaintest.Difficulty))
	c := openChain(t, cfg)
	c.Close()
	for _, mutate := range []func(p *chain.Params){
		func(p *chain.Params) { p.Name = "othernet" },
		func(p *chain.Params) {
			p.InitialTarget = chain.MustCompact(chain.ZeroBitsTarget(chaintest.Difficulty + 1))
			p.MaxTarget = p.InitialTarget
		},
		func(p *chain.Params) { p.MaxBlockTxs++ },
		func(p *chain.Params) { p.MaxBlockSize-- },
		func(p *chain.Params) { p.TargetBlockTime *= 2 },
		func(p *chain.Params) { p.FixedDifficulty = false },
		func(p *chain.Params) { p.Reward++ },
	} {
		other := cfg
		mutate(&other.Params)
		_, err := Open(other)
		chaintest.WantErr(t, err, chain.ErrWrongNetwork)
		msg := err.Error()
		if !strings.Contains(msg, `"testnet"`) || !strings.Contains(msg, other.Params.Name) || !strings.Contains(msg, "another data directory") {
			t.Errorf("unclear message: %s", msg)
		}
	}
	// The store is untouched by the refusals.
	openChain(t, cfg)
}

// corrupt opens a closed store directly with bbolt and applies fn.
func corrupt(t *testing.T, path string, fn func(tx *bolt.Tx) error) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Update(fn); err != nil {
		t.Fatal(err)
	}
}

func TestOpenRejectsCorruptStore(t *testing.T) {
	p := chaintest.ParamsAt(t, chaintest.Difficulty)
	// A template store: 8 blocks, the fifth with a transaction, a side block.
	tx := chaintest.Tx("alice", "bob", 1, 1)
	var blocks []*chain.Block
	parent := p.Genesis()
	for i := range 8 {
		var txs []chain.Transaction
		if i == 3 {
			txs = append(txs, tx)
		}
		parent = chaintest.NextBlock(t, &p, parent, "m", txs...)
		blocks = append(blocks, parent)
	}
	side := chaintest.NextBlock(t, &p, blocks[1], "s")
	b5 := blocks[3]
	tampered := chaintest.CloneBlock(b5)
	tampered.Transactions[0] = chaintest.Tx("alice", "mallory", 1, 1)

	// rawRecord is a main-chain record claiming hash with binary bin.
	rawRecord := func(hash chain.Hash, bin []byte) []byte {
		rec := append(hash[:], make([]byte, entrySize)...) // a zero entry
		rec = append(rec, binary.BigEndian.AppendUint32(nil, uint32(len(bin)))...)
		return append(append(rec, bin...), "{}"...)
	}
	putRecord := func(tx *bolt.Tx, height uint64, hash chain.Hash, bin []byte) error {
		return tx.Bucket(bucketChain).Put(heightKey(height), rawRecord(hash, bin))
	}
	cases := []struct {
		name string
		fn   func(tx *bolt.Tx) error
		want string // in the error message
	}{
		{"tampered transaction", func(tx *bolt.Tx) error {
			return putRecord(tx, 5, b5.Hash, tampered.AppendBinary(nil))
		}, "height 5"},
		{"another block's bytes", func(tx *bolt.Tx) error {
			return putRecord(tx, 5, b5.Hash, blocks[4].AppendBinary(nil))
		}, "corrupt"},
		{"garbage", func(tx *bolt.Tx) error {
			return tx.Bucket(bucketChain).Put(heightKey(5), []byte("garbage"))
		}, "corrupt"},
		{"one flipped bit", func(tx *bolt.Tx) error {
			raw := b5.AppendBinary(nil)
			raw[len(raw)-20] ^= 4
			return putRecord(tx, 5, b5.Hash, raw)
		}, "height 5"},
		{"missing block", func(tx *bolt.Tx) error {
			return tx.Bucket(bucketChain).Delete(heightKey(5))
		}, "height 5"},
		{"a side block in the main chain", func(tx *bolt.Tx) error {
			return putRecord(tx, 4, side.Hash, side.AppendBinary(nil))
		}, "height 4"},
		{"head is not the tip", func(tx *bolt.Tx) error {
			return tx.Bucket(bucketMeta).Put(metaHead, blocks[6].Hash[:])
		}, "head"},
		{"no head", func(tx *bolt.Tx) error {
			return tx.Bucket(bucketMeta).Delete(metaHead)
		}, "head"},
		{"main chain truncated", func(tx *bolt.Tx) error {
			return tx.Bucket(bucketChain).Delete(heightKey(9))
		}, "head"},
		{"verified block off the main chain", func(tx *bolt.Tx) error {
			return tx.Bucket(bucketMeta).Put(metaVerified, append(heightKey(3), side.Hash[:]...))
		}, "verified"},
		{"invalid block past the verified one", func(tx *bolt.Tx) error {
			if err := tx.Bucket(bucketMeta).Put(metaVerified, append(heightKey(4), blocks[2].Hash[:]...)); err != nil {
				return err
			}
			bad := chaintest.CloneBlock(blocks[5])
			bad.Transactions[0].Amount = 5 // a wrong reward
			bad.Transactions[0].ID = bad.Transactions[0].ComputeID()
			bad.TxRoot = chain.TxRoot(bad.Transactions)
			bad.Hash = bad.ComputeHash()
			return putRecord(tx, 7, bad.Hash, bad.AppendBinary(nil))
		}, "height 7"},
		{"index above the head", func(tx *bolt.Tx) error {
			return tx.Bucket(bucketMeta).Put(metaIndexed, heightKey(20))
		}, "index"},
		{"bucket missing", func(tx *bolt.Tx) error {
			return tx.DeleteBucket(bucketSide)
		}, "bucket side"},
		{"unknown layout version", func(tx *bolt.Tx) error {
			return tx.Bucket(bucketMeta).Put(metaVersion, heightKey(storeVersion+1))
		}, "version"},
		{"another genesis at height 1", func(tx *bolt.Tx) error {
			g := chaintest.CloneBlock(p.Genesis())
			g.Timestamp++
			g.Hash = g.ComputeHash()
			return putRecord(tx, 1, g.Hash, g.AppendBinary(nil))
		}, "genesis"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig(t, p)
			c := openChain(t, cfg)
			mustAddAll(t, c, blocks)
			mustAdd(t, c, side)
			c.Close()
			corrupt(t, cfg.Path, tc.fn)
			c2, err := Open(cfg)
			if err == nil {
				c2.Close()
				t.Fatal("Open accepted a corrupt store")
			}
			if !strings.Contains(err.Error(), tc.want) || errors.Is(err, chain.ErrWrongNetwork) {
				t.Errorf("error %q, want it to mention %q", err, tc.want)
			}
		})
	}
}

func TestOpenErrors(t *testing.T) {
	p := chaintest.ParamsAt(t, chaintest.Difficulty)
	if _, err := Open(Config{Params: p}); err == nil {
		t.Error("Open without a path succeeded")
	}
	cfg := testConfig(t, p)
	cfg.Path = filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(cfg.Path, []byte("not a bbolt file, not at all, really not"), 0o600); err != nil {
		t.Fatal(err)
	}
	if c, err := Open(cfg); err == nil {
		c.Close()
		t.Error("Open of a non-store file succeeded")
	}
}

func TestConcurrentReaders(t *testing.T) {
	c := newTestChain(t, 0)
	p := c.Params()
	blocks := chaintest.Branch(t, &p, c.Genesis(), 300, "alice")
	side := chaintest.Branch(t, &p, blocks[100], 250, "bob")
	var stop atomic.Bool
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	reader := func(fn func() error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				if err := fn(); err != nil {
					errs <- err
					return
				}
				time.Sleep(50 * time.Microsecond) // leave the writer some CPU
			}
		}()
	}
	reader(func() error {
		// A consistent snapshot: heights are consecutive and link.
		var prev *chain.Block
		return c.MainChain(1, 0, func(b *chain.Block) error {
			if prev != nil && (b.Index != prev.Index+1 || b.PreviousHash != prev.Hash) {
				return errors.New("MainChain snapshot does not link")
			}
			prev = b
			return nil
		})
	})
	reader(func() error {
		h := c.Head()
		b, err := c.BlockByHash(h.Hash)
		if err != nil || b.Index != h.Height {
			return errors.New("head block unreadable")
		}
		return nil
	})
	reader(func() error {
		h := c.Head().Height
		if _, err := c.BlockByHeight(h / 2); err != nil && h/2 >= 1 {
			return err
		}
		c.Locator()
		c.Pending(10)
		c.HasBlock(blocks[0].Hash)
		_, _ = c.FindTransaction(blocks[0].Transactions[0].ID)
		return nil
	})
	for i := 0; i < len(blocks); i += 20 {
		if _, _, err := c.AddBlocks(blocks[i : i+20]); err != nil {
			t.Fatal(err)
		}
		if err := c.AddTransaction(chaintest.Tx("a", "b", 1, uint64(i))); err != nil {
			t.Fatal(err)
		}
	}
	for _, b := range side {
		mustAdd(t, c, b)
	}
	stop.Store(true)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if c.Head().Hash != side[len(side)-1].Hash {
		t.Error("the side branch did not win")
	}
}
