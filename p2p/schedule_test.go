package p2p

import (
	"testing"
	"time"
)

// A thousand nodes started at the same instant do not run their keepers,
// ask for peers, ping or save together: each timer first fires at a random
// point of its period, and later rounds drift apart by their jitter. The
// test fails if the phases or the jitter go (every node would then fire in
// one bin).
func TestKeeperTimersSpread(t *testing.T) {
	const nodes, bins = 1000, 10
	start := time.Now()
	clocks := make([]keeperClock, nodes)
	for i := range clocks {
		clocks[i] = newKeeperClock(start)
	}
	checkSpread := func(what string, period time.Duration, at func(i int) time.Duration) {
		t.Helper()
		var hist [bins]int
		for i := range clocks {
			d := at(i)
			if d < 0 || d > period {
				t.Fatalf("%s: node %d fires at %v, outside its period %v", what, i, d, period)
			}
			hist[min(int(d*bins/period), bins-1)]++
		}
		// Uniform: 100 per bin; a bin outside [60, 140] is 4 standard
		// deviations off.
		for b, n := range hist {
			if n < 60 || n > 140 {
				t.Fatalf("%s: %d of %d nodes fire in the %d-th tenth of the period, want about %d (histogram %v)", what, n, nodes, b+1, nodes/bins, hist)
			}
		}
	}
	checkSpread("first keeper round", maintainInterval, func(i int) time.Duration { return clocks[i].first })
	for _, s := range []struct {
		name   string
		period time.Duration
		sched  func(c *keeperClock) *schedule
	}{
		{"peer exchange", askAtTarget, func(c *keeperClock) *schedule { return &c.ask }},
		{"ping", pingInterval, func(c *keeperClock) *schedule { return &c.ping }},
		{"address-book save", saveInterval, func(c *keeperClock) *schedule { return &c.save }},
	} {
		// Walk each timer in steps of a thousandth of its period.
		step := s.period / 1000
		firings := make([][]time.Duration, nodes)
		for i := range clocks {
			for at := time.Duration(0); at < 5*s.period; at += step {
				if s.sched(&clocks[i]).due(start.Add(at), s.period) {
					firings[i] = append(firings[i], at)
				}
			}
		}
		checkSpread(s.name+", first firing", s.period, func(i int) time.Duration { return firings[i][0] })
		// Nodes in the same phase (here all of them, forced to fire at the
		// start) drift apart by the jitter of every round: three rounds
		// later no twentieth of the period holds more than 15% of them
		// (about 9% where the sum of three jitters is densest; without
		// jitter, all of them).
		var slices [100]int
		for i := range clocks {
			c := s.sched(&clocks[i])
			*c = schedule{last: start, factor: 1}
			var fired []time.Duration
			for at := step; len(fired) < 4; at += step {
				if c.due(start.Add(at), s.period) {
					fired = append(fired, at)
				}
			}
			slices[int(fired[3]*100/(5*s.period))]++
		}
		for j, n := range slices {
			if n > nodes*15/100 {
				t.Fatalf("%s: %d of %d nodes started in one phase fire in the same twentieth of a period (the %d-th of five periods) at their fourth round", s.name, n, nodes, j)
			}
		}
	}
}
