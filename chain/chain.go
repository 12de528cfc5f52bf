package chain

import (
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// Config configures Open.
type Config struct {
	Params       Params           // required: the network's parameters
	Path         string           // required: the store file, e.g. <datadir>/chain.db
	PoolMaxCount int              // pending pool bound in transactions; default 50,000
	PoolMaxBytes int              // pending pool bound in encoded bytes; default 32 MiB
	Now          func() time.Time // the clock for the future-timestamp rule; default time.Now
	Logger       *slog.Logger     // default slog.Default()
}

// poolBatchDelay is how long a pending-pool write waits for others to share
// its disk sync.
const poolBatchDelay = time.Millisecond

// Head describes the tip of the main chain.
type Head struct {
	Hash      Hash
	Height    uint64   // index of the head block; the number of blocks in the chain
	Work      *big.Int // cumulative work: Height × 2^difficulty (the difficulty is constant)
	Timestamp Timestamp
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
	Returned []Transaction
	// Abandoned counts the main-chain blocks rolled back.
	Abandoned int
}

// Chain is a node's chain: every valid block it has seen, the main chain of
// most work, and the pending pool, kept in a bbolt store.
//
// All methods are safe for concurrent use. Readers do not take the
// writers' lock: the head is read atomically and block reads use their own
// snapshot.
type Chain struct {
	params  Params
	genesis *Block
	db      *bolt.DB
	now     func() time.Time
	log     *slog.Logger

	mu sync.Mutex // serialises writers (blocks and the pool's membership)
	// recent holds the timestamps of the head and up to MedianTimeBlocks-1
	// of its ancestors, oldest first. Guarded by mu.
	recent []Timestamp

	head   atomic.Pointer[Head]
	notify struct {
		sync.Mutex
		ch chan struct{}
	}

	pool *pool
	side sideIndex // side blocks stored since Open, see sidebranch.go
}

// Open opens or creates the store at cfg.Path, checks it belongs to
// cfg.Params' network, validates the main chain it holds and loads the
// pending pool.
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
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if err := os.MkdirAll(filepath.Dir(cfg.Path), 0o700); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	// The free-page list is not written on every commit but rebuilt when
	// the store is opened (as etcd runs bbolt): commits of a large store
	// write less. Durability is unchanged.
	db, err := bolt.Open(cfg.Path, 0o600, &bolt.Options{
		Timeout:        2 * time.Second,
		NoFreelistSync: true,
		FreelistType:   bolt.FreelistMapType,
	})
	if err != nil {
		if errors.Is(err, bolterrors.ErrTimeout) {
			return nil, fmt.Errorf("open store %s: locked by another process", cfg.Path)
		}
		return nil, fmt.Errorf("open store %s: %w", cfg.Path, err)
	}
	// Concurrent AddTransaction calls share a commit (one disk sync) when
	// they arrive within this window; bbolt's default of 10 ms would add
	// 10 ms to every submission and to every hop of a gossiped one.
	db.MaxBatchDelay = poolBatchDelay
	c := &Chain{
		params:  cfg.Params,
		genesis: cfg.Params.Genesis(),
		db:      db,
		now:     cfg.Now,
		log:     cfg.Logger,
		pool:    newPool(cfg.PoolMaxCount, cfg.PoolMaxBytes),
	}
	c.notify.ch = make(chan struct{})
	if err := c.load(); err != nil {
		db.Close()
		return nil, err
	}
	return c, nil
}

// load initialises or checks the store, validates the main chain and
// loads the pool.
func (c *Chain) load() error {
	if err := c.db.Update(func(tx *bolt.Tx) error { return dbInit(tx, &c.params, c.genesis) }); err != nil {
		return fmt.Errorf("open store: %w", err)
	}
	return c.db.Update(func(tx *bolt.Tx) error {
		headHash, err := dbHead(tx)
		if err != nil {
			return err
		}
		head, err := c.verifyMainChain(tx, headHash)
		if err != nil {
			return fmt.Errorf("store check failed (the store is left untouched): %w", err)
		}
		if err := c.loadRecentLocked(tx, head); err != nil {
			return err
		}
		c.setHead(head)
		return c.pool.load(tx)
	})
}

