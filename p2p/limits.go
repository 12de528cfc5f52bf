package p2p

import (
	"fmt"

	"github.com/libp2p/go-libp2p"
	pubsub "github.com/libp2p/go-libp2p-pubsub"
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
	// negotiation timeout, 10 s). It is a shared limit (reserve.go): a
	// quarter is kept for trusted peers (Standing), and a newcomer that
	// finds it full resets a stream of the largest untrusted holder.
	MaxTransientStreams = 1024
	// MaxInboundStreamsPerProtocolPeer bounds the inbound streams of one
	// peer on one protocol (for instance the chain-exchange protocol).
	MaxInboundStreamsPerProtocolPeer = 8
	// MaxInboundStreamsPerProtocol bounds the inbound streams of all peers
	// on one protocol, a shared limit as MaxTransientStreams is.
	MaxInboundStreamsPerProtocol = 512

	// MaxSubscriptionsPerRPC bounds the topic subscriptions one pubsub RPC
	// may carry; a larger RPC is ignored whole.
	MaxSubscriptionsPerRPC = 16
)

// backstop is the factor by which libp2p's own global stream limits exceed
// the shared ones: a stream reset to make room keeps its libp2p scope until
// its handler returns.
const backstop = 2

// DefaultTopicKinds are the topic kinds of Config.TopicKinds when it is empty.
var DefaultTopicKinds = []string{"blocks", "txs"}

// resourceLimits returns libp2p's default limits with the stream limits of
// this package in place: the per-peer ones, and the global ones at backstop
// times the shared limits.
func resourceLimits() rcmgr.ConcreteLimitConfig {
	l := rcmgr.DefaultLimits
	libp2p.SetDefaultServiceLimits(&l)
	l.PeerBaseLimit.StreamsInbound = MaxInboundStreamsPerPeer
	l.PeerLimitIncrease.StreamsInbound = 0
	l.TransientBaseLimit.StreamsInbound = backstop * MaxTransientStreams
	l.TransientBaseLimit.Streams = max(l.TransientBaseLimit.Streams, backstop*MaxTransientStreams)
	l.TransientLimitIncrease.StreamsInbound = 0
	l.ProtocolPeerBaseLimit.StreamsInbound = MaxInboundStreamsPerProtocolPeer
	l.ProtocolPeerLimitIncrease.StreamsInbound = 0
	l.ProtocolBaseLimit.StreamsInbound = backstop * MaxInboundStreamsPerProtocol
	l.ProtocolLimitIncrease.StreamsInbound = 0
	l.SystemBaseLimit.StreamsInbound = max(l.SystemBaseLimit.StreamsInbound, backstop*MaxTransientStreams)
	l.SystemBaseLimit.Streams = max(l.SystemBaseLimit.Streams, backstop*MaxTransientStreams)
	return l.AutoScale()
}

// newResourceManager builds the host's resource manager: libp2p's, with
// the shared limits of inbound streams.
func newResourceManager() (*sharingManager, error) {
	rm, err := rcmgr.NewResourceManager(rcmgr.NewFixedLimiter(resourceLimits()))
	if err != nil {
		return nil, fmt.Errorf("create resource manager: %w", err)
	}
	return newSharingManager(rm), nil
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
