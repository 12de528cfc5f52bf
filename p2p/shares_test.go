package p2p

import (
	"fmt"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
)

// holder is a peer of a shares test: its identity and standing.
type holder struct {
	id peer.ID
	st Standing
}

// holders numbers the holders of a test.
var holders int

func newHolder(group string, trusted bool) holder {
	holders++
	return holder{id: peer.ID(fmt.Sprintf("%s/%d", group, holders)), st: Standing{Group: group, Trusted: trusted}}
}

// fill takes n slots of h in sp, failing the test on a refusal; evicted
// counts the slots of h taken back.
func fill(t *testing.T, sp *sharePool, h holder, n int, evicted *int) []*shareSlot {
	t.Helper()
	var out []*shareSlot
	for i := range n {
		s := sp.take(h.id, h.st, func() { *evicted++ })
		if s == nil {
			t.Fatalf("slot %d of %s refused", i+1, h.id)
		}
		out = append(out, s)
	}
	return out
}

// TestSharePool: the untrusted peers together hold at most the limit less
// the reserve; a newcomer finding no room takes back a slot of the largest
// untrusted group, of its largest identity; the largest holder itself is
// refused; trusted slots are never taken back.
func TestSharePool(t *testing.T) {
	const limit = 16
	sp := newSharePool(limit, ReservedShare(limit))
	var bigA, bigB, small, trusted, own int
	a := newHolder("10.1", false)
	b := newHolder("10.1", false)
	c := newHolder("10.2", false)
	fill(t, sp, a, 6, &bigA)
	fill(t, sp, b, 4, &bigB)
	fill(t, sp, c, 2, &small)
	if all, _ := sp.held(); all != limit-ReservedShare(limit) {
		t.Fatalf("%d slots held, want %d", all, limit-ReservedShare(limit))
	}

	// Untrusted room is gone: a newcomer of another group takes back a
	// slot of a, the largest identity of the largest group.
	newcomer := newHolder("10.3", false)
	fill(t, sp, newcomer, 1, &own)
	if bigA != 1 || bigB != 0 || small != 0 {
		t.Fatalf("taken back: a %d, b %d, c %d; want 1 of a", bigA, bigB, small)
	}
	// The largest holder itself is refused, not served by its own slots.
	if s := sp.take(a.id, a.st, func() {}); s != nil {
		t.Fatalf("the largest holder took a slot")
	}
	// Trusted peers take the reserve without taking anything back, then
	// take back untrusted slots.
	tp := newHolder("10.1", true)
	fill(t, sp, tp, ReservedShare(limit), &trusted)
	if bigA != 1 || bigB != 0 {
		t.Fatalf("the reserve took back untrusted slots: a %d, b %d", bigA, bigB)
	}
	fill(t, sp, tp, 2, &trusted)
	if bigA+bigB != 3 {
		t.Fatalf("a full pool took back %d untrusted slots for 2 trusted newcomers, want 2", bigA+bigB-1)
	}
	// Untrusted newcomers never take back trusted slots.
	for range 20 {
		sp.take(newHolder("10.9", false).id, Standing{Group: "10.9"}, func() {})
	}
	if trusted != 0 {
		t.Fatalf("%d trusted slots taken back", trusted)
	}
	if all, tr := sp.held(); all != limit || tr != ReservedShare(limit)+2 {
		t.Fatalf("%d slots held, %d trusted; want %d, %d", all, tr, limit, ReservedShare(limit)+2)
	}
}

// TestSharePoolLevels: identities that keep asking for more than their
// share stop taking slots from each other once their shares are level,
// and a slot given back or taken back is given once.
func TestSharePoolLevels(t *testing.T) {
	sp := newSharePool(12, 0)
	hs := []holder{newHolder("10.1", false), newHolder("10.2", false), newHolder("10.3", false)}
	taken := 0
	for range 10 {
		for _, h := range hs {
			if s := sp.take(h.id, h.st, func() { taken++ }); s == nil {
				continue
			}
		}
	}
	for _, h := range hs {
		sp.mu.Lock()
		n := sp.countLocked(h.id, h.st.Group)
		sp.mu.Unlock()
		if n != 4 {
			t.Fatalf("%s holds %d slots, want 4", h.id, n)
		}
	}
	if taken != 0 {
		t.Fatalf("%d slots taken back among equals", taken)
	}
	s := sp.take(newHolder("10.4", false).id, Standing{Group: "10.4"}, func() {})
	if s == nil || taken != 1 {
		t.Fatalf("a newcomer was refused (%v) or took back %d slots", s == nil, taken)
	}
	if !s.give() || s.give() {
		t.Fatalf("a slot given back twice")
	}
}

// TestGateShares: a Gate with Standing resets a request of the largest
// untrusted holder for a newcomer, and keeps its reserve for trusted peers.
func TestGateShares(t *testing.T) {
	trusted := peer.ID("trusted")
	standing := func(p peer.ID) Standing { return Standing{Group: "g-" + string(p), Trusted: p == trusted} }
	g := NewGate(GateConfig{PerPeer: 4, Global: 8, Standing: standing, Reserve: 2})
	now := time.Now()
	evicted := 0
	for range 4 {
		if _, r := g.admit("a", now, func() { evicted++ }); r != Admitted {
			t.Fatalf("a refused: %s", r)
		}
	}
	for range 2 {
		if _, r := g.admit("b", now, func() { evicted++ }); r != Admitted {
			t.Fatalf("b refused: %s", r)
		}
	}
	if _, r := g.Admit("c", now); r != Admitted || evicted != 1 || g.Serving() != 6 {
		t.Fatalf("newcomer: %s, %d taken back, %d serving; want admitted, 1, 6", r, evicted, g.Serving())
	}
	for range 2 {
		if _, r := g.Admit(trusted, now); r != Admitted {
			t.Fatalf("trusted peer refused its reserve: %s", r)
		}
	}
	if evicted != 1 || g.Serving() != 8 {
		t.Fatalf("%d taken back, %d serving; want 1, 8", evicted, g.Serving())
	}
}
