package p2p

import (
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
)

// RequestBudget is a per-peer token bucket for the requests of one stream
// protocol: each peer may make Burst requests at once and Rate more per
// second after that. A request over budget is a strike; a peer with Strikes
// strikes is to be penalised. It is safe for concurrent use and bounded: it
// forgets the peers it has not heard from for a minute.
type RequestBudget struct {
	Burst   float64
	Rate    float64 // tokens per second
	Strikes int

	mu    sync.Mutex
	peers map[peer.ID]*bucket
	swept time.Time
}

type bucket struct {
	tokens  float64
	strikes int
	last    time.Time
}

// budgetForget: buckets idle for this long are dropped (they are full again by then).
const budgetForget = time.Minute

// Allow takes one token for p. ok is false when p is over budget; penalize is
// true when that refusal brings p to Strikes strikes (the bucket then starts
// over).
func (b *RequestBudget) Allow(p peer.ID, now time.Time) (ok, penalize bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.peers == nil {
		b.peers = make(map[peer.ID]*bucket)
	}
	if now.Sub(b.swept) > budgetForget {
		for id, k := range b.peers {
			if now.Sub(k.last) > budgetForget {
				delete(b.peers, id)
			}
		}
		b.swept = now
	}
	k, found := b.peers[p]
	if !found {
		k = &bucket{tokens: b.Burst, last: now}
		b.peers[p] = k
	}
	k.tokens = min(b.Burst, k.tokens+now.Sub(k.last).Seconds()*b.Rate)
	k.last = now
	if k.tokens >= b.Burst {
		k.strikes = 0 // a full bucket: the peer has paused long enough
	}
	if k.tokens >= 1 {
		k.tokens--
		return true, false
	}
	k.strikes++
	if b.Strikes > 0 && k.strikes >= b.Strikes {
		delete(b.peers, p)
		return false, true
	}
	return false, false
}

// ServeGate admits the requests a node serves on one stream protocol: each
// peer within its RequestBudget, and at most a fixed number served at once.
// It is safe for concurrent use.
type ServeGate struct {
	budget  *RequestBudget
	serving chan struct{}
}

// NewServeGate returns a gate that holds peers to budget and serves at most
// maxServing requests at once.
func NewServeGate(budget *RequestBudget, maxServing int) *ServeGate {
	return &ServeGate{budget: budget, serving: make(chan struct{}, maxServing)}
}

// Admit admits a request of p. It returns the function that ends the
// request, or nil if the request is refused: p is over its budget (penalize
// says whether that refusal brings p to its strikes, see RequestBudget.Allow)
// or every serving slot is taken (no fault of p).
func (g *ServeGate) Admit(p peer.ID, now time.Time) (release func(), penalize bool) {
	ok, penalize := g.budget.Allow(p, now)
	if !ok {
		return nil, penalize
	}
	select {
	case g.serving <- struct{}{}:
		return func() { <-g.serving }, false
	default:
		return nil, false
	}
}
