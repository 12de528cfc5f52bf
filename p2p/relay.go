package p2p

import (
	"context"
	"slices"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/multiformats/go-multiaddr"
)

// While two peers are connected only through a relay, their connection is
// limited (network.Limited): the relay resets it after RelayConnDuration or
// RelayConnData. It carries identify, ping and the hole punch, nothing else:
// libp2p opens no stream on a limited connection unless asked
// (network.WithAllowLimitedConn), which GossipSub, the chain exchange, the
// pool exchange and peer discovery never do, and the services of this module
// refuse the streams a peer opens on one (LimitedConnection). Gossip and
// chain exchange start when the direct connection exists.

// LimitedConnection reports whether s runs over a limited (relayed)
// connection. Stream handlers of consensus data refuse such streams.
func LimitedConnection(s network.Stream) bool {
	return s.Conn().Stat().Limited
}

// relayCandidates is the peer source of the relay client: peers known to
// offer the relay service (identify listed the hop protocol), bootstrap
// peers first, then the other connected peers, then the address book.
func (s *natState) relayCandidates(ctx context.Context, num int) <-chan peer.AddrInfo {
	n := s.node.Load()
	if n == nil || num <= 0 {
		ch := make(chan peer.AddrInfo)
		close(ch)
		return ch
	}
	var ids []peer.ID
	for _, ai := range n.bootstrap {
		ids = append(ids, ai.ID)
	}
	ids = append(ids, n.host.Network().Peers()...)
	for _, e := range n.book.dueEntries(time.Now()) {
		ids = append(ids, e.ID)
	}
	ch := make(chan peer.AddrInfo, num)
	defer close(ch)
	seen := make(map[peer.ID]bool)
	for _, p := range ids {
		if len(ch) == num || ctx.Err() != nil {
			break
		}
		if seen[p] || p == n.host.ID() || n.Banned(p) {
			continue
		}
		seen[p] = true
		if protos, err := n.host.Peerstore().SupportsProtocols(p, relayHop); err != nil || len(protos) == 0 {
			continue
		}
		addrs := slices.DeleteFunc(n.host.Peerstore().Addrs(p), isRelayed)
		if len(addrs) == 0 {
			continue
		}
		ch <- peer.AddrInfo{ID: p, Addrs: addrs}
	}
	return ch
}

// dialBook dials a peer of the address book. A peer with relayed addresses
// (one behind NAT) is dialled without forcing a direct connection, so that
// the relayed connection opens when no direct address answers; the peer
// then starts a hole punch over it (DCUtR).
func (n *Node) dialBook(ai peer.AddrInfo) error {
	if !slices.ContainsFunc(ai.Addrs, isRelayed) {
		return n.dial(ai)
	}
	ctx, cancel := context.WithTimeout(n.ctx, dialTimeout)
	defer cancel()
	if err := n.host.Connect(network.WithAllowLimitedConn(ctx, "relayed peer"), ai); err != nil {
		return err
	}
	if n.host.Network().Connectedness(ai.ID) == network.Limited {
		n.log.Info("connected to peer through a relay only; waiting for a hole punch", "peer", ai.ID)
	}
	return nil
}

// bestConn returns a direct connection of conns if there is one, else the
// first; conns is not empty.
func bestConn(conns []network.Conn) network.Conn {
	for _, c := range conns {
		if !c.Stat().Limited {
			return c
		}
	}
	return conns[0]
}

// wellFormedRelayed reports whether the relayed address a names its relay:
// <relay address>/p2p/<relay id>/p2p-circuit, then at most /p2p/<peer id>.
func wellFormedRelayed(a multiaddr.Multiaddr) bool {
	relayPart, rest := multiaddr.SplitFunc(a, func(c multiaddr.Component) bool { return c.Code() == multiaddr.P_CIRCUIT })
	if len(relayPart) < 2 || len(rest) == 0 || relayPart[len(relayPart)-1].Code() != multiaddr.P_P2P {
		return false
	}
	rest = rest[1:]
	return len(rest) == 0 || len(rest) == 1 && rest[0].Code() == multiaddr.P_P2P
}

// DirectOnly wraps a stream handler so that it resets, unserved, the streams
// a peer opens on a limited (relayed) connection.
func DirectOnly(h network.StreamHandler) network.StreamHandler {
	return func(s network.Stream) {
		if LimitedConnection(s) {
			_ = s.Reset()
			return
		}
		h(s)
	}
}
