package sync

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"slices"
	gosync "sync"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gossipchain/gossipchain/chain"
	"github.com/gossipchain/gossipchain/chain/store"
)

// Sync pipeline bounds: fetched batches waiting to be added, and blocks added
// in one store transaction (fewer when the session ends first).
const (
	syncQueueBatches = 4
	maxMergedBlocks  = 4 * MaxBlocksPerRequest
)

// requestSync queues a sync from p for syncLoop. force asks for the sync even
// if p's last status is not heavier than our chain (a block from p had an
// unknown parent). It never blocks; the queue holds each peer once.
func (s *Service) requestSync(p peer.ID, force bool) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.queued[p] = s.queued[p] || force
	s.mu.Unlock()
	s.wakeSync()
}

// wakeSync tells syncLoop to look at its queue.
func (s *Service) wakeSync() {
	select {
	case s.syncWake <- struct{}{}:
	default:
	}
}

// requestSyncAll queues a sync from every peer with a known status.
func (s *Service) requestSyncAll() {
	for _, c := range s.candidates(nil) {
		s.requestSync(c.id, true)
	}
}

// syncLoop starts the queued syncs: one session at a time while it
// delivers, and the next queued peer's session beside those running as
// soon as every one of them is stalled (see sessions.go). The best
// queued peer, by what it delivered, goes first.
func (s *Service) syncLoop() {
	for {
		var hedge <-chan time.Time
		if s.sessions.count() > 0 && s.hasQueued() {
			hedge = time.After(syncHedgeDelay / 4)
		}
		select {
		case <-s.ctx.Done():
			return
		case <-s.syncWake:
		case <-hedge:
		}
		for s.sessions.mayStart(time.Now()) {
			p, ok := s.nextQueued()
			if !ok {
				break
			}
			s.joinSession(p)
		}
	}
}

// hasQueued reports whether a peer waits in the sync queue.
func (s *Service) hasQueued() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.queued) > 0
}

// nextQueued takes from the queue the best peer to sync from now: one
// without a running session, connected, and heavier than our chain unless
// its sync was forced. Peers that no longer qualify leave the queue.
func (s *Service) nextQueued() (peer.ID, bool) {
	head := s.chain.Head().Work
	s.mu.Lock()
	var cands []candidate
	for p, force := range s.queued {
		st, known := s.peers[p]
		if (!force && !(known && st.Work.Cmp(head) > 0)) || !s.servesBlocks(p) {
			delete(s.queued, p)
			continue
		}
		cands = append(cands, candidate{id: p, st: st})
	}
	s.mu.Unlock()
	s.sessions.order(cands)
	for _, c := range cands {
		if s.sessions.get(c.id) != nil {
			continue // queued again when it ends, if it made progress
		}
		s.mu.Lock()
		delete(s.queued, c.id)
		s.mu.Unlock()
		if s.host.Network().Connectedness(c.id) == network.Connected {
			return c.id, true
		}
	}
	return "", false
}

// servesBlocks reports whether p may serve the chain exchange: false once
// identify has listed p's protocols without BlocksProtocol (a light node,
// which keeps headers only and states their work in its status), true
// while they are not known.
func (s *Service) servesBlocks(p peer.ID) bool {
	protos, err := s.host.Peerstore().GetProtocols(p)
	return err != nil || len(protos) == 0 || slices.Contains(protos, BlocksProtocol)
}

// candidate is a peer and its status.
type candidate struct {
	id peer.ID
	st Status
}

// candidates returns the connected peers with a known status whose work
// exceeds minWork (every one of them if minWork is nil), best first (see
// sessions.order).
func (s *Service) candidates(minWork *big.Int) []candidate {
	s.mu.Lock()
	out := make([]candidate, 0, len(s.peers))
	for id, st := range s.peers {
		if (minWork == nil || st.Work.Cmp(minWork) > 0) && s.servesBlocks(id) {
			out = append(out, candidate{id: id, st: st})
		}
	}
	s.mu.Unlock()
	s.sessions.order(out)
	return out
}

