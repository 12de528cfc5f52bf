package sync

import (
	"testing"
	"time"

	"github.com/gossipchain/gossipchain/chain"
)

func TestSeenLogBounded(t *testing.T) {
	l := newSeenLog()
	t0 := time.Unix(0, 1)
	var first chain.Hash
	first[0] = 1
	l.accepted(first, t0)
	l.stored(first, t0.Add(time.Nanosecond))
	l.accepted(first, t0.Add(time.Hour)) // the first acceptance stays
	if s, ok := l.get(first); !ok || !s.Accepted.Equal(t0) || !s.Stored.Equal(t0.Add(time.Nanosecond)) {
		t.Fatalf("seen %+v %v", s, ok)
	}
	for i := range seenCapacity {
		var h chain.Hash
		h[1], h[2] = byte(i), byte(i>>8)
		h[3] = 9
		l.stored(h, t0)
	}
	if _, ok := l.get(first); ok {
		t.Error("the oldest entry was not forgotten")
	}
	if len(l.m) != seenCapacity || len(l.order) != seenCapacity {
		t.Errorf("%d entries, ring %d; want %d", len(l.m), len(l.order), seenCapacity)
	}
}
