package main

import (
	"context"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/gossipchain/gossipchain/chain"
)

// runCalm measures the first minutes of the default network: three node
// processes started one after another with --mine on its parameters (no
// difficulty flag), each bootstrapping to those before it, mine for
// --duration. Then mining stops, the nodes restart without it and agree on
// one head, and the run reports the mean block interval of each minute of
// the main chain, the reorganisations each minute (the "chain
// reorganised" lines of the three logs), and over the first --window (5
// minutes): the stale share (blocks mined, by the logs, that are not on
// the main chain) and the mean interval from the third minute on. Each
// figure is the median of --runs runs in one sitting.
func runCalm(ctx context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("calm", flag.ContinueOnError)
	runs := fs.Int("runs", 3, "runs in one sitting")
	duration := fs.Duration("duration", 10*time.Minute, "mining time of each run")
	window := fs.Duration("window", 5*time.Minute, "the first minutes that the goal figures cover")
	threads := fs.Int("threads", 0, "--miner-threads of each node (0: the default, every CPU)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *runs < 1 || *window > *duration || *window < 3*time.Minute {
		return fmt.Errorf("--runs %d, --window %s, --duration %s: want a run and a window of at least 3 minutes within the duration", *runs, *window, *duration)
	}
	minutes := int(math.Ceil(duration.Minutes()))
	st := startSitting()
	var stale, steady []float64
	perMinute := make([][]float64, minutes) // by minute, one value a run
	reorgs := make([][]float64, minutes)
	for r := range *runs {
		res, err := calmRunOnce(ctx, e, r, *duration, *window, *threads)
		if err != nil {
			return fmt.Errorf("run %d: %w", r+1, err)
		}
		e.logf("calm: run %d: %d of %d blocks mined in the first %s stale; mean interval by minute %s; reorganisations by minute %v",
			r+1, res.stale, res.mined, *window, fmtIntervals(res.perMinute), res.reorgs)
		stale = append(stale, float64(res.stale)/math.Max(float64(res.mined), 1))
		steady = append(steady, res.steady)
		for m := range minutes {
			perMinute[m] = append(perMinute[m], res.perMinute[m])
			reorgs[m] = append(reorgs[m], float64(res.reorgs[m]))
		}
	}
	st.end()
	threadNote := "default miner threads (every CPU)"
	if *threads > 0 {
		threadNote = fmt.Sprintf("--miner-threads %d", *threads)
	}
	note := fmt.Sprintf("3 nodes on the default network's parameters (T = %s, H = %s, %d bits), %s, started one after another on one machine; median of %d runs",
		chain.DefaultTargetBlockTime, chain.DefaultHalfLifeBlocks*chain.DefaultTargetBlockTime, chain.DefaultInitialBits, threadNote, *runs)
	T := chain.DefaultTargetBlockTime.Seconds()
	s, m := summarize(stale), summarize(steady)
	e.sink.add(st.stamp(Row{ID: "13a", Item: "Calm start", What: fmt.Sprintf("stale share over the first %s: blocks mined that are not on the main chain", *window),
		Figure: fmt.Sprintf("%.1f%%", 100*s.Median), Goal: "≤ 3%", Verdict: verdict(s.Median <= 0.03), Command: e.command, Notes: []string{note}}, s))
	e.sink.add(st.stamp(Row{ID: "13b", Item: "Calm start", What: fmt.Sprintf("mean block interval from the third minute to the end of the first %s", *window),
		Figure: fmt.Sprintf("%.2f s", m.Median), Ratio: fmtRatio(m.Median / T), Goal: "within ±25% of T = 10 s", Verdict: verdict(math.Abs(m.Median/T-1) <= 0.25), Command: e.command}, m))
	medians := func(xs [][]float64) []float64 {
		var out []float64
		for _, x := range xs {
			out = append(out, median(x))
		}
		return out
	}
	e.sink.add(st.stamp(Row{ID: "13c", Item: "Calm start", What: "mean block interval of each minute, minutes 1 to " + strconv.Itoa(minutes),
		Figure: fmtIntervals(medians(perMinute)), Command: e.command}, summarize(perMinute[minutes-1])))
	var rs []string
	for _, v := range medians(reorgs) {
		rs = append(rs, strconv.FormatFloat(v, 'f', -1, 64))
	}
	e.sink.add(st.stamp(Row{ID: "13d", Item: "Calm start", What: "reorganisations each minute on the three nodes together, minutes 1 to " + strconv.Itoa(minutes),
		Figure: strings.Join(rs, " "), Command: e.command}, summarize(reorgs[0])))
	return nil
}

// calmResult is what one run of runCalm measured.
type calmResult struct {
	mined, stale int       // blocks mined in the window, and those off the main chain
	steady       float64   // mean interval from the third minute to the window's end
	perMinute    []float64 // mean main-chain interval ending in each minute, s
	reorgs       []int     // reorganisations logged in each minute
}

