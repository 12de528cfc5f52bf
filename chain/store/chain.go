package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"os"
	"path/filepath"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/gossipchain/gossipchain/chain"
)

// Config configures Open.
type Config struct {
	Params       chain.Params     // required: the network's parameters
	Path         string           // required: the store file, e.g. <datadir>/chain.db
	PoolMaxCount int              // pending pool bound in transactions; default 50,000
	PoolMaxBytes int              // pending pool bound in encoded bytes; default 32 MiB
	Now          func() time.Time // the clock for the future-timestamp rule; default time.Now
	Logger       *slog.Logger     // default slog.Default()
	// RefuseNew refuses to start a new chain in an empty store file: set it
	// when the data directory belongs to a node that has run before (it
	// holds an identity key), where an empty chain.db means a lost one.
	RefuseNew bool
	// AcceptRollback opens a store that lost its last commit (see
	// ErrRolledBack) at the commit before, with a warning, instead of
	// refusing it.
	AcceptRollback bool
	// PoolMaxPerAccount bounds the pending transactions of one sender on a
	// signed network; default DefaultPoolMaxPerAccount.
	PoolMaxPerAccount int
	// SignatureCache is how many verified transaction ids a signed network
	// remembers, so that a pending transaction's signature is not verified
	// again in a block; default DefaultSignatureCache.
	SignatureCache int
	// MinRelayFeeRate is the lowest fee per chain.FeeRateUnit bytes that
	// the pending pool of a signed network admits; default
	// DefaultMinRelayFeeRate.
	MinRelayFeeRate uint64
}

// Head describes the tip of the main chain.
type Head struct {
	Hash      chain.Hash
	Height    uint64   // index of the head block; the number of blocks in the chain
	Work      *big.Int // cumulative work: the sum of TargetWork of every block's target
	Timestamp chain.Timestamp
	Bits      chain.Compact // the head's compact target
	// NextBits is the compact target the head's child must carry.
	NextBits chain.Compact
}

// AddStatus says what adding a block did to the chain.
type AddStatus int

// The outcomes of a successful AddBlock.
const (
	Extended    AddStatus = iota + 1 // the block extends the old head and is the new head
	Reorganized                      // the block's branch has more work: the main chain switched to it
	SideBranch                       // stored on a side branch; the head did not change
)

func (s AddStatus) String() string {
	switch s {
	case Extended:
		return "extended"
	case Reorganized:
		return "reorganized"
	case SideBranch:
		return "side_branch"
	}
	return "none"
}

// AddResult is the outcome of AddBlock or AddBlocks.
type AddResult struct {
	Status AddStatus
	Head   Head
	// Returned holds the transactions of abandoned blocks that went back
	// to the pending pool during a reorganisation.
	Returned []chain.Transaction
	// Abandoned counts the main-chain blocks rolled back.
	Abandoned int
	// Dropped lists, on a signed network, the pending transactions (and
	// those of abandoned blocks) that the new main chain made invalid,
	// with the reason; each is also logged.
	Dropped []DroppedTx
}

// Chain is a node's chain: every valid block it has seen, the main chain of
// most work, and the pending pool, kept in a bbolt store.
//
// All methods are safe for concurrent use. Readers do not take the
// writers' lock: the head is read atomically and block reads use their own
// snapshot.
type Chain struct {
	params  chain.Params
	genesis *chain.Block
	db      *bolt.DB
	now     func() time.Time
	log     *slog.Logger

	mu sync.Mutex // serialises writers (blocks and the pool's membership)
	// recent holds the timestamps of the head and up to MedianTimeBlocks-1
	// of its ancestors, oldest first. Guarded by mu.
	recent []chain.Timestamp
	// tip is the head's entry. Guarded by mu.
	tip *chain.Parent

	head   atomic.Pointer[Head]
	notify struct {
		sync.Mutex
		ch chan struct{}
	}

	pool    *pool
	sigs    *sigCache // verified signatures, on a signed network
	ix      *indexes
	seg     *segments // the block bodies, see segment.go
	dups    dupFilter // the duplicate-transaction check, see dupfilter.go
	commits *committer
	side    sideIndex // side blocks stored since Open, see sidebranch.go
	// pend: the bbolt changes of the blocks acknowledged since the last
	// commit (deferred.go). Written under mu and defers.mu.
	pend   *pending
	defers deferrer
	// aside is a store of an earlier protocol set aside by Open, whose
	// pending transactions are re-admitted once the new chain is open.
	aside *setAside
}

