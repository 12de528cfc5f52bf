package sync

import (
	"context"
	"errors"
	"fmt"
	"slices"
	gosync "sync"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gossipchain/gossipchain/chain"
)

// Ids named by peers (announcements and inventories) cost their sender, not
// this node, in the manner of go-ethereum's transaction fetcher:
//
//   - each id is checked against the pool and the chain at a cost that does
//     not grow with the chain (store.Chain.UnknownTransactions);
//   - the ids checked per second are bounded by a budget shared by every
//     peer (poolIDRate), and as much again is reserved for trusted peers:
//     those this node dialled, and those that delivered a transaction new to
//     it by pool exchange. Ids over the budget are dropped unchecked, without
//     penalty (an honest peer may announce in a crowd);
//   - the ids waiting to be fetched are bounded per peer (MaxPoolInventory)
//     and in all (maxPoolWanted); when the set is full, a newcomer's ids
//     take the place of those of the peer that holds the most;
//   - inventory requests and fetches run on poolWorkers goroutines the
//     service owns: one request per peer at a time, poolWorkers at once, of
//     which poolReservedWorkers serve trusted peers only; a request that does
//     not end within poolFetchTimeout is reset and frees its worker;
//   - a peer is penalised once the ids it named and did not deliver (a
//     request that fails delivers none) exceed what it delivered by more
//     than maxPoolUndelivered, and at once for an invalid transaction.
const (
	// poolIDRate is the ids per second, and the burst, that the peers
	// together may have checked; trusted peers have as many again.
	poolIDRate = 8 * MaxPoolInventory
	// maxPoolWanted bounds the ids waiting to be fetched, of every peer.
	maxPoolWanted = 4 * MaxPoolInventory
	// poolWorkers is the number of pool requests (inventories and fetches)
	// in flight at once, poolReservedWorkers of them for trusted peers only.
	poolWorkers         = 8
	poolReservedWorkers = 2
	// poolFetchTimeout bounds one inventory request or fetch.
	poolFetchTimeout = 5 * time.Second
	// maxPoolUndelivered is how many more ids a peer may name and not
	// deliver than it delivered before it is penalised: two fetches' worth,
	// for transactions an honest peer confirmed or evicted meanwhile.
	maxPoolUndelivered = 2 * MaxPoolFetch
)

// idBudget is a token bucket of ids.
type idBudget struct {
	tokens float64
	last   time.Time
}

// take takes up to n tokens and returns how many it took.
func (b *idBudget) take(n int, now time.Time) int {
	if now.After(b.last) { // now was read before the lock: it may be behind
		b.tokens = min(poolIDRate, b.tokens+now.Sub(b.last).Seconds()*poolIDRate)
		b.last = now
	}
	n = max(0, min(n, int(b.tokens)))
	b.tokens -= float64(n)
	return n
}

// fetchPeer is what the fetcher holds for one peer.
type fetchPeer struct {
	ids         map[chain.Hash]struct{} // named by the peer, to fetch
	order       []chain.Hash            // ids in the order named, some no longer in ids
	inventory   bool                    // its inventory is to be asked for
	busy        bool                    // a request to it is in flight
	outbound    bool                    // this node dialled it
	last        time.Time               // when its last request started
	delivered   int                     // transactions new to this node it delivered
	undelivered int                     // ids it named and did not deliver
}

func (fp *fetchPeer) trusted() bool { return fp.outbound || fp.delivered > 0 }

// poolFetcher collects the ids peers name and fetches those this node lacks
// (see above). It is safe for concurrent use.
type poolFetcher struct {
	px   *poolExchange
	wake chan struct{} // a worker may have something to do

	mu                gosync.Mutex
	peers             map[peer.ID]*fetchPeer
	wanted            int                 // ids in every peer's ids
	inFlight          map[chain.Hash]bool // ids being fetched
	busy, busyOpen    int                 // requests in flight; of untrusted peers
	peak              int                 // the most requests ever in flight
	open, reserved    idBudget
	maxWanted, maxIDs int // maxPoolWanted, MaxPoolInventory; smaller in tests
}

func newPoolFetcher(px *poolExchange) *poolFetcher {
	now := time.Now()
	return &poolFetcher{
		px: px, wake: make(chan struct{}, 1),
		peers: make(map[peer.ID]*fetchPeer), inFlight: make(map[chain.Hash]bool),
		open:      idBudget{tokens: poolIDRate, last: now},
		reserved:  idBudget{tokens: poolIDRate, last: now},
		maxWanted: maxPoolWanted, maxIDs: MaxPoolInventory,
	}
}

