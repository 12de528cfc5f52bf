package p2p

import (
	"fmt"
	"slices"
	"testing"
	"time"
)

// peerSetConfig is a test node with outbound target d, the default inbound
// allowance (d) and a short shedding grace.
func peerSetConfig(t *testing.T, d int) Config {
	cfg := testConfig(t)
	cfg.TargetPeers = d
	cfg.shedGrace = cfgGrace
	return cfg
}

// cfgGrace is the shedding grace of the test nodes.
const cfgGrace = time.Second

// within reports, for a failure message, whether every node keeps within
// its allowance and 2D, and otherwise the first that does not.
func within(nodes []*Node, d int) error {
	for i, n := range nodes {
		st := n.PeerSetStats()
		if st.Inbound > d || st.Outbound+st.Inbound > 2*d {
			return fmt.Errorf("node %d: %d inbound, %d outbound", i, st.Inbound, st.Outbound)
		}
	}
	return nil
}

// TestFullNetworkMakesRoom: in a network whose every node has its D
// outbound peers and its D inbound peers, a fresh node bootstrapped to one
// of them still reaches D outbound peers: the full nodes it dials admit it
// and shed an older, less useful inbound peer. Every node comes back within
// its allowance and 2D. (The full nodes dial only the peers they were given,
// so that the ring stays as built.)
func TestFullNetworkMakesRoom(t *testing.T) {
	const d, count = 2, 5
	nodes := make([]*Node, count)
	for i := range nodes {
		cfg := peerSetConfig(t, d)
		cfg.SkipAddrBook = true
		nodes[i] = newNode(t, cfg)
		join(t, nodes[i], "blocks", nil)
	}
	// Node i dials i+1 and i+2: D outbound and D inbound each, a full ring.
	for i := range nodes {
		for k := 1; k <= d; k++ {
			connect(t, nodes[i], nodes[(i+k)%count])
		}
	}
	for i, n := range nodes {
		if st := n.PeerSetStats(); st.Inbound != d || st.Outbound != d {
			t.Fatalf("node %d before the newcomer: %+v, want %d inbound and %d outbound", i, st, d, d)
		}
	}
	// Established peers: older than the grace that protects newcomers.
	built := time.Now()
	waitFor(t, 10*time.Second, "the ring's connections past their grace", func() bool {
		return time.Since(built) > 2*cfgGrace
	})

	cfg := peerSetConfig(t, d)
	cfg.Bootstrap = []string{nodes[0].Addrs()[0].String()}
	fresh := newNode(t, cfg)
	join(t, fresh, "blocks", nil)
	waitFor(t, 60*time.Second, "the newcomer at its outbound target", func() bool {
		return fresh.PeerSetStats().Outbound >= d
	})
	all := append(nodes, fresh)
	waitFor(t, 60*time.Second, "every node within its allowance and 2D", func() bool {
		return within(all, d) == nil
	})
	if fresh.PeerSetStats().Outbound < d {
		t.Errorf("newcomer lost its outbound peers: %+v", fresh.PeerSetStats())
	}
	var shed uint64
	for _, n := range nodes {
		shed += n.PeerSetStats().Shed
	}
	if shed == 0 {
		t.Error("no full node shed an inbound peer, yet the newcomer got in")
	}
}

// TestInboundGated: a node with an inbound allowance of 1 admits at most
// the allowance plus the headroom of inbound peers at once; the gater
// closes the connections beyond.
func TestInboundGated(t *testing.T) {
	cfg := peerSetConfig(t, 1)
	checkInboundGated(t, cfg, func(leaf, hub *Node) error {
		return leaf.Connect(t.Context(), hub.Addrs()[0])
	})
}

// checkInboundGated starts a hub of cfg with an inbound allowance of 1 and
// more leaves than it admits, each dialling it with dial, and waits until
// the hub holds exactly the allowance plus the headroom.
func checkInboundGated(t *testing.T, cfg Config, dial func(leaf, hub *Node) error) {
	t.Helper()
	cfg.TargetPeers = 1
	cfg.shedGrace = time.Hour // nobody is shed: only the gater limits
	hub := newNode(t, cfg)
	limit := 1 + inboundHeadroom(1)
	leaves := make([]*Node, limit+2)
	for i := range leaves {
		leaves[i] = newNode(t, peerSetConfig(t, 1))
		_ = dial(leaves[i], hub) // may fail: refused
	}
	waitInbound(t, 20*time.Second, hub, leaves, limit)
}