var (
	minedHashRE = regexp.MustCompile(`time=(\S+) level=INFO msg="new head" height=\d+ hash=([0-9a-f]{64}) source=mined`)
	reorgTimeRE = regexp.MustCompile(`time=(\S+) level=INFO msg="chain reorganised"`)
)

// calmRunOnce starts the three miners, lets them mine for duration, stops
// mining and reads the common chain and the logs.
func calmRunOnce(ctx context.Context, e *env, run int, duration, window time.Duration, threads int) (calmResult, error) {
	network := []string{"--network", chain.DefaultNetwork}
	mining := []string{"--mine"}
	if threads > 0 {
		mining = append(mining, "--miner-threads", strconv.Itoa(threads))
	}
	nodes := make([]*node, 3)
	defer func() {
		for _, nd := range nodes {
			if nd != nil {
				e.procs.stop(nd)
			}
		}
	}()
	start := func(i int, extra []string) error {
		var boot []string
		for _, nd := range nodes[:i] {
			boot = append(boot, nd.addr)
		}
		dir := filepath.Join(e.workDir, fmt.Sprintf("run%d-node%d", run, i))
		nd, err := e.startNode(ctx, nodeOpts{name: filepath.Base(dir), dataDir: dir, bootstrap: boot, network: network, logLevel: "info", extra: extra})
		nodes[i] = nd
		return err
	}
	t0 := time.Now()
	for i := range nodes {
		if err := start(i, mining); err != nil {
			return calmResult{}, err
		}
	}
	if err := sleepCtx(ctx, duration-time.Since(t0)); err != nil {
		return calmResult{}, err
	}
	minutes := int(math.Ceil(duration.Minutes()))
	res := calmResult{perMinute: make([]float64, minutes), reorgs: make([]int, minutes)}
	mined := map[chain.Hash]time.Time{}
	for i, nd := range nodes {
		data, err := os.ReadFile(nd.LogPath())
		if err != nil {
			return res, err
		}
		for _, m := range minedHashRE.FindAllSubmatch(data, -1) {
			at, err1 := time.Parse(time.RFC3339Nano, string(m[1]))
			h, err2 := chain.ParseHash(string(m[2]))
			if err1 == nil && err2 == nil {
				mined[h] = at
			}
		}
		for _, m := range reorgTimeRE.FindAllSubmatch(data, -1) {
			if at, err := time.Parse(time.RFC3339Nano, string(m[1])); err == nil {
				if k := int(at.Sub(t0).Minutes()); k >= 0 && k < minutes {
					res.reorgs[k]++
				}
			}
		}
		e.procs.stop(nd)
		nodes[i] = nil
	}
	// Restarted without mining, the three agree on one head.
	for i := range nodes {
		if err := start(i, nil); err != nil {
			return res, err
		}
	}
	if err := oneHead(ctx, nodes, 0); err != nil {
		return res, err
	}
	c, err := nodes[0].Client().Chain(ctx)
	if err != nil {
		return res, err
	}
	onMain := map[chain.Hash]bool{}
	sums, counts := make([]float64, minutes), make([]int, minutes)
	var steadySum float64
	var steadyN int
	for i, b := range c.Chain {
		onMain[b.Hash] = true
		if i < 2 { // the genesis and the first mined block have no interval in this run
			continue
		}
		at := b.Timestamp.Time().Sub(t0)
		iv := float64(b.Timestamp-c.Chain[i-1].Timestamp) / 1e6
		if k := int(at.Minutes()); k >= 0 && k < minutes {
			sums[k] += iv
			counts[k]++
		}
		if at >= 2*time.Minute && at < window {
			steadySum += iv
			steadyN++
		}
	}
	for k := range minutes {
		res.perMinute[k] = sums[k] / math.Max(float64(counts[k]), 1)
	}
	res.steady = steadySum / math.Max(float64(steadyN), 1)
	for h, at := range mined {
		if at.Sub(t0) < window {
			res.mined++
			if !onMain[h] {
				res.stale++
			}
		}
	}
	return res, nil
}

// oneHead waits up to 2 minutes until every node has the same head, at
// least at height minHeight.
func oneHead(ctx context.Context, nodes []*node, minHeight uint64) error {
	if err := waitFor(ctx, 50*time.Millisecond, 2*time.Minute, func() (bool, error) {
		var head chain.Hash
		for _, nd := range nodes {
			st, err := nd.Client().Status(ctx)
			if err != nil || (!head.IsZero() && st.Head != head) || st.Height < minHeight {
				return false, nil
			}
			head = st.Head
		}
		return true, nil
	}); err != nil {
		return fmt.Errorf("the nodes did not end on one head: %w", err)
	}
	return nil
}

// fmtIntervals writes intervals in seconds with one decimal, space-separated.
func fmtIntervals(xs []float64) string {
	var s []string
	for _, x := range xs {
		s = append(s, strconv.FormatFloat(x, 'f', 1, 64))
	}
	return strings.Join(s, " ")
}
