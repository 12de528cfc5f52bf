package p2p

import (
	"context"

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
// dialled. The peer is recorded with source "mdns".
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
	if isConnected || n.dialing[ai.ID] {
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
		if err := n.host.Connect(ctx, ai); err != nil {
			n.log.Debug("cannot connect to mDNS peer", "peer", ai.ID, "err", err)
			return
		}
		n.log.Info("connected to mDNS peer", "peer", ai.ID)
	})
}
