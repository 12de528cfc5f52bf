package sync

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math/big"
	"slices"
	gosync "sync"

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
// unknown parent). It never blocks: when the queue is full the request is
// dropped (a later status or orphan asks again).
func (s *Service) requestSync(p peer.ID, force bool) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	if f, ok := s.queued[p]; ok {
		s.queued[p] = f || force
		s.mu.Unlock()
		return
	}
	s.queued[p] = force
	s.mu.Unlock()
	select {
	case s.syncQueue <- p:
	default:
		s.mu.Lock()
		delete(s.queued, p)
		s.mu.Unlock()
	}
}

// requestSyncAll queues a sync from every peer with a known status.
func (s *Service) requestSyncAll() {
	for _, c := range s.candidates(nil) {
		s.requestSync(c.id, true)
	}
}

// syncLoop runs the queued syncs one at a time. When a sync from a peer
// fails, the other known peers heavier than us are tried.
func (s *Service) syncLoop() {
	for {
		select {
		case <-s.ctx.Done():
			return
		case p := <-s.syncQueue:
			s.mu.Lock()
			force := s.queued[p]
			delete(s.queued, p)
			st, known := s.peers[p]
			s.mu.Unlock()
			if s.host.Network().Connectedness(p) != network.Connected {
				continue
			}
			if s.lockSync(s.ctx) != nil {
				return
			}
			if force || known && st.Work.Cmp(s.chain.Head().Work) > 0 {
				if err := s.syncFrom(s.ctx, p); err != nil && s.ctx.Err() == nil {
					s.syncHeaviest(s.ctx, s.candidates(s.chain.Head().Work), p)
				}
			}
			s.unlockSync()
		}
	}
}

// lockSync waits until no other sync session runs, or until ctx is done.
// A nil error must be matched by a call to unlockSync.
func (s *Service) lockSync(ctx context.Context) error {
	select {
	case s.syncSem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *Service) unlockSync() { <-s.syncSem }

// candidate is a peer and its status.
type candidate struct {
	id peer.ID
	st Status
}

// candidates returns the connected peers with a known status whose work
// exceeds minWork (every one of them if minWork is nil), heaviest first.
func (s *Service) candidates(minWork *big.Int) []candidate {
	s.mu.Lock()
	out := make([]candidate, 0, len(s.peers))
	for id, st := range s.peers {
		if minWork == nil || st.Work.Cmp(minWork) > 0 {
			out = append(out, candidate{id: id, st: st})
		}
	}
	s.mu.Unlock()
	sortCandidates(out)
	return out
}

func sortCandidates(cs []candidate) {
	slices.SortFunc(cs, func(a, b candidate) int {
		if c := b.st.Work.Cmp(a.st.Work); c != 0 {
			return c
		}
		return cmp.Compare(a.id, b.id)
	})
}

// syncHeaviest syncs from the first of cands (heaviest first) that is still
// heavier than our chain and answers, skipping skip. The sync lock must be
// held (see lockSync).
func (s *Service) syncHeaviest(ctx context.Context, cands []candidate, skip peer.ID) error {
	var last error
	for _, c := range cands {
		if c.id == skip {
			continue
		}
		if c.st.Work.Cmp(s.chain.Head().Work) <= 0 {
			break
		}
		err := s.syncFrom(ctx, c.id)
		if err == nil {
			return nil
		}
		last = err
		if ctx.Err() != nil {
			return last
		}
	}
	return last
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
// session ends. The sync lock must be held (see lockSync).
func (s *Service) syncFrom(ctx context.Context, p peer.ID) error {
	before := s.chain.Head()
	claimed, _ := s.PeerStatus(p)
	ctx, cancel := context.WithTimeout(ctx, s.cfg.SessionTimeout)
	defer cancel()
	s.syncStarted(p)
	defer s.syncEnded()

	batches := make(chan batch, syncQueueBatches)
	var fetchErr error
	var wg gosync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(batches)
		fetchErr = s.fetchLoop(ctx, p, batches)
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
	wg.Wait()

	if added > 0 {
		s.stats.blocksSynced.Add(uint64(added))
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
	requeue := errors.Is(ctx.Err(), context.DeadlineExceeded) && s.ctx.Err() == nil && added > 0
	if _, perr := s.chain.PruneSideBranches(requeue); perr != nil {
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
	case errors.Is(err, errNoProgress):
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
func (s *Service) fetchLoop(ctx context.Context, p peer.ID, batches chan<- batch) error {
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
			b, _, err := s.fetchBatchFull(ctx, p, locator, s.cfg.BatchSize, nil, func(b batch) {
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
// heaviest peer heavier than us, trying the next one if it fails. It reports
// whether our head changed while it ran — extended or moved to another
// branch: the chain was replaced by a heavier one, as the tutorial's
// /nodes/resolve says. Every step, waiting for a sync session already
// running included, ends when ctx does. The error is ctx's, or that of the last sync tried
// when none succeeded and the head did not change.
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
	sortCandidates(cands)

	if err := s.lockSync(ctx); err != nil {
		return false, err
	}
	err = s.syncHeaviest(ctx, cands, "")
	s.unlockSync()
	replaced = s.chain.Head().Hash != before.Hash
	if cerr := ctx.Err(); cerr != nil {
		return replaced, cerr
	}
	if replaced {
		return true, nil
	}
	return false, err
}
