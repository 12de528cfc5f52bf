package p2p

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/control"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/net/swarm"
	"github.com/libp2p/go-libp2p/p2p/protocol/circuitv2/client"
	"github.com/multiformats/go-multiaddr"
)

// Relay reservations: 80 identities on 20 addresses of 5 address groups
// take every slot of a relay; an honest node behind NAT, new to the relay,
// still gets its reservation (the largest group gives one up), keeps it
// while the identities keep asking for theirs, and no group holds more than
// its share once the honest node is in.
func TestRelayReservationsSharedByGroup(t *testing.T) {
	const groups, addrsPerGroup, idsPerAddr = 5, 4, 4
	relay := newRelayNode(t)
	rinfo := peer.AddrInfo{ID: relay.ID(), Addrs: relay.Host().Addrs()}

	var ips []string
	for g := range groups {
		for a := range addrsPerGroup {
			for range idsPerAddr {
				ips = append(ips, fmt.Sprintf("127.0.%d.%d", 200+g, a+1))
			}
		}
	}
	attackers := loopbackHosts(t, ips)
	var held atomic.Int64
	reserve := func(ctx context.Context, a host.Host) error {
		if err := a.Connect(ctx, rinfo); err != nil {
			return err
		}
		if _, err := client.Reserve(ctx, a, rinfo); err == nil {
			held.Add(1)
		}
		return nil
	}
	parallel(t, attackers, reserve)
	full := 0
	for _, c := range relay.nat.shares.groupCounts() {
		full += c
	}
	t.Logf("HELD: %d requests of %d identities on %d addresses got a reservation; %d held at once", held.Load(), len(attackers), groups*addrsPerGroup, full)
	if full != RelayMaxReservations-RelayReservedKnown {
		t.Fatalf("the attackers hold %d reservations, want every slot open to unknown peers (%d)", full, RelayMaxReservations-RelayReservedKnown)
	}

	honest := newNATNode(t, relay)
	waitFor(t, 45*time.Second, "the honest node behind NAT holding a reservation", func() bool {
		return holdsReservation(honest, relay)
	})

	// The identities ask again, as a real attacker would: refreshes and
	// newcomers alike.
	conn := honest.Host().Network().ConnsToPeer(relay.ID())[0]
	held.Store(0)
	parallel(t, attackers, reserve)
	t.Logf("HELD: after the honest node's arrival, %d of %d attacker requests got a reservation", held.Load(), len(attackers))
	if !slices.Contains(honest.Host().Network().ConnsToPeer(relay.ID()), conn) || !relay.nat.shares.holding(honest.ID()) {
		t.Fatal("the honest node lost its reservation to the attackers' second wave")
	}
	// A peer the relay dialled gets one of the slots kept for known peers,
	// though its address group is one of the attackers'.
	known := loopbackHosts(t, []string{"127.0.200.9"})[0]
	if err := relay.Host().Connect(t.Context(), peer.AddrInfo{ID: known.ID(), Addrs: known.Addrs()}); err != nil {
		t.Fatal(err)
	}
	if _, err := client.Reserve(t.Context(), known, rinfo); err != nil {
		t.Errorf("a peer the relay dialled was refused a reservation: %v", err)
	}
	counts := relay.nat.shares.groupCounts()
	t.Logf("reservations by address group: %v", counts)
	for g, c := range counts {
		if c > (RelayMaxReservations-RelayReservedKnown)/groups+2 && g != addrGroup(honestConnAddr(t, relay, honest.ID())) {
			t.Errorf("group %s holds %d reservations, more than its share", g, c)
		}
	}
}

