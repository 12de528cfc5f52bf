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
	bolterrors "go.etcd.io/bbolt/errors"

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

// Formats 2 to 4 hold blocks of header version 2 (96-byte headers, a
// transaction root that is a hash of the list, no state root), whose
// genesis differs from that of every network of header version 3: their
// chain too belongs to no network of this protocol. Format 2 keeps the
// bodies in bbolt, format 3 adds the signed ledger's buckets, format 4
// moves the bodies into segment files beside the bbolt file.
const lastProtocol2Format = 4

// Protocol1Suffix is appended to the name of a format-1 store file when it
// is set aside: chain.db becomes chain.db.protocol1. It is never deleted.
const Protocol1Suffix = ".protocol1"

// Protocol2Suffix is appended to the name of a store file of formats 2 to
// 4 (headers of version 2) when it is set aside: chain.db becomes
// chain.db.protocol2, and its segments chain.db.blocks become
// chain.db.protocol2.blocks. Neither is ever deleted.
const Protocol2Suffix = ".protocol2"

// asideSuffix returns the suffix that a store of format sets aside with,
// or "" for the current format.
func asideSuffix(format uint64) string {
	switch {
	case format == 1:
		return Protocol1Suffix
	case format >= 2 && format <= lastProtocol2Format:
		return Protocol2Suffix
	}
	return ""
}

// storedFormat reads the format of the store file at path read-only: 0 for
// a store with no meta bucket, which load reports.
func storedFormat(path string) (format uint64, err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			err = damagedError(path, fmt.Errorf("%v", r))
		}
	}()
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: 2 * time.Second})
	if err != nil {
		if errors.Is(err, bolterrors.ErrTimeout) {
			return 0, fmt.Errorf("open store %s: locked by another process", path)
		}
		return 0, damagedError(path, err)
	}
	defer db.Close()
	err = db.View(func(tx *bolt.Tx) error {
		if meta := tx.Bucket(bucketMeta); meta != nil {
			if v := meta.Get(metaVersion); len(v) == 8 {
				format = binary.BigEndian.Uint64(v)
			}
		}
		return nil
	})
	return format, err
}

// migrate is the one path for a store of an earlier protocol at path
// (format 1: a file with no free-page list; formats 2 to 4: headers of
// version 2): it reads the old file read-only, keeps its pending
// transactions in memory, renames its segments, if any, then the file to
// path + the suffix of its protocol (nothing is deleted) and leaves path
// free, so that a new chain of this network starts there; the pending
// transactions are offered to the new pool once it is open (readmit). The
// identity key and everything else in the data directory are left alone.
// A crash before the renames leaves the old store in place, between them
// the old file without its segments (set aside again on the next start),
// after them the set-aside store and a new chain: the pending transactions
// are then what the set-aside file still holds.
func (c *Chain) migrate(path string, format uint64) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			err = damagedError(path, fmt.Errorf("%v", r))
		}
	}()
	aside := path + asideSuffix(format)
	if _, err := os.Stat(aside); err == nil {
		return fmt.Errorf("store %s is of format %d and %s exists already: move one of them away", path, format, aside)
	}
	old, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: 2 * time.Second})
	if err != nil {
		return damagedError(path, err)
	}
	st := setAside{format: format}
	err = old.View(func(otx *bolt.Tx) error { return readOldStore(otx, &st) })
	if cerr := old.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("store %s of format %d (left untouched): %w", path, format, err)
	}
	if _, err := os.Stat(segmentDir(path)); err == nil {
		if err := os.Rename(segmentDir(path), segmentDir(aside)); err != nil {
			return fmt.Errorf("set aside the segments of store %s of format %d: %w", path, format, err)
		}
		st.segments = segmentDir(aside)
	}
	if err := os.Rename(path, aside); err != nil {
		return fmt.Errorf("set aside store %s of format %d: %w", path, format, err)
	}
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		_ = d.Sync()
		d.Close()
	}
	st.path = aside
	c.aside = &st
	return nil
}

