package p2p

import (
	"fmt"

	"github.com/libp2p/go-libp2p"
	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/network"
	rcmgr "github.com/libp2p/go-libp2p/p2p/host/resource-manager"
)

// Stream limits of the resource manager, below its global ones, so that no
// single peer and no handful of identities can take every stream. They do
// not scale with the machine's memory (libp2p's defaults do), so they are the
// same on every node. PROTOCOL.md lists them.
const (
	// MaxInboundStreamsPerPeer bounds the inbound streams of one peer at
	// once, before or after protocol negotiation. An honest peer holds a
	// few: one gossip stream, and short status and chain-exchange streams.
	MaxInboundStreamsPerPeer = 16
	// MaxTransientStreams bounds the inbound streams of all peers that have
	// not negotiated a protocol yet (libp2p resets such a stream after its
	// negotiation timeout, 10 s).
	MaxTransientStreams = 1024
	// MaxInboundStreamsPerProtocolPeer bounds the inbound streams of one
	// peer on one protocol (for instance the chain-exchange protocol).
	MaxInboundStreamsPerProtocolPeer = 8
	// MaxInboundStreamsPerProtocol bounds the inbound streams of all peers
	// on one protocol.
	MaxInboundStreamsPerProtocol = 512

	// MaxSubscriptionsPerRPC bounds the topic subscriptions one pubsub RPC
	// may carry; a larger RPC is ignored whole.
	MaxSubscriptionsPerRPC = 16
)

// DefaultTopicKinds are the topic kinds of Config.TopicKinds when it is empty.
var DefaultTopicKinds = []string{"blocks", "txs"}

// resourceLimits returns libp2p's default limits with the stream limits of
// this package in place.
func resourceLimits() rcmgr.ConcreteLimitConfig {
	l := rcmgr.DefaultLimits
	libp2p.SetDefaultServiceLimits(&l)
	l.PeerBaseLimit.StreamsInbound = MaxInboundStreamsPerPeer
	l.PeerLimitIncrease.StreamsInbound = 0
	l.TransientBaseLimit.StreamsInbound = MaxTransientStreams
	l.TransientBaseLimit.Streams = max(l.TransientBaseLimit.Streams, MaxTransientStreams)
	l.TransientLimitIncrease.StreamsInbound = 0
	l.ProtocolPeerBaseLimit.StreamsInbound = MaxInboundStreamsPerProtocolPeer
	l.ProtocolPeerLimitIncrease.StreamsInbound = 0
	l.ProtocolBaseLimit.StreamsInbound = MaxInboundStreamsPerProtocol
	l.ProtocolLimitIncrease.StreamsInbound = 0
	return l.AutoScale()
}

// newResourceManager builds the host's resource manager.
func newResourceManager() (network.ResourceManager, error) {
	rm, err := rcmgr.NewResourceManager(rcmgr.NewFixedLimiter(resourceLimits()))
	if err != nil {
		return nil, fmt.Errorf("create resource manager: %w", err)
	}
	return rm, nil
}

// subscriptionFilter keeps, of the topics peers announce, only this network's
// (Config.TopicKinds), so that made-up topics cost no memory, and ignores an
// RPC with more than MaxSubscriptionsPerRPC subscriptions. Joining a topic
// outside the list fails.
func (n *Node) subscriptionFilter() pubsub.SubscriptionFilter {
	return pubsub.WrapLimitSubscriptionFilter(pubsub.NewAllowlistSubscriptionFilter(topicNames(n.cfg)...), MaxSubscriptionsPerRPC)
}

// topicNames are the names of the topics of cfg.TopicKinds.
func topicNames(cfg Config) []string {
	names := make([]string, len(cfg.TopicKinds))
	for i, k := range cfg.TopicKinds {
		names[i] = TopicName(cfg.Network, k)
	}
	return names
}
