package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gossipchain/gossipchain/api/client"
	"github.com/gossipchain/gossipchain/chain"
)

// The bounds of TestCalmStart. On the defaults of the earlier release (16
// bits, a half-life of 60 blocks) three such miners made 336 blocks in
// 75 s with 52 reorganisations, 0.37 s a block after the first 40 s (521
// blocks in 30 s on an idle machine); on the default network (22 bits, a
// half-life of 4 blocks, PROTOCOL.md 10.2) the model of chain/calm_test.go
// gives about 20 blocks in the first minute, the climb over within it,
// and 1 or 2 stale blocks in five minutes.
const (
	calmRun = 75 * time.Second // mining time of the three nodes
	// calmMaxBlocks bounds the main chain's blocks in calmRun: about 20
	// for the climb and one every 10 s after it.
	calmMaxBlocks = 60
	// calmMaxReorgs bounds the reorganisations of the three nodes
	// together over the whole run, the first blocks included.
	calmMaxReorgs = 5
	// calmClimb is when the climb from the initial target is over: from
	// then on the mean interval is at least calmMinMean when there are at
	// least calmMinIntervals of them (the target is 10 s: the mean of 6
	// intervals at the target falls below 2 s once in 700 runs).
	calmClimb        = 40 * time.Second
	calmMinMean      = 2.0 // seconds
	calmMinIntervals = 6
)

// Three nodes mining with one thread each on the default network's
// parameters, started one after another on one machine: after the climb
// from the initial target the blocks come seconds apart, not in a burst,
// and the nodes reorganise rarely, from their first block on.
func TestCalmStart(t *testing.T) {
	if testing.Short() {
		t.Skip("75 s of mining")
	}
	opts := func(boot ...*node) nodeOptions {
		o := nodeOptions{network: chain.DefaultNetwork, retarget: true, extra: []string{"--mine"}}
		for _, b := range boot {
			o.bootstrap = append(o.bootstrap, b.multiaddr())
		}
		return o
	}
	start := time.Now()
	a := startNode(t, opts())
	b := startNode(t, opts(a))
	c := startNode(t, opts(a, b))
	nodes := []*node{a, b, c}
	// The run is a measurement window, not a wait for a condition.
	waitFor(t, fmt.Sprintf("%s of mining", calmRun), calmRun+time.Minute, func() error {
		if left := calmRun - time.Since(start); left > 0 {
			return fmt.Errorf("%s left", left.Round(time.Second))
		}
		return nil
	})
	reorgs := 0
	for _, n := range nodes {
		reorgs += strings.Count(n.Log(), `msg="chain reorganised"`)
	}
	var full client.Chain
	if _, err := c.getJSON("/chain", &full); err != nil {
		t.Fatal(err)
	}
	blocks := full.Chain
	if len(blocks) < 2 {
		t.Fatalf("a chain of %d blocks after %s", len(blocks), calmRun)
	}
	first := blocks[1].Timestamp // the first mined block
	climbed := first + chain.Timestamp(calmClimb.Microseconds())
	var after []float64
	for i := 2; i < len(blocks); i++ {
		if blocks[i].Timestamp >= climbed {
			after = append(after, seconds(blocks[i].Timestamp-blocks[i-1].Timestamp))
		}
	}
	mean := 0.0
	for _, iv := range after {
		mean += iv / float64(len(after))
	}
	t.Logf("%d blocks in %s, %d reorganisations on the three nodes; %d intervals after the first %s, mean %.2f s",
		len(blocks)-1, calmRun, reorgs, len(after), calmClimb, mean)
	if len(blocks)-1 > calmMaxBlocks {
		t.Errorf("%d blocks in %s, want at most %d (a burst)", len(blocks)-1, calmRun, calmMaxBlocks)
	}
	if reorgs > calmMaxReorgs {
		t.Errorf("%d reorganisations, want at most %d", reorgs, calmMaxReorgs)
	}
	if len(after) >= calmMinIntervals && mean < calmMinMean {
		t.Errorf("mean interval %.2f s after the first %s, want at least %.0f s (the target is 10 s)", mean, calmClimb, calmMinMean)
	}
}
