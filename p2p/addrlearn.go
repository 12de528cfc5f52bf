package p2p

import (
	"slices"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/multiformats/go-multiaddr"
)

// What the address book learns from the connections (addrbook.go keeps
// it): an identified peer, a peer that served, the anchors.

// learnIdentified records an identified peer of this network in the address
// book and marks it seen. A peer found by no other means that has only
// inbound connections is learnt as inbound-only: its record is handed out by
// peer exchange, but this node does not dial it from the book, so that
// identities that connect to a node cannot make themselves its outbound
// candidates.
func (n *Node) learnIdentified(p peer.ID, addrs []multiaddr.Multiaddr, rec []byte, now time.Time) {
	n.mu.Lock()
	src := n.sources[p]
	n.mu.Unlock()
	if src == "" {
		src = SourceUnknown // dialled by something else, e.g. pubsub peer exchange
		if !n.Outbound(p) {
			src = SourceInbound
		}
	}
	kept := src == SourceBootstrap || src == SourceRegister
	if n.book.learn(p, addrs, src, "", kept, rec, now) {
		n.discStats.learned.Add(1)
	}
	n.book.seen([]peer.ID{p}, now)
}

// afterIdentify measures the latency of an identified peer and asks it for
// peers while the node is below its target, and also when the node dialled
// it and it has not served yet: its answer moves it to the tried table.
func (n *Node) afterIdentify(p peer.ID) {
	n.pingPeer(p)
	if len(n.host.Network().Peers()) < n.cfg.TargetPeers {
		n.askPeer(p)
		return
	}
	if e, ok := n.book.get(p); ok && !e.Tried && n.Outbound(p) {
		n.askPeer(p)
	}
}

// servedDiscovery records that p answered a peer-exchange request: if the
// node dialled it, p moves to the tried table of the book.
func (n *Node) servedDiscovery(p peer.ID, now time.Time) {
	if n.Outbound(p) {
		n.book.served(p, now)
	}
}

// Outbound reports whether the node has a direct connection to p that it
// dialled.
func (n *Node) Outbound(p peer.ID) bool {
	return slices.ContainsFunc(n.host.Network().ConnsToPeer(p), func(c network.Conn) bool {
		return c.Stat().Direction == network.DirOutbound && !c.Stat().Limited
	})
}

// outboundPeers returns the peers the node has an outbound connection to.
func (n *Node) outboundPeers() []peer.ID {
	var out []peer.ID
	for _, p := range n.host.Network().Peers() {
		if n.Outbound(p) {
			out = append(out, p)
		}
	}
	return out
}

// peerGroup is the address group of p's connection: the group that the
// records p hands over are filed under.
func (n *Node) peerGroup(p peer.ID) string {
	for _, c := range n.host.Network().ConnsToPeer(p) {
		if !c.Stat().Limited {
			return addrGroup(c.RemoteMultiaddr())
		}
	}
	return "other"
}
