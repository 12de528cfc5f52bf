package e2e

import (
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/gossipchain/gossipchain/api/client"
	"github.com/gossipchain/gossipchain/chain"
)

// retargetFlags are the parameters of the network of TestRetargetOneSecondBlocks:
// 1 s blocks with a half-life of 4 blocks (the tightest hold on the
// schedule over tens of blocks), starting at 18 bits, far below what one
// thread mines in a second.
var retargetFlags = []string{"--target-block-time", "1s", "--half-life", "4s", "--initial-difficulty", "18"}

// retargetWindow is how many blocks the mean interval is measured over,
// after retargetSettle blocks (two half-lives) past the last change of the
// hash rate. With a half-life of 4 blocks the rule holds the chain within a
// few blocks of its schedule, so the error of the mean falls as 1/window: the
// mean of 60 intervals has a standard deviation near 5% (a simulation of the
// rule), that of 90 near 3.3%, so the 15% bound is four and a half of them
// (a chance failure about once in 10^5 runs), with room for a change of the
// machine's load (a 2× change of the hash rate costs about 4 blocks).
const (
	retargetWindow = 90
	retargetSettle = 8
)

// Three mining processes on a 1 s target block time, started at different
// moments, one stopping midway: the difficulty follows the hash rate, the
// mean block interval after the last change is within 15% of 1 s, and once
// mining stops every node (the stopped one restarted) is on the same head.
func TestRetargetOneSecondBlocks(t *testing.T) {
	if testing.Short() {
		t.Skip("two minutes of mining")
	}
	opts := func(mine bool, boot ...*node) nodeOptions {
		o := nodeOptions{network: "retarget1s", retarget: true, extra: append([]string(nil), retargetFlags...)}
		if mine {
			o.extra = append(o.extra, "--mine")
		}
		for _, b := range boot {
			o.bootstrap = append(o.bootstrap, b.multiaddr())
		}
		return o
	}
	height := func(n *node) uint64 { return n.mustStatus().Height }
	waitHeight := func(n *node, h uint64, timeout time.Duration) {
		t.Helper()
		waitFor(t, fmt.Sprintf("node %s at height %d", n.opts.httpAddr, h), timeout, func() error {
			if got := height(n); got < h {
				return fmt.Errorf("height %d", got)
			}
			return nil
		})
	}
	a := startNode(t, opts(true))
	waitHeight(a, 6, waitTimeout)
	b := startNode(t, opts(true, a))
	waitHeight(b, 14, waitTimeout)
	c := startNode(t, opts(true, a, b))
	waitHeight(c, 22, waitTimeout)
	a.stop() // midway: the hash rate drops by a third
	// The window starts once the target has caught up with the hash rate
	// (the last 8 intervals average at least 0.75 s: from 18 bits the
	// target has far to go, at most a quarter of a bit a block), then two
	// half-lives later: what is measured is the rule holding the block
	// time, not its climb from the initial target.
	var caught uint64
	waitFor(t, "the target caught up with the hash rate", waitTimeout, func() error {
		h := height(c)
		if h < 10 {
			return fmt.Errorf("height %d", h)
		}
		var tail client.Chain
		if _, err := c.getJSON(fmt.Sprintf("/chain?from=%d&limit=9", h-8), &tail); err != nil {
			return err
		}
		if len(tail.Chain) < 9 {
			return fmt.Errorf("%d blocks from %d", len(tail.Chain), h-8)
		}
		if m := seconds(tail.Chain[8].Timestamp-tail.Chain[0].Timestamp) / 8; m < 0.75 {
			return fmt.Errorf("height %d: the last 8 intervals average %.3f s", h, m)
		}
		caught = h
		return nil
	})
	from := caught + retargetSettle
	to := from + retargetWindow
	for _, n := range []*node{b, c} {
		waitHeight(n, to, time.Duration(to-from+retargetSettle)*3*time.Second)
	}
	b.stop()
	c.stop()

	// Restarted without mining, all three end on the same head.
	for i, n := range []*node{a, b, c} {
		o := opts(false, []*node{a, b, c}[:i]...)
		n.opts.extra, n.opts.bootstrap = o.extra, o.bootstrap
		n.restart()
	}
	head := sameHead(t, []*node{a, b, c}, to)

	// The mean interval of the window on the common chain.
	var full client.Chain
	if _, err := c.getJSON("/chain", &full); err != nil {
		t.Fatal(err)
	}
	blocks := full.Chain
	if uint64(len(blocks)) < to {
		t.Fatalf("chain of %d blocks, want at least %d", len(blocks), to)
	}
	first, last := blocks[from-1], blocks[to-1]
	mean := seconds(last.Timestamp-first.Timestamp) / float64(to-from)
	t.Logf("head %s; blocks %d..%d: mean interval %.3f s; bits %#08x at the start, %#08x at %d, %#08x at %d",
		head, from, to, mean, uint32(blocks[1].Bits), uint32(first.Bits), from, uint32(last.Bits), to)
	if math.Abs(mean-1) > 0.15 {
		t.Errorf("mean interval of blocks %d..%d is %.3f s, not within 15%% of 1 s", from, to, mean)
	}
	if blocks[1].Bits == last.Bits {
		t.Errorf("the target never moved from %#08x", uint32(last.Bits))
	}
}

// seconds converts a span of block time to seconds.
func seconds(d chain.Timestamp) float64 { return float64(d) / 1e6 }
