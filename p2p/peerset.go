package p2p

import (
	"cmp"
	"slices"
	"sync/atomic"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/prometheus/client_golang/prometheus"
)

// The peer set: at most Config.TargetPeers outbound peers (D, dialled by the
// connection keeper and replaced when lost) and Config.MaxInbound inbound
// peers (D by default, so at most 2D in all; outbound peers above D, the
// bootstrap and registered peers redialled whatever the count, take their
// places from the inbound allowance). A node at its inbound
// allowance still accepts a newcomer, up to inboundHeadroom more (beyond,
// only by evicting an unprotected inbound peer), and then sheds its least
// useful unprotected inbound peers down to the allowance (evictable);
// without that, a fresh node joining a network whose every node is full
// would find no room anywhere.
const (
	// tagOutbound ranks the peers this node dialled above inbound ones in
	// the connection manager's trimming.
	tagOutbound      = "outbound"
	tagOutboundValue = 10

	// shedBackoff is how long a shed peer is refused: it dials another
	// node instead of coming straight back and pushing out another peer.
	shedBackoff = time.Minute
)

// inboundHeadroom is how many inbound peers above its allowance a node
// accepts at once: the newcomers it makes room for, shedding others.
func inboundHeadroom(maxInbound int) int { return max(2, maxInbound/2) }

// peerConns counts one peer's connections by direction.
type peerConns struct {
	in, out int
	since   time.Time // when the first of them opened
}

// inbound reports whether the peer counts as inbound: it dialled us and we
// never dialled it.
func (c *peerConns) inbound() bool { return c.out == 0 && c.in > 0 }

// PeerSetStats are the counts of the peer set.
type PeerSetStats struct {
	Outbound int    // connected peers this node dialled
	Inbound  int    // connected peers that dialled this node (and were not dialled by it)
	Shed     uint64 // inbound peers disconnected to keep within the allowance
}

type peerSetCounters struct{ shed atomic.Uint64 }

// peerSetTable declares the series of PeerSetStats.
func (c *peerSetCounters) table() StatTable[PeerSetStats] {
	return StatTable[PeerSetStats]{
		GaugeStat("p2p_peers_outbound", "Connected peers this node dialled (the target is --target-peers).",
			func(s *PeerSetStats) float64 { return float64(s.Outbound) }),
		GaugeStat("p2p_peers_inbound", "Connected peers that dialled this node (the allowance is --max-inbound).",
			func(s *PeerSetStats) float64 { return float64(s.Inbound) }),
		CounterStat("p2p_peers_shed_total", "Inbound peers disconnected to keep within the inbound allowance.",
			&c.shed, func(s *PeerSetStats) *uint64 { return &s.Shed }),
	}
}

// PeerSetStats returns the counts of the peer set.
func (n *Node) PeerSetStats() PeerSetStats {
	var st PeerSetStats
	st.Inbound, st.Outbound = n.peerCounts()
	n.peerSetStats.table().Snapshot(&st)
	return st
}

func (n *Node) peerSetCollector() prometheus.Collector {
	return n.peerSetStats.table().Collector(n.PeerSetStats)
}

// peerCounts returns the inbound and outbound connected peers.
func (n *Node) peerCounts() (in, out int) {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.peerCountsLocked()
}

// peerCountsLocked is peerCounts with n.mu held.
func (n *Node) peerCountsLocked() (in, out int) {
	for _, c := range n.conns {
		if c.inbound() {
			in++
		} else if c.out > 0 {
			out++
		}
	}
	return in, out
}

// outboundCount returns the number of connected peers this node dialled.
func (n *Node) outboundCount() int {
	_, out := n.peerCounts()
	return out
}

// trackConn counts a new or closed connection of c's peer, and returns
// whether the peer is now connected, inbound and over the allowance.
func (n *Node) trackConn(c network.Conn, opened bool) (shed bool) {
	p := c.RemotePeer()
	n.mu.Lock()
	defer n.mu.Unlock()
	pc := n.conns[p]
	if pc == nil {
		if !opened {
			return false
		}
		pc = &peerConns{since: time.Now()}
		n.conns[p] = pc
	}
	d := 1
	if !opened {
		d = -1
	}
	if c.Stat().Direction == network.DirInbound {
		pc.in = max(0, pc.in+d)
	} else {
		pc.out = max(0, pc.out+d)
	}
	if pc.in == 0 && pc.out == 0 {
		delete(n.conns, p)
		return false
	}
	return opened && pc.inbound() && n.inboundExcessLocked() > 0
}

func (n *Node) inboundLocked() int {
	in, _ := n.peerCountsLocked()
	return in
}

// inboundExcessLocked returns how many inbound peers the node holds beyond
// what it keeps: its allowance, less its outbound peers above the target.
// Bootstrap and registered peers are redialled whatever the outbound count
// (connect.go), so a node that filled its target while one was away holds
// more than D outbound peers once it is back; the inbound side then gives
// way, so that the peer set stays within TargetPeers+MaxInbound.
func (n *Node) inboundExcessLocked() int {
	in, out := n.peerCountsLocked()
	return in - max(0, n.cfg.MaxInbound-max(0, out-n.cfg.TargetPeers))
}

