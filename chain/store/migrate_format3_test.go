package store

import (
	"encoding/binary"
	"os"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/gossipchain/gossipchain/chain"
	"github.com/gossipchain/gossipchain/chain/chaintest"
)

// The fixture is a signed network's store in format 3, written by the
// previous release; see testdata/store/README.md for what it holds.
const format3Fixture = "../../testdata/store/format3.db"

// TestOpenFormat3Fixture opens a store that the previous release wrote:
// its main chain, side branch, indexes, pending pool, accounts, undo data
// and address index are all there, and the chain goes on from its head,
// also across a reorganisation that needs the undo data.
func TestOpenFormat3Fixture(t *testing.T) {
	p := chaintest.SignedParams(t)
	p.Reward = 50
	p.HalfLife = 10 * time.Minute // the default half-life when the fixture was written
	cfg, logs, c := openFixture(t, format3Fixture, p, 3)
	if n := strings.Count(logs.String(), "store upgraded from format 3 to format 4"); n != 1 {
		t.Errorf("%d upgrade lines in:\n%s", n, logs.String())
	}
	if strings.Contains(logs.String(), "level=WARN") {
		t.Errorf("a WARN line on open:\n%s", logs.String())
	}
	alice, aliceAddr := chaintest.Key(t, "alice")
	_, bobAddr := chaintest.Key(t, "bob")
	_, carolAddr := chaintest.Key(t, "carol")
	_, daveAddr := chaintest.Key(t, "dave")
	_, minerAddr := chaintest.Key(t, "miner")
	hash := func(s string) chain.Hash {
		h, err := chain.ParseHash(s)
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	head := hash("014fe7d56404e391a444ffbb5de4a0179e67f1806101d2c3d86395c9c55c60ab")
	side := []chain.Hash{
		hash("03719885765d6e3b7089701cc6dee57bc3cfa9747e80cad7280d284b7f46f87e"),
		hash("03782175e2c039f2356fa369fa454f65fe457775090745e7888ef9a761908971"),
	}
	if h := c.Head(); h.Height != 7 || h.Hash != head {
		t.Fatalf("head %d %s, want 7 %s", h.Height, h.Hash, head)
	}
	for _, h := range side {
		if b, err := c.BlockByHash(h); err != nil || c.IsMain(h) {
			t.Errorf("side block %s: %v, main %v", h, err, c.IsMain(h))
		} else if b.Hash != h {
			t.Errorf("side block %s read as %s", h, b.Hash)
		}
	}
	if got := len(mainHashes(t, c)); got != 7 {
		t.Errorf("main chain of %d blocks, want 7", got)
	}
	for _, want := range []struct {
		tx     chain.Transaction
		height uint64
	}{
		{signedTx(t, c, alice, bobAddr, 1, 0), 3},
		{signedTx(t, c, alice, bobAddr, 1, 1), 4},
		{signedTx(t, c, alice, daveAddr, 2, 2), 5},
	} {
		loc, err := c.FindTransaction(want.tx.ID)
		if err != nil || loc.Pending || loc.Height != want.height {
			t.Errorf("transaction %s: %+v, %v; want height %d", want.tx.ID, loc, err, want.height)
		}
	}
	pending := c.Pending(0)
	if len(pending) != 2 || pending[0].Nonce != 3 || pending[1].Nonce != 4 {
		t.Fatalf("pending %+v, want alice's nonces 3 and 4", pending)
	}
	wantAccount(t, c, aliceAddr, 46, 3)
	wantAccount(t, c, bobAddr, 2, 0)
	wantAccount(t, c, daveAddr, 2, 0)
	wantAccount(t, c, carolAddr, 150, 0)
	wantAccount(t, c, minerAddr, 100, 0)
	page, err := c.AccountTransactions(aliceAddr, "", 0)
	if err != nil || len(page.Transactions) != 4 {
		t.Errorf("alice's history: %+v, %v; want 4 transactions", page, err)
	}

	// The abandoned branch comes back with two more blocks: the undo data
	// of heights 5 to 7 rolls the accounts back, and dave's payment, whose
	// nonce the branch used, is dropped.
	b6, err := c.BlockByHash(side[1])
	if err != nil {
		t.Fatal(err)
	}
	b7 := chaintest.NextBlock(t, &p, b6, minerAddr)
	b8 := chaintest.NextBlock(t, &p, b7, minerAddr)
	mustAdd(t, c, b7)
	res := mustAdd(t, c, b8)
	if res.Status != Reorganized || len(res.Dropped) != 1 || res.Dropped[0].Tx.Recipient != daveAddr {
		t.Fatalf("reorganisation onto the side branch: %+v", res)
	}
	wantAccount(t, c, aliceAddr, 46, 4)
	wantAccount(t, c, daveAddr, 0, 0)
	if n := c.PendingCount(); n != 1 {
		t.Errorf("%d pending after the reorganisation, want the payment to erin", n)
	}
	c.Close()
	logs.Reset()
	c = openChain(t, cfg)
	if strings.Contains(logs.String(), "upgraded") {
		t.Error("upgraded twice")
	}
	if h := c.Head(); h.Hash != b8.Hash {
		t.Errorf("after reopen: head %d %s, want %s", h.Height, h.Hash, b8.Hash)
	}
	wantAccount(t, c, aliceAddr, 46, 4)
}

// downgradeBodies moves the block bodies of a store of format 4 at path
// back into its bbolt records, as format 3 kept them (main-chain records
// with their JSON encoding), and removes the segments, so that tests can
// make stores of the earlier formats from stores of this one.
func downgradeBodies(t *testing.T, tx *bolt.Tx, path string) {
	t.Helper()
	end, ok := parseSegPos(tx.Bucket(bucketMeta).Get(metaSegEnd))
	if !ok {
		t.Fatal("no segend")
	}
	seg, err := openSegments(path, end)
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(segmentDir(path))
	defer seg.close()
	body := func(stub []byte) []byte {
		bin, err := seg.readInto(nil, stubLoc(stub), false)
		if err != nil {
			t.Fatal(err)
		}
		return bin
	}
	put := func(b *bolt.Bucket, k, v []byte) {
		if err := b.Put(k, v); err != nil {
			t.Fatal(err)
		}
	}
	chainB, side := tx.Bucket(bucketChain), tx.Bucket(bucketSide)
	var keys, vals [][]byte
	_ = chainB.ForEach(func(k, rec []byte) error {
		stub := rec[chain.HashSize:]
		bin := body(stub)
		b, err := decodeStored(bin, chain.Hash(rec[:chain.HashSize]))
		if err != nil {
			t.Fatal(err)
		}
		old := append(append([]byte(nil), rec[:chain.HashSize+entrySize]...), binary.BigEndian.AppendUint32(nil, uint32(len(bin)))...)
		keys, vals = append(keys, append([]byte(nil), k...)), append(vals, b.AppendJSON(append(old, bin...)))
		return nil
	})
	_ = side.ForEach(func(k, stub []byte) error {
		keys, vals = append(keys, append([]byte{'s'}, k...)), append(vals, append(append([]byte(nil), stub[:entrySize]...), body(stub)...))
		return nil
	})
	for i, k := range keys {
		if k[0] == 's' && len(k) == 1+chain.HashSize {
			put(side, k[1:], vals[i])
		} else {
			put(chainB, k, vals[i])
		}
	}
	if err := tx.Bucket(bucketMeta).Delete(metaSegEnd); err != nil {
		t.Fatal(err)
	}
}
