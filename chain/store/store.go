package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/big"

	bolt "go.etcd.io/bbolt"

	"github.com/gossipchain/gossipchain/chain"
)

// The store layout, format 3 (format 2 and the account buckets of the
// signed ledger). The main chain is append-only: its blocks are
// keyed by height, so that adding a block appends to the B-tree. Blocks off
// the main chain, which are few, are keyed by hash. The two random-key
// indexes (block hash → height, transaction id → height) are sorted runs
// (see hashindex.go) written every few thousand blocks, not one random key
// per block.
//
// Keys of heights, run numbers and pool sequence numbers are big-endian
// uint64, so cursors visit them in order.
var (
	bucketMeta   = []byte("meta")   // the meta keys below
	bucketChain  = []byte("chain")  // height → main-chain record (see putRecord)
	bucketSide   = []byte("side")   // block hash → entry (see appendEntry) || binary block, for blocks off the main chain
	bucketHashIx = []byte("hashix") // run number → sorted run of (block hash prefix, height)
	bucketTxIx   = []byte("txix")   // run number → sorted run of (transaction id prefix, height)
	bucketPool   = []byte("pool")   // sequence → binary transaction (pending pool)
	// The signed ledger's (empty on an open network): accounts, undo data
	// and the address index (see ledger.go, addrindex.go).
	bucketAccounts = []byte("accounts") // address → balance || next nonce
	bucketUndo     = []byte("undo")     // height → the prior states of the accounts the main-chain block touched
	bucketAddrIx   = []byte("addrix")   // run number → sorted run of (address hash prefix, height)

	metaNetwork  = []byte("network")
	metaGenesis  = []byte("genesis")
	metaHead     = []byte("head")     // hash of the head block
	metaVersion  = []byte("version")  // the format, uint64
	metaVerified = []byte("verified") // height || hash: every main-chain block up to it has been checked
	metaIndexed  = []byte("indexed")  // height: the index runs cover the main chain up to it
)

// storeVersion is the layout version written in the meta bucket. A store
// of format 1 (the first release: blocks keyed by hash, difficulty headers
// of protocol 1) holds a chain of no network of this protocol; opening one
// sets it aside. A store of format 2 (the same layout without the ledger's
// buckets) is upgraded in place. See migrate.go.
const storeVersion = 3

// An entry is what the store derives for every block when it is added:
// cumulative work (32 bytes, big-endian) || time mark (8) || the parent's
// time mark (8), both Unix microseconds (see TimeMark). Fork choice reads
// the work; the retargeting rule the marks.
const entrySize = 32 + 8 + 8

// A main-chain record is hash (32) || entry (48) || binary length (4) ||
// binary block || JSON block: the encodings served by chain exchange and
// GET /chain are stored once, when the block joins the main chain.
const recordHeader = chain.HashSize + entrySize + 4

func heightKey(h uint64) []byte { return binary.BigEndian.AppendUint64(nil, h) }

func appendEntry(dst []byte, e *chain.Parent) []byte {
	var w [32]byte
	e.Work.FillBytes(w[:])
	dst = append(dst, w[:]...)
	dst = binary.BigEndian.AppendUint64(dst, uint64(e.Mark))
	return binary.BigEndian.AppendUint64(dst, uint64(e.PrevMark))
}

// parseEntry completes the entry of the block whose binary encoding is bin.
func parseEntry(ent, bin []byte, hash chain.Hash) *chain.Parent {
	return &chain.Parent{
		Index:     binary.BigEndian.Uint64(bin[68:76]),
		Hash:      hash,
		Bits:      chain.Compact(binary.BigEndian.Uint32(bin[84:88])),
		Timestamp: chain.Timestamp(binary.BigEndian.Uint64(bin[76:84])),
		Work:      new(big.Int).SetBytes(ent[:32]),
		Mark:      chain.Timestamp(binary.BigEndian.Uint64(ent[32:40])),
		PrevMark:  chain.Timestamp(binary.BigEndian.Uint64(ent[40:48])),
	}
}

func appendRecord(dst []byte, b *chain.Block, e *chain.Parent) []byte {
	dst = append(dst, b.Hash[:]...)
	dst = appendEntry(dst, e)
	dst = binary.BigEndian.AppendUint32(dst, uint32(b.BinarySize()))
	dst = b.AppendBinary(dst)
	return b.AppendJSON(dst)
}