// admitInbound is the gater's check of a secured inbound connection: a
// peer already connected is always admitted, a new one while the node has
// fewer than its allowance plus the headroom of inbound peers. Beyond that,
// as Bitcoin Core does, a newcomer is admitted by evicting the least useful
// unprotected inbound peer (evictable); it is refused only when every
// inbound peer is protected, so that identities holding the inbound slots
// cannot lock out an honest newcomer, nor push out a peer that has served.
func (n *Node) admitInbound(p peer.ID) bool {
	n.mu.Lock()
	if n.conns[p] != nil {
		n.mu.Unlock()
		return true
	}
	if at, ok := n.shedAt[p]; ok && time.Since(at) < shedBackoff {
		n.mu.Unlock()
		return false
	}
	if n.inboundLocked() < n.cfg.MaxInbound+inboundHeadroom(n.cfg.MaxInbound) {
		n.mu.Unlock()
		return true
	}
	n.mu.Unlock()
	victims := n.evictable(time.Now(), 1, 0)
	if len(victims) == 0 {
		return false
	}
	n.shed(victims[0], "making room for a newcomer")
	return true
}

// wakeShedder asks keepInbound to shed inbound peers now.
func (n *Node) wakeShedder() {
	select {
	case n.shedWake <- struct{}{}:
	default:
	}
}

// keepInbound sheds inbound peers above the allowance when woken by a new
// inbound connection and, for those that were too new to shed then, at
// every maintainInterval. It returns when the node closes.
func (n *Node) keepInbound() {
	n.every(maintainInterval, n.shedWake, func() {
		now := time.Now()
		n.mu.Lock()
		for p, at := range n.shedAt {
			if now.Sub(at) >= shedBackoff {
				delete(n.shedAt, p)
			}
		}
		excess := n.inboundExcessLocked()
		n.mu.Unlock()
		if excess <= 0 {
			return
		}
		for _, p := range n.evictable(now, excess, n.cfg.shedGrace) {
			n.shed(p, "above the inbound allowance")
		}
	})
}

// shed disconnects inbound peer p and refuses it for shedBackoff.
func (n *Node) shed(p peer.ID, why string) {
	n.mu.Lock()
	n.shedAt[p] = time.Now()
	n.mu.Unlock()
	n.log.Debug("shedding inbound peer", "peer", p, "why", why, "allowance", n.cfg.MaxInbound)
	n.peerSetStats.shed.Add(1)
	n.goTracked(func() {
		if err := n.host.Network().ClosePeer(p); err != nil {
			n.log.Debug("closing a shed peer", "peer", p, "err", err)
		}
	})
}

// candidate is an inbound peer that may be shed, with what makes it useful.
type candidate struct {
	id         peer.ID
	since      time.Time
	score      float64 // its gossip score
	meshes     int     // meshes it is in
	deliveries int     // messages it delivered first (tagDeliveries)
}

// protectedByDeliveries is how many of the inbound peers that delivered
// the most messages first are never shed.
const protectedByDeliveries = 4

// evictable returns up to k inbound peers to disconnect, least useful
// first, in the manner of Bitcoin Core's eviction: bootstrap and registered
// peers and the holders of a relay reservation are not candidates; the
// protectedByDeliveries peers that delivered the most messages first and
// the longer-connected half are protected unless their gossip score is
// negative (identities that just arrived, however many, cannot
// push out a peer that has served); of the rest, the lowest negative
// scores go first, then those in fewer of this node's meshes, then those
// that delivered fewer messages, then the newest. Peers connected for less than
// grace are not candidates (a newcomer admitted above the allowance gets
// the time to join the meshes and show its use).
func (n *Node) evictable(now time.Time, k int, grace time.Duration) []peer.ID {
	n.mu.Lock()
	var cands []candidate
	for id, c := range n.conns {
		src := n.sources[id]
		if c.inbound() && src != SourceBootstrap && src != SourceRegister {
			cands = append(cands, candidate{id: id, since: c.since})
		}
	}
	n.mu.Unlock()
	// The relay service's reservation holders are shed by its own shares
	// (relaylimit.go), not here.
	cands = slices.DeleteFunc(cands, func(c candidate) bool { return n.holdsRelayReservation(c.id) })
	for i := range cands {
		c := &cands[i]
		c.score = n.Score(c.id)
		c.meshes = n.mesh.topicsOf(c.id)
		if info := n.cm.GetTagInfo(c.id); info != nil {
			c.deliveries = info.Tags[tagDeliveries]
		}
	}
	protected := make(map[peer.ID]bool)
	slices.SortFunc(cands, func(a, b candidate) int { return cmp.Compare(b.deliveries, a.deliveries) })
	for _, c := range cands[:min(protectedByDeliveries, len(cands))] {
		if c.deliveries > 0 && c.score >= 0 {
			protected[c.id] = true
		}
	}
	slices.SortFunc(cands, func(a, b candidate) int { return a.since.Compare(b.since) })
	for _, c := range cands[:len(cands)/2] {
		protected[c.id] = c.score >= 0
	}
	cands = slices.DeleteFunc(cands, func(c candidate) bool { return protected[c.id] || now.Sub(c.since) < grace })
	slices.SortFunc(cands, func(a, b candidate) int {
		return cmp.Or(cmp.Compare(min(a.score, 0), min(b.score, 0)), cmp.Compare(a.meshes, b.meshes),
			cmp.Compare(a.deliveries, b.deliveries), b.since.Compare(a.since))
	})
	out := make([]peer.ID, 0, min(k, len(cands)))
	for _, c := range cands[:min(k, len(cands))] {
		out = append(out, c.id)
	}
	return out
}