// Circuits to a node behind NAT: 8 identities of one address group hold
// every relayed connection to it and reopen them as soon as they close;
// honest sources on other address groups still reach it, 24 times out of 24.
func TestRelayCircuitsSharedBySource(t *testing.T) {
	const honestSources, attempts = 3, 8
	relay := newRelayNode(t)
	rinfo := peer.AddrInfo{ID: relay.ID(), Addrs: relay.Host().Addrs()}
	dest := newNATNode(t, relay)
	waitFor(t, 45*time.Second, "the node behind NAT holding a reservation", func() bool {
		return holdsReservation(dest, relay)
	})
	circuit, err := multiaddr.NewMultiaddr("/p2p/" + relay.ID().String() + "/p2p-circuit")
	if err != nil {
		t.Fatal(err)
	}
	dinfo := peer.AddrInfo{ID: dest.ID(), Addrs: []multiaddr.Multiaddr{rinfo.Addrs[0].Encapsulate(circuit)}}
	reach := func(ctx context.Context, h host.Host) error {
		h.Network().(*swarm.Swarm).Backoff().Clear(dest.ID())
		ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		defer cancel()
		return h.Connect(network.WithAllowLimitedConn(ctx, "test"), dinfo)
	}

	var ips []string
	for i := range RelayMaxCircuits {
		ips = append(ips, fmt.Sprintf("127.0.210.%d", 1+i%2))
	}
	attackers := loopbackHosts(t, ips, libp2p.ConnectionGater(dialOutOnly{}))
	parallel(t, attackers, func(ctx context.Context, a host.Host) error {
		if err := a.Connect(ctx, rinfo); err != nil {
			return err
		}
		return reach(ctx, a)
	})
	// The attackers reopen a circuit as soon as theirs closes.
	ctx, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	for _, a := range attackers {
		wg.Go(func() {
			tick := time.NewTicker(50 * time.Millisecond)
			defer tick.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-tick.C:
				}
				if a.Network().Connectedness(dest.ID()) != network.Limited {
					_ = reach(ctx, a)
				}
			}
		})
	}

	ok := 0
	var failures []string
	for i := range honestSources {
		h := loopbackHosts(t, []string{fmt.Sprintf("127.0.%d.1", 220+i)}, libp2p.ConnectionGater(dialOutOnly{}))[0]
		if err := h.Connect(t.Context(), rinfo); err != nil {
			t.Fatal(err)
		}
		for range attempts {
			if err := reach(t.Context(), h); err != nil {
				failures = append(failures, err.Error())
			} else {
				ok++
			}
			_ = h.Network().ClosePeer(dest.ID())
			waitFor(t, 10*time.Second, "the honest circuit closed", func() bool {
				return h.Network().Connectedness(dest.ID()) == network.NotConnected
			})
		}
	}
	t.Logf("HELD: %d of %d honest attempts reached the node behind NAT", ok, honestSources*attempts)
	if ok != honestSources*attempts {
		t.Fatalf("%d of %d honest attempts failed: %v", len(failures), honestSources*attempts, failures[:min(3, len(failures))])
	}
}

// newRelayNode starts a node on 127.0.0.1 that offers the relay service
// (as a public node) and admits every inbound peer.
func newRelayNode(t *testing.T) *Node {
	t.Helper()
	cfg := testConfig(t)
	cfg.RelayService = true // and the default inbound allowance, D + RelayMaxReservations
	cfg.HostOptions = []libp2p.Option{libp2p.ForceReachabilityPublic()}
	n := newNode(t, cfg)
	waitFor(t, 10*time.Second, "the relay service running", func() bool { return n.NATStatus().RelayServing })
	return n
}

// newNATNode starts a node that believes itself behind NAT, with relay as
// its bootstrap peer: it reserves a slot there.
func newNATNode(t *testing.T, relay *Node) *Node {
	t.Helper()
	cfg := testConfig(t)
	cfg.Bootstrap = []string{relay.Addrs()[0].String()}
	cfg.HostOptions = []libp2p.Option{libp2p.ForceReachabilityPrivate()}
	return newNode(t, cfg)
}

// holdsReservation reports whether n's relay client holds a reservation
// with relay: it protects the connection to each relay it holds one with
// (under the tag "autorelay"). On loopback the relay hands out no address,
// so n advertises no relayed address.
func holdsReservation(n, relay *Node) bool {
	return n.Host().ConnManager().IsProtected(relay.ID(), "autorelay")
}

