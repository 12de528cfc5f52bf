package p2p

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/libp2p/go-libp2p/core/control"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/multiformats/go-multiaddr"
)

// banGater is a connection gater refusing, in both directions, peers serving a ban.
// Once the node is built, it also keeps inbound peers within the node's
// allowance (peerset.go).
type banGater struct {
	mu    sync.Mutex
	until map[peer.ID]time.Time

	node atomic.Pointer[Node] // nil until New has built the node
}

func newBanGater() *banGater {
	return &banGater{until: make(map[peer.ID]time.Time)}
}

// ban refuses p until now+d (a later ban never shortens an earlier one).
func (g *banGater) ban(p peer.ID, d time.Duration) {
	end := time.Now().Add(d)
	g.mu.Lock()
	defer g.mu.Unlock()
	if end.After(g.until[p]) {
		g.until[p] = end
	}
}

// banned reports whether p is serving a ban, forgetting expired bans.
func (g *banGater) banned(p peer.ID) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	end, ok := g.until[p]
	if !ok {
		return false
	}
	if time.Now().Before(end) {
		return true
	}
	delete(g.until, p)
	return false
}

func (g *banGater) InterceptPeerDial(p peer.ID) bool                        { return !g.banned(p) }
func (g *banGater) InterceptAddrDial(p peer.ID, _ multiaddr.Multiaddr) bool { return !g.banned(p) }
func (g *banGater) InterceptAccept(network.ConnMultiaddrs) bool             { return true }
func (g *banGater) InterceptSecured(dir network.Direction, p peer.ID, _ network.ConnMultiaddrs) bool {
	if g.banned(p) {
		return false
	}
	n := g.node.Load()
	return dir != network.DirInbound || n == nil || n.admitInbound(p)
}
func (g *banGater) InterceptUpgraded(c network.Conn) (bool, control.DisconnectReason) {
	return !g.banned(c.RemotePeer()), 0
}

// Penalize closes every connection to p and refuses it, inbound and outbound, for the
// ban period (DefaultBanDuration). reason is logged. Penalizing this node itself is
// ignored. This is for misbehaviour seen outside gossip (e.g. the chain-exchange
// protocol); invalid gossip lowers a peer's score instead.
func (n *Node) Penalize(p peer.ID, reason string) {
	if p == n.host.ID() || p == "" {
		return
	}
	n.gater.ban(p, n.cfg.banDuration)
	n.log.Warn("penalizing peer", "peer", p, "reason", reason, "ban", n.cfg.banDuration)
	if err := n.host.Network().ClosePeer(p); err != nil {
		n.log.Debug("closing connections to penalized peer", "peer", p, "err", err)
	}
}

// Banned reports whether p is currently refused because of Penalize.
func (n *Node) Banned(p peer.ID) bool { return n.gater.banned(p) }
