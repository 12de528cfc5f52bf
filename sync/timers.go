package sync

import (
	"context"
	"hash/fnv"
	mrand "math/rand/v2"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
)

// timerJitter is the share of its interval by which each wait of a periodic
// timer of the service varies: a wait is drawn uniformly from interval ×
// [1 − timerJitter, 1 + timerJitter]. PROTOCOL.md states it.
const timerJitter = 0.2

// Names of the periodic timers, which seed their schedules.
const (
	statusTimer = "status"
	poolTimer   = "pool"
)

// schedule draws the waits of one periodic timer: the first a random share
// of the interval (a random phase), each later one the interval ±
// timerJitter. Nodes started at the same instant thus neither fire together
// nor drift back into step. A schedule is used by one goroutine.
type schedule struct {
	rng   *mrand.Rand
	every time.Duration
}

// newSchedule returns the schedule of the periodic timer name of the node
// id. Its random source is seeded by the node's identity and the timer's
// name: a simulation of seeded identities is reproducible, and two timers of
// one node are independent.
func newSchedule(id peer.ID, name string, every time.Duration) *schedule {
	h := fnv.New64a()
	_, _ = h.Write([]byte(id))
	node := h.Sum64()
	_, _ = h.Write([]byte(name))
	return &schedule{rng: mrand.New(mrand.NewPCG(node, h.Sum64())), every: max(every, 1)}
}

// first returns the wait before the first firing, in [0, interval).
func (s *schedule) first() time.Duration {
	return time.Duration(s.rng.Int64N(int64(s.every)))
}

// next returns the wait before the next firing.
func (s *schedule) next() time.Duration { return s.vary(s.every) }

// vary returns d ± timerJitter, drawn uniformly.
func (s *schedule) vary(d time.Duration) time.Duration {
	return time.Duration(float64(d) * (1 - timerJitter + 2*timerJitter*s.rng.Float64()))
}

// repeat calls fn at the times drawn from sch until ctx ends.
func repeat(ctx context.Context, sch *schedule, fn func()) {
	t := time.NewTimer(sch.first())
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		fn()
		t.Reset(sch.next())
	}
}
