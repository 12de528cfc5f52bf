package store

import (
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"sync"
	"sync/atomic"

	bolt "go.etcd.io/bbolt"

	"github.com/gossipchain/gossipchain/chain"
)

// The block-hash and transaction-id indexes map a hash to the height of the
// main-chain block that holds it. Hashes are random, so one key per block
// or transaction would make every commit rewrite a random 4 kB leaf per
// key. Instead each index is
//
//   - a tail in memory: the entries of the main-chain blocks above the
//     height metaIndexed, rebuilt from those blocks when the store opens;
//   - sorted runs, each one value of fixed-size entries (8-byte hash
//     prefix, 4-byte height) in prefix order, in a bucket of its own
//     inside the index's bucket (bbolt writes a leaf whole, so runs that
//     shared a leaf would all be rewritten with any new one). When the tails
//     hold flushEntries entries, they are written as a new run in the
//     commit that crosses the bound, and the last two runs are merged
//     while the older is at most twice the newer, so that there are
//     O(log n) runs and each entry is rewritten O(log n) times.
//
// An entry is only a hint: every hit is checked against the main chain
// (the record at that height, or the block's transactions), so a prefix
// shared by two hashes, or an entry left by a reorganisation, costs a read
// but never gives a wrong answer.

const (
	runEntrySize = 12
	// flushEntries bounds the tails: at most this many entries (blocks
	// and transactions) are rebuilt when the store opens.
	flushEntries = 16384
)

type indexes struct {
	blocks, txs *runIndex
	addrs       *addrIndex // on a signed network, see addrindex.go
	// gen counts the changes of the runs; a reader that found nothing
	// while it changed reads again (see Chain.readIndexed).
	gen atomic.Uint64
}

func newIndexes() *indexes {
	return &indexes{
		blocks: &runIndex{bucket: bucketHashIx, tail: map[chain.Hash]uint64{}},
		txs:    &runIndex{bucket: bucketTxIx, tail: map[chain.Hash]uint64{}},
	}
}

// runIndex is one index. The tail changes only once a store transaction
// has committed (with Chain.mu held); readers take mu.
type runIndex struct {
	bucket []byte
	mu     sync.RWMutex
	tail   map[chain.Hash]uint64
	// dir lists the committed runs, newest first, with a copy of each
	// one's filter, so that a look-up opens only the runs that may hold
	// its hash.
	dir []dirRun
}

// dirRun is a run of the directory. A run's number is never reused, so
// the run a number names is the same in every snapshot that holds it.
type dirRun struct {
	num   uint64
	bloom []byte
}

// tailLen is the number of entries in both tails.
func (ix *indexes) tailLen() int {
	n := 0
	for _, r := range []*runIndex{ix.blocks, ix.txs} {
		r.mu.RLock()
		n += len(r.tail)
		r.mu.RUnlock()
	}
	if ix.addrs != nil {
		n += ix.addrs.tailLen()
	}
	return n
}

// lookup calls fn with each height that h may be at (the tail, then the
// runs of the directory whose filter may hold h, newest first) until fn
// returns true, and reports whether it did. The tail and the directory are
// read together; entries leave the tail, and the directory changes, only
// after their runs have committed, and a run merged away since (absent
// from v's snapshot) sends the look-up to the snapshot's own runs. A
// reader whose snapshot predates a flush that it sees in the tail finds
// nothing: Chain.readIndexed reads again when the runs changed.
func (r *runIndex) lookup(v *view, h chain.Hash, fn func(height uint64) bool) bool {
	r.mu.RLock()
	height, ok := r.tail[h]
	dir := r.dir
	r.mu.RUnlock()
	if ok && fn(height) {
		return true
	}
	prefix := binary.BigEndian.Uint64(h[:8])
	b := v.tx.Bucket(r.bucket)
	stale := false
	for _, d := range dir {
		if !(storedRun{bloom: d.bloom}).mayHold(prefix) {
			continue
		}
		sub := b.Bucket(heightKey(d.num))
		if sub == nil {
			stale = true // merged since: the snapshot's own runs tell
			continue
		}
		if searchRun(sub.Get(runKey), prefix, fn) {
			return true
		}
	}
	if !stale {
		return false
	}
	// The directory is older than the snapshot, or this transaction merged
	// runs: read the snapshot's own runs and filters.
	for _, sr := range v.runs(r) {
		if sr.mayHold(prefix) && searchRun(sr.entries, prefix, fn) {
			return true
		}
	}
	return false
}

