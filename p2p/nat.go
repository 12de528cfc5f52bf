package p2p

import (
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/event"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/protocol"
	"github.com/libp2p/go-libp2p/p2p/host/autorelay"
	relayv2 "github.com/libp2p/go-libp2p/p2p/protocol/circuitv2/relay"
	"github.com/libp2p/go-libp2p/p2p/protocol/holepunch"
	"github.com/multiformats/go-multiaddr"
)

// NAT traversal: AutoNAT (v1 for the node's overall reachability, which the
// relay client and service follow; v2 for each address), the circuit relay
// v2 client and, with Config.RelayService, a bounded relay service, hole
// punching (DCUtR) and optional port mapping. README ("Across the internet")
// and PROTOCOL.md section 1 describe them.

// Limits of the relay service (Config.RelayService). A relayed connection
// only carries identify, ping and the hole punch; no gossip and no chain
// exchange flows over it (see LimitedConnection).
const (
	// RelayMaxReservations bounds the peers holding a slot at once; when
	// they are full, a newcomer takes the slot of the largest address
	// group's newest holder (relaylimit.go).
	RelayMaxReservations = 64
	// RelayMaxReservationsPerIP bounds the slots of the peers behind one IP.
	RelayMaxReservationsPerIP = 4
	// RelayMaxReservationsPerASN bounds the slots of one autonomous system.
	RelayMaxReservationsPerASN = 16
	// RelayMaxCircuits bounds the relayed connections of one peer at once,
	// as source or as destination; when a destination's are full, a new
	// source takes the place of the largest holder's newest (relaylimit.go).
	RelayMaxCircuits = 8
	// RelayReservationTTL is the life of a slot; holders refresh it.
	RelayReservationTTL = time.Hour
	// RelayConnDuration and RelayConnData bound one relayed connection: it is
	// reset after this long or after this many bytes in either direction.
	RelayConnDuration = 2 * time.Minute
	RelayConnData     = 128 << 10
	// RelayBufferSize is the buffer of each direction of a relayed connection.
	RelayBufferSize = 2048
)

// Limits of the relay client and of AutoNAT.
const (
	// MaxRelays is the number of relays a node that is not publicly
	// reachable holds a reservation with.
	MaxRelays = 2
	// relayCandidateInterval is the least interval between two searches for
	// relay candidates.
	relayCandidateInterval = 10 * time.Second
	// relayBackoff is how long a relay that refused a reservation is left alone.
	relayBackoff = time.Minute
	// AutoNATServiceGlobal and AutoNATServicePerPeer bound the AutoNAT v1
	// dial-backs served per minute (AutoNAT v2 has its own: 60 a minute, 12
	// per peer).
	AutoNATServiceGlobal  = 30
	AutoNATServicePerPeer = 3
)

// relayHop is the protocol a peer offering the relay service speaks.
const relayHop = protocol.ID("/libp2p/circuit/relay/0.2.0/hop")

// Reachability values of NATStatus.
const (
	ReachabilityUnknown = "unknown"
	ReachabilityPublic  = "public"
	ReachabilityPrivate = "private"
)

// NATStatus is what the node believes about its reachability.
type NATStatus struct {
	// Reachability is AutoNAT's verdict on the node as a whole: public,
	// private or unknown (no verdict yet, or no AutoNAT server peer).
	Reachability string
	// ReachableAddrs and UnreachableAddrs are the addresses AutoNAT v2
	// confirmed reachable or unreachable from other peers.
	ReachableAddrs, UnreachableAddrs []multiaddr.Multiaddr
	// Announced are the addresses advertised to peers (identify, signed
	// peer record), relayed ones included.
	Announced []multiaddr.Multiaddr
	// RelayAddrs are the relayed addresses among Announced: one per relay
	// holding a reservation and per transport of that relay.
	RelayAddrs []multiaddr.Multiaddr
	// RelayService reports whether the relay service was asked for, and
	// RelayServing whether it runs (it does only while publicly reachable).
	RelayService, RelayServing bool
	// PortMap reports whether port mapping was asked for.
	PortMap bool
	// HolePunchesOK and HolePunchesFailed count the hole punches that
	// ended with a direct connection and those that did not.
	HolePunchesOK, HolePunchesFailed int64
}

