package p2p

import (
	"sync"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/connmgr"
	"github.com/libp2p/go-libp2p/core/peer"
)

// Connection manager tags of the gossip mesh.
const (
	// tagMeshPrefix+topic protects a peer of this node's mesh of topic from
	// trimming and makes it the last inbound peer shed (peerset.go).
	tagMeshPrefix = "mesh:"
	// tagDeliveries counts the messages a peer delivered first, up to
	// maxDeliveriesTag: the usefulness of a peer outside the mesh.
	tagDeliveries    = "deliveries"
	maxDeliveriesTag = 100
)

// meshTracker follows this node's GossipSub mesh of every topic from the
// router's Graft and Prune events, protects mesh peers in the connection
// manager, and tags every peer with the messages it delivered first.
type meshTracker struct {
	tracerBase
	cm connmgr.ConnManager

	mu   sync.Mutex
	mesh map[string]map[peer.ID]struct{}
}

func newMeshTracker(cm connmgr.ConnManager) *meshTracker {
	return &meshTracker{cm: cm, mesh: make(map[string]map[peer.ID]struct{})}
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

// topicsOf returns the number of meshes p is in.
func (m *meshTracker) topicsOf(p peer.ID) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := 0
	for _, peers := range m.mesh {
		if _, ok := peers[p]; ok {
			k++
		}
	}
	return k
}

// Graft is called when p enters this node's mesh of topic.
func (m *meshTracker) Graft(p peer.ID, topic string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.mesh[topic] == nil {
		m.mesh[topic] = make(map[peer.ID]struct{})
	}
	m.mesh[topic][p] = struct{}{}
	m.cm.Protect(p, tagMeshPrefix+topic)
}

// Prune is called when p leaves this node's mesh of topic.
func (m *meshTracker) Prune(p peer.ID, topic string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.removeLocked(p, topic)
}

func (m *meshTracker) removeLocked(p peer.ID, topic string) {
	if _, ok := m.mesh[topic][p]; ok {
		delete(m.mesh[topic], p)
		m.cm.Unprotect(p, tagMeshPrefix+topic)
	}
}

// OnClosedOutboundStream is called when the router forgets p, whose stream
// is gone with its connection: p leaves every mesh without a Prune.
func (m *meshTracker) OnClosedOutboundStream(p peer.ID) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for topic := range m.mesh {
		m.removeLocked(p, topic)
	}
}

// Leave is called when this node leaves topic, and with it the topic's mesh.
func (m *meshTracker) Leave(topic string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for p := range m.mesh[topic] {
		m.removeLocked(p, topic)
	}
	delete(m.mesh, topic)
}

// DeliverMessage is called for the first valid copy of every message: its
// sender delivered it first.
func (m *meshTracker) DeliverMessage(msg *pubsub.Message) {
	if msg.ReceivedFrom == "" || msg.Local {
		return
	}
	m.cm.UpsertTag(msg.ReceivedFrom, tagDeliveries, func(v int) int { return min(v+1, maxDeliveriesTag) })
}

var _ pubsub.RawTracer = (*meshTracker)(nil)
