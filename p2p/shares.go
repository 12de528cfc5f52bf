package p2p

import (
	"cmp"
	"sync"
	"sync/atomic"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
)

// Standing is how a peer stands with this node when it asks for a slot of
// a limit that all peers share (a sharePool): the address group it
// connects from, and whether it is trusted.
type Standing struct {
	// Group is the address group of its connection (addrGroup).
	Group string
	// Trusted peers may take the reserved part of every shared limit, and
	// their slots are never taken back for a newcomer.
	Trusted bool
}

// Standing returns p's standing. A peer is trusted when this node chose it
// (it dialled it, or it is a bootstrap or registered peer) or it delivered
// (messages it relayed first, blocks it served: Delivered), unless its
// gossip score is negative. It is safe for concurrent use.
func (n *Node) Standing(p peer.ID) Standing {
	st := Standing{Group: n.peerGroup(p)}
	if n.Score(p) < 0 {
		return st
	}
	n.mu.Lock()
	src := n.sources[p]
	n.mu.Unlock()
	st.Trusted = src == SourceBootstrap || src == SourceRegister || n.Outbound(p)
	if !st.Trusted {
		if info := n.cm.GetTagInfo(p); info != nil {
			st.Trusted = info.Tags[tagDeliveries] > 0
		}
	}
	return st
}

// Delivered records that p delivered valid data this node asked for (for
// instance the blocks of a chain-exchange reply): it counts as a delivery
// of p, as the messages it relays first do, for the peer set's eviction
// (evictable) and for its standing.
func (n *Node) Delivered(p peer.ID) {
	n.cm.UpsertTag(p, tagDeliveries, func(v int) int { return min(v+1, maxDeliveriesTag) })
}

// ReservedShare is the part of a shared limit of limit slots kept for
// trusted peers: a quarter.
func ReservedShare(limit int) int { return limit / 4 }

// sharePool is one limit that all peers share, in the manner of libp2p's
// resource-manager scopes with an allowlist, and of Bitcoin Core's
// eviction: at most limit slots are held at once, and reserve of them only
// by trusted peers. A newcomer that finds no room is not refused: the
// untrusted address group holding the most slots gives one up, that of its
// identity holding the most, its oldest; trusted slots are never taken
// back. The newcomer is refused only when it would itself become that
// largest holder (its group, and its identity within it, would hold as
// many), so that identities filling the pool cannot lock out a peer
// holding few, and churn among them ends once their shares are level.
// It is safe for concurrent use.
type sharePool struct {
	limit, reserve int
	taken          atomic.Uint64 // slots taken back for newcomers
	refused        atomic.Uint64 // newcomers refused

	mu        sync.Mutex
	slots     map[*shareSlot]struct{}
	trusted   int            // trusted slots held
	byGroup   map[string]int // untrusted slots held, by group
	untrusted int            // untrusted slots held
}

// shareSlot is one slot of a sharePool.
type shareSlot struct {
	pool   *sharePool
	peer   peer.ID
	st     Standing
	opened time.Time
	evict  func() // ends what holds the slot when it is taken back; nil: never taken back
	held   bool   // under pool.mu
}

func newSharePool(limit, reserve int) *sharePool {
	return &sharePool{limit: limit, reserve: reserve, slots: make(map[*shareSlot]struct{}), byGroup: make(map[string]int)}
}

// take gives p, of standing st, a slot, or returns nil if it is refused.
// When a slot is taken back to make room, its evict is called after the
// pool's lock is released, before take returns. evict, if not nil, ends
// what holds the new slot when it is taken back in turn.
func (sp *sharePool) take(p peer.ID, st Standing, evict func()) *shareSlot {
	sp.mu.Lock()
	victim, ok := sp.roomLocked(p, st)
	if !ok {
		sp.mu.Unlock()
		sp.refused.Add(1)
		return nil
	}
	if victim != nil {
		sp.dropLocked(victim)
		sp.taken.Add(1)
	}
	s := &shareSlot{pool: sp, peer: p, st: st, opened: time.Now(), evict: evict, held: true}
	sp.slots[s] = struct{}{}
	if st.Trusted {
		sp.trusted++
	} else {
		sp.untrusted++
		sp.byGroup[st.Group]++
	}
	sp.mu.Unlock()
	if victim != nil {
		victim.evict()
	}
	return s
}

// give releases s and reports whether it was still held (false when it was
// taken back, or given already). A nil slot is not held.
func (s *shareSlot) give() bool {
	if s == nil {
		return false
	}
	sp := s.pool
	sp.mu.Lock()
	defer sp.mu.Unlock()
	if !s.held {
		return false
	}
	sp.dropLocked(s)
	return true
}

func (sp *sharePool) dropLocked(s *shareSlot) {
	s.held = false
	delete(sp.slots, s)
	if s.st.Trusted {
		sp.trusted--
		return
	}
	sp.untrusted--
	if sp.byGroup[s.st.Group]--; sp.byGroup[s.st.Group] <= 0 {
		delete(sp.byGroup, s.st.Group)
	}
}

// roomLocked decides on a newcomer p of standing st: ok is false when it is
// refused; victim, when not nil, is the slot to take back for it.
func (sp *sharePool) roomLocked(p peer.ID, st Standing) (victim *shareSlot, ok bool) {
	total := len(sp.slots)
	if total < sp.limit && (st.Trusted || sp.untrusted < sp.limit-sp.reserve) {
		return nil, true
	}
	group, most := largest(sp.byGroup)
	if most == 0 {
		return nil, false // only trusted slots: nothing to take back
	}
	own := !st.Trusted && sp.byGroup[st.Group]+1 >= most
	if own {
		group = st.Group
	}
	byPeer := make(map[peer.ID]int)
	for s := range sp.slots {
		if !s.st.Trusted && s.st.Group == group && s.evict != nil {
			byPeer[s.peer]++
		}
	}
	holder, n := largest(byPeer)
	if n == 0 || own && sp.countLocked(p, group)+1 >= n {
		return nil, false
	}
	for s := range sp.slots {
		if s.peer == holder && !s.st.Trusted && s.evict != nil && (victim == nil || s.opened.Before(victim.opened)) {
			victim = s
		}
	}
	return victim, true
}

// countLocked is the number of untrusted slots p holds in group.
func (sp *sharePool) countLocked(p peer.ID, group string) int {
	n := 0
	for s := range sp.slots {
		if s.peer == p && !s.st.Trusted && s.st.Group == group {
			n++
		}
	}
	return n
}

// held returns the slots held: in all, and by trusted peers.
func (sp *sharePool) held() (all, trusted int) {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	return len(sp.slots), sp.trusted
}

// largest is the key of m with the largest count, the smallest key among
// equals so that the choice is stable, and that count (0 for an empty m).
func largest[K cmp.Ordered](m map[K]int) (K, int) {
	var top K
	most := 0
	for k, n := range m {
		if n > most || n == most && k < top {
			top, most = k, n
		}
	}
	return top, most
}
