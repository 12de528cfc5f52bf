package miner

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gossipchain/gossipchain/chain"
	"github.com/gossipchain/gossipchain/chain/miner/internal/powhash"
	"github.com/gossipchain/gossipchain/chain/store"
)

// Chain is what a Miner needs of a node's chain; *store.Chain is one.
type Chain interface {
	// Params returns the network's parameters.
	Params() chain.Params
	// HeadChanged returns a channel closed at the next change of head.
	HeadChanged() <-chan struct{}
	// BlockTemplate assembles the next block on the head, without its proof.
	BlockTemplate(address string) *chain.Block
	// AddBlock validates and stores a block.
	AddBlock(b *chain.Block) (store.AddResult, error)
}

var _ Chain = (*store.Chain)(nil)

// The searcher hashes the canonical header of chain; a change of its size
// fails to compile here.
var _ [chain.HeaderSize]byte = [powhash.HeaderSize]byte{}

// Config configures a Miner.
type Config struct {
	Address string // required: recipient of the block reward
	Threads int    // proof-search threads; default runtime.NumCPU()
}

// Miner assembles blocks from the pending pool and searches their proof of
// work. MineBlock calls are serialised, so concurrent callers mine one block
// after another instead of competing for the same height.
type Miner struct {
	chain   Chain
	address string
	threads int

	mu       sync.Mutex // one block at a time
	hashRate atomic.Uint64
	attempts atomic.Uint64
}

// searchChunk is how many proofs a thread tries between checks for a new
// head or cancellation (a few milliseconds).
const searchChunk = 1 << 16

// New returns a miner that pays rewards to cfg.Address.
func New(c Chain, cfg Config) (*Miner, error) {
	params := c.Params()
	if err := params.CheckRewardAddress(cfg.Address); err != nil {
		return nil, err
	}
	if cfg.Threads <= 0 {
		cfg.Threads = runtime.NumCPU()
	}
	return &Miner{chain: c, address: cfg.Address, threads: cfg.Threads}, nil
}

// Address returns the reward address.
func (m *Miner) Address() string { return m.address }

// HashRate returns the proof attempts per second of the latest search.
func (m *Miner) HashRate() float64 { return math.Float64frombits(m.hashRate.Load()) }

// Attempts returns the proof attempts made since the miner was created,
// counted as the search goes (every few milliseconds per thread).
func (m *Miner) Attempts() uint64 { return m.attempts.Load() }

// MineBlock mines one block on the current head and adds it to the chain.
// When the head changes during the search it starts again on the new head.
// It returns ctx.Err() when ctx is cancelled.
func (m *Miner) MineBlock(ctx context.Context) (*chain.Block, store.AddResult, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for {
		if err := ctx.Err(); err != nil {
			return nil, store.AddResult{}, err
		}
		changed := m.chain.HeadChanged()
		b := m.chain.BlockTemplate(m.address)
		proof, ok := m.search(ctx, b, changed)
		if !ok {
			continue // new head or cancelled: the loop checks ctx
		}
		b.Proof = proof
		b.Hash = b.ComputeHash()
		res, err := m.chain.AddBlock(b)
		switch {
		case err != nil:
			// The parent is stored and the template follows every rule on
			// it, whatever the head did meanwhile: this is a fault (a
			// store error, or a clock far behind the chain).
			return nil, res, fmt.Errorf("add mined block: %w", err)
		case res.Status == store.SideBranch:
			// The head moved after the last check; mine on the new one.
			continue
		}
		return b, res, nil
	}
}

// search looks for a proof of b on m.threads threads until one is found,
// ctx is cancelled or changed is closed. The SHA-NI search compares the
// first word with the target's leading zero bits; each hit is then
// checked against the full 256-bit target.
func (m *Miner) search(ctx context.Context, b *chain.Block, changed <-chan struct{}) (uint64, bool) {
	header := b.Header()
	target, err := b.Bits.PowTarget()
	if err != nil {
		return 0, false // not reached: the head's NextBits is valid
	}
	zeros := chain.TargetZeroBits(b.Bits)
	var (
		next     atomic.Uint64
		stop     atomic.Bool
		found    atomic.Bool
		proof    uint64
		attempts atomic.Uint64
		wg       sync.WaitGroup
		done     = make(chan struct{})
		once     sync.Once
	)
	// thread searches chunks until a proof is found or the search stops.
	thread := func() {
		s := powhash.NewSearcher(&header)
		for !stop.Load() {
			from := next.Add(searchChunk) - searchChunk
			p, ok := from, false
			for left := uint64(searchChunk); left > 0 && !ok; {
				start := p
				if p, ok = s.Search(start, left, zeros); !ok {
					break
				}
				if ok = target.Met(s.Hash(p)); !ok {
					left -= p - start + 1
					p++
				}
			}
			if !ok {
				attempts.Add(searchChunk)
				m.attempts.Add(searchChunk) // live, for hash-rate sampling
				continue
			}
			attempts.Add(p - from + 1)
			m.attempts.Add(p - from + 1)
			if found.CompareAndSwap(false, true) {
				proof = p
				once.Do(func() { close(done) })
			}
			return
		}
	}
	start := time.Now()
	for range m.threads {
		wg.Add(1)
		go func() {
			defer wg.Done()
			atLowPriority(thread)
		}()
	}
	select {
	case <-done:
	case <-ctx.Done():
	case <-changed:
	}
	stop.Store(true)
	wg.Wait()
	n := attempts.Load()
	if secs := time.Since(start).Seconds(); secs > 0.01 {
		m.hashRate.Store(math.Float64bits(float64(n) / secs))
	}
	return proof, found.Load()
}