// Open opens or creates the store at cfg.Path, checks it belongs to
// cfg.Params' network, checks the main-chain blocks past the height it has
// verified before and loads the pending pool. A store of an earlier
// protocol (format 1, the first release's, is set aside as cfg.Path +
// Protocol1Suffix; formats 2 to 4, whose headers are of version 2, as
// cfg.Path + Protocol2Suffix with their segments) is set aside and a new
// chain starts; its valid pending transactions go into the new pool (see
// migrate.go). A damaged file gives an error that names it; Open never
// panics on one.
func Open(cfg Config) (*Chain, error) {
	if err := cfg.Params.Validate(); err != nil {
		return nil, fmt.Errorf("network parameters: %w", err)
	}
	if cfg.Path == "" {
		return nil, errors.New("chain: no store path")
	}
	if cfg.PoolMaxCount <= 0 {
		cfg.PoolMaxCount = 50_000
	}
	if cfg.PoolMaxBytes <= 0 {
		cfg.PoolMaxBytes = 32 << 20
	}
	if cfg.PoolMaxPerAccount <= 0 {
		cfg.PoolMaxPerAccount = DefaultPoolMaxPerAccount
	}
	if cfg.SignatureCache <= 0 {
		cfg.SignatureCache = DefaultSignatureCache
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if err := os.MkdirAll(filepath.Dir(cfg.Path), 0o700); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	c := &Chain{
		params:  cfg.Params,
		genesis: cfg.Params.Genesis(),
		now:     cfg.Now,
		log:     cfg.Logger,
		pool:    newPool(cfg.PoolMaxCount, cfg.PoolMaxBytes),
		ix:      newIndexes(),
	}
	if c.params.Signed() {
		c.pool.signed = true
		c.pool.maxPerAccount = cfg.PoolMaxPerAccount
		c.pool.minRelayRate = cfg.MinRelayFeeRate
		c.sigs = newSigCache(cfg.SignatureCache)
		c.ix.addrs = newAddrIndex()
	}
	c.notify.ch = make(chan struct{})
	if err := c.open(cfg); err != nil {
		return nil, err
	}
	c.commits = newCommitter(c)
	c.startFlusher()
	c.readmit()
	c.mu.Lock()
	c.startDupFilterLocked()
	c.mu.Unlock()
	return c, nil
}

// open checks the file, migrates it if needed, opens bbolt and loads the
// chain, turning any panic of bbolt on a damaged file into an error.
func (c *Chain) open(cfg Config) (err error) {
	for _, suffix := range []string{Protocol1Suffix, Protocol2Suffix} {
		if _, err := os.Stat(cfg.Path + suffix); err == nil {
			// A store of an earlier protocol was set aside here: a new
			// chain is expected.
			cfg.RefuseNew = false
		}
	}
	info, err := checkStoreFile(cfg.Path, cfg.RefuseNew)
	if err != nil {
		return err
	}
	var format uint64 // of a store to set aside
	switch {
	case info.needsRewrite:
		format = 1
	case info.exists:
		if format, err = storedFormat(cfg.Path); err != nil {
			return err
		}
	}
	if asideSuffix(format) != "" {
		if err := c.migrate(cfg.Path, format); err != nil {
			return err
		}
		info = storeFileInfo{}
	}
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			if c.db != nil {
				_ = closeQuietly(c.db)
			}
			err = damagedError(cfg.Path, fmt.Errorf("%v", r))
		}
	}()
	db, err := bolt.Open(cfg.Path, 0o600, &bolt.Options{
		Timeout:      2 * time.Second,
		FreelistType: bolt.FreelistMapType,
	})
	if err != nil {
		if errors.Is(err, bolterrors.ErrTimeout) {
			return fmt.Errorf("open store %s: locked by another process", cfg.Path)
		}
		return damagedError(cfg.Path, err)
	}
	c.db = db
	if err := c.checkRollback(cfg, info.unused); err != nil {
		db.Close()
		return err
	}
	if err := c.load(); err != nil {
		db.Close()
		if errors.Is(err, chain.ErrWrongNetwork) {
			return fmt.Errorf("open store %s: %w", cfg.Path, err)
		}
		return fmt.Errorf("open store %s: store check failed (the store is left untouched): %w", cfg.Path, err)
	}
	return nil
}