// syncFromAny syncs from cands, best first (see sessions.order): it joins
// or starts the session of the next candidate still heavier than our chain
// whenever every session it waits for is stalled or has ended. Once every
// candidate was tried, it stops waiting for sessions stalled for
// resolveGiveUp (they go on, judged by their delivery). It returns nil if a
// session succeeded or only stalled ones were left, otherwise the error of
// the last session that failed, or ctx's. The sessions it started run on
// when it returns.
func (s *Service) syncFromAny(ctx context.Context, cands []candidate) error {
	s.sessions.order(cands)
	var (
		waiting []*session
		last    error
		ok      bool
	)
	tick := time.NewTicker(syncHedgeDelay / 4)
	defer tick.Stop()
	for {
		now := time.Now()
		for len(cands) > 0 && allStalled(waiting, now, syncHedgeDelay) {
			c := cands[0]
			cands = cands[1:]
			if c.st.Work.Cmp(s.chain.Head().Work) > 0 && s.host.Network().Connectedness(c.id) == network.Connected {
				waiting = append(waiting, s.joinSession(c.id))
			}
		}
		for i := 0; i < len(waiting); i++ {
			select {
			case <-waiting[i].done:
				if waiting[i].err == nil {
					ok = true
				} else {
					last = waiting[i].err
				}
				waiting = slices.Delete(waiting, i, i+1)
				i--
			default:
			}
		}
		switch {
		case len(cands) > 0:
		case len(waiting) == 0 && ok:
			return nil
		case len(waiting) == 0:
			return last
		case allStalled(waiting, now, resolveGiveUp):
			s.log.Info("peers claiming heavier chains deliver nothing: not waiting for them", "peers", len(waiting))
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}

// allStalled reports whether every session of ss is stalled for d.
func allStalled(ss []*session, now time.Time, d time.Duration) bool {
	for _, x := range ss {
		if !x.stalled(now, d) {
			return false
		}
	}
	return true
}

// errNoProgress ends a sync session whose peer sent MaxNoProgress replies
// in a row that made no progress.
var errNoProgress = errors.New("replies make no progress")

// errFuture ends a sync session at a block whose timestamp is too far ahead
// of the local clock: it waits in the orphan pool.
var errFuture = errors.New("block timestamp ahead of the local clock")

// syncFrom fetches from p the main-chain blocks we lack, batch after batch,
// and adds them to the chain, until p has no more (its head when it answered
// the last batch). Fetching runs up to syncQueueBatches batches ahead of
// adding, and blocks are added maxMergedBlocks at a time.
//
// A session is bounded: by SessionTimeout (p is then queued again if it made
// progress, so that other peers get their turn), and by MaxNoProgress replies
// in a row that bring no new block. A peer that breaks the protocol, serves
// an invalid block, makes no progress, or ends its reply while the work it
// claimed in its status is still ahead of ours is penalised. A block too far
// in the future is no fault of the peer: it waits in the orphan pool and the
// session ends. A peer that delivers below the floor of ss (see
// sessions.go) is cut and penalised. Sessions with other peers may run
// beside it.
func (s *Service) syncFrom(ctx context.Context, p peer.ID, ss *session) error {
	before := s.chain.Head()
	claimed, known := s.PeerStatus(p)
	if known && claimed.Height > before.Height {
		ss.owe(int(min(claimed.Height-before.Height, uint64(s.cfg.BatchSize))))
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.SessionTimeout)
	defer cancel()
	fctx, cut := context.WithCancelCause(ctx)
	defer cut(nil)
	s.syncStarted(p)
	defer s.syncEnded()

	batches := make(chan batch, syncQueueBatches)
	var fetchErr error
	var wg gosync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		defer close(batches)
		fetchErr = s.fetchLoop(fctx, p, batches, ss)
	}()
	go func() {
		defer wg.Done()
		s.judge(fctx, ss, cut)
	}()
	var addErr error
	added, abandoned := 0, 0
	for b := range batches {
		if addErr != nil {
			continue // draining after cancel
		}
		// Add maxMergedBlocks at a time (or what the session fetched when
		// it ends): one store transaction (one disk sync) for all, while
		// the fetch loop goes on fetching the next ones.
		blocks := b.blocks
		for len(blocks) < maxMergedBlocks {
			more, ok := <-batches
			if !ok {
				break
			}
			blocks = append(blocks, more.blocks...)
		}
		res, n, err := s.chain.AddFetchedBlocks(blocks)
		added += n
		s.stats.blocksSynced.Add(uint64(n))
		abandoned += res.Abandoned
		s.syncAdvanced(n)
		switch {
		case err == nil, errors.Is(err, chain.ErrKnownBlock):
			// Blocks already stored (a side branch this node holds, or
			// blocks that arrived by gossip meanwhile) are no failure: the
			// next request starts after them.
		case chain.RuleCode(err) == chain.ErrTimeTooNew:
			s.holdFuture(blocks, p)
			addErr = errFuture
			cancel()
		default:
			addErr = err
			cancel()
		}
	}
	cut(nil) // the fetch loop has ended: stop judging
	wg.Wait()
	if slow := context.Cause(fctx); addErr == nil && errors.Is(slow, errTooSlow) {
		fetchErr = slow
	}

	if added > 0 {
		s.node.Delivered(p) // a trusted peer from now on (p2p.Standing)
		s.wakeOrphans()
	}
	after := s.chain.Head()
	if after.Hash != before.Hash {
		if added > 0 {
			st := store.Extended
			if abandoned > 0 {
				st = store.Reorganized
			}
			s.blockAdded(BlockEvent{Blocks: added, Status: st, Source: SourceSync, Peer: p, Depth: abandoned, Head: after})
		}
		s.announce(p)
	}
	err := addErr
	if err == nil {
		err = fetchErr
	}
	// A session that timed out while making progress goes on later: keep
	// the side branch it fetched until then.
	// Sessions running beside this one may be fetching side branches too.
	requeue := errors.Is(ctx.Err(), context.DeadlineExceeded) && s.ctx.Err() == nil && added > 0
	if _, perr := s.chain.PruneSideBranches(requeue || s.sessions.count() > 1); perr != nil {
		s.log.Warn("pruning side branches failed", "err", perr)
	}
	switch {
	case err == nil && claimed.Work != nil && claimed.Work.Cmp(after.Work) > 0:
		// p said it had no more, yet the work it claimed is still ahead.
		err = fmt.Errorf("chain ended at height %d below the work of its status (height %d)", after.Height, claimed.Height)
		s.penalize(p, "contradicted its status: "+err.Error())
	case err == nil:
		s.stats.syncsCompleted.Add(1)
		return nil
	case errors.Is(err, errFuture):
		s.log.Info("sync paused at a block ahead of the local clock", "peer", p, "blocks", added)
	case addErr != nil && chain.IsRuleError(addErr):
		s.stats.rejectBlock(reason(addErr))
		s.penalize(p, "served an invalid block: "+addErr.Error())
	case isViolation(err):
		s.penalize(p, "broke the chain-exchange protocol: "+err.Error())
	case errors.Is(err, errNoProgress), errors.Is(err, errTooSlow):
		s.penalize(p, "chain-exchange "+err.Error())
	case requeue:
		s.log.Info("sync session timed out, queued again", "peer", p, "blocks", added, "timeout", s.cfg.SessionTimeout)
		s.spawn(func() { s.requestSync(p, false) })
	default:
		var ce *codeError
		if errors.As(err, &ce) && ce.code == CodeNotFound {
			// Our locator always ends with the genesis: another network.
			s.forget(p)
			_ = s.host.Network().ClosePeer(p)
		}
		s.log.Debug("sync failed", "peer", p, "blocks", added, "err", err)
	}
	s.stats.syncsFailed.Add(1)
	return fmt.Errorf("sync from %s: %w", p, err)
}

// fetchLoop requests batches from p and hands them to batches until p has no
// more blocks after the last one received. A reply makes progress if it
// continues from the last block of the previous one, or if its last block is
// new to this node; after MaxNoProgress replies in a row without progress it
// returns errNoProgress.
//
// Requests are pipelined: as soon as a reply that continues from the
// previous one holds all the blocks asked for, the next request, continuing
// from its last block, goes out while that reply ends and is handed over. At
// most syncInFlight requests are running or holding a reply not taken yet,
// within the server's per-peer serving slots.
func (s *Service) fetchLoop(ctx context.Context, p peer.ID, batches chan<- batch, ss *session) error {
	ctx, cancel := context.WithCancel(ctx)
	var wg gosync.WaitGroup
	defer wg.Wait()
	defer cancel() // resets the requests still in flight

	base := s.chain.Locator()
	slots := make(chan struct{}, syncInFlight)
	var start func(locator []chain.Hash, tip chain.Hash, early bool) *request
	start = func(locator []chain.Hash, tip chain.Hash, early bool) *request {
		r := &request{locator: locator, tip: tip, early: early, done: make(chan fetchResult, 1)}
		wg.Add(1)
		go func() {
			defer wg.Done()
			b, _, err := s.fetchBatchFull(ctx, p, locator, s.cfg.BatchSize, nil, ss, func(b batch) {
				first, last := b.blocks[0], b.blocks[len(b.blocks)-1]
				if tip != (chain.Hash{}) && first.PreviousHash != tip || last.Index >= b.headHeight || ctx.Err() != nil {
					return // fetchLoop decides once the reply has ended
				}
				select {
				case slots <- struct{}{}:
					r.next = start(withTip(last.Hash, base), last.Hash, true)
				default:
				}
			})
			r.done <- fetchResult{b: b, err: err}
		}()
		return r
	}

	slots <- struct{}{}
	cur := start(base, chain.Hash{}, false)
	var tip chain.Hash
	stuck := 0
	for {
		var res fetchResult
		select {
		case res = <-cur.done:
			<-slots // a request holds its slot until its reply is taken
		case <-ctx.Done():
			return ctx.Err()
		}
		var ce *codeError
		if cur.early && errors.As(res.err, &ce) && ce.code == CodeUnavailable {
			// The server may not have released the slot of the reply
			// before this one yet: ask again, one request at a time.
			if err := acquire(ctx, slots); err != nil {
				return err
			}
			cur = start(cur.locator, cur.tip, false)
			continue
		}
		if res.err != nil {
			return res.err
		}
		b := res.b
		if len(b.blocks) == 0 {
			return nil
		}
		last := b.blocks[len(b.blocks)-1]
		first := b.blocks[0]
		if tip == (chain.Hash{}) || first.PreviousHash == tip || !s.chain.HasBlock(last.Hash) {
			stuck = 0
		} else if stuck++; stuck >= MaxNoProgress {
			return fmt.Errorf("%w: %d replies in a row hold only blocks already known", errNoProgress, stuck)
		} else {
			// Ask again from the same tip. A reply started nothing early
			// unless it continued from tip, so cur.next is nil here.
			if err := acquire(ctx, slots); err != nil {
				return err
			}
			cur = start(withTip(tip, base), tip, false)
			continue
		}
		select {
		case batches <- b:
		case <-ctx.Done():
			return ctx.Err()
		}
		if last.Index >= b.headHeight {
			return nil
		}
		tip = last.Hash
		if cur.next != nil {
			cur = cur.next
			continue
		}
		if err := acquire(ctx, slots); err != nil {
			return err
		}
		cur = start(withTip(tip, base), tip, false)
	}
}

// syncInFlight bounds the chain-exchange requests a sync session keeps in
// flight to its peer: the serving slots a server grants one peer by default.
const syncInFlight = DefaultMaxServingPerPeer

// request is one chain-exchange request of fetchLoop, running in its own
// goroutine.
type request struct {
	locator []chain.Hash
	tip     chain.Hash       // the block it continues from (zero: the first)
	early   bool             // started before the reply before it ended
	done    chan fetchResult // its reply, once read and checked
	// next is the request started from this reply's last block before it
	// ended, or nil; it is set before done is sent.
	next *request
}

type fetchResult struct {
	b   batch
	err error
}

// acquire takes a slot, or fails when ctx ends.
func acquire(ctx context.Context, slots chan struct{}) error {
	select {
	case slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// withTip returns locator with tip in front, dropping the entry before the
// last (the genesis) if needed to stay within MaxLocatorHashes.
func withTip(tip chain.Hash, locator []chain.Hash) []chain.Hash {
	out := make([]chain.Hash, 0, min(len(locator)+1, MaxLocatorHashes))
	out = append(out, tip)
	if len(locator) < MaxLocatorHashes {
		return append(out, locator...)
	}
	out = append(out, locator[:MaxLocatorHashes-2]...)
	return append(out, locator[len(locator)-1])
}

// announce sends our status to every connected peer but skip, so that peers
// lighter than us sync from us after we adopted a heavier chain by chain
// exchange (blocks fetched that way are not gossiped).
func (s *Service) announce(skip peer.ID) {
	for _, p := range s.host.Network().Peers() {
		if p != skip {
			s.spawn(func() { s.greet(p) })
		}
	}
}

// Resolve asks every connected peer for its status at once and syncs from the
// peers heavier than us (see syncFromAny): the best by what it delivered
// first, the next beside it while it stalls, the next after it if it fails;
// peers that claim more work and deliver nothing are not waited for. It
// reports whether our head changed while it ran — extended or moved to
// another branch: the chain was replaced by a heavier one, as the
// tutorial's /nodes/resolve says. Every step ends when ctx does. The error
// is ctx's, or that of the last sync tried when none succeeded and the head
// did not change.
func (s *Service) Resolve(ctx context.Context) (replaced bool, err error) {
	if !s.enter() {
		return false, ErrClosed
	}
	defer s.leave()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(s.ctx, cancel)
	defer stop()

	before := s.chain.Head()
	peers := s.host.Network().Peers()
	var (
		wg    gosync.WaitGroup
		mu    gosync.Mutex
		cands []candidate
	)
	for _, p := range peers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st, err := s.exchangeStatus(ctx, p)
			if err != nil {
				s.log.Debug("resolve: status exchange failed", "peer", p, "err", err)
				return
			}
			if !s.keepStatus(p, st) {
				return
			}
			mu.Lock()
			cands = append(cands, candidate{id: p, st: st})
			mu.Unlock()
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return false, err
	}
	err = s.syncFromAny(ctx, cands)
	replaced = s.chain.Head().Hash != before.Hash
	if cerr := ctx.Err(); cerr != nil {
		return replaced, cerr
	}
	if replaced {
		return true, nil
	}
	return false, err
}