// setAside describes a store of an earlier protocol that was set aside.
type setAside struct {
	format   uint64
	path     string
	segments string // its segments directory, if it had one
	network  string
	height   uint64
	pending  []chain.Transaction
	// undecodable counts the pending entries that no longer decode (a
	// signed transaction of header version 2 carries no fee).
	undecodable int
}

// protocol returns the protocol of the set-aside store's blocks.
func (st *setAside) protocol() int {
	if st.format == 1 {
		return 1
	}
	return 2
}

// readOldStore reads what a store of an earlier protocol tells: its
// network, its height and its pending transactions (those that decode).
func readOldStore(otx *bolt.Tx, st *setAside) error {
	meta := otx.Bucket(bucketMeta)
	if meta == nil {
		return fmt.Errorf("not a gossipchain store (buckets %q)", bucketNames(otx))
	}
	if v := meta.Get(metaVersion); len(v) != 8 || binary.BigEndian.Uint64(v) != st.format {
		return fmt.Errorf("store layout version %x is not %d", v, st.format)
	}
	mainIx := otx.Bucket(bucketChain)
	need := [][]byte{bucketChain, bucketSide, bucketPool}
	if st.format == 1 {
		mainIx = otx.Bucket(v1Main)
		need = [][]byte{v1Blocks, v1Main, v1TxIndex, bucketPool}
	}
	for _, name := range need {
		if otx.Bucket(name) == nil {
			return fmt.Errorf("a format %d bucket is missing (buckets %q)", st.format, bucketNames(otx))
		}
	}
	st.network = string(meta.Get(metaNetwork))
	if k, _ := mainIx.Cursor().Last(); len(k) == 8 {
		st.height = binary.BigEndian.Uint64(k)
	}
	return otx.Bucket(bucketPool).ForEach(func(_, v []byte) error {
		if t, err := chain.DecodeTransaction(v); err == nil {
			st.pending = append(st.pending, t)
		} else {
			st.undecodable++
		}
		return nil
	})
}

// readmit offers the pending transactions of a set-aside store to the new
// pool and logs what happened, in one WARN line that names where the old
// store went.
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
			c.log.Warn(fmt.Sprintf("re-admit a pending transaction of the protocol %d store", st.protocol()), "tx", t.ID, "err", err)
		}
	}
	attrs := []any{"old_file", st.path}
	if st.segments != "" {
		attrs = append(attrs, "old_segments", st.segments)
	}
	attrs = append(attrs, "old_format", st.format, "old_network", st.network, "old_height", st.height,
		"network", c.params.Name, "genesis", c.genesis.Hash,
		"pending_readmitted", admitted, "pending_dropped", len(st.pending)-admitted+st.undecodable)
	c.log.Warn(fmt.Sprintf("store of protocol %d set aside: its chain belongs to no network of this protocol, a new chain starts", st.protocol()), attrs...)
}

// upgradeFormat5 upgrades a store of format 5 in place to format 6 by
// rewriting its version, with one log line: its main-chain records, which
// carry their block's header, stay readable beside the shorter ones of
// format 6 (see recordLongSize), so no record is rewritten.
func (c *Chain) upgradeFormat5() error {
	var format uint64
	if err := c.db.View(func(tx *bolt.Tx) error {
		format = binary.BigEndian.Uint64(tx.Bucket(bucketMeta).Get(metaVersion)) // checked by load
		return nil
	}); err != nil || format != formatLongRecords {
		return err
	}
	if err := c.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketMeta).Put(metaVersion, heightKey(storeVersion))
	}); err != nil {
		return fmt.Errorf("upgrade the store from format %d: %w", formatLongRecords, err)
	}
	c.log.Info("store upgraded in place", "path", c.db.Path(), "old_format", formatLongRecords, "format", storeVersion)
	return nil
}
