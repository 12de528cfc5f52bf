package p2p

import (
	"cmp"
	"slices"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	relayv2 "github.com/libp2p/go-libp2p/p2p/protocol/circuitv2/relay"
	"github.com/multiformats/go-multiaddr"
	manet "github.com/multiformats/go-multiaddr/net"
)

// The shares of the relay service (Config.RelayService): its access filter
// (relayv2.ACLFilter) admits reservations and circuits, in the manner of
// libp2p's resource-manager scopes and of Bitcoin Core's inbound eviction.
//
//   - Reservations: RelayReservedKnown of the RelayMaxReservations slots are
//     kept for known peers (the node dialled them, or they are tried,
//     bootstrap or registered peers of its address book); the others go to
//     anyone, RelayMaxReservationsPerIP per IP address. When they are full,
//     a newcomer takes the slot of the newest holder of the address group
//     holding the most slots, if that group holds at least two more than the
//     newcomer's own (a known newcomer takes it whatever its group); only a
//     newcomer of the largest group is refused. The evicted holder is
//     disconnected, which ends its reservation.
//   - Circuits to one destination: at most RelayMaxCircuits. When they are
//     full, a new source takes the newest circuit of the address group
//     holding the most, if it holds at least two more than the source's own
//     group, else of the identity of its own group holding the most, if it
//     holds at least two more than the source itself. The evicted circuit is
//     reset. A source holds at most RelayMaxCircuits circuits in all.
//
// libp2p's own limits sit above these (relayReservationSlack,
// relayCircuitSlack): an evicted holder's slot is freed there only once
// its disconnection or reset is processed, a moment later.

const (
	// RelayReservedKnown is the number of the RelayMaxReservations slots
	// that only known peers may take.
	RelayReservedKnown = 16
	// relayReservationSlack and relayCircuitSlack raise libp2p's own limits
	// above the shares, for the holders being evicted.
	relayReservationSlack = RelayMaxReservations / 4
	relayCircuitSlack     = RelayMaxCircuits
)

// relayResources returns the resources of the relay service: the limits of
// this package, with libp2p's own slots (total and per destination) above
// the shares that relayShares keeps.
func relayResources() relayv2.Resources {
	res := relayv2.DefaultResources()
	res.Limit = &relayv2.RelayLimit{Duration: RelayConnDuration, Data: RelayConnData}
	res.ReservationTTL = RelayReservationTTL
	res.MaxReservations = RelayMaxReservations + relayReservationSlack
	res.MaxCircuits = RelayMaxCircuits + relayCircuitSlack
	res.BufferSize = RelayBufferSize
	res.MaxReservationsPerIP = RelayMaxReservationsPerIP
	res.MaxReservationsPerASN = RelayMaxReservationsPerASN
	return res
}

// relayHold is one reservation.
type relayHold struct {
	ip, group     string
	known         bool
	since, expiry time.Time // first granted; end of the last refresh
}

// relayCircuit is one relayed connection, carried by the hop stream its
// source opened.
type relayCircuit struct {
	src    peer.ID
	group  string
	stream network.Stream
	opened time.Time
}

// relayShares is the relay service's access filter. It is safe for
// concurrent use.
type relayShares struct {
	nat *natState

	mu       sync.Mutex
	holds    map[peer.ID]*relayHold
	circuits map[peer.ID][]*relayCircuit // by destination
}

var _ relayv2.ACLFilter = (*relayShares)(nil)

func newRelayShares(s *natState) *relayShares {
	return &relayShares{nat: s, holds: make(map[peer.ID]*relayHold), circuits: make(map[peer.ID][]*relayCircuit)}
}

