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
	metaSegEnd   = []byte("segend")   // segment (4) || offset (4): the end of the block bodies committed
)

// storeVersion is the layout version written in the meta bucket: format 6
// is format 5 (block bodies in segments, headers of version 3) whose
// main-chain records no longer repeat the block's header, which its body
// begins with. A store of format 5 is upgraded in place by rewriting its
// version: its records, which still carry the header, stay readable
// (see formatLongRecords). A store of format 1 (the first release: blocks
// keyed by hash, difficulty headers of protocol 1) or of formats 2 to 4
// (headers of version 2) holds a chain of no network of this protocol;
// opening one sets it aside. See migrate.go.
const storeVersion = 6

// formatLongRecords is the last format whose main-chain records carry the
// block's header (recordLongSize bytes); a store upgraded from it holds
// records of both sizes.
const formatLongRecords = 5

// An entry is what the store derives for every block when it is added:
// cumulative work (32 bytes, big-endian) || time mark (8) || the parent's
// time mark (8), both Unix microseconds (see TimeMark). Fork choice reads
// the work; the retargeting rule the marks.
const entrySize = 32 + 8 + 8

// A stub is what the bbolt index keeps of a side block: entry (48) ||
// location of its body in the segments (12, see segment.go) || its header
// (the first chain.HeaderSize bytes of its binary encoding), so that fork
// choice, retargeting and the median-time rule read no body. A main-chain
// record is hash (32) || entry || location: its header is read from its
// body when asked for (view.mainStub), so that a synced block costs the
// index 92 bytes rather than 228. A record of format 5 is hash || stub.
const (
	stubSize       = entrySize + locSize + chain.HeaderSize
	recordSize     = chain.HashSize + entrySize + locSize
	recordLongSize = chain.HashSize + stubSize
)

func heightKey(h uint64) []byte { return binary.BigEndian.AppendUint64(nil, h) }

func appendEntry(dst []byte, e *chain.Parent) []byte {
	var w [32]byte
	e.Work.FillBytes(w[:])
	dst = append(dst, w[:]...)
	dst = binary.BigEndian.AppendUint64(dst, uint64(e.Mark))
	return binary.BigEndian.AppendUint64(dst, uint64(e.PrevMark))
}

// appendStub appends the stub of a block whose entry is e, whose body is
// at loc and whose binary encoding starts with header.
func appendStub(dst []byte, e *chain.Parent, loc [locSize]byte, header []byte) []byte {
	dst = appendEntry(dst, e)
	dst = append(dst, loc[:]...)
	return append(dst, header[:chain.HeaderSize]...)
}

func stubLoc(stub []byte) []byte    { return stub[entrySize : entrySize+locSize] }
func stubHeader(stub []byte) []byte { return stub[entrySize+locSize:] }

// parseEntry completes the entry of the block of hash from its stub.
func parseEntry(stub []byte, hash chain.Hash) *chain.Parent {
	index, ts, bits := chain.HeaderFields(stubHeader(stub))
	return &chain.Parent{
		Index:     index,
		Hash:      hash,
		Bits:      bits,
		Timestamp: ts,
		Work:      new(big.Int).SetBytes(stub[:32]),
		Mark:      chain.Timestamp(binary.BigEndian.Uint64(stub[32:40])),
		PrevMark:  chain.Timestamp(binary.BigEndian.Uint64(stub[40:48])),
	}
}

// mainStub returns the hash and stub of the main-chain block at height,
// its header read from its body unless the record carries it.
func (v *view) mainStub(height uint64) (hash chain.Hash, stub []byte, err error) {
	rec, err := v.checkedRecord(height)
	if err != nil {
		return hash, nil, err
	}
	hash = chain.Hash(rec[:chain.HashSize])
	if len(rec) == recordLongSize {
		return hash, rec[chain.HashSize:], nil
	}
	bin, err := v.body(rec[chain.HashSize:])
	if err != nil {
		return hash, nil, err
	}
	if len(bin) < chain.HeaderSize {
		return hash, nil, fmt.Errorf("stored block %s is corrupt: %d bytes", hash, len(bin))
	}
	stub = make([]byte, 0, stubSize)
	return hash, append(append(stub, rec[chain.HashSize:]...), bin[:chain.HeaderSize]...), nil
}