// natState is the node's NAT traversal: its libp2p options and what it
// learned.
type natState struct {
	log      *slog.Logger
	announce []multiaddr.Multiaddr
	relay    bool
	portMap  bool
	node     atomic.Pointer[Node] // set once the host exists; nil before
	punchOK  atomic.Int64
	punchBad atomic.Int64
	shares   *relayShares // the relay service's access filter (relaylimit.go); nil without it

	mu           sync.Mutex
	reachability network.Reachability
}

// parseAnnounce parses Config.Announce, naming the first bad entry.
func parseAnnounce(addrs []string) ([]multiaddr.Multiaddr, error) {
	out := make([]multiaddr.Multiaddr, 0, len(addrs))
	for _, s := range addrs {
		m, err := multiaddr.NewMultiaddr(s)
		if err != nil {
			return nil, fmt.Errorf("invalid announce address %q: %w", s, err)
		}
		if _, err := m.ValueForProtocol(multiaddr.P_P2P); err == nil {
			return nil, fmt.Errorf("invalid announce address %q: give it without /p2p/<peer id>", s)
		}
		out = append(out, m)
	}
	return out, nil
}

// newNAT returns the NAT traversal state of cfg and the libp2p options that
// set it up.
func newNAT(cfg Config) (*natState, []libp2p.Option, error) {
	announce, err := parseAnnounce(cfg.Announce)
	if err != nil {
		return nil, nil, err
	}
	s := &natState{log: cfg.Logger.With("component", "p2p"), announce: announce, relay: cfg.RelayService, portMap: cfg.NATPortMap}
	if cfg.NoNATTraversal {
		s.relay, s.portMap = false, false
		return s, s.announceOptions(libp2p.DisableRelay()), nil
	}
	opts := s.announceOptions(
		libp2p.EnableAutoNATv2(),
		libp2p.EnableNATService(),
		libp2p.AutoNATServiceRateLimit(AutoNATServiceGlobal, AutoNATServicePerPeer, time.Minute),
		libp2p.EnableRelay(),
		libp2p.EnableAutoRelayWithPeerSource(s.relayCandidates,
			autorelay.WithNumRelays(MaxRelays),
			autorelay.WithMinCandidates(1),
			autorelay.WithMaxCandidates(8),
			autorelay.WithBootDelay(0),
			autorelay.WithBackoff(relayBackoff),
			autorelay.WithMinInterval(relayCandidateInterval)),
		libp2p.EnableHolePunching(holepunch.WithTracer(punchTracer{s})),
	)
	if cfg.NATPortMap {
		opts = append(opts, libp2p.NATManager(portMapOption(s.log)))
	}
	if cfg.RelayService {
		s.shares = newRelayShares(s)
		opts = append(opts, libp2p.EnableRelayService(relayv2.WithResources(relayResources()), relayv2.WithACL(s.shares)))
	}
	return s, opts, nil
}

// announceOptions returns opts with the address factory of --announce
// when addresses are announced.
func (s *natState) announceOptions(opts ...libp2p.Option) []libp2p.Option {
	if len(s.announce) > 0 {
		opts = append(opts, libp2p.AddrsFactory(s.announced))
	}
	return opts
}

// announced is the address factory of --announce: the announced addresses
// replace the direct ones; relayed addresses stay.
func (s *natState) announced(addrs []multiaddr.Multiaddr) []multiaddr.Multiaddr {
	out := slices.Clone(s.announce)
	for _, a := range addrs {
		if isRelayed(a) {
			out = append(out, a)
		}
	}
	return out
}

// isRelayed reports whether a goes through a relay.
func isRelayed(a multiaddr.Multiaddr) bool {
	_, err := a.ValueForProtocol(multiaddr.P_CIRCUIT)
	return err == nil
}

func reachabilityName(r network.Reachability) string {
	switch r {
	case network.ReachabilityPublic:
		return ReachabilityPublic
	case network.ReachabilityPrivate:
		return ReachabilityPrivate
	default:
		return ReachabilityUnknown
	}
}

