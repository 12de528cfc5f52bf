package sync

import (
	"cmp"
	"slices"
	gosync "sync"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gossipchain/gossipchain/chain"
)

// orphan is a block whose parent was unknown when it arrived.
type orphan struct {
	block *chain.Block
	from  peer.ID
	added time.Time
}

// orphanPool holds orphans, bounded in count and age. It is safe for
// concurrent use.
type orphanPool struct {
	max int
	ttl time.Duration

	mu       gosync.Mutex
	byHash   map[chain.Hash]*orphan
	byParent map[chain.Hash][]chain.Hash
}

func newOrphanPool(max int, ttl time.Duration) *orphanPool {
	return &orphanPool{
		max:      max,
		ttl:      ttl,
		byHash:   make(map[chain.Hash]*orphan),
		byParent: make(map[chain.Hash][]chain.Hash),
	}
}

func (op *orphanPool) len() int {
	op.mu.Lock()
	defer op.mu.Unlock()
	return len(op.byHash)
}

func (op *orphanPool) has(h chain.Hash) bool {
	op.mu.Lock()
	defer op.mu.Unlock()
	_, ok := op.byHash[h]
	return ok
}

// add stores b, received from peer from, evicting expired orphans and then the
// oldest one if the pool is full. It reports whether b was new.
func (op *orphanPool) add(b *chain.Block, from peer.ID, now time.Time) bool {
	op.mu.Lock()
	defer op.mu.Unlock()
	if _, ok := op.byHash[b.Hash]; ok {
		return false
	}
	op.expireLocked(now)
	if len(op.byHash) >= op.max {
		var oldest *orphan
		for _, o := range op.byHash {
			if oldest == nil || o.added.Before(oldest.added) {
				oldest = o
			}
		}
		op.removeLocked(oldest.block)
	}
	op.byHash[b.Hash] = &orphan{block: b, from: from, added: now}
	op.byParent[b.PreviousHash] = append(op.byParent[b.PreviousHash], b.Hash)
	return true
}

// expire drops orphans older than the pool's age bound.
func (op *orphanPool) expire(now time.Time) {
	op.mu.Lock()
	defer op.mu.Unlock()
	op.expireLocked(now)
}

func (op *orphanPool) expireLocked(now time.Time) {
	for _, o := range op.byHash {
		if now.Sub(o.added) > op.ttl {
			op.removeLocked(o.block)
		}
	}
}

func (op *orphanPool) removeLocked(b *chain.Block) {
	delete(op.byHash, b.Hash)
	kids := slices.DeleteFunc(op.byParent[b.PreviousHash], func(h chain.Hash) bool { return h == b.Hash })
	if len(kids) == 0 {
		delete(op.byParent, b.PreviousHash)
	} else {
		op.byParent[b.PreviousHash] = kids
	}
}

// takeReady removes and returns, lowest index first, the orphans whose parent
// known reports as stored.
func (op *orphanPool) takeReady(known func(chain.Hash) bool) []*orphan {
	op.mu.Lock()
	defer op.mu.Unlock()
	var ready []*orphan
	for parent, kids := range op.byParent {
		if !known(parent) {
			continue
		}
		for _, h := range kids {
			ready = append(ready, op.byHash[h])
			delete(op.byHash, h)
		}
		delete(op.byParent, parent)
	}
	slices.SortFunc(ready, func(a, b *orphan) int { return cmp.Compare(a.block.Index, b.block.Index) })
	return ready
}

// orphanLoop connects orphans whose parent has arrived, whenever a block is
// added, and expires old ones once a minute.
func (s *Service) orphanLoop() {
	tick := time.NewTicker(time.Minute)
	defer tick.Stop()
	for {
		select {
		case <-s.ctx.Done():
			return
		case now := <-tick.C:
			s.orphans.expire(now)
		case <-s.orphanWake:
			s.connectOrphans()
		}
	}
}

// connectOrphans adds to the chain every orphan whose parent is stored, and
// then their children, until none is left to connect.
func (s *Service) connectOrphans() {
	for s.ctx.Err() == nil {
		ready := s.orphans.takeReady(s.chain.HasBlock)
		if len(ready) == 0 {
			return
		}
		for _, o := range ready {
			res, err := s.chain.AddBlock(o.block)
			switch {
			case err == nil:
				s.stats.orphansConnected.Add(1)
				s.blockAdded(BlockEvent{Block: o.block, Blocks: 1, Status: res.Status, Source: SourceOrphan, Peer: o.from, Depth: res.Abandoned, Head: res.Head})
			case chain.IsRuleError(err):
				s.stats.rejectBlock(chain.RuleCode(err).String())
				s.log.Info("orphan is invalid", "hash", o.block.Hash, "from", o.from, "err", err)
			default:
				s.log.Debug("orphan not connected", "hash", o.block.Hash, "err", err)
			}
		}
	}
}