// AllowReserve admits or refuses p's reservation from address a, evicting
// another holder when the slots are full (see the shares above).
func (r *relayShares) AllowReserve(p peer.ID, a multiaddr.Multiaddr) bool {
	n := r.nat.node.Load()
	ip, err := manet.ToIP(a)
	if n == nil || err != nil {
		return false
	}
	now := time.Now()
	h := &relayHold{ip: ip.String(), group: addrGroup(a), known: n.relayKnown(p), since: now, expiry: now.Add(RelayReservationTTL)}
	r.mu.Lock()
	r.pruneHoldsLocked(n, now)
	if old := r.holds[p]; old != nil {
		h.since = old.since
		r.holds[p] = h
		r.mu.Unlock()
		return true
	}
	perIP, unknown := 0, 0
	for _, o := range r.holds {
		if o.ip == h.ip {
			perIP++
		}
		if !o.known {
			unknown++
		}
	}
	var victim peer.ID
	switch {
	case perIP >= RelayMaxReservationsPerIP:
		r.mu.Unlock()
		return false
	case len(r.holds) < RelayMaxReservations && (h.known || unknown < RelayMaxReservations-RelayReservedKnown):
	default:
		victim = r.reservationVictimLocked(h)
		if victim == "" {
			r.mu.Unlock()
			n.log.Debug("relay reservation refused: its address group holds the most slots", "peer", p, "group", h.group)
			return false
		}
		delete(r.holds, victim)
		delete(r.circuits, victim)
	}
	r.holds[p] = h
	r.mu.Unlock()
	if victim != "" {
		n.log.Debug("relay reservation evicted for a newcomer", "evicted", victim, "peer", p, "group", h.group)
		_ = n.host.Network().ClosePeer(victim)
	}
	return true
}

// reservationVictimLocked returns the holder whose slot the newcomer h
// takes, or "" when it takes none: the newest unknown holder of the address
// group with the most unknown holders, if h is known or that group holds at
// least two more than h's own.
func (r *relayShares) reservationVictimLocked(h *relayHold) peer.ID {
	counts := make(map[string]int)
	for _, o := range r.holds {
		if !o.known {
			counts[o.group]++
		}
	}
	var victim peer.ID
	var vh *relayHold
	for p, o := range r.holds {
		if o.known {
			continue
		}
		if vh == nil || cmp.Or(cmp.Compare(counts[o.group], counts[vh.group]), o.since.Compare(vh.since)) > 0 {
			victim, vh = p, o
		}
	}
	if vh == nil || !h.known && counts[vh.group] < counts[h.group]+2 {
		return ""
	}
	return victim
}

// pruneHoldsLocked drops the reservations that expired or whose holder is
// no longer connected (libp2p's relay drops them too).
func (r *relayShares) pruneHoldsLocked(n *Node, now time.Time) {
	for p, h := range r.holds {
		if now.After(h.expiry) || n.host.Network().Connectedness(p) != network.Connected {
			delete(r.holds, p)
			delete(r.circuits, p)
		}
	}
}

// AllowConnect admits or refuses a circuit from src, at address srcAddr,
// to dest, evicting another circuit to dest when its slots are full (see
// the shares above).
func (r *relayShares) AllowConnect(src peer.ID, srcAddr multiaddr.Multiaddr, dest peer.ID) bool {
	n := r.nat.node.Load()
	if n == nil {
		return false
	}
	now := time.Now()
	r.mu.Lock()
	r.pruneHoldsLocked(n, now)
	if r.holds[dest] == nil {
		r.mu.Unlock()
		return false
	}
	r.pruneCircuitsLocked()
	bySrc := 0
	for _, cs := range r.circuits {
		for _, c := range cs {
			if c.src == src {
				bySrc++
			}
		}
	}
	s := r.newHopStreamLocked(n, src)
	if s == nil || bySrc >= RelayMaxCircuits {
		r.mu.Unlock()
		return false
	}
	c := &relayCircuit{src: src, group: addrGroup(srcAddr), stream: s, opened: now}
	var victim *relayCircuit
	if cs := r.circuits[dest]; len(cs) >= RelayMaxCircuits {
		if victim = circuitVictim(cs, c); victim == nil {
			r.mu.Unlock()
			n.log.Debug("relayed connection refused: its source holds the most circuits to the destination", "source", src, "dest", dest)
			return false
		}
		r.circuits[dest] = slices.DeleteFunc(cs, func(o *relayCircuit) bool { return o == victim })
	}
	r.circuits[dest] = append(r.circuits[dest], c)
	r.mu.Unlock()
	if victim != nil {
		n.log.Debug("relayed connection evicted for a new source", "evicted", victim.src, "source", src, "dest", dest)
		_ = victim.stream.Reset()
	}
	return true
}

