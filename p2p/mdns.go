package p2p

import (
	"context"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
)

// MDNSServiceName returns the mDNS service name of a network: "gossipchain-<network>".
// Nodes of different networks do not discover each other.
func MDNSServiceName(network string) string { return "gossipchain-" + network }

// mdnsNotifee receives peers found by mDNS.
type mdnsNotifee struct{ n *Node }

// HandlePeerFound connects, in the background and with a timeout, to a peer announced on
// the local network, unless it is this node, is banned, is already connected or is being
// dialled, or the node has its outbound target of peers. The peer is recorded with source "mdns".
func (m mdnsNotifee) HandlePeerFound(ai peer.AddrInfo) {
	n := m.n
	if ai.ID == n.host.ID() || len(ai.Addrs) == 0 || n.Banned(ai.ID) {
		return
	}
	isConnected := n.host.Network().Connectedness(ai.ID) == network.Connected // not under n.mu
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return
	}
	n.setSourceLocked(ai.ID, SourceMDNS)
	if _, ok := n.found[ai.ID]; ok || len(n.found) < maxFoundPeers {
		n.found[ai.ID] = ai
	}
	if _, out := n.peerCountsLocked(); isConnected || n.dialing[ai.ID] || out >= n.cfg.TargetPeers {
		return
	}
	n.dialing[ai.ID] = true
	n.goLocked(func() {
		defer func() {
			n.mu.Lock()
			delete(n.dialing, ai.ID)
			n.mu.Unlock()
		}()
		ctx, cancel := context.WithTimeout(n.ctx, dialTimeout)
		defer cancel()
		// redialFound owns the pace of retries, so the swarm's own dial
		// backoff (up to 5 minutes) is bypassed, as for bootstrap peers.
		ctx = network.WithForceDirectDial(ctx, "mdns redial")
		if err := n.host.Connect(ctx, ai); err != nil {
			n.log.Debug("cannot connect to mDNS peer", "peer", ai.ID, "err", err)
			return
		}
		n.log.Info("connected to mDNS peer", "peer", ai.ID)
	})
}

// maxFoundPeers bounds the peers found by mDNS that the node keeps redialling.
const maxFoundPeers = 256

// foundRedialInterval is how often peers found by mDNS are redialled when the node
// is not connected to them. The mDNS browser reports a peer once and does not ask
// again, so without this a connection lost in a long network partition would
// never come back.
const foundRedialInterval = 10 * time.Second

// redialFound redials, every foundRedialInterval, the peers found by mDNS that the
// node is not connected to. It returns when the node closes.
func (n *Node) redialFound() {
	n.every(foundRedialInterval, nil, func() {
		n.mu.Lock()
		peers := make([]peer.AddrInfo, 0, len(n.found))
		for _, ai := range n.found {
			peers = append(peers, ai)
		}
		n.mu.Unlock()
		for _, ai := range peers {
			mdnsNotifee{n}.HandlePeerFound(ai)
		}
	})
}
