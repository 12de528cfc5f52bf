package sync

import (
	"context"
	mrand "math/rand/v2"
	gosync "sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
)

// testIDs returns n peer IDs of keys drawn from a fixed seed.
func testIDs(t *testing.T, n int) []peer.ID {
	t.Helper()
	rng := mrand.NewChaCha8([32]byte{21})
	ids := make([]peer.ID, n)
	for i := range ids {
		_, pub, err := crypto.GenerateEd25519Key(rng)
		if err != nil {
			t.Fatal(err)
		}
		if ids[i], err = peer.IDFromPublicKey(pub); err != nil {
			t.Fatal(err)
		}
	}
	return ids
}

// TestTimersSpread starts the status timers of 200 nodes at one instant (in
// virtual time): their first firings spread over the whole interval, every
// later wait is the interval ± timerJitter, and no two nodes fire together.
func TestTimersSpread(t *testing.T) {
	const n, every = 200, 10 * time.Second
	ids := testIDs(t, n)
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		ctx, cancel := context.WithCancel(context.Background())
		var mu gosync.Mutex
		fired := make([][]time.Duration, n)
		var wg gosync.WaitGroup
		for i, id := range ids {
			wg.Go(func() {
				repeat(ctx, newSchedule(id, statusTimer, every), func() {
					mu.Lock()
					fired[i] = append(fired[i], time.Since(start))
					mu.Unlock()
				})
			})
		}
		time.Sleep(5 * every)
		cancel()
		wg.Wait()

		var buckets [10]int
		firsts := make(map[time.Duration]bool)
		for i, f := range fired {
			if len(f) < 4 {
				t.Fatalf("node %d fired %d times in %s, want at least 4", i, len(f), 5*every)
			}
			if f[0] >= every {
				t.Fatalf("node %d first fired after %s, want within %s", i, f[0], every)
			}
			buckets[f[0]*10/every]++
			firsts[f[0]] = true
			for k := 1; k < len(f); k++ {
				gap := f[k] - f[k-1]
				if lo, hi := time.Duration(float64(every)*(1-timerJitter)), time.Duration(float64(every)*(1+timerJitter)); gap < lo || gap > hi {
					t.Fatalf("node %d waited %s between firings, want %s to %s", i, gap, lo, hi)
				}
			}
		}
		if len(firsts) < n {
			t.Errorf("%d distinct first firings of %d nodes", len(firsts), n)
		}
		for b, c := range buckets {
			if c < n/10/3 || c > 3*n/10 {
				t.Fatalf("first firings per tenth of the interval %v: tenth %d holds %d, want about %d", buckets, b, c, n/10)
			}
		}
	})
}

// TestScheduleSeeded: one node's timer has the same schedule at every start
// (a simulation of seeded identities is reproducible); its two timers differ.
func TestScheduleSeeded(t *testing.T) {
	id := testIDs(t, 1)[0]
	a, b := newSchedule(id, statusTimer, time.Second), newSchedule(id, statusTimer, time.Second)
	c := newSchedule(id, poolTimer, time.Second)
	same, differ := true, false
	for range 10 {
		x, y, z := a.next(), b.next(), c.next()
		same = same && x == y
		differ = differ || x != z
	}
	if !same {
		t.Error("two schedules of one node's timer differ")
	}
	if !differ {
		t.Error("the status and pool timers of one node have the same schedule")
	}
}