// splitRecord returns the hash, binary and JSON encodings of a record.
func splitRecord(rec []byte) (hash chain.Hash, bin, js []byte, ok bool) {
	hash, _, bin, js, ok = splitRecordEntry(rec)
	return hash, bin, js, ok
}

// splitRecordEntry is splitRecord with the entry.
func splitRecordEntry(rec []byte) (hash chain.Hash, ent, bin, js []byte, ok bool) {
	if len(rec) < recordHeader+chain.HeaderSize {
		return hash, nil, nil, nil, false
	}
	n := int(binary.BigEndian.Uint32(rec[recordHeader-4 : recordHeader]))
	if n < chain.HeaderSize || n > len(rec)-recordHeader {
		return hash, nil, nil, nil, false
	}
	copy(hash[:], rec[:chain.HashSize])
	return hash, rec[chain.HashSize : chain.HashSize+entrySize], rec[recordHeader : recordHeader+n], rec[recordHeader+n:], true
}

// entryAt returns the entry of the main-chain block at height.
func (v *view) entryAt(height uint64) (*chain.Parent, error) {
	rec := v.tx.Bucket(bucketChain).Get(heightKey(height))
	if rec == nil {
		return nil, chain.ErrNotFound
	}
	hash, ent, bin, _, ok := splitRecordEntry(rec)
	if !ok {
		return nil, fmt.Errorf("stored record at height %d is corrupt (%d bytes)", height, len(rec))
	}
	return parseEntry(ent, bin, hash), nil
}

// entryOf returns the entry of any stored block: its header fields, time
// marks and cumulative work.
func (v *view) entryOf(hash chain.Hash) (*chain.Parent, error) {
	if h, ok := v.mainHeight(hash); ok {
		return v.entryAt(h)
	}
	raw := v.tx.Bucket(bucketSide).Get(hash[:])
	if raw == nil {
		return nil, chain.ErrNotFound
	}
	if len(raw) < entrySize+chain.HeaderSize {
		return nil, fmt.Errorf("stored side block %s is corrupt: %d bytes", hash, len(raw))
	}
	return parseEntry(raw[:entrySize], raw[entrySize:], hash), nil
}

// view reads the store inside one bbolt transaction. A writer's view also
// sees the index entries of the blocks it connected in that transaction.
type view struct {
	tx  *bolt.Tx
	ix  *indexes
	blk map[chain.Hash]uint64 // block hash → height, connected in this transaction
	txs map[chain.Hash]uint64 // transaction id → height, connected in this transaction

	runCache map[*runIndex][]storedRun // see runs
	// addrs: address index entries (see addrindex.go) of the blocks
	// connected in this transaction, on a signed network; addrN counts them.
	addrs map[chain.Hash][]uint64
	addrN int
}

func (c *Chain) newView(tx *bolt.Tx) *view { return &view{tx: tx, ix: c.ix} }

// record returns the main-chain record at height.
func (v *view) record(height uint64) (hash chain.Hash, bin, js []byte, err error) {
	rec := v.tx.Bucket(bucketChain).Get(heightKey(height))
	if rec == nil {
		return hash, nil, nil, chain.ErrNotFound
	}
	hash, bin, js, ok := splitRecord(rec)
	if !ok {
		return hash, nil, nil, fmt.Errorf("stored record at height %d is corrupt (%d bytes)", height, len(rec))
	}
	return hash, bin, js, nil
}

// mainHash returns the main-chain hash at height.
func (v *view) mainHash(height uint64) (chain.Hash, bool) {
	rec := v.tx.Bucket(bucketChain).Get(heightKey(height))
	var h chain.Hash
	if len(rec) < chain.HashSize {
		return h, false
	}
	copy(h[:], rec)
	return h, true
}

// isMain reports whether hash is the main-chain block at height.
func (v *view) isMain(hash chain.Hash, height uint64) bool {
	h, ok := v.mainHash(height)
	return ok && h == hash
}

// mainHeight returns the height of hash if it is on the main chain.
func (v *view) mainHeight(hash chain.Hash) (uint64, bool) {
	if h, ok := v.blk[hash]; ok && v.isMain(hash, h) {
		return h, true
	}
	var height uint64
	found := v.ix.blocks.lookup(v, hash, func(h uint64) bool {
		if v.isMain(hash, h) {
			height = h
			return true
		}
		return false
	})
	return height, found
}