// closeQuietly closes db after a panic, which may panic again.
func closeQuietly(db *bolt.DB) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
		}
	}()
	return db.Close()
}

// load initialises a new store or checks an existing one, then loads the
// head, the index tails and the pool. Only a new store, and stale pool
// entries, need a write transaction.
func (c *Chain) load() error {
	var fresh bool
	var end segPos
	if err := c.db.View(func(tx *bolt.Tx) error {
		fresh = tx.Bucket(bucketMeta) == nil
		if fresh {
			return nil
		}
		if err := checkMeta(tx, &c.params, c.genesis); err != nil {
			return err
		}
		var ok bool
		if end, ok = parseSegPos(tx.Bucket(bucketMeta).Get(metaSegEnd)); !ok {
			return errors.New("meta segend is missing")
		}
		return checkBuckets(tx)
	}); err != nil {
		return err
	}
	// A new store has no block bodies yet: whatever the segments hold was
	// written by a creation that did not commit.
	seg, err := openSegmentsReplay(c.db.Path(), end, !fresh)
	if err != nil {
		return err
	}
	c.seg = seg
	if fresh {
		if err := c.db.Update(c.dbInit); err != nil {
			c.seg.rollback()
			return err
		}
		c.seg.commit()
	} else if err := putParams(c.db, &c.params); err != nil {
		return fmt.Errorf("record the network's parameters: %w", err)
	} else if err := c.upgradeFormat5(); err != nil {
		return err
	}
	if err := c.db.View(func(tx *bolt.Tx) error {
		head, err := c.checkStore(tx)
		if err != nil {
			return err
		}
		if err := c.loadRecentLocked(c.newView(tx), head); err != nil {
			return err
		}
		if c.tip, err = c.newView(tx).entryAt(head.Index); err != nil {
			return err
		}
		c.setHead(head, c.tip)
		return nil
	}); err != nil {
		return err
	}
	if err := c.ensureState(); err != nil {
		return err
	}
	// The blocks written after the last commit go in before the pool is
	// read, which is checked against the accounts they leave.
	if err := c.replay(); err != nil {
		return err
	}
	var stale [][]byte
	if err := c.db.View(func(tx *bolt.Tx) error {
		var err error
		stale, err = c.pool.load(c.newView(tx))
		return err
	}); err != nil {
		return err
	}
	if len(stale) == 0 {
		return nil
	}
	return c.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketPool)
		for _, k := range stale {
			if err := b.Delete(k); err != nil {
				return fmt.Errorf("clean pending pool: %w", err)
			}
		}
		return nil
	})
}