// watchNAT logs what the node learns about its reachability and its relays.
// It returns when the node closes.
func (n *Node) watchNAT(sub event.Subscription) {
	defer sub.Close()
	var relayed []multiaddr.Multiaddr
	for {
		select {
		case <-n.ctx.Done():
			return
		case e, ok := <-sub.Out():
			if !ok {
				return
			}
			switch ev := e.(type) {
			case event.EvtLocalReachabilityChanged:
				n.nat.mu.Lock()
				n.nat.reachability = ev.Reachability
				n.nat.mu.Unlock()
				switch ev.Reachability {
				case network.ReachabilityPublic:
					n.log.Info("AutoNAT: this node is publicly reachable", "relay_service", n.nat.relay)
				case network.ReachabilityPrivate:
					n.log.Info("AutoNAT: this node is not publicly reachable; reserving slots on known relays and hole punching")
				default:
					n.log.Info("AutoNAT: reachability unknown")
				}
			case event.EvtHostReachableAddrsChanged:
				n.log.Info("AutoNAT v2: address reachability", "reachable", ev.Reachable, "unreachable", ev.Unreachable, "unknown", ev.Unknown)
			case event.EvtLocalAddressesUpdated:
				var now []multiaddr.Multiaddr
				for _, a := range n.host.Addrs() {
					if isRelayed(a) {
						now = append(now, a)
					}
				}
				if !slices.EqualFunc(now, relayed, multiaddr.Multiaddr.Equal) {
					relayed = now
					if len(now) > 0 {
						n.log.Info("relay reservations held; advertising relayed addresses", "relay_addrs", now)
					} else {
						n.log.Info("no relay reservation held")
					}
				}
			}
		}
	}
}

// startNAT starts watchNAT. n.mu must be held.
func (n *Node) startNAT() error {
	n.nat.node.Store(n)
	sub, err := n.host.EventBus().Subscribe([]any{
		new(event.EvtLocalReachabilityChanged),
		new(event.EvtHostReachableAddrsChanged),
		new(event.EvtLocalAddressesUpdated),
	})
	if err != nil {
		return fmt.Errorf("subscribe to reachability events: %w", err)
	}
	n.goLocked(func() { n.watchNAT(sub) })
	return nil
}

// NATStatus reports what the node believes about its reachability and the
// addresses it announces.
func (n *Node) NATStatus() NATStatus {
	st := NATStatus{
		RelayService:      n.nat.relay,
		PortMap:           n.nat.portMap,
		HolePunchesOK:     n.nat.punchOK.Load(),
		HolePunchesFailed: n.nat.punchBad.Load(),
		Announced:         n.host.Addrs(),
	}
	n.nat.mu.Lock()
	r := n.nat.reachability
	n.nat.mu.Unlock()
	if h, ok := n.host.(interface{ Reachability() network.Reachability }); ok {
		r = h.Reachability()
	}
	st.Reachability = reachabilityName(r)
	if h, ok := n.host.(interface {
		ConfirmedAddrs() (reachable, unreachable, unknown []multiaddr.Multiaddr)
	}); ok {
		st.ReachableAddrs, st.UnreachableAddrs, _ = h.ConfirmedAddrs()
	}
	for _, a := range st.Announced {
		if isRelayed(a) {
			st.RelayAddrs = append(st.RelayAddrs, a)
		}
	}
	st.RelayServing = slices.Contains(n.host.Mux().Protocols(), relayHop)
	return st
}

// punchTracer logs the end of every hole punch and counts them.
type punchTracer struct{ s *natState }

func (t punchTracer) Trace(evt *holepunch.Event) {
	switch e := evt.Evt.(type) {
	case *holepunch.EndHolePunchEvt:
		if e.Success {
			t.s.punchOK.Add(1)
			t.s.log.Info("hole punch succeeded: direct connection", "peer", evt.Remote, "elapsed", e.EllapsedTime)
		} else {
			t.s.punchBad.Add(1)
			t.s.log.Info("hole punch failed: the peer stays reachable through the relay only", "peer", evt.Remote, "elapsed", e.EllapsedTime, "err", e.Error)
		}
	case *holepunch.DirectDialEvt:
		if e.Success {
			t.s.log.Info("direct connection to a relayed peer without a hole punch", "peer", evt.Remote, "elapsed", e.EllapsedTime)
		}
	case *holepunch.ProtocolErrorEvt:
		t.s.log.Debug("hole punch protocol error", "peer", evt.Remote, "err", e.Error)
	}
}