// circuitVictim returns the circuit of cs that the new circuit c takes the
// place of, or nil: the newest circuit of the address group holding the
// most, if it holds at least two more than c's group; else the newest of
// the identity of c's group holding the most, if it holds at least two more
// than c's source.
func circuitVictim(cs []*relayCircuit, c *relayCircuit) *relayCircuit {
	groups, ids := make(map[string]int), make(map[peer.ID]int)
	for _, o := range cs {
		groups[o.group]++
		ids[o.src]++
	}
	newest := func(key func(*relayCircuit) int, in func(*relayCircuit) bool) *relayCircuit {
		var v *relayCircuit
		for _, o := range cs {
			if in(o) && (v == nil || cmp.Or(cmp.Compare(key(o), key(v)), o.opened.Compare(v.opened)) > 0) {
				v = o
			}
		}
		return v
	}
	byGroup := func(o *relayCircuit) int { return groups[o.group]*len(cs) + ids[o.src] }
	if v := newest(byGroup, func(*relayCircuit) bool { return true }); v != nil && v.group != c.group && groups[v.group] >= groups[c.group]+2 {
		return v
	}
	byID := func(o *relayCircuit) int { return ids[o.src] }
	if v := newest(byID, func(o *relayCircuit) bool { return o.group == c.group }); v != nil && ids[v.src] >= ids[c.src]+2 {
		return v
	}
	return nil
}

// pruneCircuitsLocked drops the circuits whose hop stream closed.
func (r *relayShares) pruneCircuitsLocked() {
	for dest, cs := range r.circuits {
		cs = slices.DeleteFunc(cs, func(c *relayCircuit) bool { return !streamOpen(c.stream) })
		if len(cs) == 0 {
			delete(r.circuits, dest)
		} else {
			r.circuits[dest] = cs
		}
	}
}

// newHopStreamLocked returns the hop stream src opened that carries no
// recorded circuit, the newest if several do: the one of the connect
// request being admitted.
func (r *relayShares) newHopStreamLocked(n *Node, src peer.ID) network.Stream {
	recorded := make(map[string]bool)
	for _, cs := range r.circuits {
		for _, c := range cs {
			if c.src == src {
				recorded[c.stream.ID()] = true
			}
		}
	}
	var found network.Stream
	for _, conn := range n.host.Network().ConnsToPeer(src) {
		for _, s := range conn.GetStreams() {
			st := s.Stat()
			if s.Protocol() != relayHop || st.Direction != network.DirInbound || recorded[s.ID()] {
				continue
			}
			if found == nil || st.Opened.After(found.Stat().Opened) {
				found = s
			}
		}
	}
	return found
}

// streamOpen reports whether s is still open on its connection.
func streamOpen(s network.Stream) bool {
	return slices.ContainsFunc(s.Conn().GetStreams(), func(o network.Stream) bool { return o.ID() == s.ID() })
}

// holding reports whether p holds a reservation.
func (r *relayShares) holding(p peer.ID) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.holds[p] != nil
}

// holdsRelayReservation reports whether p holds a reservation of this
// node's relay service.
func (n *Node) holdsRelayReservation(p peer.ID) bool {
	return n.nat != nil && n.nat.shares != nil && n.nat.shares.holding(p)
}

// groupCounts returns the reservations held by each address group.
func (r *relayShares) groupCounts() map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	counts := make(map[string]int)
	for _, h := range r.holds {
		counts[h.group]++
	}
	return counts
}

// relayKnown reports whether p is a peer the relay service keeps slots
// for: one this node dialled, or a tried, bootstrap or registered peer of
// its address book.
func (n *Node) relayKnown(p peer.ID) bool {
	if n.Outbound(p) {
		return true
	}
	e, ok := n.book.get(p)
	return ok && (e.Tried || e.Kept)
}