// waitInbound waits until exactly limit of the leaves are connected to the
// hub, and the hub counts as many inbound peers.
func waitInbound(t *testing.T, timeout time.Duration, hub *Node, leaves []*Node, limit int) {
	t.Helper()
	waitFor(t, timeout, fmt.Sprintf("%d leaves connected to the hub, as many inbound", limit), func() bool {
		k := 0
		for _, l := range leaves {
			if connected(l, hub) {
				k++
			}
		}
		return k == limit && hub.PeerSetStats().Inbound == limit
	})
}

// TestNewcomersCannotPushOutEstablished: identities that arrive in a burst
// and take every inbound slot (the allowance and the headroom) neither push
// out inbound peers that have served (delivered messages first), nor lock
// out an honest newcomer: it is admitted by evicting one of them.
func TestNewcomersCannotPushOutEstablished(t *testing.T) {
	const d = 2
	leaf := func() *Node {
		cfg := peerSetConfig(t, d)
		cfg.SkipAddrBook = true
		return newNode(t, cfg)
	}
	hub := leaf()
	hubTopic := join(t, hub, "blocks", nil)
	established := []*Node{leaf(), leaf()}
	for i, e := range established {
		topic := join(t, e, "blocks", nil)
		connect(t, e, hub)
		waitFor(t, 10*time.Second, "the hub in the established peer's mesh", func() bool {
			return slices.Contains(topic.MeshPeers(), hub.ID()) && slices.Contains(hubTopic.MeshPeers(), e.ID())
		})
		if err := topic.Publish(t.Context(), fmt.Appendf(nil, "%032d served", i)); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 10*time.Second, "the hub to count the established peer's delivery", func() bool {
			info := hub.cm.GetTagInfo(e.ID())
			return info != nil && info.Tags[tagDeliveries] > 0
		})
	}

	limit := d + inboundHeadroom(d)
	for range 3 * limit {
		_ = leaf().Connect(t.Context(), hub.Addrs()[0]) // may be refused or evicted
	}
	honest := leaf()
	if err := honest.Connect(t.Context(), hub.Addrs()[0]); err != nil {
		t.Fatalf("an honest newcomer was refused by a hub full of newcomers: %v", err)
	}
	waitFor(t, 10*time.Second, "the hub back within its allowance and headroom", func() bool {
		return hub.PeerSetStats().Inbound <= limit
	})
	for i, e := range established {
		if !connected(hub, e) {
			t.Errorf("established peer %d, which served, was pushed out by newcomers", i)
		}
	}
	if hub.PeerSetStats().Shed == 0 {
		t.Error("no newcomer was evicted, yet more arrived than the hub admits")
	}
}

// TestOutboundAboveTargetTakesInboundRoom: bootstrap peers are dialled
// whatever the outbound count, so a node with more of them than its target
// holds more than D outbound peers; it then keeps fewer inbound peers, so
// that its peer set stays within TargetPeers+MaxInbound.
func TestOutboundAboveTargetTakesInboundRoom(t *testing.T) {
	const d = 1
	var boots []string
	for range 2 {
		boots = append(boots, newNode(t, peerSetConfig(t, d)).Addrs()[0].String())
	}
	cfg := peerSetConfig(t, d)
	cfg.SkipAddrBook = true
	cfg.Bootstrap = boots
	n := newNode(t, cfg)
	waitFor(t, 20*time.Second, "both bootstrap peers connected", func() bool {
		return n.PeerSetStats().Outbound == 2
	})
	leaf := newNode(t, peerSetConfig(t, d))
	if err := leaf.Connect(t.Context(), n.Addrs()[0]); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "the inbound peer shed: 2 outbound peers fill 2D", func() bool {
		st := n.PeerSetStats()
		return st.Inbound == 0 && st.Shed > 0
	})
	if st := n.PeerSetStats(); st.Outbound != 2 {
		t.Errorf("the node lost a bootstrap peer: %+v", st)
	}
}
