package sync

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gossipchain/gossipchain/chain"
	"github.com/gossipchain/gossipchain/p2p"
)

// newAttackHost starts a bare host with no resource limits of its own, so
// that only the victim's limits bound what it opens, and connects it to
// victim.
func newAttackHost(t testing.TB, victim *testNode) host.Host {
	t.Helper()
	return newAttackHostAt(t, victim, "/ip4/127.0.0.1/tcp/0")
}

// newAttackHostAt is newAttackHost listening on listen; it dials from that
// address, so the victim sees the attacker in its address group.
func newAttackHostAt(t testing.TB, victim *testNode, listen string) host.Host {
	t.Helper()
	h, err := libp2p.New(libp2p.ListenAddrStrings(listen), libp2p.ResourceManager(&network.NullResourceManager{}))
	if err != nil {
		t.Fatalf("libp2p.New: %v", err)
	}
	t.Cleanup(func() { h.Close() })
	ai := peer.AddrInfo{ID: victim.node.ID(), Addrs: victim.node.Host().Addrs()}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := h.Connect(ctx, ai); err != nil {
		t.Fatalf("connect attacker: %v", err)
	}
	return h
}

// honestProbe asks victim for two blocks from the genesis as the honest node
// does, and reports whether it was served.
func honestProbe(honest, victim *testNode) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	b, _, err := honest.svc.fetchBatch(ctx, victim.node.ID(), []chain.Hash{victim.chain.Genesis().Hash}, 2, nil)
	if err == nil && len(b.blocks) != 2 {
		err = fmt.Errorf("served %d blocks, want 2", len(b.blocks))
	}
	return err
}

// probeAll runs n honest probes and fails the test on any failure.
func probeAll(t *testing.T, honest, victim *testNode, n int) {
	t.Helper()
	for i := range n {
		if err := honestProbe(honest, victim); err != nil {
			t.Fatalf("honest probe %d of %d failed: %v", i+1, n, err)
		}
	}
}

func inboundStreams(victim *testNode, p peer.ID) int {
	n := 0
	_ = victim.node.Host().Network().ResourceManager().ViewPeer(p, func(s network.PeerScope) error {
		n = s.Stat().NumStreamsInbound
		return nil
	})
	return n
}

// TestStreamFloods: streams that never negotiate a protocol, idle
// chain-exchange streams from many identities and unread chain-exchange
// replies take no more than their per-peer share: honest requests are served
// all along, with counts well above the limits the node sets.
func TestStreamFloods(t *testing.T) {
	victim := newTestNode(t, testNetwork, func(c *Config) {
		c.RequestReadTimeout = time.Second
		c.StallTimeout = 2 * time.Second
	})
	params := victim.params
	addBlocks(t, victim.chain, paddedBlocks(t, params, victim.chain.Genesis(), 8))
	honest := newTestNode(t, testNetwork)
	connect(t, honest, victim)
	probeAll(t, honest, victim, 3)

	t.Run("unnegotiated streams", func(t *testing.T) {
		// Twice the transient limit from one identity: the per-peer limit
		// stops it at MaxInboundStreamsPerPeer.
		a := newAttackHost(t, victim)
		opened := 0
		for range 2 * p2p.MaxTransientStreams {
			if s, err := a.Network().NewStream(context.Background(), victim.node.ID()); err == nil {
				opened++
				t.Cleanup(func() { s.Reset() })
			}
		}
		waitFor(t, 10*time.Second, "the victim to account for the streams", func() bool {
			return inboundStreams(victim, a.ID()) > 0
		})
		if n := inboundStreams(victim, a.ID()); n > p2p.MaxInboundStreamsPerPeer {
			t.Fatalf("victim holds %d inbound streams of one peer, limit %d", n, p2p.MaxInboundStreamsPerPeer)
		}
		probeAll(t, honest, victim, 20)
	})

	t.Run("idle chain-exchange streams", func(t *testing.T) {
		// The reported attack: 17 identities with 75 idle streams each
		// (libp2p negotiates the protocol with the first write, so these
		// streams never leave negotiation), then 17 more whose streams
		// start a request and never finish it.
		const identities, each = 17, 75
		for _, partial := range []bool{false, true} {
			for range identities {
				a := newAttackHost(t, victim)
				for range each {
					s, err := a.NewStream(context.Background(), victim.node.ID(), BlocksProtocol)
					if err != nil {
						continue
					}
					t.Cleanup(func() { s.Reset() })
					if partial {
						s.Write([]byte{100}) // a frame of 100 bytes follows... never
					}
				}
				if n := inboundStreams(victim, a.ID()); n > p2p.MaxInboundStreamsPerPeer {
					t.Fatalf("victim holds %d inbound streams of one peer, limit %d", n, p2p.MaxInboundStreamsPerPeer)
				}
			}
			probeAll(t, honest, victim, 20)
		}
		// The request read deadline frees the streams that negotiated.
		waitFor(t, 10*time.Second, "idle streams reset", func() bool {
			n := 0
			_ = victim.node.Host().Network().ResourceManager().ViewProtocol(BlocksProtocol, func(s network.ProtocolScope) error {
				n = s.Stat().NumStreamsInbound
				return nil
			})
			return n == 0
		})
	})

	t.Run("unread replies", func(t *testing.T) {
		// Four identities with twice the global serving slots each: each
		// gets its own MaxServingPerPeer, and honest requests the rest.
		const identities = 4
		each := 2 * DefaultMaxServing
		req := appendFrame(nil, appendRequest(nil, blockRequest{Locator: []chain.Hash{victim.chain.Genesis().Hash}, Max: MaxBlocksPerRequest}))
		for range identities {
			a := newAttackHost(t, victim)
			for range each {
				s, err := a.NewStream(context.Background(), victim.node.ID(), BlocksProtocol)
				if err != nil {
					continue
				}
				t.Cleanup(func() { s.Reset() })
				s.Write(req) // and never read the reply
			}
		}
		probeAll(t, honest, victim, 20)
		served := victim.svc.Stats().RequestsServed
		// The stall deadline frees the slots of unread replies.
		waitFor(t, 10*time.Second, "serving slots free again", func() bool { return victim.svc.gate.Serving() == 0 })
		probeAll(t, honest, victim, 3)
		if victim.svc.Stats().RequestsServed < served+3 {
			t.Fatalf("probes not counted as served")
		}
	})
}

// paddedBlocks builds count valid blocks of about 200 KB each on parent, so
// that one reply does not fit in a stream's flow-control window.
func paddedBlocks(t testing.TB, params chain.Params, parent *chain.Block, count int) []*chain.Block {
	t.Helper()
	return bigBlocks(t, params, parent, count, 200_000, "big")
}