// Keys inside a run's bucket: the entries, and a blocked Bloom filter of
// their prefixes, so that a lookup of a hash that is not there (every new
// transaction id) costs about one cache line per run, not a binary search.
var (
	runKey   = []byte("run")
	bloomKey = []byte("bloom")
)

// storedRun is one run as read from the store.
type storedRun struct {
	entries []byte
	bloom   []byte // nil: no filter, every prefix may be there
}

// Shape of the filters: bloomBitsPerEntry bits per entry in blocks of one
// 64-byte cache line, bloomProbes bits set per entry within its block
// (about 1% false positives).
const (
	bloomBitsPerEntry = 10
	bloomBlockBytes   = 64
	bloomProbes       = 6
)

// bloomPlace returns the block and the bit positions of prefix.
func bloomPlace(prefix uint64, blocks int) (block int, bits [bloomProbes]uint) {
	x := prefix * 0x9E3779B97F4A7C15
	block = int((x >> 32) % uint64(blocks))
	y := (prefix<<17 | prefix>>47) * 0xC2B2AE3D27D4EB4F
	for j := range bits {
		bits[j] = uint(y>>(9*j)) & (bloomBlockBytes*8 - 1)
	}
	return block, bits
}

// makeBloom builds the filter of a run's entries.
func makeBloom(run []byte) []byte {
	n := len(run) / runEntrySize
	blocks := max(1, (n*bloomBitsPerEntry+bloomBlockBytes*8-1)/(bloomBlockBytes*8))
	f := make([]byte, blocks*bloomBlockBytes)
	for i := 0; i < n; i++ {
		bloomSet(f, binary.BigEndian.Uint64(run[i*runEntrySize:]))
	}
	return f
}

// bloomSet puts prefix into the blocked Bloom filter f.
func bloomSet(f []byte, prefix uint64) {
	block, bits := bloomPlace(prefix, len(f)/bloomBlockBytes)
	b := f[block*bloomBlockBytes:]
	for _, bit := range bits {
		b[bit/8] |= 1 << (bit % 8)
	}
}

// mayHold reports whether the run may hold prefix.
func (sr storedRun) mayHold(prefix uint64) bool {
	blocks := len(sr.bloom) / bloomBlockBytes
	if blocks == 0 {
		return true
	}
	block, bits := bloomPlace(prefix, blocks)
	b := sr.bloom[block*bloomBlockBytes:]
	for _, bit := range bits {
		if b[bit/8]&(1<<(bit%8)) == 0 {
			return false
		}
	}
	return true
}

// loadRuns returns the runs of the index bucket b, newest first.
func loadRuns(b *bolt.Bucket) []storedRun {
	var runs []storedRun
	cur := b.Cursor()
	for k, _ := cur.Last(); k != nil; k, _ = cur.Prev() {
		if sub := b.Bucket(k); sub != nil {
			runs = append(runs, storedRun{entries: sub.Get(runKey), bloom: sub.Get(bloomKey)})
		}
	}
	return runs
}

// runs returns the runs of r in v's transaction, newest first, read once
// per view. (bbolt maps the file anew only when a write transaction
// commits, so the slices stay valid while the view is used.)
func (v *view) runs(r *runIndex) []storedRun {
	if v.runCache == nil {
		v.runCache = map[*runIndex][]storedRun{}
	}
	rs, ok := v.runCache[r]
	if !ok {
		rs = loadRuns(v.tx.Bucket(r.bucket))
		v.runCache[r] = rs
	}
	return rs
}

// add puts committed entries into the tail.
func (r *runIndex) add(entries map[chain.Hash]uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for h, height := range entries {
		r.tail[h] = height
	}
}

// reset empties the tail once its entries are in a committed run, and
// installs the directory of the runs as committed.
func (r *runIndex) reset(dir []dirRun) {
	r.mu.Lock()
	defer r.mu.Unlock()
	clear(r.tail) // keeps its room for the next entries
	r.dir = dir
}

