package sync

import (
	gosync "sync"

	"github.com/libp2p/go-libp2p/core/peer"
)

// peerSlots bounds the chain-exchange requests served at once to each peer.
// It is safe for concurrent use.
type peerSlots struct {
	max int

	mu    gosync.Mutex
	inUse map[peer.ID]int
}

func newPeerSlots(max int) *peerSlots {
	return &peerSlots{max: max, inUse: make(map[peer.ID]int)}
}

// take reserves a slot for p; false if p has all of its slots in use. Each
// true result must be matched by a call to release.
func (ps *peerSlots) take(p peer.ID) bool {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if ps.inUse[p] >= ps.max {
		return false
	}
	ps.inUse[p]++
	return true
}

func (ps *peerSlots) release(p peer.ID) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if ps.inUse[p]--; ps.inUse[p] <= 0 {
		delete(ps.inUse, p)
	}
}
