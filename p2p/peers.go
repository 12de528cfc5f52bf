package p2p

import (
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/multiformats/go-multiaddr"
)

// Peer sources: how a peer was found.
const (
	SourceMDNS      = "mdns"      // discovered by mDNS on the local network
	SourceBootstrap = "bootstrap" // listed in Config.Bootstrap
	SourceRegister  = "register"  // dialled through Node.Connect
	SourceInbound   = "inbound"   // it dialled us and was not known otherwise
	SourceUnknown   = "unknown"   // dialled by something else (e.g. pubsub peer exchange)
)

// sourceRank orders sources: a peer keeps the most specific one it was found by.
var sourceRank = map[string]int{
	SourceInbound:   1,
	SourceDiscovery: 2,
	SourceMDNS:      3,
	SourceRegister:  4,
	SourceBootstrap: 5,
}

// PeerInfo describes a connected peer.
type PeerInfo struct {
	ID peer.ID
	// Addr is the remote address of one connection to the peer, without /p2p/. For an
	// inbound connection it usually carries an ephemeral port and is not dialable.
	Addr multiaddr.Multiaddr
	// Direction is "inbound" or "outbound", that of the connection Addr belongs to.
	Direction string
	// Source is one of SourceMDNS, SourceBootstrap, SourceRegister,
	// SourceDiscovery, SourceInbound and SourceUnknown.
	Source string
	// ListenAddrs are the peer's dialable listen addresses, from identify
	// (or the address book), without /p2p/.
	ListenAddrs []multiaddr.Multiaddr
	// InAddrBook reports whether the peer is in the address book.
	InAddrBook bool
	// Latency is the moving average of the peer's ping round trip; 0 before
	// the first ping.
	Latency time.Duration
	// Limited reports that the peer is connected only through a relay (a
	// limited connection, see relay.go): no gossip and no chain exchange
	// with it until a direct connection exists.
	Limited bool
	// BytesIn and BytesOut are the bytes of every stream received from and
	// sent to the peer since it connected (see TrafficStats).
	BytesIn, BytesOut uint64
}

func directionName(d network.Direction) string {
	switch d {
	case network.DirInbound:
		return "inbound"
	case network.DirOutbound:
		return "outbound"
	}
	return "unknown"
}

// setSourceLocked records src for p unless p already has a more specific source.
// n.mu must be held.
func (n *Node) setSourceLocked(p peer.ID, src string) {
	if sourceRank[src] > sourceRank[n.sources[p]] {
		n.sources[p] = src
	}
}

// onConnected is the network notifiee's Connected callback: it refuses banned peers
// that slipped past the gater, and records unknown inbound peers as "inbound".
func (n *Node) onConnected(_ network.Network, c network.Conn) {
	p := c.RemotePeer()
	if n.gater.banned(p) {
		go c.Close() // never block the swarm's notification
		return
	}
	n.traffic.connected(p)
	if n.trackConn(c, true) {
		n.wakeShedder()
	}
	if c.Stat().Direction != network.DirInbound {
		n.cm.TagPeer(p, tagOutbound, tagOutboundValue)
		return
	}
	n.mu.Lock()
	n.setSourceLocked(p, SourceInbound)
	n.mu.Unlock()
}

// onDisconnected forgets peers that were only known because they dialled us, so the
// source map does not grow with every passing peer.
func (n *Node) onDisconnected(net network.Network, c network.Conn) {
	p := c.RemotePeer()
	n.trackConn(c, false)
	if net.Connectedness(p) == network.Connected {
		return
	}
	n.traffic.disconnected(p)
	n.mu.Lock()
	if n.sources[p] == SourceInbound {
		delete(n.sources, p)
	}
	n.mu.Unlock()
}