// checkStore checks what opening can check in time that does not grow with
// the chain: the head is the last main-chain record, the verified-through
// block is on the main chain, every block past it meets every context-free
// rule and links, and so do the blocks above the indexed height, whose
// index entries it puts in the tails (at most flushEntries entries).
// Blocks below are checked when they are read.
func (c *Chain) checkStore(tx *bolt.Tx) (*chain.Block, error) {
	c.ix.loadDirs(tx)
	v := c.newView(tx)
	headHash, err := dbHead(tx)
	if err != nil {
		return nil, err
	}
	k, _ := tx.Bucket(bucketChain).Cursor().Last()
	if len(k) != 8 {
		return nil, errors.New("the main chain is empty")
	}
	height := binary.BigEndian.Uint64(k)
	if h, ok := v.mainHash(height); !ok || h != headHash {
		return nil, fmt.Errorf("stored head %s is not the tip of the main chain (height %d holds %s)", headHash, height, h)
	}
	if h, ok := v.mainHash(1); !ok || h != c.genesis.Hash {
		return nil, errors.New("height 1 is not this network's genesis")
	}
	vr := tx.Bucket(bucketMeta).Get(metaVerified)
	if len(vr) != 8+chain.HashSize {
		return nil, errors.New("meta verified is missing")
	}
	verified := binary.BigEndian.Uint64(vr)
	if h, ok := v.mainHash(verified); verified > height || !ok || h != chain.Hash(vr[8:]) {
		return nil, fmt.Errorf("the verified block %d %x is not on the main chain", verified, vr[8:])
	}
	indexed, err := metaHeight(tx, metaIndexed)
	if err != nil {
		return nil, err
	}
	if indexed > height {
		return nil, fmt.Errorf("the index covers height %d, above the head %d", indexed, height)
	}
	// The tails, and the check of what lies past the verified block.
	from := min(indexed, verified) + 1
	now := c.now().Add(365 * 24 * time.Hour)
	var prev *chain.Block
	var prevEntry *chain.Parent
	var recent []chain.Timestamp
	if from > 1 {
		if prev, err = c.recordBlock(v, from-1); err != nil {
			return nil, err
		}
		if recent, err = ancestorTimes(v, prev.Hash, chain.MedianTimeBlocks); err != nil {
			return nil, err
		}
		if prevEntry, err = v.entryAt(prev.Index); err != nil {
			return nil, err
		}
	}
	blk, txs, addrs := map[chain.Hash]uint64{}, map[chain.Hash]uint64{}, map[chain.Hash][]uint64{}
	for h := from; h <= height; h++ {
		b, err := c.recordBlock(v, h)
		if err != nil {
			return nil, err
		}
		var e *chain.Parent
		if h > verified || h > indexed {
			if h == 1 {
				if e, err = c.params.ParentOf(b, nil); err != nil {
					return nil, err
				}
			} else {
				if err := c.params.CheckBlockSanity(b, now); err != nil {
					return nil, fmt.Errorf("stored block at height %d is invalid: %w", h, err)
				}
				sorted := append([]chain.Timestamp(nil), recent...)
				if err := c.params.CheckBlockContext(b, prevEntry, chain.MedianTime(sorted)); err != nil {
					return nil, fmt.Errorf("stored block at height %d does not link: %w", h, err)
				}
				if e, err = c.params.ParentOf(b, prevEntry); err != nil {
					return nil, err
				}
			}
			stored, err := v.entryAt(h)
			if err != nil {
				return nil, err
			}
			if stored.Work.Cmp(e.Work) != 0 || stored.Mark != e.Mark || stored.PrevMark != e.PrevMark {
				return nil, fmt.Errorf("stored block at height %d: its recorded work or time marks are not the ones its ancestry gives", h)
			}
		} else if e, err = v.entryAt(h); err != nil {
			return nil, err
		}
		prevEntry = e
		if h > indexed {
			blk[b.Hash] = h
			for i := range b.Transactions {
				txs[b.Transactions[i].ID] = h
			}
			if c.ix.addrs != nil && h > 1 {
				noteAddrs(addrs, b)
			}
		}
		recent = appendRecent(recent, b.Timestamp)
		prev = b
	}
	c.ix.blocks.add(blk)
	c.ix.txs.add(txs)
	if c.ix.addrs != nil {
		c.ix.addrs.add(addrs)
	}
	if prev == nil || prev.Hash != headHash {
		// The head is the last record (checked above); read it.
		if prev, err = c.recordBlock(v, height); err != nil {
			return nil, err
		}
	}
	return prev, nil
}