// setDir installs the directory of the runs.
func (r *runIndex) setDir(dir []dirRun) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.dir = dir
}

// loadDir reads the directory of the runs of the index bucket b, copying
// their filters out of the transaction; the filters of runs in old (a
// number names one content for good) are kept rather than copied again.
func loadDir(b *bolt.Bucket, old []dirRun) []dirRun {
	known := make(map[uint64][]byte, len(old))
	for _, d := range old {
		known[d.num] = d.bloom
	}
	var dir []dirRun
	cur := b.Cursor()
	for k, _ := cur.Last(); k != nil; k, _ = cur.Prev() {
		sub := b.Bucket(k)
		if sub == nil || len(k) != 8 {
			continue
		}
		num := binary.BigEndian.Uint64(k)
		bloom, ok := known[num]
		if !ok {
			bloom = append([]byte(nil), sub.Get(bloomKey)...)
		}
		dir = append(dir, dirRun{num: num, bloom: bloom})
	}
	return dir
}

// directory returns the current directory of r.
func (r *runIndex) directory() []dirRun {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.dir
}

// loadDirs reads both directories in tx and installs them.
func (ix *indexes) loadDirs(tx *bolt.Tx) {
	ix.blocks.setDir(loadDir(tx.Bucket(ix.blocks.bucket), ix.blocks.directory()))
	ix.txs.setDir(loadDir(tx.Bucket(ix.txs.bucket), ix.txs.directory()))
	if ix.addrs != nil {
		ix.addrs.setDir(loadDir(tx.Bucket(bucketAddrIx), ix.addrs.directory()))
	}
}

// flush writes the tails and the entries added in v's transaction (blk,
// txs, addrs) as new runs and records that the runs cover the main chain
// up to indexed. The tails must be reset once the transaction commits.
func (ix *indexes) flush(v *view, indexed uint64) error {
	tx, blk, txs := v.tx, v.blk, v.txs
	if err := ix.flushAddrs(tx, v.addrs); err != nil {
		return fmt.Errorf("write address index run: %w", err)
	}
	for _, p := range []struct {
		r     *runIndex
		added map[chain.Hash]uint64
	}{{ix.blocks, blk}, {ix.txs, txs}} {
		p.r.mu.RLock()
		run, err := makeRun(p.r.tail, p.added)
		p.r.mu.RUnlock()
		if err != nil {
			return err
		}
		if err := writeRun(tx.Bucket(p.r.bucket), run); err != nil {
			return fmt.Errorf("write index run: %w", err)
		}
	}
	return tx.Bucket(bucketMeta).Put(metaIndexed, heightKey(indexed))
}

// makeRun encodes the entries of a and b (b wins) in prefix order.
func makeRun(a, b map[chain.Hash]uint64) ([]byte, error) {
	es := make([]runEntry, 0, len(a)+len(b))
	add := func(m map[chain.Hash]uint64, skip map[chain.Hash]uint64) error {
		for h, height := range m {
			if _, ok := skip[h]; ok {
				continue
			}
			if height > math.MaxUint32 {
				return errHeightRange(height)
			}
			es = append(es, runEntry{binary.BigEndian.Uint64(h[:8]), uint32(height)})
		}
		return nil
	}
	if err := add(a, b); err != nil {
		return nil, err
	}
	if err := add(b, nil); err != nil {
		return nil, err
	}
	return encodeRun(es), nil
}

// runEntry is one entry of an index run: the first 8 bytes of a key and a
// height.
type runEntry struct {
	prefix uint64
	height uint32
}

// encodeRun sorts es by prefix, then height, and encodes them as a run.
func encodeRun(es []runEntry) []byte {
	slices.SortFunc(es, func(x, y runEntry) int {
		if x.prefix != y.prefix {
			if x.prefix < y.prefix {
				return -1
			}
			return 1
		}
		return int(int64(x.height) - int64(y.height))
	})
	out := make([]byte, 0, len(es)*runEntrySize)
	for _, e := range es {
		out = binary.BigEndian.AppendUint64(out, e.prefix)
		out = binary.BigEndian.AppendUint32(out, e.height)
	}
	return out
}