// start starts the workers. s.mu must be held.
func (f *poolFetcher) start() {
	for range poolWorkers {
		f.px.s.goLocked(f.work)
	}
}

// signal wakes a worker.
func (f *poolFetcher) signal() {
	select {
	case f.wake <- struct{}{}:
	default:
	}
}

// peerLocked returns p's entry, made if need be. f.mu must be held.
func (f *poolFetcher) peerLocked(p peer.ID, outbound bool) *fetchPeer {
	fp := f.peers[p]
	if fp == nil {
		fp = &fetchPeer{ids: make(map[chain.Hash]struct{})}
		f.peers[p] = fp
	}
	fp.outbound = fp.outbound || outbound
	return fp
}

// wantInventory schedules a request for p's inventory.
func (f *poolFetcher) wantInventory(p peer.ID) {
	outbound := f.px.s.node.Outbound(p)
	f.mu.Lock()
	f.peerLocked(p, outbound).inventory = true
	f.mu.Unlock()
	f.signal()
}

// named takes the ids p named (announced, or in its inventory) within the
// budget, and queues those this node lacks for fetching from p.
func (f *poolFetcher) named(p peer.ID, ids []chain.Hash) {
	outbound := f.px.s.node.Outbound(p)
	now := time.Now()
	f.mu.Lock()
	fp := f.peerLocked(p, outbound)
	n := 0
	if fp.trusted() {
		n = f.reserved.take(len(ids), now)
	}
	n += f.open.take(len(ids)-n, now)
	f.mu.Unlock()
	f.px.dropped.Add(uint64(len(ids) - n))
	if n == 0 {
		return
	}
	unknown := f.px.s.chain.UnknownTransactions(ids[:n])
	f.mu.Lock()
	if f.peers[p] != fp { // forgotten meanwhile
		f.mu.Unlock()
		return
	}
	for _, id := range unknown {
		if _, ok := fp.ids[id]; ok {
			continue
		}
		if len(fp.ids) >= f.maxIDs || (f.wanted >= f.maxWanted && !f.evictLocked(p)) {
			break
		}
		fp.ids[id] = struct{}{}
		fp.order = append(fp.order, id)
		f.wanted++
	}
	if len(fp.order) > 2*len(fp.ids)+MaxPoolFetch { // ids evicted since: drop them
		fp.order = slices.DeleteFunc(fp.order, func(id chain.Hash) bool { _, ok := fp.ids[id]; return !ok })
	}
	f.mu.Unlock()
	f.signal()
}

// evictLocked makes room in a full set of wanted ids by dropping those of
// the peer that holds the most, unless that is p; it reports whether it
// did. f.mu must be held.
func (f *poolFetcher) evictLocked(p peer.ID) bool {
	var big *fetchPeer
	bigID := p
	for id, fp := range f.peers {
		if big == nil || len(fp.ids) > len(big.ids) {
			big, bigID = fp, id
		}
	}
	if big == nil || bigID == p || len(big.ids) <= len(f.peers[p].ids) {
		return false
	}
	n := 0
	for id := range big.ids {
		if n == MaxPoolFetch {
			break
		}
		delete(big.ids, id)
		n++
	}
	f.wanted -= n
	f.px.dropped.Add(uint64(n))
	return true
}

// forget drops what the fetcher holds for p.
func (f *poolFetcher) forget(p peer.ID) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if fp := f.peers[p]; fp != nil {
		f.wanted -= len(fp.ids)
		delete(f.peers, p)
	}
}

// task is one request for a worker: p's inventory, or the transactions ids.
type task struct {
	p       peer.ID
	fp      *fetchPeer
	trusted bool         // p was trusted when the task was picked
	ids     []chain.Hash // nil: the inventory
}

// work runs tasks until the service closes.
func (f *poolFetcher) work() {
	s := f.px.s
	for {
		if t, ok := f.next(); ok {
			f.signal() // another worker may find more
			f.run(t)
			continue
		}
		select {
		case <-s.ctx.Done():
			return
		case <-f.wake:
		}
	}
}