// checkedRecord returns the main-chain record at height, of either size.
func (v *view) checkedRecord(height uint64) ([]byte, error) {
	rec := v.mainRecord(height)
	if rec == nil {
		return nil, chain.ErrNotFound
	}
	if len(rec) != recordSize && len(rec) != recordLongSize {
		return nil, fmt.Errorf("stored record at height %d is corrupt (%d bytes)", height, len(rec))
	}
	return rec, nil
}

// mainRecord returns the main-chain record at height: a pending one, or
// bbolt's.
func (v *view) mainRecord(height uint64) []byte {
	if rec := v.pend.record(height); rec != nil {
		return rec
	}
	return v.tx.Bucket(bucketChain).Get(heightKey(height))
}

// sideStub returns the stub of a side block, or nil.
func (v *view) sideStub(hash chain.Hash) ([]byte, error) {
	stub := v.tx.Bucket(bucketSide).Get(hash[:])
	if stub != nil && len(stub) != stubSize {
		return nil, fmt.Errorf("stored side block %s is corrupt: %d bytes", hash, len(stub))
	}
	return stub, nil
}

// body reads the binary encoding of the block of stub from the segments,
// valid until the view's next read.
func (v *view) body(stub []byte) ([]byte, error) {
	return v.seg.readInto(&v.scratch, stubLoc(stub), v.blk != nil)
}

// entryAt returns the entry of the main-chain block at height.
func (v *view) entryAt(height uint64) (*chain.Parent, error) {
	hash, stub, err := v.mainStub(height)
	if err != nil {
		return nil, err
	}
	return parseEntry(stub, hash), nil
}

// entryOf returns the entry of any stored block: its header fields, time
// marks and cumulative work.
func (v *view) entryOf(hash chain.Hash) (*chain.Parent, error) {
	stub, _, err := v.stubOf(hash)
	if err != nil {
		return nil, err
	}
	return parseEntry(stub, hash), nil
}

// stubOf returns the stub of any stored block, and its height if it is on
// the main chain.
func (v *view) stubOf(hash chain.Hash) (stub []byte, height uint64, err error) {
	if h, ok := v.mainHeight(hash); ok {
		_, stub, err := v.mainStub(h)
		return stub, h, err
	}
	stub, err = v.sideStub(hash)
	if err == nil && stub == nil {
		err = chain.ErrNotFound
	}
	return stub, 0, err
}

// view reads the store inside one bbolt transaction. A writer's view also
// sees the index entries of the blocks it connected in that transaction.
type view struct {
	tx  *bolt.Tx
	ix  *indexes
	seg *segments
	// scratch holds the last body read: decoding copies what it keeps.
	scratch []byte
	// blk is not nil in a writer's view, which also reads the bodies its
	// batch appended.
	blk map[chain.Hash]uint64 // block hash → height, connected in this transaction
	txs map[chain.Hash]uint64 // transaction id → height, connected in this transaction

	runCache map[*runIndex][]storedRun // see runs
	// held, when not nil, keeps the transaction ids of each block
	// blockHoldsTx decoded, for a reader that asks about many transactions
	// of the same blocks (loading the pool).
	held map[uint64]map[chain.Hash]struct{}
	// addrs: address index entries (see addrindex.go) of the blocks
	// connected in this transaction, on a signed network; addrN counts them.
	addrs map[chain.Hash][]uint64
	addrN int
	// pend: the main-chain records acknowledged and not yet in bbolt (see
	// deferred.go). deferred: this writer's view adds its block to pend
	// instead of writing it.
	pend     *pending
	deferred bool
	undo     []byte // a deferred block's undo data, see putUndo
}

