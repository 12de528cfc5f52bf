package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/gossipchain/gossipchain/chain"
)

// Format 1, the layout of the first release: every block keyed by hash,
// the main chain as height → hash, and a transaction index of one key per
// transaction. Its files carry no free-page list. Its blocks have headers
// of protocol 1 (a difficulty in leading zero bits where protocol 2 has a
// compact target, and a genesis that commits to no parameters), so the
// chain it holds belongs to no network of this protocol.
var (
	v1Blocks  = []byte("blocks")  // block hash → binary block
	v1Main    = []byte("main")    // height → block hash
	v1TxIndex = []byte("txindex") // transaction id → height
)

// Protocol1Suffix is appended to the name of a format-1 store file when it
// is set aside: chain.db becomes chain.db.protocol1. It is never deleted.
const Protocol1Suffix = ".protocol1"

// migrate is the one path for a store of format 1 at path (a file with no
// free-page list): it reads the old file read-only, keeps its pending
// transactions in memory, renames the file to path + Protocol1Suffix
// (nothing is deleted) and leaves path free, so that a new chain of this
// network starts there; the pending transactions are offered to the new
// pool once it is open (readmit). The identity key and everything else in
// the data directory are left alone. A crash before the rename leaves the
// old file in place, after it the set-aside file and a new chain: the
// pending transactions are then what the set-aside file still holds.
func (c *Chain) migrate(path string) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			err = damagedError(path, fmt.Errorf("%v", r))
		}
	}()
	aside := path + Protocol1Suffix
	if _, err := os.Stat(aside); err == nil {
		return fmt.Errorf("store %s is of format 1 and %s exists already: move one of them away", path, aside)
	}
	old, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: 2 * time.Second})
	if err != nil {
		return damagedError(path, err)
	}
	var st setAside
	err = old.View(func(otx *bolt.Tx) error { return readFormat1(otx, &st) })
	if cerr := old.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("store %s of format 1 (left untouched): %w", path, err)
	}
	if err := os.Rename(path, aside); err != nil {
		return fmt.Errorf("set aside store %s of format 1: %w", path, err)
	}
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		_ = d.Sync()
		d.Close()
	}
	st.path = aside
	c.aside = &st
	return nil
}

// upgradeFrom returns the format of a store that upgrade turns into this
// one (2 or 3), or 0.
func upgradeFrom(tx *bolt.Tx) uint64 {
	v := tx.Bucket(bucketMeta).Get(metaVersion)
	if len(v) != 8 {
		return 0
	}
	if f := binary.BigEndian.Uint64(v); f == 2 || f == 3 {
		return f
	}
	return 0
}

// upgrade is the one path from a store of format 2 or 3 to format 4, in
// one store transaction: it checks the network, creates the buckets that
// format 2 lacks (the signed ledger's: format 2 knew only the open ledger,
// whose networks keep no account state, and a network's genesis commits
// to its ledger mode, so the network check refuses a format-2 store
// opened for a signed network), moves every block body, main chain and
// side blocks, into the segments, leaving its stub in bbolt, and writes
// format 4. Indexes, pool, accounts and undo data stay as they are. A
// crash before the commit leaves the old format, whose segments the next
// start discards before it upgrades again.
func (c *Chain) upgrade(from uint64) error {
	err := c.db.Update(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		if err := checkNetwork(meta, &c.params, c.genesis); err != nil {
			return err
		}
		for _, name := range allBuckets {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return fmt.Errorf("create bucket %s: %w", name, err)
			}
		}
		v := c.newWriteView(tx, nil)
		if err := upgradeMain(v); err != nil {
			return err
		}
		if err := upgradeSide(v); err != nil {
			return err
		}
		if err := v.syncSegments(); err != nil {
			return err
		}
		return meta.Put(metaVersion, heightKey(storeVersion))
	})
	if err != nil {
		c.seg.rollback()
		return fmt.Errorf("upgrade store of format %d: %w", from, err)
	}
	c.seg.commit()
	c.log.Info(fmt.Sprintf("store upgraded from format %d to format %d", from, storeVersion), "network", c.params.Name)
	return nil
}

// A main-chain record of formats 2 and 3: hash (32) || entry (48) ||
// binary length (4) || binary block || JSON block.
const v3RecordHeader = chain.HashSize + entrySize + 4

