package p2p

import (
	"context"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	"github.com/libp2p/go-libp2p/core/record"
	"github.com/libp2p/go-libp2p/p2p/protocol/circuitv2/client"
	relayv2 "github.com/libp2p/go-libp2p/p2p/protocol/circuitv2/relay"
	"github.com/multiformats/go-multiaddr"
)

// A peer that reaches a node only through a relay holds a limited
// connection: the node lists it as limited, refuses its discovery and
// DirectOnly streams and opens none toward it, while identify still runs.
func TestLimitedConnectionCarriesNoConsensusStreams(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	n := newNode(t, testConfig(t))
	const direct = protocol.ID("/gossipchain/test-direct/1.0.0")
	served := make(chan struct{}, 1)
	n.Host().SetStreamHandler(direct, DirectOnly(func(s network.Stream) { served <- struct{}{}; s.Close() }))

	// A bare relay, and a bare peer that reaches the node through it.
	rh := newBareRelay(t)
	ph, err := libp2p.New(libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"))
	if err != nil {
		t.Fatal(err)
	}
	defer ph.Close()
	relayInfo := peer.AddrInfo{ID: rh.ID(), Addrs: rh.Addrs()}
	if err := n.Host().Connect(ctx, relayInfo); err != nil {
		t.Fatal(err)
	}
	if _, err := client.Reserve(ctx, n.Host(), relayInfo); err != nil {
		t.Fatalf("reserve: %v", err)
	}
	circuit, err := multiaddr.NewMultiaddr("/p2p/" + rh.ID().String() + "/p2p-circuit")
	if err != nil {
		t.Fatal(err)
	}
	if err := ph.Connect(ctx, relayInfo); err != nil {
		t.Fatal(err)
	}
	limited := network.WithAllowLimitedConn(ctx, "test")
	if err := ph.Connect(limited, peer.AddrInfo{ID: n.ID(), Addrs: []multiaddr.Multiaddr{rh.Addrs()[0].Encapsulate(circuit)}}); err != nil {
		t.Fatalf("connect through the relay: %v", err)
	}

	waitFor(t, 10*time.Second, "the node lists the peer as limited", func() bool {
		i := slices.IndexFunc(n.Peers(), func(p PeerInfo) bool { return p.ID == ph.ID() })
		return i >= 0 && n.Peers()[i].Limited
	})
	for _, proto := range []protocol.ID{DiscoveryProtocol(testNetwork), direct} {
		s, err := ph.NewStream(limited, n.ID(), proto)
		if err != nil {
			continue // refused at negotiation: as good
		}
		_, _ = s.Write([]byte{1, MaxPeerRecords})
		_ = s.CloseWrite()
		_ = s.SetReadDeadline(time.Now().Add(5 * time.Second))
		if b, err := io.ReadAll(s); err == nil {
			t.Errorf("%s over a limited connection was served: %q", proto, b)
		}
	}
	select {
	case <-served:
		t.Error("a DirectOnly handler ran for a stream on a limited connection")
	default:
	}
	// The node opens nothing toward a peer it reaches only through a relay.
	sctx, scancel := context.WithTimeout(ctx, time.Second)
	defer scancel()
	if _, err := n.Host().NewStream(network.WithNoDial(sctx, "test"), ph.ID(), DiscoveryProtocol(testNetwork)); err == nil {
		t.Error("the node opened a stream on a limited connection")
	}
}

// --announce replaces the listen addresses the node advertises; relayed
// addresses would stay beside them.
func TestAnnounceReplacesAdvertisedAddresses(t *testing.T) {
	cfg := testConfig(t)
	cfg.Announce = []string{"/ip4/7.7.7.7/tcp/4001", "/ip4/7.7.7.7/udp/4001/quic-v1"}
	n := newNode(t, cfg)
	st := n.NATStatus()
	got := make([]string, len(st.Announced))
	for i, a := range st.Announced {
		got[i] = a.String()
	}
	if !slices.Equal(got, cfg.Announce) {
		t.Errorf("announced %v, want %v", got, cfg.Announce)
	}
	if st.Reachability != ReachabilityUnknown || len(st.RelayAddrs) != 0 || st.RelayServing {
		t.Errorf("a node with no peer: %+v", st)
	}

	cfg = testConfig(t)
	cfg.Announce = []string{"/ip4/7.7.7.7/tcp/4001/p2p/12D3KooWAB"}
	if _, err := New(t.Context(), cfg); err == nil {
		t.Error("an announce address with /p2p/ was accepted")
	}
	cfg.Announce = []string{"not a multiaddr"}
	if _, err := New(t.Context(), cfg); err == nil {
		t.Error("a malformed announce address was accepted")
	}
}

func TestWellFormedRelayed(t *testing.T) {
	for s, want := range map[string]bool{
		"/ip4/7.1.1.1/udp/4001/quic-v1/p2p/12D3KooWQVwy52KRS9GJ3vd6ngAWMZgEtbKEFzAe1357gWhvMSTS/p2p-circuit":                                                  true,
		"/ip4/7.1.1.1/tcp/4001/p2p/12D3KooWQVwy52KRS9GJ3vd6ngAWMZgEtbKEFzAe1357gWhvMSTS/p2p-circuit/p2p/12D3KooWK4b4TJUSMzJbYAVSB4RSUgEPXCnvhdPxrHZRqwLpoPds": true,
		"/ip4/7.1.1.1/tcp/4001/p2p-circuit":                                     false,
		"/p2p/12D3KooWQVwy52KRS9GJ3vd6ngAWMZgEtbKEFzAe1357gWhvMSTS/p2p-circuit": false,
	} {
		m, err := multiaddr.NewMultiaddr(s)
		if err != nil {
			t.Fatal(err)
		}
		if got := wellFormedRelayed(m); got != want {
			t.Errorf("wellFormedRelayed(%s) = %v, want %v", s, got, want)
		}
	}
}

// The address book follows a connected peer's newer signed record (identify
// push, after a relay reservation or, here, a new listen address), so that
// peer exchange hands out its current addresses, relayed ones included.
func TestAddrBookTakesNewerRecords(t *testing.T) {
	a, b := newNode(t, testConfig(t)), newNode(t, testConfig(t))
	connect(t, a, b)
	waitFor(t, 10*time.Second, "b in a's address book", func() bool {
		_, ok := a.book.get(b.ID())
		return ok
	})
	extra, err := multiaddr.NewMultiaddr("/ip4/127.0.0.1/udp/0/quic-v1")
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Host().Network().Listen(extra); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 20*time.Second, "b's new address in a's address book and record", func() bool {
		e, ok := a.book.get(b.ID())
		return ok && slices.ContainsFunc(e.Addrs, func(s string) bool { return strings.Contains(s, "/quic-v1") }) &&
			len(e.Record) > 0 && recordHasQUIC(t, e.Record)
	})
}

