package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p"
	pubsub "github.com/libp2p/go-libp2p-pubsub"
	pb "github.com/libp2p/go-libp2p-pubsub/pb"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"
)

// maxGossipSize bounds what our own router sends and accepts: large enough
// for messages over the target's limit.
const maxGossipSize = 8 << 20

// identity is one libp2p host with its own key.
type identity struct {
	host   host.Host
	log    *slog.Logger
	ctx    context.Context
	cancel context.CancelFunc

	ps     *pubsub.PubSub
	topics map[string]*pubsub.Topic

	mu       sync.Mutex
	received map[string]bool // content ids (hex) of the gossip delivered to us
}

func newIdentity(parent context.Context, log *slog.Logger) (*identity, error) {
	key, _, err := crypto.GenerateEd25519Key(rand.Reader)
	if err != nil {
		return nil, err
	}
	h, err := libp2p.New(
		libp2p.Identity(key),
		libp2p.NoListenAddrs,
		libp2p.Transport(tcp.NewTCPTransport, tcp.DisableReuseport()),
		libp2p.DisableRelay(),
		// No limits of our own: the target's are the ones under test.
		libp2p.ResourceManager(&network.NullResourceManager{}),
	)
	if err != nil {
		return nil, fmt.Errorf("create host: %w", err)
	}
	id := &identity{host: h, log: log.With("peer", h.ID()), topics: make(map[string]*pubsub.Topic), received: make(map[string]bool)}
	id.ctx, id.cancel = context.WithCancel(parent)
	return id, nil
}

func (id *identity) close() {
	id.cancel()
	_ = id.host.Close()
}

func (id *identity) connect(ctx context.Context, target peer.AddrInfo) error {
	// Start from a fresh connection (a redial must not reuse one).
	_ = id.host.Network().ClosePeer(target.ID)
	return id.host.Connect(ctx, target)
}

// messageID is the pubsub message id of PROTOCOL.md section 3: the hex of the
// 32-byte content id that starts every message.
func messageID(m *pb.Message) string {
	d := m.GetData()
	if len(d) >= 32 {
		return hex.EncodeToString(d[:32])
	}
	return hex.EncodeToString(d)
}

// topicName is the gossip topic of a kind ("blocks", "txs") in a network:
// blocks/3 and txs/2, whose messages carry no author, sequence number or
// signature.
func topicName(network, kind string) string {
	v := map[string]string{"blocks": "3", "txs": "2"}[kind]
	return "/gossipchain/" + network + "/" + kind + "/" + v
}

// joinTopics starts a GossipSub router and joins (and subscribes to) the
// given topics, like an ordinary member of the network.
func (id *identity) joinTopics(names ...string) error {
	ps, err := pubsub.NewGossipSub(id.ctx, id.host,
		pubsub.WithMessageIdFn(messageID),
		// The network's policy: no author, no sequence number, no signature.
		pubsub.WithMessageSignaturePolicy(pubsub.StrictNoSign),
		pubsub.WithNoAuthor(),
		pubsub.WithFloodPublish(true),
		pubsub.WithMaxMessageSize(maxGossipSize),
		pubsub.WithPeerOutboundQueueSize(1024),
	)
	if err != nil {
		return fmt.Errorf("create gossipsub router: %w", err)
	}
	id.ps = ps
	for _, name := range names {
		t, err := ps.Join(name)
		if err != nil {
			return fmt.Errorf("join %s: %w", name, err)
		}
		sub, err := t.Subscribe()
		if err != nil {
			return fmt.Errorf("subscribe to %s: %w", name, err)
		}
		go func() {
			for {
				m, err := sub.Next(id.ctx)
				if err != nil {
					return
				}
				if m.ReceivedFrom != id.host.ID() {
					id.mu.Lock()
					id.received[messageID(m.Message)] = true
					id.mu.Unlock()
				}
			}
		}()
		id.topics[name] = t
	}
	return nil
}

// waitTopicPeer waits until p is known to be subscribed to topic.
func (id *identity) waitTopicPeer(ctx context.Context, topic string, p peer.ID) error {
	t := id.topics[topic]
	for {
		for _, q := range t.ListPeers() {
			if q == p {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("target never joined %s as seen from %s: %w", topic, id.host.ID(), ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// hasReceived reports whether gossip with this content id reached us.
func (id *identity) hasReceived(contentID string) bool {
	id.mu.Lock()
	defer id.mu.Unlock()
	return id.received[contentID]
}

func (id *identity) publish(ctx context.Context, topic string, data []byte) error {
	return id.topics[topic].Publish(ctx, data)
}