func (c *Chain) newView(tx *bolt.Tx) *view { return &view{tx: tx, ix: c.ix, seg: c.seg} }

// newWriteView is the view of a writer that adds blocks (nil: a few), its
// maps sized for them.
func (c *Chain) newWriteView(tx *bolt.Tx, blocks []*chain.Block) *view {
	ntx := 0
	for _, b := range blocks {
		ntx += len(b.Transactions)
	}
	return &view{tx: tx, ix: c.ix, seg: c.seg, blk: make(map[chain.Hash]uint64, len(blocks)), txs: make(map[chain.Hash]uint64, ntx)}
}

// record returns the hash and binary encoding of the main-chain block at
// height.
func (v *view) record(height uint64) (hash chain.Hash, bin []byte, err error) {
	rec, err := v.checkedRecord(height)
	if err != nil {
		return hash, nil, err
	}
	hash = chain.Hash(rec[:chain.HashSize])
	bin, err = v.body(rec[chain.HashSize:])
	return hash, bin, err
}

// mainHash returns the main-chain hash at height.
func (v *view) mainHash(height uint64) (chain.Hash, bool) {
	rec := v.mainRecord(height)
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

// rawBlock returns the binary encoding of any stored block.
func (v *view) rawBlock(hash chain.Hash) ([]byte, error) {
	if h, ok := v.mainHeight(hash); ok {
		_, bin, err := v.record(h) // one read: the record names the body
		return bin, err
	}
	stub, _, err := v.stubOf(hash)
	if err != nil {
		return nil, err
	}
	return v.body(stub)
}

// fetchBlock reads and decodes a stored block, which must hash to hash.
func (v *view) fetchBlock(hash chain.Hash) (*chain.Block, error) {
	raw, err := v.rawBlock(hash)
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

// fetchHeader returns the index, timestamp and previous hash of a stored
// block, from its stub.
func (v *view) fetchHeader(hash chain.Hash) (index uint64, ts chain.Timestamp, prev chain.Hash, err error) {
	stub, _, err := v.stubOf(hash)
	if err != nil {
		return 0, 0, prev, err
	}
	hdr := stubHeader(stub)
	copy(prev[:], hdr[:chain.HashSize])
	index, ts, _ = chain.HeaderFields(hdr)
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
	if ids, ok := v.held[height]; ok {
		_, in := ids[id]
		return in
	}
	hash, bin, err := v.record(height)
	if err != nil {
		return false
	}
	b, err := decodeStored(bin, hash)
	if err != nil {
		return false
	}
	if v.held != nil {
		ids := make(map[chain.Hash]struct{}, len(b.Transactions))
		for i := range b.Transactions {
			ids[b.Transactions[i].ID] = struct{}{}
		}
		v.held[height] = ids
		_, in := ids[id]
		return in
	}
	for i := range b.Transactions {
		if b.Transactions[i].ID == id {
			return true
		}
	}
	return false
}

// connectMain puts b, whose entry is e, on the main chain at its index. A
// stored side block keeps its body where it is; a new block's is appended.
func (v *view) connectMain(b *chain.Block, e *chain.Parent) error {
	bkt := v.tx.Bucket(bucketChain)
	bkt.FillPercent = 1 // appends: fill each page
	// The key and the record in one allocation, which bbolt keeps until
	// the commit.
	kv := make([]byte, 8, 8+recordSize)
	binary.BigEndian.PutUint64(kv, b.Index)
	rec := append(kv[8:], b.Hash[:]...)
	stub, err := v.sideStub(b.Hash)
	if err != nil {
		return err
	}
	if stub != nil {
		rec = append(rec, stub[:entrySize+locSize]...)
		if err := v.tx.Bucket(bucketSide).Delete(b.Hash[:]); err != nil {
			return err
		}
	} else {
		loc, _, err := v.seg.appendBlock(b)
		if err != nil {
			return err
		}
		rec = append(appendEntry(rec, e), loc[:]...)
	}
	if v.deferred {
		v.pend = v.pend.plus(b.Index, rec, v.undo)
		v.undo = nil
	} else if err := bkt.Put(kv[:8], rec); err != nil {
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

// disconnectMain moves b, the main-chain tip, to the side blocks, its body
// where it is. Its index entries go stale: every index hit is checked
// against the main chain.
func (v *view) disconnectMain(b *chain.Block) error {
	_, stub, err := v.mainStub(b.Index)
	if err != nil {
		return err
	}
	stub = append([]byte(nil), stub...) // a format-5 record's page changes below
	if err := v.tx.Bucket(bucketChain).Delete(heightKey(b.Index)); err != nil {
		return err
	}
	delete(v.blk, b.Hash)
	return v.tx.Bucket(bucketSide).Put(b.Hash[:], stub)
}

// putSide stores b, whose entry is e, as a side block.
func (v *view) putSide(b *chain.Block, e *chain.Parent) error {
	loc, bin, err := v.seg.appendBlock(b)
	if err != nil {
		return err
	}
	return v.tx.Bucket(bucketSide).Put(b.Hash[:], appendStub(make([]byte, 0, stubSize), e, loc, bin))
}

func dbPutHead(tx *bolt.Tx, b *chain.Block) error {
	meta := tx.Bucket(bucketMeta)
	if err := meta.Put(metaHead, b.Hash[:]); err != nil {
		return err
	}
	// Every block written was checked against every rule first.
	return meta.Put(metaVerified, append(heightKey(b.Index), b.Hash[:]...))
}

// syncSegments writes out and fsyncs the bodies the transaction appended
// and records their end, before the transaction commits.
func (v *view) syncSegments() error {
	end, err := v.seg.sync()
	if err != nil {
		return err
	}
	return v.tx.Bucket(bucketMeta).Put(metaSegEnd, end.append(nil))
}

// allBuckets are the buckets of formats 5 and 6.
var allBuckets = [][]byte{bucketMeta, bucketChain, bucketSide, bucketHashIx, bucketTxIx, bucketPool, bucketAccounts, bucketUndo, bucketAddrIx}

// dbInit creates the buckets and writes the genesis into a store that is
// new. A store that exists must be of this network and format.
func (c *Chain) dbInit(tx *bolt.Tx) error {
	p, genesis := &c.params, c.genesis
	meta := tx.Bucket(bucketMeta)
	if meta == nil {
		if tx.Bucket(bucketChain) != nil || len(bucketNames(tx)) > 0 {
			return fmt.Errorf("not a gossipchain store: a bbolt file with buckets %q and no meta bucket; use another data directory", bucketNames(tx))
		}
		for _, name := range append(allBuckets, bucketStateNodes, bucketStateRoots) {
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
		v := c.newWriteView(tx, nil)
		ge, err := p.ParentOf(genesis, nil)
		if err != nil {
			return err
		}
		if err := v.connectMain(genesis, ge); err != nil {
			return err
		}
		// The genesis goes into the first run, so that the in-memory part
		// of the indexes only ever holds what lies above metaIndexed.
		if err := c.ix.flush(v, 1); err != nil {
			return err
		}
		if err := v.syncSegments(); err != nil {
			return err
		}
		return dbPutHead(tx, c.genesis)
	}
	if err := checkMeta(tx, p, genesis); err != nil {
		return err
	}
	return checkBuckets(tx)
}

// checkBuckets checks that every bucket is there.
func checkBuckets(tx *bolt.Tx) error {
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
	if v := meta.Get(metaVersion); len(v) != 8 || (binary.BigEndian.Uint64(v) != storeVersion && binary.BigEndian.Uint64(v) != formatLongRecords) {
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