// recordBlock decodes the main-chain block at height.
func (c *Chain) recordBlock(v *view, height uint64) (*chain.Block, error) {
	hash, bin, err := v.record(height)
	if err != nil {
		return nil, fmt.Errorf("main chain at height %d: %w", height, err)
	}
	b, err := decodeStored(bin, hash)
	if err != nil {
		return nil, fmt.Errorf("height %d: %w", height, err)
	}
	if b.Index != height {
		return nil, fmt.Errorf("height %d holds a block of index %d", height, b.Index)
	}
	return b, nil
}

// Close closes the store. The chain must not be used afterwards.
func (c *Chain) Close() error {
	c.commits.close()
	c.stopDupFilter()
	c.stopFlusher()
	c.mu.Lock()
	defer c.mu.Unlock()
	err := c.flushPendingLocked() // if it fails, the next Open replays them
	err = errors.Join(err, c.db.Close())
	c.seg.close()
	return err
}

// Params returns the network parameters.
func (c *Chain) Params() chain.Params { return c.params }

// Genesis returns a copy of the network's genesis block.
func (c *Chain) Genesis() *chain.Block {
	g := *c.genesis
	g.Transactions = append([]chain.Transaction(nil), c.genesis.Transactions...)
	return &g
}

// Head returns the current head. This function is safe for concurrent
// access and never blocks.
func (c *Chain) Head() Head {
	h := *c.head.Load()
	h.Work = new(big.Int).Set(h.Work) // the caller's to keep or modify
	return h
}

// HeadChanged returns a channel that is closed the next time the head
// changes. Take a new channel after each wake-up.
func (c *Chain) HeadChanged() <-chan struct{} {
	c.notify.Lock()
	defer c.notify.Unlock()
	return c.notify.ch
}

func (c *Chain) setHead(b *chain.Block, e *chain.Parent) {
	next, err := c.params.NextBits(e)
	if err != nil {
		// Only a corrupt entry, which opening checks, gets here.
		c.log.Error("required target of the next block", "head", b.Hash, "err", err)
		next = b.Bits
	}
	c.head.Store(&Head{Hash: b.Hash, Height: b.Index, Work: new(big.Int).Set(e.Work), Timestamp: b.Timestamp, Bits: b.Bits, NextBits: next})
	c.notify.Lock()
	close(c.notify.ch)
	c.notify.ch = make(chan struct{})
	c.notify.Unlock()
}

// loadRecentLocked fills c.recent with the timestamps ending at head.
func (c *Chain) loadRecentLocked(v *view, head *chain.Block) error {
	times, err := ancestorTimes(v, head.Hash, chain.MedianTimeBlocks)
	if err != nil {
		return err
	}
	c.recent = times
	return nil
}

// ancestorTimes returns the timestamps of hash and up to n-1 ancestors,
// oldest first.
func ancestorTimes(v *view, hash chain.Hash, n int) ([]chain.Timestamp, error) {
	times := make([]chain.Timestamp, 0, n)
	for len(times) < n {
		index, ts, prev, err := v.fetchHeader(hash)
		if err != nil {
			return nil, fmt.Errorf("ancestor %s: %w", hash, err)
		}
		times = append(times, ts)
		if index <= 1 {
			break
		}
		hash = prev
	}
	for i, j := 0, len(times)-1; i < j; i, j = i+1, j-1 {
		times[i], times[j] = times[j], times[i]
	}
	return times, nil
}

// read runs fn in a read transaction.
func (c *Chain) read(fn func(v *view) error) error {
	return c.view(fn)
}

