package chain

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Format 1, the layout of the first release: every block keyed by hash,
// the main chain as height → hash, and a transaction index of one key per
// transaction. Its files carry no free-page list.
var (
	v1Blocks  = []byte("blocks")  // block hash → binary block
	v1Main    = []byte("main")    // height → block hash
	v1TxIndex = []byte("txindex") // transaction id → height
)

// migrateBatch is how many blocks one transaction of the new file takes.
const migrateBatch = 20_000

// migrate rewrites the store at path, which has no free-page list (format
// 1), into format 2: it reads the old file read-only, checks its whole main
// chain as the first release did on every start, writes a new file beside
// it and renames it over the old one. A crash at any point leaves either
// the old file or the new one.
func (c *Chain) migrate(path string) (err error) {
	start := time.Now()
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			err = damagedError(path, fmt.Errorf("%v", r))
		}
	}()
	old, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: 2 * time.Second})
	if err != nil {
		return damagedError(path, err)
	}
	defer old.Close()
	tmp := path + ".migrating"
	if err := os.Remove(tmp); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("migrate store %s: %w", path, err)
	}
	nw, err := bolt.Open(tmp, 0o600, &bolt.Options{NoSync: true, FreelistType: bolt.FreelistMapType})
	if err != nil {
		return fmt.Errorf("migrate store %s: create %s: %w", path, tmp, err)
	}
	var st migrateStats
	err = old.View(func(otx *bolt.Tx) error { return c.migrateFrom(otx, nw, &st) })
	if err == nil {
		err = nw.Sync()
	}
	if cerr := nw.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp)
		if errors.Is(err, ErrWrongNetwork) {
			return fmt.Errorf("open store %s: %w", path, err)
		}
		return fmt.Errorf("migrate store %s to format %d (the store is left untouched): %w", path, storeVersion, err)
	}
	old.Close()
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("migrate store %s: %w", path, err)
	}
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		_ = d.Sync()
		d.Close()
	}
	c.log.Info("store migrated", "path", path, "from_format", 1, "to_format", storeVersion,
		"blocks", st.blocks, "side_blocks", st.side, "pending", st.pending, "took", time.Since(start).Round(time.Millisecond))
	return nil
}

type migrateStats struct{ blocks, side, pending int }

// migrateFrom checks the format-1 store of otx and writes it into nw.
func (c *Chain) migrateFrom(otx *bolt.Tx, nw *bolt.DB, st *migrateStats) error {
	meta := otx.Bucket(bucketMeta)
	if meta == nil {
		return fmt.Errorf("not a gossipchain store (buckets %q)", bucketNames(otx))
	}
	if v := meta.Get(metaVersion); len(v) != 8 || binary.BigEndian.Uint64(v) != 1 {
		return fmt.Errorf("store layout version %x without a free-page list: not a store gossipchain wrote", v)
	}
	if stored := meta.Get(metaGenesis); string(stored) != string(c.genesis.Hash[:]) {
		return fmt.Errorf("%w: the store holds network %q with genesis %x, this node runs %q with genesis %s (difficulty %d); use another data directory",
			ErrWrongNetwork, meta.Get(metaNetwork), stored, c.params.Name, c.genesis.Hash, c.params.Difficulty)
	}
	blocks, mainIx := otx.Bucket(v1Blocks), otx.Bucket(v1Main)
	if blocks == nil || mainIx == nil || otx.Bucket(v1TxIndex) == nil || otx.Bucket(bucketPool) == nil {
		return fmt.Errorf("a format 1 bucket is missing (buckets %q)", bucketNames(otx))
	}
	var headHash Hash
	if v := meta.Get(metaHead); len(v) == HashSize {
		copy(headHash[:], v)
	} else {
		return errors.New("store has no head")
	}
	ix := newIndexes()
	if err := nw.Update(func(tx *bolt.Tx) error {
		for _, name := range allBuckets {
			if _, err := tx.CreateBucket(name); err != nil {
				return err
			}
		}
		m := tx.Bucket(bucketMeta)
		for k, v := range map[string][]byte{
			string(metaVersion): heightKey(storeVersion),
			string(metaNetwork): []byte(c.params.Name),
			string(metaGenesis): c.genesis.Hash[:],
		} {
			if err := m.Put([]byte(k), v); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		return err
	}

	// The main chain, checked as the first release checked it on every
	// start: each block is the one its key names, meets every context-free
	// rule, links and is not before the median time; its transactions are
	// unique.
	now := c.now().Add(365 * 24 * time.Hour)
	blk, txs := map[Hash]uint64{}, map[Hash]uint64{}
	var prev *Block
	var recent []Timestamp
	cur := mainIx.Cursor()
	k, v := cur.First()
	height := uint64(0)
	for k != nil {
		err := nw.Update(func(tx *bolt.Tx) error {
			w := &view{tx: tx, ix: ix, blk: map[Hash]uint64{}, txs: map[Hash]uint64{}}
			for n := 0; k != nil && n < migrateBatch; k, v = cur.Next() {
				n++
				height++
				if len(k) != 8 || len(v) != HashSize || binary.BigEndian.Uint64(k) != height {
					return fmt.Errorf("main-chain index is broken at height %d", height)
				}
				hash := Hash(v)
				raw := blocks.Get(v)
				if raw == nil {
					return fmt.Errorf("height %d: block %s is missing", height, hash)
				}
				b, err := decodeStored(raw, hash)
				if err != nil {
					return fmt.Errorf("height %d: %w", height, err)
				}
				if height == 1 {
					if b.Hash != c.genesis.Hash {
						return errors.New("height 1 is not this network's genesis")
					}
				} else {
					if err := c.params.CheckBlockSanity(b, now); err != nil {
						return fmt.Errorf("stored block at height %d is invalid: %w", height, err)
					}
					sorted := append([]Timestamp(nil), recent...)
					if err := CheckBlockContext(b, prev.Index, prev.Hash, MedianTime(sorted)); err != nil {
						return fmt.Errorf("stored block at height %d does not link: %w", height, err)
					}
				}
				for i := range b.Transactions {
					id := b.Transactions[i].ID
					if h, dup := txs[id]; dup {
						return fmt.Errorf("transaction %s of block %d is also in block %d", id, height, h)
					}
					txs[id] = height
				}
				blk[b.Hash] = height
				if err := w.connectMain(b); err != nil {
					return err
				}
				recent = appendRecent(recent, b.Timestamp)
				prev = b
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	if prev == nil || prev.Hash != headHash {
		return errors.New("stored head is not the tip of the main chain")
	}
	st.blocks = int(height)

	// Side blocks, the indexes as one run each, the pool and the head.
	return nw.Update(func(tx *bolt.Tx) error {
		side := tx.Bucket(bucketSide)
		bc := blocks.Cursor()
		for k, raw := bc.First(); k != nil; k, raw = bc.Next() {
			if len(k) != HashSize {
				return fmt.Errorf("block key %x is not a hash", k)
			}
			if _, ok := blk[Hash(k)]; ok {
				continue
			}
			if _, err := decodeStored(raw, Hash(k)); err != nil {
				return err
			}
			if err := side.Put(k, raw); err != nil {
				return err
			}
			st.side++
		}
		if err := ix.flush(tx, blk, txs, height); err != nil {
			return err
		}
		pool := tx.Bucket(bucketPool)
		pc := otx.Bucket(bucketPool).Cursor()
		for k, v := pc.First(); k != nil; k, v = pc.Next() {
			if err := pool.Put(k, v); err != nil {
				return err
			}
			st.pending++
		}
		return dbPutHead(tx, prev)
	})
}
