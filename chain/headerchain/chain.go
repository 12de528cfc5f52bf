package headerchain

import (
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"strconv"
	"strings"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/gossipchain/gossipchain/chain"
)

// MaxLocator is the most hashes Locator returns, the most a locator request
// carries.
const MaxLocator = 64

var (
	bucketMain = []byte("main")
	bucketSide = []byte("side")
	bucketMeta = []byte("meta")
	keyGenesis = []byte("genesis")
	keyHead    = []byte("head")
)

// ErrCheckpointConflict reports a checkpoint that is not on the heaviest
// chain: another header is at its height.
var ErrCheckpointConflict = errors.New("checkpoint is not on the heaviest chain")

// Checkpoint is a block the user knows to be on the chain, by height and
// hash.
type Checkpoint struct {
	Height uint64
	Hash   chain.Hash
}

// String formats c as ParseCheckpoint reads it.
func (c Checkpoint) String() string { return fmt.Sprintf("%d:%s", c.Height, c.Hash) }

// ParseCheckpoint parses HEIGHT:HASH, a block height (2 or more: the
// genesis is fixed by the network) and its 64 hex-digit hash.
func ParseCheckpoint(s string) (Checkpoint, error) {
	hs, hash, ok := strings.Cut(s, ":")
	if !ok {
		return Checkpoint{}, fmt.Errorf("checkpoint %q: want HEIGHT:HASH", s)
	}
	height, err := strconv.ParseUint(hs, 10, 64)
	if err != nil || height < 2 {
		return Checkpoint{}, fmt.Errorf("checkpoint %q: height must be a block index of 2 or more", s)
	}
	h, err := chain.ParseHash(hash)
	if err != nil {
		return Checkpoint{}, fmt.Errorf("checkpoint %q: %w", s, err)
	}
	return Checkpoint{Height: height, Hash: h}, nil
}

// Config configures Open. Params and Path are required.
type Config struct {
	Params chain.Params
	Path   string // the bbolt file, created if missing
	// Checkpoint, if not nil, must be on the heaviest chain.
	Checkpoint *Checkpoint
	// Now is the clock of the future-timestamp rule; time.Now when nil.
	Now    func() time.Time
	Logger *slog.Logger // slog.Default() when nil
}

// Head is the head of the heaviest header chain.
type Head struct {
	Hash   chain.Hash
	Height uint64
	Work   *big.Int // cumulative work from the genesis; not to be modified
}

// Chain is a header chain on disk. Its methods are safe for concurrent use.
type Chain struct {
	params     chain.Params
	genesis    *chain.Block
	checkpoint *Checkpoint
	now        func() time.Time
	log        *slog.Logger
	db         *bolt.DB

	mu     sync.RWMutex // serialises Add; guards tip and recent
	tip    *chain.Parent
	recent []chain.Timestamp // the head's and up to MedianTimeBlocks-1 ancestors' timestamps, oldest first
}

// Open opens or creates the header chain at cfg.Path. A file of another
// network, and a checkpoint off the stored heaviest chain, are errors.
func Open(cfg Config) (*Chain, error) {
	if err := cfg.Params.Validate(); err != nil {
		return nil, fmt.Errorf("header chain: %w", err)
	}
	if cfg.Path == "" {
		return nil, errors.New("header chain: no path")
	}
	c := &Chain{params: cfg.Params, genesis: cfg.Params.Genesis(), checkpoint: cfg.Checkpoint, now: cfg.Now, log: cfg.Logger}
	if c.now == nil {
		c.now = time.Now
	}
	if c.log == nil {
		c.log = slog.Default()
	}
	// The freelist is written at every commit (one page while catching up,
	// when a commit holds up to 32,000 headers): rebuilding it on open
	// instead would read every page of the file, 187 MB at a million
	// headers, into the node's resident memory. The map is reserved for a
	// few million headers at once, so that it is not remapped (every node
	// copied) as the file grows.
	db, err := bolt.Open(cfg.Path, 0o600, &bolt.Options{Timeout: time.Second, FreelistType: bolt.FreelistMapType, InitialMmapSize: 1 << 30})
	if err != nil {
		return nil, fmt.Errorf("open header chain %s: %w", cfg.Path, err)
	}
	c.db = db
	if err := db.Update(c.load); err != nil {
		db.Close()
		return nil, fmt.Errorf("open header chain %s: %w", cfg.Path, err)
	}
	return c, nil
}