// readIndexed is read for a look-up through the indexes that reports
// whether it found what it looked for. If it found nothing while the index
// runs changed (a flush commits, then empties the tails: a reader whose
// snapshot predates the commit but who read the tails after it sees the
// entries in neither), it reads again.
func (c *Chain) readIndexed(fn func(v *view) (bool, error)) error {
	for {
		gen := c.ix.gen.Load()
		var found bool
		err := c.read(func(v *view) error {
			var err error
			found, err = fn(v)
			return err
		})
		if found || err != nil || c.ix.gen.Load() == gen {
			return err
		}
	}
}

// HasBlock reports whether the block is stored, on any branch.
func (c *Chain) HasBlock(h chain.Hash) bool {
	var ok bool
	_ = c.readIndexed(func(v *view) (bool, error) { ok = v.hasBlock(h); return ok, nil })
	return ok
}

// BlockByHash returns any stored block; ErrNotFound if there is none.
func (c *Chain) BlockByHash(h chain.Hash) (*chain.Block, error) {
	var b *chain.Block
	var err error
	rerr := c.readIndexed(func(v *view) (bool, error) {
		b, err = v.fetchBlock(h)
		if errors.Is(err, chain.ErrNotFound) {
			return false, nil
		}
		return true, err
	})
	if rerr != nil {
		return nil, rerr
	}
	return b, err
}

// BlockByHeight returns the main-chain block at height (the block index);
// ErrNotFound past the head.
func (c *Chain) BlockByHeight(height uint64) (*chain.Block, error) {
	var b *chain.Block
	err := c.read(func(v *view) error {
		hash, bin, err := v.record(height)
		if err != nil {
			return err
		}
		b, err = decodeStored(bin, hash)
		return err
	})
	return b, err
}

// IsMain reports whether the block is on the main chain.
func (c *Chain) IsMain(h chain.Hash) bool {
	var ok bool
	_ = c.readIndexed(func(v *view) (bool, error) { _, ok = v.mainHeight(h); return ok, nil })
	return ok
}

// RawMainChain calls fn with the binary encoding of each main-chain block
// from height from (at least 1), at most limit blocks (limit <= 0: up to the
// head), in order, from one consistent snapshot. raw is valid only during
// the call. It stops at fn's first error and returns it.
//
// The snapshot is a store read transaction, open until RawMainChain
// returns: fn must not call methods of the Chain (a nested read can
// deadlock with a writer growing the store), and must not block (for
// example on a network peer), since a long read delays the writer when the
// store grows. Copy what you need, or read in bounded ranges.
func (c *Chain) RawMainChain(from uint64, limit int, fn func(raw []byte) error) error {
	return c.mainRecords(from, limit, true, func(_ chain.Hash, _, bin []byte) error { return fn(bin) })
}

// RawMainChainHashed is RawMainChain with each block's hash.
func (c *Chain) RawMainChainHashed(from uint64, limit int, fn func(hash chain.Hash, raw []byte) error) error {
	return c.mainRecords(from, limit, true, func(hash chain.Hash, _, bin []byte) error { return fn(hash, bin) })
}

// MainHeaders is RawMainChainHashed with each block's header encoding
// (HeaderSize bytes, valid only during the call) instead of its body: no
// block body is read.
func (c *Chain) MainHeaders(from uint64, limit int, fn func(hash chain.Hash, header []byte) error) error {
	return c.mainRecords(from, limit, false, func(hash chain.Hash, header, _ []byte) error { return fn(hash, header) })
}

// MainChainJSON is RawMainChain with the JSON encoding of each block
// (Block.AppendJSON), its hash and its previous hash, under the same rules
// for fn: js is rendered from the stored block, valid only during the
// call.
func (c *Chain) MainChainJSON(from uint64, limit int, fn func(hash, prev chain.Hash, js []byte) error) error {
	var js []byte
	return c.mainRecords(from, limit, true, func(hash chain.Hash, _, bin []byte) error {
		b, err := decodeStored(bin, hash)
		if err != nil {
			return err
		}
		js = b.AppendJSON(js[:0])
		return fn(hash, b.PreviousHash, js)
	})
}