func recordHasQUIC(t *testing.T, rec []byte) bool {
	t.Helper()
	_, r, err := record.ConsumeEnvelope(rec, peer.PeerRecordEnvelopeDomain)
	if err != nil {
		t.Fatal(err)
	}
	return slices.ContainsFunc(r.(*peer.PeerRecord).Addrs, func(m multiaddr.Multiaddr) bool { return strings.Contains(m.String(), "/quic-v1") })
}

// Relay candidates are the known peers offering the relay service, not only
// bootstrap peers: here a peer met by Connect, and never a peer without it.
func TestRelayCandidatesAreKnownRelays(t *testing.T) {
	n := newNode(t, testConfig(t))
	rh := newBareRelay(t)
	plain := newNode(t, testConfig(t))
	for _, ai := range []peer.AddrInfo{{ID: rh.ID(), Addrs: rh.Addrs()}, {ID: plain.ID(), Addrs: plain.Host().Addrs()}} {
		if err := n.Host().Connect(t.Context(), ai); err != nil {
			t.Fatal(err)
		}
	}
	var got []peer.ID
	waitFor(t, 10*time.Second, "the relay among the candidates", func() bool {
		got = got[:0]
		for ai := range n.nat.relayCandidates(t.Context(), 4) {
			got = append(got, ai.ID)
		}
		return slices.Contains(got, rh.ID())
	})
	if slices.Contains(got, plain.ID()) {
		t.Errorf("a peer without the relay service is a candidate: %v", got)
	}
}

// TestNoNATTraversal: a node built with NoNATTraversal runs neither the relay
// client nor the AutoNAT service, and offers no relay service even when asked,
// where a default node runs both.
func TestNoNATTraversal(t *testing.T) {
	const (
		relayStop = protocol.ID("/libp2p/circuit/relay/0.2.0/stop")
		autonat   = protocol.ID("/libp2p/autonat/1.0.0")
	)
	def := newNode(t, testConfig(t))
	if ps := def.Host().Mux().Protocols(); !slices.Contains(ps, relayStop) || !slices.Contains(ps, autonat) {
		t.Fatalf("a default node speaks %v, want %s and %s among them", ps, relayStop, autonat)
	}
	cfg := testConfig(t)
	cfg.NoNATTraversal, cfg.RelayService, cfg.NATPortMap = true, true, true
	n := newNode(t, cfg)
	if ps := n.Host().Mux().Protocols(); slices.Contains(ps, relayStop) || slices.Contains(ps, autonat) {
		t.Errorf("a node without NAT traversal speaks %v", ps)
	}
	if st := n.NATStatus(); st.RelayService || st.PortMap {
		t.Errorf("a node without NAT traversal reports %+v", st)
	}
}

// newBareRelay returns a host on loopback that offers only the circuit relay
// v2 service; it stops when the test ends.
func newBareRelay(t *testing.T) host.Host {
	t.Helper()
	rh, err := libp2p.New(libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"), libp2p.DisableRelay())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rh.Close() })
	r, err := relayv2.New(rh)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return rh
}
