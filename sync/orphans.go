package sync

import (
	"cmp"
	"errors"
	"slices"
	gosync "sync"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gossipchain/gossipchain/chain"
	"github.com/gossipchain/gossipchain/chain/store"
)

// orphan is a block whose parent was unknown when it arrived, or whose
// timestamp was too far ahead of the local clock (due is then the first
// time, on the chain's clock, at which it can be valid).
type orphan struct {
	block *chain.Block
	from  peer.ID
	added time.Time
	size  int
	due   time.Time
}

// orphanLimits bound the orphan pool.
type orphanLimits struct {
	count   int // blocks
	bytes   int // encoded bytes
	perPeer int // blocks from one peer
}

// orphanPool holds orphans, bounded in count, bytes, blocks per peer and
// age. It is safe for concurrent use.
type orphanPool struct {
	lim orphanLimits
	ttl time.Duration

	mu       gosync.Mutex
	byHash   map[chain.Hash]*orphan
	byParent map[chain.Hash][]chain.Hash
	bytes    int
	byPeer   map[peer.ID]*peerShare
	future   int // orphans with a due time
}

// peerShare is what one peer holds in the orphan pool.
type peerShare struct{ count, bytes int }

func newOrphanPool(lim orphanLimits, ttl time.Duration) *orphanPool {
	return &orphanPool{
		lim:      lim,
		ttl:      ttl,
		byHash:   make(map[chain.Hash]*orphan),
		byParent: make(map[chain.Hash][]chain.Hash),
		byPeer:   make(map[peer.ID]*peerShare),
	}
}

func (op *orphanPool) len() int {
	op.mu.Lock()
	defer op.mu.Unlock()
	return len(op.byHash)
}

// size returns the encoded bytes held.
func (op *orphanPool) size() int {
	op.mu.Lock()
	defer op.mu.Unlock()
	return op.bytes
}

func (op *orphanPool) has(h chain.Hash) bool {
	op.mu.Lock()
	defer op.mu.Unlock()
	_, ok := op.byHash[h]
	return ok
}

// add stores b, received from peer from, evicting expired orphans first. A
// peer at its share loses its own oldest orphan; a full pool (in blocks or
// bytes) loses the oldest orphan of the peer holding the most bytes. due is
// zero for a block waiting for its parent, or the time at which a block
// ahead of the local clock can be valid. It reports whether b was new.
func (op *orphanPool) add(b *chain.Block, from peer.ID, now, due time.Time) bool {
	op.mu.Lock()
	defer op.mu.Unlock()
	return op.addLocked(b, from, now, due)
}

// addRooted is add for a block waiting for its parent that refuses it
// (over) if its parent is not in the pool either and from already has
// maxRoots such orphans in it.
func (op *orphanPool) addRooted(b *chain.Block, from peer.ID, now time.Time, maxRoots int) (added, over bool) {
	op.mu.Lock()
	defer op.mu.Unlock()
	if op.byHash[b.PreviousHash] == nil && op.rootsLocked(from) >= maxRoots {
		return false, true
	}
	return op.addLocked(b, from, now, time.Time{}), false
}

// rootsLocked counts the orphans from from, waiting for their parent, whose
// parent is not in the pool.
func (op *orphanPool) rootsLocked(from peer.ID) int {
	n := 0
	for _, o := range op.byHash {
		if o.from == from && o.due.IsZero() && op.byHash[o.block.PreviousHash] == nil {
			n++
		}
	}
	return n
}

func (op *orphanPool) addLocked(b *chain.Block, from peer.ID, now, due time.Time) bool {
	if _, ok := op.byHash[b.Hash]; ok {
		return false
	}
	size := b.BinarySize()
	if size > op.lim.bytes {
		return false
	}
	op.expireLocked(now)
	if sh := op.byPeer[from]; sh != nil && sh.count >= op.lim.perPeer {
		op.removeLocked(op.oldestLocked(from).block)
	}
	for len(op.byHash) > 0 && (len(op.byHash) >= op.lim.count || op.bytes+size > op.lim.bytes) {
		op.removeLocked(op.oldestLocked(op.largestLocked()).block)
	}
	o := &orphan{block: b, from: from, added: now, size: size, due: due}
	op.byHash[b.Hash] = o
	op.byParent[b.PreviousHash] = append(op.byParent[b.PreviousHash], b.Hash)
	op.bytes += size
	sh := op.byPeer[from]
	if sh == nil {
		sh = &peerShare{}
		op.byPeer[from] = sh
	}
	sh.count++
	sh.bytes += size
	if !due.IsZero() {
		op.future++
	}
	return true
}

// largestLocked returns the peer holding the most bytes.
func (op *orphanPool) largestLocked() peer.ID {
	var best peer.ID
	most := -1
	for p, sh := range op.byPeer {
		if sh.bytes > most || sh.bytes == most && p < best {
			best, most = p, sh.bytes
		}
	}
	return best
}

// oldestLocked returns the oldest orphan from peer from.
func (op *orphanPool) oldestLocked(from peer.ID) *orphan {
	var oldest *orphan
	for _, o := range op.byHash {
		if o.from == from && (oldest == nil || o.added.Before(oldest.added)) {
			oldest = o
		}
	}
	return oldest
}

