package p2p

import (
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
)

// Refusal says why a Gate refused a request and whether the peer is to be
// penalised for it. The zero value, Admitted, is no refusal.
type Refusal uint8

// Reasons of a refusal, in the order a Gate checks them.
const (
	// Admitted: the request was not refused.
	Admitted Refusal = iota
	// OverRate: the peer is over its request rate. It may pause and retry.
	OverRate
	// Flooding: the peer is over its request rate for the
	// RequestBudget.Strikes-th time without pausing; it is to be penalised.
	Flooding
	// PeerBusy: the peer has GateConfig.PerPeer requests being served.
	PeerBusy
	// ServerBusy: GateConfig.Global requests are being served. No fault of
	// the peer.
	ServerBusy
)

// Penalize reports whether the peer refused for r is to be penalised.
func (r Refusal) Penalize() bool { return r == Flooding }

func (r Refusal) String() string {
	switch r {
	case Admitted:
		return "admitted"
	case OverRate:
		return "over rate"
	case Flooding:
		return "flooding"
	case PeerBusy:
		return "peer busy"
	case ServerBusy:
		return "server busy"
	}
	return "unknown refusal"
}

// GateConfig configures a Gate.
type GateConfig struct {
	// Budget holds each peer to a request rate; nil sets no rate.
	Budget *RequestBudget
	// PerPeer bounds the requests of one peer served at once, Global those
	// of all peers together. Both must be positive.
	PerPeer, Global int
	// Standing, when not nil, makes Global a shared limit (sharePool):
	// Reserve of its slots are kept for trusted peers, and a request that
	// finds no slot takes back one of the largest untrusted holder, by
	// address group and identity, instead of being refused. AdmitStream
	// resets the stream of a request whose slot is taken back (Admit's
	// requests are never taken back).
	Standing func(peer.ID) Standing
	Reserve  int

	// The fields below are used by AdmitStream only.

	// Timeout, when positive, is the deadline AdmitStream sets on an
	// admitted stream; when zero the handler sets its own deadlines.
	Timeout time.Duration
	// Refuse answers a refused stream; nil resets it.
	Refuse func(s network.Stream, r Refusal)
	// Penalize is called for a peer whose refusal says so
	// (Refusal.Penalize), with the reason "flooding the <Protocol>
	// protocol"; nil penalises nobody.
	Penalize func(p peer.ID, reason string)
	// Protocol names the protocol in that reason.
	Protocol string
}

// Gate admits the requests a node serves on one stream protocol: each peer
// within its request rate and its PerPeer requests at once, all peers
// together within Global requests at once. It is safe for concurrent use.
type Gate struct {
	cfg GateConfig

	pool *sharePool // Global's shares when cfg.Standing is set

	mu      sync.Mutex
	serving int             // requests being served
	perPeer map[peer.ID]int // the same, by peer; no entry at zero
}

// NewGate returns a Gate with the limits of cfg.
func NewGate(cfg GateConfig) *Gate {
	g := &Gate{cfg: cfg, perPeer: make(map[peer.ID]int)}
	if cfg.Standing != nil {
		g.pool = newSharePool(cfg.Global, cfg.Reserve)
	}
	return g
}

// Admit admits a request of p at now. It checks p's rate (a request over the
// rate still spends it, see RequestBudget.Allow), then p's requests being
// served, then everyone's. It returns Admitted and the function that ends
// the request, to be called exactly once; or the reason of the refusal and
// nil.
func (g *Gate) Admit(p peer.ID, now time.Time) (release func(), r Refusal) {
	return g.admit(p, now, nil)
}

// admit is Admit; with Standing set, evict, if not nil, ends the request
// when its slot is taken back for a newcomer.
func (g *Gate) admit(p peer.ID, now time.Time, evict func()) (release func(), r Refusal) {
	if g.cfg.Budget != nil {
		if ok, penalize := g.cfg.Budget.Allow(p, now); !ok {
			if penalize {
				return nil, Flooding
			}
			return nil, OverRate
		}
	}
	g.mu.Lock()
	switch {
	case g.perPeer[p] >= g.cfg.PerPeer:
		g.mu.Unlock()
		return nil, PeerBusy
	case g.pool == nil && g.serving >= g.cfg.Global:
		g.mu.Unlock()
		return nil, ServerBusy
	}
	g.perPeer[p]++
	g.serving++
	g.mu.Unlock()
	if g.pool == nil {
		return func() { g.release(p) }, Admitted
	}
	var onEvict func()
	if evict != nil {
		onEvict = func() {
			g.release(p)
			evict()
		}
	}
	slot := g.pool.take(p, g.cfg.Standing(p), onEvict)
	if slot == nil {
		g.release(p)
		return nil, ServerBusy
	}
	return func() {
		if slot.give() {
			g.release(p)
		}
	}, Admitted
}

func (g *Gate) release(p peer.ID) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.serving--
	if g.perPeer[p]--; g.perPeer[p] <= 0 {
		delete(g.perPeer, p)
	}
}

// Serving is the number of requests being served.
func (g *Gate) Serving() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.serving
}

// AdmitStream is the prologue of a served stream s: it admits the request of
// s's peer, or answers s with Refuse (by default a reset), penalises the peer
// if the refusal says so, and returns nil. An admitted stream gets the
// deadline Timeout; the function returned ends its request and must be
// called exactly once.
func (g *Gate) AdmitStream(s network.Stream) (release func()) {
	p := s.Conn().RemotePeer()
	release, r := g.admit(p, time.Now(), func() { _ = s.ResetWithError(network.StreamResourceLimitExceeded) })
	if r != Admitted {
		if g.cfg.Refuse != nil {
			g.cfg.Refuse(s, r)
		} else {
			_ = s.Reset()
		}
		if r.Penalize() && g.cfg.Penalize != nil {
			g.cfg.Penalize(p, "flooding the "+g.cfg.Protocol+" protocol")
		}
		return nil
	}
	if g.cfg.Timeout > 0 {
		_ = s.SetDeadline(time.Now().Add(g.cfg.Timeout))
	}
	return release
}
