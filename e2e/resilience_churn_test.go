package e2e

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestResilienceChurn restarts three nodes one after another, alternately
// with SIGTERM and SIGKILL, while two others mine, for a while (20 s in the
// suite, 5 minutes in the long form). Every node must converge on one head at
// the end, every SIGTERM must end in a clean exit, and the long-lived node
// they all connect to must not leak: its goroutines, open files and resident
// memory after the churn stay within a margin of what they were after the
// first round.
func TestResilienceChurn(t *testing.T) {
	duration := scale(20*time.Second, 5*time.Minute)
	rng := testRand(t)
	opts := quietOpts(nodeOptions{network: "churn", difficulty: 12})
	long := startNode(t, opts)
	opts.bootstrap = []string{long.multiaddr()}
	miner := startNode(t, opts)
	churners := []*node{startNode(t, opts), startNode(t, opts), startNode(t, opts)}
	all := append([]*node{long, miner}, churners...)
	tried(t, "restarting %d nodes in turn for %s while 2 others mine, watching the long-lived node's goroutines, files and memory", len(churners), duration)

	allConnected := func() error {
		peers, err := long.peerSet()
		if err == nil && len(peers) < len(all)-1 {
			err = fmt.Errorf("long-lived node has %d peers, want %d", len(peers), len(all)-1)
		}
		return err
	}
	waitFor(t, "every node connected to the long-lived one", waitTimeout, allConnected)

	// Mining in the background, on the miner and now and then on the
	// long-lived node, so that blocks keep coming from both sides.
	stopMining := make(chan struct{})
	var (
		wg          sync.WaitGroup
		mu          sync.Mutex
		mined       int
		mineFailure []string
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stopMining:
				return
			case <-time.After(150 * time.Millisecond):
			}
			n := miner
			if i%3 == 2 {
				n = long
			}
			code, err := n.do(http.MethodGet, "/mine", "", nil)
			mu.Lock()
			if err != nil || code != http.StatusOK {
				mineFailure = append(mineFailure, fmt.Sprintf("GET /mine: %d %v", code, err))
			} else {
				mined++
			}
			mu.Unlock()
		}
	}()
	stopBackground := func() {
		select {
		case <-stopMining:
		default:
			close(stopMining)
		}
		wg.Wait()
	}
	t.Cleanup(stopBackground)

	type sample struct {
		goroutines float64
		proc       procStats
	}
	measure := func() sample {
		t.Helper()
		g, err := long.metric("go_goroutines")
		if err != nil {
			t.Fatal(err)
		}
		p, err := readProcStats(long.Pid())
		if err != nil {
			t.Fatal(err)
		}
		return sample{g, p}
	}

	var samples []sample
	restarts, kills := 0, 0
	start := time.Now()
	for round := 0; time.Since(start) < duration || round < 2; round++ {
		for _, c := range churners {
			if rng.IntN(2) == 0 {
				c.stop()
			} else {
				c.kill()
				kills++
			}
			// Down for a moment while the others go on mining.
			time.Sleep(time.Duration(rng.IntN(400)) * time.Millisecond)
			c.restart()
			restarts++
		}
		waitFor(t, "every restarted node reconnected", waitTimeout, allConnected)
		samples = append(samples, measure())
	}
	stopBackground()
	mu.Lock()
	if len(mineFailure) > 0 {
		t.Fatalf("mining failed during the churn: %v", mineFailure)
	}
	mu.Unlock()

	head := sameHead(t, all, uint64(mined/2))
	for _, n := range all {
		n.mustValidChain()
	}
	final := measure()

	base := samples[0]
	var trace []string
	for i, s := range samples {
		if i == 0 || i == len(samples)-1 || len(samples) <= 12 || i%(len(samples)/10) == 0 {
			trace = append(trace, fmt.Sprintf("round %d: %.0f goroutines, %s", i+1, s.goroutines, s.proc))
		}
	}
	t.Logf("long-lived node across the churn:\n  %s\n  final: %.0f goroutines, %s", strings.Join(trace, "\n  "), final.goroutines, final.proc)
	if limit := base.goroutines*1.5 + 50; final.goroutines > limit {
		t.Errorf("goroutines grew from %.0f after the first round to %.0f (limit %.0f)", base.goroutines, final.goroutines, limit)
	}
	if limit := base.proc.FDs + 24; final.proc.FDs > limit {
		t.Errorf("open files grew from %d after the first round to %d (limit %d)", base.proc.FDs, final.proc.FDs, limit)
	}
	if limit := base.proc.RSSKB*2 + 64<<10; final.proc.RSSKB > limit {
		t.Errorf("resident memory grew from %d KiB after the first round to %d KiB (limit %d KiB)", base.proc.RSSKB, final.proc.RSSKB, limit)
	}
	held(t, "%d restarts (%d by SIGKILL, the rest by SIGTERM with a clean exit) in %d rounds over %s while %d blocks were mined; all %d nodes converged on %s with valid chains; the long-lived node went from %.0f to %.0f goroutines, %d to %d open files, %.1f to %.1f MiB resident",
		restarts, kills, len(samples), time.Since(start).Round(time.Second), mined, len(all), head,
		base.goroutines, final.goroutines, base.proc.FDs, final.proc.FDs, float64(base.proc.RSSKB)/1024, float64(final.proc.RSSKB)/1024)
}
