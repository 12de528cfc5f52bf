package p2p

import (
	"errors"
	"sync"
	"sync/atomic"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
)

// The global inbound stream limits (MaxTransientStreams streams not
// negotiated yet, MaxInboundStreamsPerProtocol streams of one protocol) are
// shared limits (sharePool): a quarter of each is kept for the peers this
// node chose or that delivered (Standing), and a newcomer that finds one
// full takes back a stream of the largest untrusted holder, by address
// group and identity, instead of being refused. libp2p's resource manager
// keeps its own limits (per peer, per peer and protocol, and the global
// ones at twice ours, as a backstop for the streams taken back whose
// handlers have not returned yet).

// Errors of a stream refused its share.
var (
	errTransientShare = errors.New("inbound streams not negotiated: no share left for this peer")
	errProtocolShare  = errors.New("inbound streams of the protocol: no share left for this peer")
)

// sharingManager is a libp2p resource manager whose inbound stream scopes
// also hold a slot of the shared limits: one of transient until the stream
// negotiates its protocol, then one of that protocol's.
type sharingManager struct {
	network.ResourceManager
	node atomic.Pointer[Node] // nil until New has built the node: no sharing before

	transient *sharePool
	mu        sync.Mutex
	protocols map[protocol.ID]*sharePool // of the protocols negotiated (those this node serves)
}

func newSharingManager(rm network.ResourceManager) *sharingManager {
	return &sharingManager{
		ResourceManager: rm,
		transient:       newSharePool(MaxTransientStreams, ReservedShare(MaxTransientStreams)),
		protocols:       make(map[protocol.ID]*sharePool),
	}
}

// protocolPool returns the shared limit of proto.
func (m *sharingManager) protocolPool(proto protocol.ID) *sharePool {
	m.mu.Lock()
	defer m.mu.Unlock()
	sp := m.protocols[proto]
	if sp == nil {
		sp = newSharePool(MaxInboundStreamsPerProtocol, ReservedShare(MaxInboundStreamsPerProtocol))
		m.protocols[proto] = sp
	}
	return sp
}

// OpenStream opens libp2p's stream scope and, for an inbound stream, takes
// a slot of the transient share for it.
func (m *sharingManager) OpenStream(p peer.ID, dir network.Direction) (network.StreamManagementScope, error) {
	sc, err := m.ResourceManager.OpenStream(p, dir)
	n := m.node.Load()
	if err != nil || dir != network.DirInbound || n == nil {
		return sc, err
	}
	ss := &sharedStream{StreamManagementScope: sc, m: m, n: n, peer: p}
	slot := m.transient.take(p, n.Standing(p), ss.evict)
	if slot == nil {
		sc.Done()
		return nil, errTransientShare
	}
	ss.slot = slot
	return ss, nil
}

// sharedStream is the scope of an inbound stream holding a slot of a
// shared limit.
type sharedStream struct {
	network.StreamManagementScope
	m    *sharingManager
	n    *Node
	peer peer.ID

	mu   sync.Mutex
	slot *shareSlot // nil once done
}

// SetProtocol moves the stream to proto's scope and from the transient
// share to proto's share.
func (ss *sharedStream) SetProtocol(proto protocol.ID) error {
	if err := ss.StreamManagementScope.SetProtocol(proto); err != nil {
		return err
	}
	slot := ss.m.protocolPool(proto).take(ss.peer, ss.n.Standing(ss.peer), ss.evict)
	if slot == nil {
		return errProtocolShare
	}
	ss.mu.Lock()
	old := ss.slot
	ss.slot = slot
	ss.mu.Unlock()
	old.give()
	return nil
}

// Done gives back the stream's slot and ends its scope.
func (ss *sharedStream) Done() {
	ss.mu.Lock()
	slot := ss.slot
	ss.slot = nil
	ss.mu.Unlock()
	slot.give()
	ss.StreamManagementScope.Done()
}

// evict resets the stream whose slot was taken back for a newcomer.
func (ss *sharedStream) evict() {
	for _, c := range ss.n.host.Network().ConnsToPeer(ss.peer) {
		for _, s := range c.GetStreams() {
			if s.Scope() == network.StreamScope(ss) {
				ss.n.log.Debug("resetting a stream of the largest holder of a shared limit", "peer", ss.peer, "protocol", s.Protocol())
				_ = s.ResetWithError(network.StreamResourceLimitExceeded)
				return
			}
		}
	}
}

// StreamShareStats are the counts of the shared stream limits.
type StreamShareStats struct {
	Transient        int    // inbound streams not negotiated yet
	TransientTrusted int    // of which of trusted peers (Standing)
	Taken            uint64 // inbound streams reset to make room for a newcomer
	Refused          uint64 // inbound streams refused their share
}

// StreamShareStats returns the counts of the shared stream limits.
func (n *Node) StreamShareStats() StreamShareStats {
	var st StreamShareStats
	st.Transient, st.TransientTrusted = n.shares.transient.held()
	pools := []*sharePool{n.shares.transient}
	n.shares.mu.Lock()
	for _, sp := range n.shares.protocols {
		pools = append(pools, sp)
	}
	n.shares.mu.Unlock()
	for _, sp := range pools {
		st.Taken += sp.taken.Load()
		st.Refused += sp.refused.Load()
	}
	return st
}

// ProtocolShare returns the inbound streams of proto held: in all, and by
// trusted peers.
func (n *Node) ProtocolShare(proto protocol.ID) (all, trusted int) {
	return n.shares.protocolPool(proto).held()
}
