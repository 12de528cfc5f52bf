package store

import (
	"errors"
	"fmt"
	"sync"

	bolt "go.etcd.io/bbolt"

	"github.com/gossipchain/gossipchain/chain"
)

// Side-branch storage policy. A block this node did not ask for
// (AddUnrequestedBlock: gossip, an orphan) that lands off the main chain
// with no more work than the head is stored only when its branch could
// plausibly win: it forks at most MaxSideForkDepth blocks below the head,
// and its height holds fewer than MaxSideBlocksPerHeight side blocks
// already. Blocks a sync asked a peer for because it claimed more work
// (AddFetchedBlocks) are stored whatever their depth, since a heavier branch
// arrives block by block from its fork. PruneSideBranches deletes the side
// blocks of both kinds whose fork has fallen more than MaxSideForkDepth
// below the head, so that those stored in a run stay within
// MaxSideBlocksPerHeight × (MaxSideForkDepth + 1) blocks, at most
// MaxSideBlocksPerHeight × (MaxSideForkDepth + 1) × MaxBlockSize bytes,
// beyond those of a sync in progress. Blocks added by AddBlock and AddBlocks
// (this node's own submissions) are stored on any branch and never pruned,
// nor are main-chain blocks abandoned by a reorganisation.
const (
	MaxSideForkDepth       = 8
	MaxSideBlocksPerHeight = 2
)

// ErrSideBranchRefused is returned for a valid block that is not stored: its
// branch forks too deep below the head, or its height holds enough side
// blocks already. It is not a rule error: its sender need not be at fault.
var ErrSideBranchRefused = errors.New("side branch not stored")

// sideIndex remembers the side blocks stored since Open, with the height of
// their fork, so that PruneSideBranches finds them without a scan. It is
// guarded by Chain.mu, except for the lazy creation.
type sideIndex struct {
	once     sync.Once
	blocks   map[chain.Hash]sideEntry
	byHeight map[uint64]int
}

type sideEntry struct {
	height    uint64
	fork      uint64
	requested bool
}

func (si *sideIndex) init() {
	si.once.Do(func() {
		si.blocks = map[chain.Hash]sideEntry{}
		si.byHeight = map[uint64]int{}
	})
}

func (si *sideIndex) put(h chain.Hash, e sideEntry) {
	if _, ok := si.blocks[h]; ok {
		return
	}
	si.blocks[h] = e
	si.byHeight[e.height]++
}

func (si *sideIndex) drop(h chain.Hash) {
	e, ok := si.blocks[h]
	if !ok {
		return
	}
	delete(si.blocks, h)
	if si.byHeight[e.height]--; si.byHeight[e.height] <= 0 {
		delete(si.byHeight, e.height)
	}
}

// addMode says how a writer treats side blocks.
type addMode int

const (
	addLocal       addMode = iota // AddBlock, AddBlocks: stored, never pruned
	addFetched                    // AddFetchedBlocks: stored, pruned once behind
	addUnrequested                // AddUnrequestedBlock: the policy, pruned once behind
)

// AddUnrequestedBlock is AddBlock for a block this node did not ask for: a
// side block is stored only under the side-branch policy (see
// MaxSideForkDepth), and ErrSideBranchRefused is returned otherwise.
func (c *Chain) AddUnrequestedBlock(b *chain.Block) (AddResult, error) {
	return c.AddUnrequestedBlockThen(b, nil)
}

// AddUnrequestedBlockThen is AddUnrequestedBlock that calls valid, if not
// nil, once b has passed every rule and the side-branch policy, before it
// is written to disk (see AddBlockThen).
func (c *Chain) AddUnrequestedBlockThen(b *chain.Block, valid func()) (AddResult, error) {
	res, _, err := c.addBlocks([]*chain.Block{b}, addUnrequested, valid)
	return res, err
}

// AddFetchedBlocks is AddBlocks for blocks a sync asked a peer for: side
// blocks are stored at any depth, and deleted by PruneSideBranches once
// their branch has fallen behind.
func (c *Chain) AddFetchedBlocks(blocks []*chain.Block) (AddResult, int, error) {
	return c.addBlocks(blocks, addFetched, nil)
}

// SideBlocks returns the number of side blocks stored since Open by
// AddUnrequestedBlock and AddFetchedBlocks and not pruned yet.
func (c *Chain) SideBlocks() int {
	c.side.init()
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.side.blocks)
}

// admitSide applies the side-branch policy to b, about to be stored in
// branch br with no more work than the head, and records it.
func (w *writer) admitSide(b *chain.Block, br *branch) error {
	if w.mode == addLocal {
		return nil
	}
	si := &w.c.side
	si.init()
	depth := w.headHeight() - br.fork
	if w.mode == addUnrequested {
		if depth > MaxSideForkDepth {
			return fmt.Errorf("block %d %s: %w: it forks %d blocks below the head (limit %d)", b.Index, b.Hash, ErrSideBranchRefused, depth, MaxSideForkDepth)
		}
		if si.byHeight[b.Index]+w.sideAt(b.Index) >= MaxSideBlocksPerHeight {
			return fmt.Errorf("block %d %s: %w: height %d holds %d side blocks already", b.Index, b.Hash, ErrSideBranchRefused, b.Index, MaxSideBlocksPerHeight)
		}
	}
	w.sideAdded = append(w.sideAdded, sideBlock{b.Hash, sideEntry{height: b.Index, fork: br.fork, requested: w.mode == addFetched}})
	return nil
}

// sideBlock is a side block written by a writer, recorded once it commits.
type sideBlock struct {
	hash chain.Hash
	e    sideEntry
}

func (w *writer) sideAt(height uint64) int {
	n := 0
	for _, s := range w.sideAdded {
		if s.e.height == height {
			n++
		}
	}
	return n
}

// commitSide records, once committed, the side blocks written. Called with
// Chain.mu held.
func (w *writer) commitSide() {
	si := &w.c.side
	si.init()
	for _, s := range w.sideAdded {
		si.put(s.hash, s.e)
	}
}

// PruneSideBranches deletes the side blocks stored since Open whose fork is
// more than MaxSideForkDepth below the head, whole branches at a time. With
// keepRequested, blocks added by AddRequestedBlocks stay (a sync that
// fetches them is still going on): those added by AddFetchedBlocks. It returns how many blocks it deleted.
func (c *Chain) PruneSideBranches(keepRequested bool) (int, error) {
	c.side.init()
	c.mu.Lock()
	defer c.mu.Unlock()
	head := c.Head().Height
	var gone []chain.Hash
	for h, e := range c.side.blocks {
		if e.fork+MaxSideForkDepth < head && !(keepRequested && e.requested) {
			gone = append(gone, h)
		}
	}
	if len(gone) == 0 {
		return 0, nil
	}
	deleted := 0
	err := c.db.Update(func(tx *bolt.Tx) error {
		deleted = 0
		for _, h := range gone {
			// A block back on the main chain is no longer in the side
			// bucket: it is only forgotten.
			side := tx.Bucket(bucketSide)
			if side.Get(h[:]) == nil {
				continue
			}
			if err := side.Delete(h[:]); err != nil {
				return err
			}
			deleted++
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("prune side branches: %w", err)
	}
	for _, h := range gone {
		c.side.drop(h)
	}
	if deleted > 0 {
		c.log.Debug("side branches pruned", "blocks", deleted, "head", head)
	}
	return deleted, nil
}