// verifyMainChain walks the main chain from genesis to the head, checking
// that each stored block is the one its key names, meets every
// context-free rule (with the future-time limit relaxed by a year, so that
// a clock set back does not refuse a store), links to the one before, is
// not before the median time of its predecessors, and that the transaction
// index holds exactly the main chain's transactions (which also proves
// them unique).
func (c *Chain) verifyMainChain(tx *bolt.Tx, headHash Hash) (*Block, error) {
	now := c.now().Add(365 * 24 * time.Hour)
	var prev *Block
	var recent, sorted []Timestamp
	txs := 0
	cur := tx.Bucket(bucketMain).Cursor()
	height := uint64(0)
	for k, v := cur.First(); k != nil; k, v = cur.Next() {
		height++
		var hash Hash
		copy(hash[:], v)
		if len(k) != 8 || len(v) != HashSize || bytesToHeight(k) != height {
			return nil, fmt.Errorf("main-chain index is broken at height %d", height)
		}
		b, err := dbFetchBlock(tx, hash)
		if err != nil {
			return nil, fmt.Errorf("height %d: %w", height, err)
		}
		if height == 1 {
			if b.Hash != c.genesis.Hash {
				return nil, fmt.Errorf("height 1 is not this network's genesis")
			}
		} else {
			if err := c.params.CheckBlockSanity(b, now); err != nil {
				return nil, fmt.Errorf("stored block at height %d is invalid: %w", height, err)
			}
			sorted = append(sorted[:0], recent...)
			if err := CheckBlockContext(b, prev.Index, prev.Hash, MedianTime(sorted)); err != nil {
				return nil, fmt.Errorf("stored block at height %d does not link: %w", height, err)
			}
		}
		for i := range b.Transactions {
			id := b.Transactions[i].ID
			if h, ok := dbTxHeight(tx, id); !ok || h != height {
				return nil, fmt.Errorf("transaction index is broken: transaction %s of block %d is indexed at %d (%v)", id, height, h, ok)
			}
		}
		txs += len(b.Transactions)
		recent = appendRecent(recent, b.Timestamp)
		prev = b
	}
	if prev == nil || prev.Hash != headHash {
		return nil, fmt.Errorf("stored head is not the tip of the main chain")
	}
	if n := tx.Bucket(bucketTxIndex).Stats().KeyN; n != txs {
		return nil, fmt.Errorf("transaction index is broken: %d entries for %d main-chain transactions", n, txs)
	}
	return prev, nil
}

func bytesToHeight(k []byte) uint64 {
	var h uint64
	for _, b := range k {
		h = h<<8 | uint64(b)
	}
	return h
}

// Close closes the store. The chain must not be used afterwards.
func (c *Chain) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.db.Close()
}

// Params returns the network parameters.
func (c *Chain) Params() Params { return c.params }

