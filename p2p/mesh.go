package p2p

import (
	"sync"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
)

// meshTracker follows this node's GossipSub mesh of every topic from the
// router's Graft and Prune events. It is a pubsub.RawTracer: the router calls
// it from its event loop, so every method only takes a short lock.
type meshTracker struct {
	mu   sync.Mutex
	mesh map[string]map[peer.ID]struct{}
}

func newMeshTracker() *meshTracker {
	return &meshTracker{mesh: make(map[string]map[peer.ID]struct{})}
}

// peers returns the mesh peers of topic.
func (m *meshTracker) peers(topic string) []peer.ID {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]peer.ID, 0, len(m.mesh[topic]))
	for p := range m.mesh[topic] {
		out = append(out, p)
	}
	return out
}

// Graft is called when p enters this node's mesh of topic.
func (m *meshTracker) Graft(p peer.ID, topic string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.mesh[topic] == nil {
		m.mesh[topic] = make(map[peer.ID]struct{})
	}
	m.mesh[topic][p] = struct{}{}
}

// Prune is called when p leaves this node's mesh of topic.
func (m *meshTracker) Prune(p peer.ID, topic string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.mesh[topic], p)
}

// OnClosedOutboundStream is called when the router forgets p, whose stream
// is gone with its connection: p leaves every mesh without a Prune.
func (m *meshTracker) OnClosedOutboundStream(p peer.ID) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, peers := range m.mesh {
		delete(peers, p)
	}
}

// Leave is called when this node leaves topic, and with it the topic's mesh.
func (m *meshTracker) Leave(topic string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.mesh, topic)
}

// The other events do not change a mesh.

func (m *meshTracker) Join(string)                                          {}
func (m *meshTracker) ValidateMessage(*pubsub.Message)                      {}
func (m *meshTracker) DeliverMessage(*pubsub.Message)                       {}
func (m *meshTracker) RejectMessage(*pubsub.Message, string)                {}
func (m *meshTracker) DuplicateMessage(*pubsub.Message)                     {}
func (m *meshTracker) ThrottlePeer(peer.ID)                                 {}
func (m *meshTracker) RecvRPC(*pubsub.RPC)                                  {}
func (m *meshTracker) SendRPC(*pubsub.RPC, peer.ID)                         {}
func (m *meshTracker) SendRPCCompleted(*pubsub.RPC, peer.ID, time.Duration) {}
func (m *meshTracker) DropRPC(*pubsub.RPC, peer.ID)                         {}
func (m *meshTracker) UndeliverableMessage(*pubsub.Message)                 {}
func (m *meshTracker) OnNewOutboundStream(peer.ID, protocol.ID)             {}

var _ pubsub.RawTracer = (*meshTracker)(nil)