// mainRecords calls fn with the hash, header and body of the main-chain
// blocks from height from; header and body are valid only during the
// call, and the body is nil unless bodies is set (a record of format 6
// carries no header: its body is read for it).
func (c *Chain) mainRecords(from uint64, limit int, bodies bool, fn func(hash chain.Hash, stub, bin []byte) error) error {
	if from < 1 {
		from = 1
	}
	var buf []byte
	return c.view(func(v *view) error {
		n := 0
		want := from
		each := func(rec []byte) error {
			if len(rec) != recordSize && len(rec) != recordLongSize {
				return fmt.Errorf("main-chain record at height %d is corrupt", want)
			}
			stub := rec[chain.HashSize:]
			var header, bin []byte
			if len(rec) == recordLongSize {
				header = stubHeader(stub)
			}
			if bodies || header == nil {
				var err error
				if bin, err = c.seg.readInto(&buf, stubLoc(stub), false); err != nil {
					return err
				}
				if len(bin) < chain.HeaderSize {
					return fmt.Errorf("main-chain block at height %d is corrupt: %d bytes", want, len(bin))
				}
				header = bin[:chain.HeaderSize]
			}
			if !bodies {
				bin = nil
			}
			if err := fn(chain.Hash(rec[:chain.HashSize]), header, bin); err != nil {
				return err
			}
			n++
			want++
			return nil
		}
		cur := v.tx.Bucket(bucketChain).Cursor()
		for k, rec := cur.Seek(heightKey(from)); k != nil && (limit <= 0 || n < limit); k, rec = cur.Next() {
			if len(k) != 8 || binary.BigEndian.Uint64(k) != want {
				return fmt.Errorf("main-chain record at height %d is corrupt", want)
			}
			if err := each(rec); err != nil {
				return err
			}
		}
		// Then the records not yet committed.
		for rec := v.pend.record(want); rec != nil && (limit <= 0 || n < limit); rec = v.pend.record(want) {
			if err := each(rec); err != nil {
				return err
			}
		}
		return nil
	})
}

// MainChain is RawMainChain with decoded blocks, under the same rules for
// fn; the blocks are fn's to keep.
func (c *Chain) MainChain(from uint64, limit int, fn func(*chain.Block) error) error {
	return c.mainRecords(from, limit, true, func(hash chain.Hash, _, bin []byte) error {
		b, err := decodeStored(bin, hash)
		if err != nil {
			return err
		}
		return fn(b)
	})
}

// MaxLocator is the most hashes Locator returns and LocateFork reads.
const MaxLocator = 64

// Locator returns main-chain hashes from the head backwards, so that a
// peer can find the last block both chains share: the ten blocks from the
// head down, then steps doubling from 2 (head-11, head-15, head-23,
// head-39, ...), ending with the genesis; at most MaxLocator hashes.
func (c *Chain) Locator() []chain.Hash {
	var out []chain.Hash
	_ = c.read(func(v *view) error {
		k, _ := v.tx.Bucket(bucketChain).Cursor().Last()
		if len(k) != 8 {
			return nil
		}
		height := max(binary.BigEndian.Uint64(k), v.pend.top())
		for _, h := range chain.LocatorHeights(height, MaxLocator) {
			if hash, ok := v.mainHash(h); ok {
				out = append(out, hash)
			}
		}
		return nil
	})
	return append(out, c.genesis.Hash)
}

// LocateFork returns the height of the first hash of locator (at most
// MaxLocator are read) that is on the main chain.
func (c *Chain) LocateFork(locator []chain.Hash) (height uint64, ok bool) {
	if len(locator) > MaxLocator {
		locator = locator[:MaxLocator]
	}
	_ = c.readIndexed(func(v *view) (bool, error) {
		for _, h := range locator {
			if height, ok = v.mainHeight(h); ok {
				return true, nil
			}
		}
		return false, nil
	})
	return height, ok
}
