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