// hasFuture reports whether an orphan waits for its due time.
func (op *orphanPool) hasFuture() bool {
	op.mu.Lock()
	defer op.mu.Unlock()
	return op.future > 0
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
	o, ok := op.byHash[b.Hash]
	if !ok {
		return
	}
	op.forgetLocked(o)
	delete(op.byHash, b.Hash)
	kids := slices.DeleteFunc(op.byParent[b.PreviousHash], func(h chain.Hash) bool { return h == b.Hash })
	if len(kids) == 0 {
		delete(op.byParent, b.PreviousHash)
	} else {
		op.byParent[b.PreviousHash] = kids
	}
}

// forgetLocked takes o out of the pool's accounting.
func (op *orphanPool) forgetLocked(o *orphan) {
	op.bytes -= o.size
	if sh := op.byPeer[o.from]; sh != nil {
		sh.count--
		sh.bytes -= o.size
		if sh.count == 0 {
			delete(op.byPeer, o.from)
		}
	}
	if !o.due.IsZero() {
		op.future--
	}
}

// takeReady removes and returns, lowest index first, the orphans whose parent
// known reports as stored and whose due time, if any, is not after now.
func (op *orphanPool) takeReady(known func(chain.Hash) bool, now time.Time) []*orphan {
	op.mu.Lock()
	defer op.mu.Unlock()
	var ready []*orphan
	for parent, kids := range op.byParent {
		if !known(parent) {
			continue
		}
		var wait []chain.Hash
		for _, h := range kids {
			o := op.byHash[h]
			if o.due.After(now) {
				wait = append(wait, h)
				continue
			}
			op.forgetLocked(o)
			ready = append(ready, o)
			delete(op.byHash, h)
		}
		if len(wait) > 0 {
			op.byParent[parent] = wait
		} else {
			delete(op.byParent, parent)
		}
	}
	slices.SortFunc(ready, func(a, b *orphan) int { return cmp.Compare(a.block.Index, b.block.Index) })
	return ready
}

// orphanLoop connects orphans whose parent has arrived, whenever a block is
// added and, while blocks wait for their timestamp, every second; it expires
// old orphans and prunes side branches that fell behind once a minute.
func (s *Service) orphanLoop() {
	tick := time.NewTicker(time.Minute)
	defer tick.Stop()
	due := time.NewTicker(time.Second)
	defer due.Stop()
	for {
		select {
		case <-s.ctx.Done():
			return
		case now := <-tick.C:
			s.orphans.expire(now)
			if s.sessions.count() == 0 {
				if _, err := s.chain.PruneSideBranches(true); err != nil {
					s.log.Warn("pruning side branches failed", "err", err)
				}
			}
		case <-due.C:
			if s.orphans.hasFuture() {
				s.connectOrphans()
			}
		case <-s.orphanWake:
			s.connectOrphans()
		}
	}
}

// connectOrphans adds to the chain every orphan whose parent is stored, and
// then their children, until none is left to connect. A block that waited
// for its timestamp asks its sender for what follows it.
func (s *Service) connectOrphans() {
	for s.ctx.Err() == nil {
		ready := s.orphans.takeReady(s.chain.HasBlock, s.chain.Now())
		if len(ready) == 0 {
			return
		}
		for _, o := range ready {
			res, err := s.chain.AddUnrequestedBlock(o.block)
			switch {
			case err == nil || errors.Is(err, store.ErrSideBranchRefused):
				if err == nil {
					s.stats.orphansConnected.Add(1)
					s.blockAdded(BlockEvent{Block: o.block, Blocks: 1, Status: res.Status, Source: SourceOrphan, Peer: o.from, Depth: res.Abandoned, Head: res.Head})
				}
				if !o.due.IsZero() && o.from != "" {
					// It waited for its time: what follows it may too.
					s.requestSync(o.from, true)
				}
			case chain.RuleCode(err) == chain.ErrTimeTooNew:
				s.holdFuture([]*chain.Block{o.block}, o.from)
			case chain.IsRuleError(err):
				s.stats.rejectBlock(chain.RuleCode(err).String())
				s.log.Info("orphan is invalid", "hash", o.block.Hash, "from", o.from, "err", err)
			default:
				s.log.Debug("orphan not connected", "hash", o.block.Hash, "err", err)
			}
		}
	}
}

// holdFuture keeps the first block of blocks whose timestamp is too far
// ahead of the local clock in the orphan pool until the timestamp becomes
// valid; the blocks after it are fetched again then. A block more than
// MaxFutureWait beyond that is dropped. Neither is a fault of from.
func (s *Service) holdFuture(blocks []*chain.Block, from peer.ID) {
	now := s.chain.Now()
	drift := s.params.FutureLimit()
	limit := chain.TimestampOf(now.Add(drift))
	i := slices.IndexFunc(blocks, func(b *chain.Block) bool { return b.Timestamp > limit })
	if i < 0 {
		return
	}
	b := blocks[i]
	due := b.Timestamp.Time().Add(-drift)
	if due.Sub(now) > MaxFutureWait {
		s.stats.blocksIgnored.Add(1)
		s.log.Info("ignoring block too far in the future", "hash", b.Hash, "index", b.Index, "from", from, "timestamp", b.Timestamp)
		return
	}
	if s.orphans.add(b, from, time.Now(), due) {
		s.stats.orphansAdded.Add(1)
		s.log.Info("block ahead of the local clock waits", "hash", b.Hash, "index", b.Index, "from", from, "wait", due.Sub(now).Round(time.Millisecond))
	}
}