// honestConnAddr is the remote address of n's direct connection to p.
func honestConnAddr(t *testing.T, n *Node, p peer.ID) multiaddr.Multiaddr {
	t.Helper()
	conns := slices.DeleteFunc(n.Host().Network().ConnsToPeer(p), func(c network.Conn) bool { return c.Stat().Limited })
	if len(conns) == 0 {
		t.Fatalf("no direct connection to %s", p)
	}
	return conns[0].RemoteMultiaddr()
}

// loopbackHosts starts one bare libp2p host (TCP, no relay service, no
// resource limits, and opts) listening on each of ips, a loopback address;
// a host's connections leave from its listen address. They stop when the
// test ends.
func loopbackHosts(t *testing.T, ips []string, opts ...libp2p.Option) []host.Host {
	t.Helper()
	hosts := make([]host.Host, 0, len(ips))
	for _, ip := range ips {
		h, err := libp2p.New(append([]libp2p.Option{
			libp2p.ListenAddrStrings("/ip4/" + ip + "/tcp/0"),
			libp2p.ResourceManager(&network.NullResourceManager{}),
		}, opts...)...)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { h.Close() })
		hosts = append(hosts, h)
	}
	return hosts
}

// dialOutOnly is a connection gater that refuses every inbound connection:
// a source that the node behind NAT cannot dial back, so that it reaches
// that node through the relay only.
type dialOutOnly struct{}

func (dialOutOnly) InterceptPeerDial(peer.ID) bool                                  { return true }
func (dialOutOnly) InterceptAddrDial(peer.ID, multiaddr.Multiaddr) bool             { return true }
func (dialOutOnly) InterceptAccept(network.ConnMultiaddrs) bool                     { return false }
func (dialOutOnly) InterceptUpgraded(network.Conn) (bool, control.DisconnectReason) { return true, 0 }
func (dialOutOnly) InterceptSecured(d network.Direction, _ peer.ID, _ network.ConnMultiaddrs) bool {
	return d == network.DirOutbound
}

// circuitVictim: a new source takes the newest circuit of the largest
// address group when that group holds two more than its own, else of the
// largest identity of its own group when it holds two more than itself.
func TestCircuitVictim(t *testing.T) {
	ids := []peer.ID{newPeerID(t), newPeerID(t), newPeerID(t), newPeerID(t)}
	base := time.Now()
	circ := func(id, group string, opened int) *relayCircuit {
		i := int(id[0] - 'a')
		return &relayCircuit{src: ids[i], group: group, opened: base.Add(time.Duration(opened) * time.Second)}
	}
	for _, tc := range []struct {
		name string
		held []*relayCircuit
		c    *relayCircuit
		want int // index in held, -1 for none
	}{
		{"the largest group's newest", []*relayCircuit{circ("a", "g1", 1), circ("a", "g1", 3), circ("b", "g1", 2), circ("c", "g2", 4)}, circ("d", "g3", 5), 1},
		{"the largest group's largest identity first", []*relayCircuit{circ("a", "g1", 1), circ("a", "g1", 2), circ("b", "g1", 3)}, circ("d", "g3", 5), 1},
		{"a group one above the newcomer's keeps its circuits", []*relayCircuit{circ("a", "g1", 1), circ("a", "g1", 2), circ("c", "g2", 3)}, circ("d", "g2", 5), -1},
		{"in its own group, the largest identity", []*relayCircuit{circ("a", "g1", 1), circ("a", "g1", 2), circ("b", "g1", 3)}, circ("d", "g1", 5), 1},
		{"an identity one above the newcomer keeps its circuits", []*relayCircuit{circ("a", "g1", 1), circ("a", "g1", 2), circ("d", "g1", 3)}, circ("d", "g1", 5), -1},
	} {
		got := circuitVictim(tc.held, tc.c)
		want := (*relayCircuit)(nil)
		if tc.want >= 0 {
			want = tc.held[tc.want]
		}
		if got != want {
			t.Errorf("%s: got %+v, want %+v", tc.name, got, want)
		}
	}
}