// next picks the next task: of a trusted peer first, then of the peer
// whose last request is the oldest; an untrusted peer's only while fewer
// than poolWorkers-poolReservedWorkers of those are in flight. Peers no
// longer connected are forgotten.
func (f *poolFetcher) next() (task, bool) {
	net := f.px.s.host.Network()
	f.mu.Lock()
	defer f.mu.Unlock()
	for {
		var best *fetchPeer
		var bestID peer.ID
		for id, fp := range f.peers {
			if fp.busy || (!fp.inventory && len(fp.ids) == 0) {
				continue
			}
			if !fp.trusted() && f.busyOpen >= poolWorkers-poolReservedWorkers {
				continue
			}
			if best == nil || fp.trusted() && !best.trusted() ||
				fp.trusted() == best.trusted() && fp.last.Before(best.last) {
				best, bestID = fp, id
			}
		}
		if best == nil {
			return task{}, false
		}
		if net.Connectedness(bestID) != network.Connected {
			f.wanted -= len(best.ids)
			delete(f.peers, bestID)
			continue
		}
		t := task{p: bestID, fp: best, trusted: best.trusted()}
		if best.inventory {
			best.inventory = false
		} else {
			// In the order named: a peer names a sender's transactions
			// in nonce order, as they must be added.
			kept := best.order[:0]
			for _, id := range best.order {
				if _, ok := best.ids[id]; !ok {
					continue
				}
				if len(t.ids) == MaxPoolFetch || f.inFlight[id] {
					kept = append(kept, id)
					continue
				}
				t.ids = append(t.ids, id)
				delete(best.ids, id)
				f.inFlight[id] = true
			}
			clear(best.order[len(kept):])
			best.order = kept
			f.wanted -= len(t.ids)
			if len(t.ids) == 0 {
				continue // every id in flight from others: none to ask
			}
		}
		best.busy, best.last = true, time.Now()
		f.busy++
		if !t.trusted {
			f.busyOpen++
		}
		f.peak = max(f.peak, f.busy)
		return t, true
	}
}

// run makes the request of t and judges what p delivered. A request that
// fails quickly (refused, reset) costs this node little and delivers
// nothing it counts; one that stalls until poolFetchTimeout counts every id
// it asked for (an inventory, a fetch's worth) as undelivered.
func (f *poolFetcher) run(t task) {
	px, s := f.px, f.px.s
	ctx, cancel := context.WithTimeout(s.ctx, poolFetchTimeout)
	defer cancel()
	var inventory []chain.Hash
	delivered, undelivered, invalid := 0, 0, false
	if t.ids == nil {
		ids, err := px.inventory(ctx, t.p)
		if err != nil {
			s.log.Debug("pool inventory failed", "peer", t.p, "err", err)
			if stalled(ctx) {
				undelivered = MaxPoolFetch
			}
		}
		inventory = ids
	} else if ask := s.chain.UnknownTransactions(t.ids); len(ask) > 0 {
		txs, err := px.get(ctx, t.p, ask)
		if err != nil {
			s.log.Debug("pool fetch failed", "peer", t.p, "err", err)
		}
		if err == nil || stalled(ctx) {
			undelivered = len(ask) - len(txs)
		}
		for _, tx := range txs {
			switch s.addTx(tx, t.p) {
			case pubsub.ValidationReject:
				invalid = true
			case pubsub.ValidationAccept:
				px.fetched.Add(1)
				delivered++
			}
		}
	}
	f.mu.Lock()
	for _, id := range t.ids {
		delete(f.inFlight, id)
	}
	f.busy--
	if !t.trusted {
		f.busyOpen--
	}
	fp := t.fp
	fp.busy = false
	fp.delivered += delivered
	fp.undelivered += undelivered
	short := fp.undelivered > fp.delivered+maxPoolUndelivered
	reason := fmt.Sprintf("named %d pool transactions it did not deliver, delivered %d", fp.undelivered, fp.delivered)
	f.mu.Unlock()
	f.signal()
	switch {
	case invalid:
		s.penalize(t.p, "invalid transaction in pool exchange")
	case short:
		s.penalize(t.p, reason)
	case len(inventory) > 0:
		f.named(t.p, inventory)
	}
}

// stalled reports whether the request under ctx ran out of time (rather
// than failed, or the service closed).
func stalled(ctx context.Context) bool {
	return errors.Is(context.Cause(ctx), context.DeadlineExceeded)
}