// upgradeMain rewrites the main-chain records of format 3 as stubs, a
// bounded number at a time (a cursor must not run over the keys it
// changes).
func upgradeMain(v *view) error {
	bkt := v.tx.Bucket(bucketChain)
	bkt.FillPercent = 1
	type kv struct{ k, v []byte }
	next := heightKey(0)
	for {
		var batch []kv
		cur := bkt.Cursor()
		for k, rec := cur.Seek(next); k != nil && len(batch) < 4096; k, rec = cur.Next() {
			if len(rec) < v3RecordHeader+chain.HeaderSize {
				return fmt.Errorf("stored record %x is corrupt (%d bytes)", k, len(rec))
			}
			n := int(binary.BigEndian.Uint32(rec[v3RecordHeader-4:]))
			if n < chain.HeaderSize || n > len(rec)-v3RecordHeader {
				return fmt.Errorf("stored record %x is corrupt (%d bytes)", k, len(rec))
			}
			bin := rec[v3RecordHeader : v3RecordHeader+n]
			loc, err := v.seg.append(bin)
			if err != nil {
				return err
			}
			stub := append(make([]byte, 0, recordSize), rec[:chain.HashSize+entrySize]...)
			stub = append(append(stub, loc[:]...), bin[:chain.HeaderSize]...)
			batch = append(batch, kv{append([]byte(nil), k...), stub})
		}
		if len(batch) == 0 {
			return nil
		}
		for _, e := range batch {
			if err := bkt.Put(e.k, e.v); err != nil {
				return err
			}
		}
		next = heightKey(binary.BigEndian.Uint64(batch[len(batch)-1].k) + 1)
	}
}

// upgradeSide rewrites the side blocks of format 3 (entry || binary block)
// as stubs.
func upgradeSide(v *view) error {
	bkt := v.tx.Bucket(bucketSide)
	var keys, stubs [][]byte
	err := bkt.ForEach(func(k, raw []byte) error {
		if len(raw) < entrySize+chain.HeaderSize {
			return fmt.Errorf("stored side block %x is corrupt: %d bytes", k, len(raw))
		}
		loc, err := v.seg.append(raw[entrySize:])
		if err != nil {
			return err
		}
		keys = append(keys, append([]byte(nil), k...))
		stubs = append(stubs, append(append(append(make([]byte, 0, stubSize), raw[:entrySize]...), loc[:]...), raw[entrySize:entrySize+chain.HeaderSize]...))
		return nil
	})
	if err != nil {
		return err
	}
	for i, k := range keys {
		if err := bkt.Put(k, stubs[i]); err != nil {
			return err
		}
	}
	return nil
}

// setAside describes a format-1 store that was set aside.
type setAside struct {
	path    string
	network string
	height  uint64
	pending []chain.Transaction
}

// readFormat1 reads what a format-1 store tells: its network, its height
// and its pending transactions (those that decode).
func readFormat1(otx *bolt.Tx, st *setAside) error {
	meta := otx.Bucket(bucketMeta)
	if meta == nil {
		return fmt.Errorf("not a gossipchain store (buckets %q)", bucketNames(otx))
	}
	if v := meta.Get(metaVersion); len(v) != 8 || binary.BigEndian.Uint64(v) != 1 {
		return fmt.Errorf("store layout version %x without a free-page list: not a store gossipchain wrote", v)
	}
	mainIx := otx.Bucket(v1Main)
	if otx.Bucket(v1Blocks) == nil || mainIx == nil || otx.Bucket(v1TxIndex) == nil || otx.Bucket(bucketPool) == nil {
		return fmt.Errorf("a format 1 bucket is missing (buckets %q)", bucketNames(otx))
	}
	st.network = string(meta.Get(metaNetwork))
	if k, _ := mainIx.Cursor().Last(); len(k) == 8 {
		st.height = binary.BigEndian.Uint64(k)
	}
	return otx.Bucket(bucketPool).ForEach(func(_, v []byte) error {
		if t, err := chain.DecodeTransaction(v); err == nil {
			st.pending = append(st.pending, t)
		}
		return nil
	})
}

// readmit offers the pending transactions of a set-aside format-1 store to
// the new pool and logs what happened.
func (c *Chain) readmit() {
	st := c.aside
	if st == nil {
		return
	}
	c.aside = nil
	admitted := 0
	for _, t := range st.pending {
		if err := c.AddTransaction(t); err == nil {
			admitted++
		} else if !errors.Is(err, chain.ErrKnownTransaction) && !chain.IsRuleError(err) && !errors.Is(err, chain.ErrPoolFull) {
			c.log.Warn("re-admit a pending transaction of the protocol 1 store", "tx", t.ID, "err", err)
		}
	}
	c.log.Warn("store of protocol 1 set aside: its chain belongs to no network of this protocol, a new chain starts",
		"old_file", st.path, "old_network", st.network, "old_height", st.height,
		"network", c.params.Name, "genesis", c.genesis.Hash,
		"pending_readmitted", admitted, "pending_dropped", len(st.pending)-admitted)
}
