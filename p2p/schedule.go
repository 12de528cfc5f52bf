package p2p

import (
	"math/rand/v2"
	"time"
)

// Timers of the connection keeper. Nodes started together (a devnet, a
// simulation of a thousand nodes, a data centre after a power cut) must not
// ask for peers, ping and redial in lockstep: every periodic timer starts at
// a random phase of its period, and every round is stretched or shortened
// at random by up to scheduleSpread.
const scheduleSpread = 0.2

// schedule is a periodic timer driven by the caller's clock.
type schedule struct {
	last   time.Time // when it last fired; at first a random point of the period before the start
	factor float64   // this round's length, as a fraction of the period
}

// newSchedule returns a schedule of period started at now: it first fires at
// a uniformly random point of its first period.
func newSchedule(now time.Time, period time.Duration) schedule {
	return schedule{last: now.Add(-randDuration(period)), factor: 1}
}

// due reports whether this round of period has passed at now; if so, a new
// round of a random length in period·[1-scheduleSpread, 1+scheduleSpread]
// starts at now. period may differ from call to call (a node below its
// target asks for peers more often).
func (s *schedule) due(now time.Time, period time.Duration) bool {
	if now.Sub(s.last) < time.Duration(float64(period)*s.factor) {
		return false
	}
	s.last, s.factor = now, jitterFactor()
	return true
}

// jitterFactor is a random factor in [1-scheduleSpread, 1+scheduleSpread].
func jitterFactor() float64 {
	return 1 - scheduleSpread + 2*scheduleSpread*rand.Float64()
}

// jittered is d scaled by a jitterFactor.
func jittered(d time.Duration) time.Duration {
	return time.Duration(float64(d) * jitterFactor())
}

// randDuration is a uniformly random duration in [0, d).
func randDuration(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	return time.Duration(rand.Int64N(int64(d)))
}

// keeperClock holds the connection keeper's timers.
type keeperClock struct {
	first           time.Duration // the wait before the keeper's first round
	ask, ping, save schedule
}

func newKeeperClock(now time.Time) keeperClock {
	return keeperClock{
		first: randDuration(maintainInterval),
		ask:   newSchedule(now, askAtTarget),
		ping:  newSchedule(now, pingInterval),
		save:  newSchedule(now, saveInterval),
	}
}

// askPeriod is how often a peer is asked for peers: askBelowTarget while
// the node is below its target, askAtTarget once it has reached it.
func askPeriod(below bool) time.Duration {
	if below {
		return askBelowTarget
	}
	return askAtTarget
}