// mergeFanIn is how many runs of one tier are merged into one of the next;
// runs of maxMergeTier (a few MB) are not merged further, so that a merge,
// which bbolt holds in memory until it commits, stays small, and an entry
// is rewritten at most maxMergeTier times. Past that the number of runs
// grows with the chain (one per few hundred thousand entries), each one
// binary search more for an index miss.
const (
	mergeFanIn   = 4
	maxMergeTier = 2
)

// runTier is the size class of a run of n bytes: 0 below twice a flush,
// then each tier mergeFanIn times the one before.
func runTier(n int) int {
	t := 0
	for limit := 2 * flushEntries * runEntrySize; n >= limit; limit *= mergeFanIn {
		t++
	}
	return t
}

// writeRun appends run to the bucket, then, while the mergeFanIn newest
// runs are of one tier below maxMergeTier, merges them into one (tiered
// merging: an entry is rewritten once per tier, and there are at most
// mergeFanIn-1 runs per lower tier to search).
func writeRun(b *bolt.Bucket, run []byte) error {
	if len(run) == 0 {
		return nil
	}
	next := uint64(1)
	if k, _ := b.Cursor().Last(); k != nil {
		next = binary.BigEndian.Uint64(k) + 1
	}
	if err := putRun(b, next, run); err != nil {
		return err
	}
	for {
		var keys [][]byte
		var runs [][]byte
		cur := b.Cursor()
		for k, _ := cur.Last(); k != nil && len(keys) < mergeFanIn; k, _ = cur.Prev() {
			sub := b.Bucket(k)
			if sub == nil {
				return fmt.Errorf("index run %x is not a bucket", k)
			}
			keys = append(keys, append([]byte(nil), k...))
			runs = append(runs, sub.Get(runKey))
		}
		if len(keys) < mergeFanIn {
			return nil
		}
		tier := runTier(len(runs[0]))
		if tier >= maxMergeTier {
			return nil
		}
		same := true
		for _, r := range runs[1:] {
			same = same && runTier(len(r)) == tier
		}
		if !same {
			return nil
		}
		merged := mergeRuns(runs...)
		for _, k := range keys {
			if err := b.DeleteBucket(k); err != nil {
				return err
			}
		}
		// A fresh number: a number names one run's content for good.
		next++
		if err := putRun(b, next, merged); err != nil {
			return err
		}
	}
}

// putRun writes run as the run numbered n.
func putRun(b *bolt.Bucket, n uint64, run []byte) error {
	sub, err := b.CreateBucket(heightKey(n))
	if err != nil {
		return err
	}
	sub.FillPercent = 1
	if err := sub.Put(runKey, run); err != nil {
		return err
	}
	return sub.Put(bloomKey, makeBloom(run))
}

// mergeRuns merges sorted runs into one new slice, in one pass.
func mergeRuns(runs ...[]byte) []byte {
	total := 0
	for _, r := range runs {
		total += len(r)
	}
	out := make([]byte, 0, total)
	heads := append([][]byte(nil), runs...)
	for {
		best := -1
		var least uint64
		for i, h := range heads {
			if len(h) == 0 {
				continue
			}
			if p := binary.BigEndian.Uint64(h); best < 0 || p < least {
				best, least = i, p
			}
		}
		if best < 0 {
			return out
		}
		out = append(out, heads[best][:runEntrySize]...)
		heads[best] = heads[best][runEntrySize:]
	}
}

// searchRun calls fn with the height of each entry of run whose prefix is
// prefix until fn returns true.
func searchRun(run []byte, prefix uint64, fn func(height uint64) bool) bool {
	lo, hi := 0, len(run)/runEntrySize
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if binary.BigEndian.Uint64(run[m*runEntrySize:]) < prefix {
			lo = m + 1
		} else {
			hi = m
		}
	}
	for i, n := lo, len(run)/runEntrySize; i < n && binary.BigEndian.Uint64(run[i*runEntrySize:]) == prefix; i++ {
		if fn(uint64(binary.BigEndian.Uint32(run[i*runEntrySize+8:]))) {
			return true
		}
	}
	return false
}

func errHeightRange(h uint64) error { return fmt.Errorf("height %d does not fit the index", h) }