// rawBlock returns the binary encoding of any stored block and whether it
// is on the main chain, at which height.
func (v *view) rawBlock(hash chain.Hash) (raw []byte, height uint64, main bool, err error) {
	if h, ok := v.mainHeight(hash); ok {
		_, bin, _, err := v.record(h)
		return bin, h, true, err
	}
	if raw := v.tx.Bucket(bucketSide).Get(hash[:]); raw != nil {
		if len(raw) < entrySize {
			return nil, 0, false, fmt.Errorf("stored side block %s is corrupt: %d bytes", hash, len(raw))
		}
		return raw[entrySize:], 0, false, nil
	}
	return nil, 0, false, chain.ErrNotFound
}

// fetchBlock reads and decodes a stored block, which must hash to hash.
func (v *view) fetchBlock(hash chain.Hash) (*chain.Block, error) {
	raw, _, _, err := v.rawBlock(hash)
	if err != nil {
		return nil, err
	}
	return decodeStored(raw, hash)
}

func decodeStored(raw []byte, hash chain.Hash) (*chain.Block, error) {
	b, err := chain.DecodeBlock(raw, chain.MaxTxsLimit)
	if err != nil {
		return nil, fmt.Errorf("stored block %s is corrupt: %w", hash, err)
	}
	if b.Hash != hash {
		return nil, fmt.Errorf("stored block %s is corrupt: it hashes to %s", hash, b.Hash)
	}
	return b, nil
}

// fetchHeader decodes only the index, timestamp and previous hash of a
// stored block.
func (v *view) fetchHeader(hash chain.Hash) (index uint64, ts chain.Timestamp, prev chain.Hash, err error) {
	raw, _, _, err := v.rawBlock(hash)
	if err != nil {
		return 0, 0, prev, err
	}
	if len(raw) < chain.HeaderSize {
		return 0, 0, prev, fmt.Errorf("stored block %s is corrupt: %d bytes", hash, len(raw))
	}
	copy(prev[:], raw[0:32])
	index = binary.BigEndian.Uint64(raw[68:76])
	ts = chain.Timestamp(binary.BigEndian.Uint64(raw[76:84]))
	return index, ts, prev, nil
}

func (v *view) hasBlock(hash chain.Hash) bool {
	if _, ok := v.mainHeight(hash); ok {
		return true
	}
	return v.tx.Bucket(bucketSide).Get(hash[:]) != nil
}

// txHeight returns the main-chain height of the block holding the
// transaction id. An index hit is confirmed in the block itself.
func (v *view) txHeight(id chain.Hash) (uint64, bool) {
	var height uint64
	check := func(h uint64) bool {
		if v.blockHoldsTx(h, id) {
			height = h
			return true
		}
		return false
	}
	if h, ok := v.txs[id]; ok && check(h) {
		return h, true
	}
	return height, v.ix.txs.lookup(v, id, check)
}

// blockHoldsTx reports whether the main-chain block at height holds id.
func (v *view) blockHoldsTx(height uint64, id chain.Hash) bool {
	hash, bin, _, err := v.record(height)
	if err != nil {
		return false
	}
	b, err := decodeStored(bin, hash)
	if err != nil {
		return false
	}
	for i := range b.Transactions {
		if b.Transactions[i].ID == id {
			return true
		}
	}
	return false
}

// connectMain puts b, whose entry is e, on the main chain at its index.
func (v *view) connectMain(b *chain.Block, e *chain.Parent) error {
	bkt := v.tx.Bucket(bucketChain)
	bkt.FillPercent = 1 // appends: fill each page
	rec := appendRecord(make([]byte, 0, recordHeader+b.BinarySize()+2*b.BinarySize()+256), b, e)
	if err := bkt.Put(heightKey(b.Index), rec); err != nil {
		return err
	}
	if err := v.tx.Bucket(bucketSide).Delete(b.Hash[:]); err != nil {
		return err
	}
	v.blk[b.Hash] = b.Index
	for i := range b.Transactions {
		v.txs[b.Transactions[i].ID] = b.Index
	}
	if v.ix.addrs != nil && b.Index > 1 {
		if v.addrs == nil {
			v.addrs = map[chain.Hash][]uint64{}
		}
		v.addrN += noteAddrs(v.addrs, b)
	}
	return nil
}

// disconnectMain moves b, the main-chain tip, to the side blocks. Its index
// entries go stale: every index hit is checked against the main chain.
func (v *view) disconnectMain(b *chain.Block) error {
	e, err := v.entryOf(b.Hash)
	if err != nil {
		return err
	}
	if err := v.tx.Bucket(bucketChain).Delete(heightKey(b.Index)); err != nil {
		return err
	}
	delete(v.blk, b.Hash)
	return v.putSide(b, e)
}