// Genesis returns a copy of the network's genesis block.
func (c *Chain) Genesis() *Block {
	g := *c.genesis
	g.Transactions = append([]Transaction(nil), c.genesis.Transactions...)
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

func (c *Chain) setHead(b *Block) {
	work := new(big.Int).Mul(new(big.Int).SetUint64(b.Index), Work(c.params.Difficulty))
	c.head.Store(&Head{Hash: b.Hash, Height: b.Index, Work: work, Timestamp: b.Timestamp})
	c.notify.Lock()
	close(c.notify.ch)
	c.notify.ch = make(chan struct{})
	c.notify.Unlock()
}

// loadRecentLocked fills c.recent with the timestamps ending at head.
func (c *Chain) loadRecentLocked(tx *bolt.Tx, head *Block) error {
	times, err := ancestorTimes(tx, head.Hash, MedianTimeBlocks)
	if err != nil {
		return err
	}
	c.recent = times
	return nil
}

// ancestorTimes returns the timestamps of hash and up to n-1 ancestors,
// oldest first.
func ancestorTimes(tx *bolt.Tx, hash Hash, n int) ([]Timestamp, error) {
	times := make([]Timestamp, 0, n)
	for len(times) < n {
		index, ts, prev, err := dbFetchHeader(tx, hash)
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

// HasBlock reports whether the block is stored, on any branch.
func (c *Chain) HasBlock(h Hash) bool {
	var ok bool
	_ = c.db.View(func(tx *bolt.Tx) error { ok = dbHasBlock(tx, h); return nil })
	return ok
}

// BlockByHash returns any stored block; ErrNotFound if there is none.
func (c *Chain) BlockByHash(h Hash) (*Block, error) {
	var b *Block
	err := c.db.View(func(tx *bolt.Tx) error {
		var err error
		b, err = dbFetchBlock(tx, h)
		return err
	})
	return b, err
}

// BlockByHeight returns the main-chain block at height (the block index);
// ErrNotFound past the head.
func (c *Chain) BlockByHeight(height uint64) (*Block, error) {
	var b *Block
	err := c.db.View(func(tx *bolt.Tx) error {
		hash, ok := dbMainHash(tx, height)
		if !ok {
			return ErrNotFound
		}
		var err error
		b, err = dbFetchBlock(tx, hash)
		return err
	})
	return b, err
}

// IsMain reports whether the block is on the main chain.
func (c *Chain) IsMain(h Hash) bool {
	var ok bool
	_ = c.db.View(func(tx *bolt.Tx) error {
		index, _, _, err := dbFetchHeader(tx, h)
		ok = err == nil && dbIsMain(tx, h, index)
		return nil
	})
	return ok
}

// RawMainChain calls fn with the binary encoding of each main-chain block
// from height from (at least 1), at most limit blocks (limit <= 0: up to the
// head), in order, from one consistent snapshot. raw is valid only during
// the call. It stops at fn's first error and returns it.
//
// The snapshot is a store read transaction, open until RawMainChain
// returns: fn must not call methods of the Chain (a nested read can
// deadlock with a writer growing the store), and should not block for
// long (for example on a slow network peer), since a long read delays the
// writer when the store grows. Copy what you need, or read in bounded
// ranges.
func (c *Chain) RawMainChain(from uint64, limit int, fn func(raw []byte) error) error {
	if from < 1 {
		from = 1
	}
	return c.db.View(func(tx *bolt.Tx) error {
		blocks := tx.Bucket(bucketBlocks)
		cur := tx.Bucket(bucketMain).Cursor()
		n := 0
		for k, v := cur.Seek(heightKey(from)); k != nil && (limit <= 0 || n < limit); k, v = cur.Next() {
			raw := blocks.Get(v)
			if raw == nil {
				return fmt.Errorf("main-chain block %x missing from store", v)
			}
			if err := fn(raw); err != nil {
				return err
			}
			n++
		}
		return nil
	})
}

// MainChain is RawMainChain with decoded blocks, under the same rules for
// fn; the blocks are fn's to keep.
func (c *Chain) MainChain(from uint64, limit int, fn func(*Block) error) error {
	return c.RawMainChain(from, limit, func(raw []byte) error {
		b, err := DecodeBlock(raw, MaxTxsLimit)
		if err != nil {
			return fmt.Errorf("stored block is corrupt: %w", err)
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
func (c *Chain) Locator() []Hash {
	var out []Hash
	_ = c.db.View(func(tx *bolt.Tx) error {
		headHash, err := dbHead(tx)
		if err != nil {
			return err
		}
		height, _, _, err := dbFetchHeader(tx, headHash)
		if err != nil {
			return err
		}
		step := uint64(1)
		for h := height; h > 1 && len(out) < MaxLocator-1; {
			if hash, ok := dbMainHash(tx, h); ok {
				out = append(out, hash)
			}
			if len(out) >= 10 {
				step *= 2
			}
			if h <= step {
				break
			}
			h -= step
		}
		out = append(out, c.genesis.Hash)
		return nil
	})
	return out
}

// LocateFork returns the height of the first hash of locator (at most
// MaxLocator are read) that is on the main chain.
func (c *Chain) LocateFork(locator []Hash) (height uint64, ok bool) {
	if len(locator) > MaxLocator {
		locator = locator[:MaxLocator]
	}
	_ = c.db.View(func(tx *bolt.Tx) error {
		for _, h := range locator {
			index, _, _, err := dbFetchHeader(tx, h)
			if err == nil && dbIsMain(tx, h, index) {
				height, ok = index, true
				return nil
			}
		}
		return nil
	})
	return height, ok
}