// load creates the buckets and the genesis record of a new file, or checks
// an existing one, and reads the head.
func (c *Chain) load(tx *bolt.Tx) error {
	for _, name := range [][]byte{bucketMain, bucketSide, bucketMeta} {
		if _, err := tx.CreateBucketIfNotExists(name); err != nil {
			return err
		}
	}
	meta := tx.Bucket(bucketMeta)
	if g := meta.Get(keyGenesis); g == nil {
		e, err := c.params.ParentOf(c.genesis, nil)
		if err != nil {
			return err
		}
		if err := tx.Bucket(bucketMain).Put(heightKey(1), appendRecord(nil, c.genesis, e)); err != nil {
			return err
		}
		if err := meta.Put(keyGenesis, c.genesis.Hash[:]); err != nil {
			return err
		}
		if err := meta.Put(keyHead, c.genesis.Hash[:]); err != nil {
			return err
		}
	} else if chain.Hash(g) != c.genesis.Hash {
		return fmt.Errorf("the file holds the headers of another network (genesis %x, this network's %s)", g, c.genesis.Hash)
	}
	v := view{tx: tx}
	_, rec := tx.Bucket(bucketMain).Cursor().Last()
	_, tip, err := parseRecord(rec)
	if err != nil {
		return err
	}
	if chain.Hash(meta.Get(keyHead)) != tip.Hash {
		return fmt.Errorf("head %x is not the last main-chain header %s", meta.Get(keyHead), tip.Hash)
	}
	if c.recent, err = v.ancestorTimes(tip.Hash, tip.Index, chain.MedianTimeBlocks); err != nil {
		return err
	}
	c.tip = tip
	return v.checkCheckpoint(c.checkpoint)
}

// Close closes the file.
func (c *Chain) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.db.Close()
}

// Params returns the network's parameters.
func (c *Chain) Params() chain.Params { return c.params }

// Genesis returns the network's genesis block.
func (c *Chain) Genesis() *chain.Block { return c.genesis }

// Head returns the head of the heaviest chain.
func (c *Chain) Head() Head {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return Head{Hash: c.tip.Hash, Height: c.tip.Index, Work: c.tip.Work}
}

// NextBits returns the compact target the head's child must carry.
func (c *Chain) NextBits() (chain.Compact, error) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.params.NextBits(c.tip)
}

// Locator returns the hashes of the main chain at chain.LocatorHeights of
// the head, then the genesis's.
func (c *Chain) Locator() []chain.Hash {
	var out []chain.Hash
	_ = c.db.View(func(tx *bolt.Tx) error {
		v := view{tx: tx}
		_, rec := tx.Bucket(bucketMain).Cursor().Last()
		top, _, err := parseRecord(rec)
		if err != nil {
			return err
		}
		for _, h := range chain.LocatorHeights(top.Index, MaxLocator) {
			if b, _, err := v.mainAt(h); err == nil {
				out = append(out, b.Hash)
			}
		}
		return nil
	})
	return append(out, c.genesis.Hash)
}

// HeaderAt returns the main-chain header at height, with no transactions;
// chain.ErrNotFound above the head.
func (c *Chain) HeaderAt(height uint64) (chain.Block, error) {
	var b chain.Block
	err := c.db.View(func(tx *bolt.Tx) error {
		var err error
		b, _, err = view{tx: tx}.mainAt(height)
		return err
	})
	return b, err
}

// view reads the chain in a bbolt transaction.
type view struct{ tx *bolt.Tx }

// mainAt returns the main-chain header at height and its entry.
func (v view) mainAt(height uint64) (chain.Block, *chain.Parent, error) {
	rec := v.tx.Bucket(bucketMain).Get(heightKey(height))
	if rec == nil {
		return chain.Block{}, nil, fmt.Errorf("header at height %d: %w", height, chain.ErrNotFound)
	}
	return parseRecord(rec)
}

// entryOf returns the header of hash, at height, and its entry, from the
// main chain or a side branch, and whether it is on the main chain.
func (v view) entryOf(hash chain.Hash, height uint64) (chain.Block, *chain.Parent, bool, error) {
	if rec := v.tx.Bucket(bucketMain).Get(heightKey(height)); rec != nil {
		b, e, err := parseRecord(rec)
		if err != nil || b.Hash == hash {
			return b, e, true, err
		}
	}
	if rec := v.tx.Bucket(bucketSide).Get(hash[:]); rec != nil {
		b, e, err := parseRecord(rec)
		return b, e, false, err
	}
	return chain.Block{}, nil, false, fmt.Errorf("header %s: %w", hash, chain.ErrNotFound)
}

// ancestorTimes returns the timestamps of the header of hash, at height,
// and up to n-1 of its ancestors, oldest first.
func (v view) ancestorTimes(hash chain.Hash, height uint64, n int) ([]chain.Timestamp, error) {
	times := make([]chain.Timestamp, 0, n)
	for len(times) < n {
		b, _, _, err := v.entryOf(hash, height)
		if err != nil {
			return nil, fmt.Errorf("ancestor: %w", err)
		}
		times = append(times, b.Timestamp)
		if b.Index <= 1 {
			break
		}
		hash, height = b.PreviousHash, b.Index-1
	}
	for i, j := 0, len(times)-1; i < j; i, j = i+1, j-1 {
		times[i], times[j] = times[j], times[i]
	}
	return times, nil
}

// checkCheckpoint returns an ErrCheckpointConflict error when cp's height
// is on the main chain with another hash.
func (v view) checkCheckpoint(cp *Checkpoint) error {
	if cp == nil {
		return nil
	}
	b, _, err := v.mainAt(cp.Height)
	if errors.Is(err, chain.ErrNotFound) {
		return nil // not reached yet
	}
	if err != nil {
		return err
	}
	if b.Hash != cp.Hash {
		return fmt.Errorf("%w: checkpoint %s, but the heaviest chain has %s at height %d", ErrCheckpointConflict, cp, b.Hash, cp.Height)
	}
	return nil
}