func (v *view) putSide(b *chain.Block, e *chain.Parent) error {
	buf := appendEntry(make([]byte, 0, entrySize+b.BinarySize()), e)
	return v.tx.Bucket(bucketSide).Put(b.Hash[:], b.AppendBinary(buf))
}

func dbPutHead(tx *bolt.Tx, b *chain.Block) error {
	meta := tx.Bucket(bucketMeta)
	if err := meta.Put(metaHead, b.Hash[:]); err != nil {
		return err
	}
	// Every block written was checked against every rule first.
	return meta.Put(metaVerified, append(heightKey(b.Index), b.Hash[:]...))
}

// allBuckets are the buckets of format 3.
var allBuckets = [][]byte{bucketMeta, bucketChain, bucketSide, bucketHashIx, bucketTxIx, bucketPool, bucketAccounts, bucketUndo, bucketAddrIx}

// dbInit creates the buckets and writes the genesis into a store that is
// new. A store that exists must be of this network and format.
func dbInit(tx *bolt.Tx, p *chain.Params, genesis *chain.Block, ix *indexes) error {
	meta := tx.Bucket(bucketMeta)
	if meta == nil {
		if tx.Bucket(bucketChain) != nil || len(bucketNames(tx)) > 0 {
			return fmt.Errorf("not a gossipchain store: a bbolt file with buckets %q and no meta bucket; use another data directory", bucketNames(tx))
		}
		for _, name := range allBuckets {
			if _, err := tx.CreateBucket(name); err != nil {
				return fmt.Errorf("create bucket %s: %w", name, err)
			}
		}
		meta = tx.Bucket(bucketMeta)
		for k, v := range map[string][]byte{
			string(metaVersion): heightKey(storeVersion),
			string(metaNetwork): []byte(p.Name),
			string(metaGenesis): genesis.Hash[:],
			string(metaIndexed): heightKey(1),
		} {
			if err := meta.Put([]byte(k), v); err != nil {
				return err
			}
		}
		if err := putParamsTx(meta, p); err != nil {
			return err
		}
		v := &view{tx: tx, ix: ix, blk: map[chain.Hash]uint64{}, txs: map[chain.Hash]uint64{}}
		ge, err := p.ParentOf(genesis, nil)
		if err != nil {
			return err
		}
		if err := v.connectMain(genesis, ge); err != nil {
			return err
		}
		// The genesis goes into the first run, so that the in-memory part
		// of the indexes only ever holds what lies above metaIndexed.
		if err := ix.flush(v, 1); err != nil {
			return err
		}
		return dbPutHead(tx, genesis)
	}
	if err := checkMeta(tx, p, genesis); err != nil {
		return err
	}
	for _, name := range allBuckets {
		if tx.Bucket(name) == nil {
			return fmt.Errorf("bucket %s is missing", name)
		}
	}
	return nil
}

// checkMeta checks the format version, then the network.
func checkMeta(tx *bolt.Tx, p *chain.Params, genesis *chain.Block) error {
	meta := tx.Bucket(bucketMeta)
	if v := meta.Get(metaVersion); len(v) != 8 || binary.BigEndian.Uint64(v) != storeVersion {
		return fmt.Errorf("store layout version %x is not %d", v, storeVersion)
	}
	return checkNetwork(meta, p, genesis)
}

func bucketNames(tx *bolt.Tx) []string {
	var out []string
	_ = tx.ForEach(func(name []byte, _ *bolt.Bucket) error {
		out = append(out, string(name))
		return nil
	})
	return out
}

// dbHead returns the stored head hash.
func dbHead(tx *bolt.Tx) (chain.Hash, error) {
	var h chain.Hash
	v := tx.Bucket(bucketMeta).Get(metaHead)
	if len(v) != chain.HashSize {
		return h, errors.New("store has no head")
	}
	copy(h[:], v)
	return h, nil
}

// metaHeight reads a height in the meta bucket.
func metaHeight(tx *bolt.Tx, key []byte) (uint64, error) {
	v := tx.Bucket(bucketMeta).Get(key)
	if len(v) < 8 {
		return 0, fmt.Errorf("meta %s is missing", key)
	}
	return binary.BigEndian.Uint64(v), nil
}
