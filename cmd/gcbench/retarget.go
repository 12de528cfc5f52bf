package main

import (
	"context"
	"flag"
	"fmt"
	"math"
	"math/big"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"time"
)

// runRetarget measures the retargeting rule on real processes: n mining
// nodes on a network of target block time T. In the first half one node
// mines; at half time the others start mining too (nodes joining). So that
// the hash rate rises by --step (10×) on a machine with fewer free cores
// than that, the first half's miner is duty-cycled with SIGSTOP/SIGCONT
// (throttle) to the fraction of the time that makes its rate 1/step of the
// aggregate of n unthrottled miners, both measured beforehand on a probe
// network of their own; the node's code is unchanged. The rows report the
// ratio achieved, from the main chain's work per second in each half and
// from the nodes' reported hash rates. They report the mean block interval
// of each half against T, the blocks the rule needs to settle after the
// change, the stale rate (blocks mined that did not end on the main chain)
// and the deepest reorganisation.
func runRetarget(ctx context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("retarget", flag.ContinueOnError)
	nodes := fs.Int("nodes", 5, "node processes (one mines in the first half, all in the second)")
	duration := fs.Duration("duration", 5*time.Minute, "length of the run, both halves")
	target := fs.Duration("target", time.Second, "target block time")
	halfLife := fs.Duration("half-life", 10*time.Second, "retargeting half-life")
	initial := fs.Int("initial-difficulty", 18, "initial difficulty in leading zero bits")
	threads := fs.Int("threads", 1, "miner threads of each node")
	warmup := fs.Duration("warmup", 30*time.Second, "mining before the first half is measured, so that the target has left its initial value")
	step := fs.Float64("step", 10, "hash-rate step at half time: the first half's miner is duty-cycled to 1/step of the second half's measured aggregate (1: not throttled)")
	period := fs.Duration("duty-period", 100*time.Millisecond, "period of the first half's SIGSTOP/SIGCONT duty cycle")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *nodes < 2 {
		return fmt.Errorf("--nodes %d: want at least 2", *nodes)
	}
	if *step < 1 || *period < 10*time.Millisecond {
		return fmt.Errorf("--step %g, --duty-period %s: want a step of at least 1 and a period of at least 10ms", *step, *period)
	}
	network := []string{"--network", "retargetbench", "--target-block-time", target.String(),
		"--half-life", halfLife.String(), "--initial-difficulty", strconv.Itoa(*initial)}
	mining := []string{"--mine", "--miner-threads", strconv.Itoa(*threads)}
	all := make([]*node, *nodes)
	// A restarted node's log file is new: count what each run logged
	// before it is stopped.
	var minedBlocks, deepest int
	stop := func(i int) error {
		m, d, err := minedAndReorgs(all[i].LogPath())
		if err != nil {
			return err
		}
		minedBlocks += m
		deepest = max(deepest, d)
		e.procs.stop(all[i])
		all[i] = nil
		return nil
	}
	defer func() {
		for _, nd := range all {
			if nd != nil {
				e.procs.stop(nd)
			}
		}
	}()
	start := func(i int, mine bool) error {
		var boot []string
		for j := range all {
			if j != i && all[j] != nil {
				boot = append(boot, all[j].addr)
			}
		}
		o := nodeOpts{name: fmt.Sprintf("node-%d", i), dataDir: filepath.Join(e.workDir, fmt.Sprintf("node-%d", i)),
			bootstrap: boot, network: network, logLevel: "info"}
		if mine {
			o.extra = mining
		}
		nd, err := e.startNode(ctx, o)
		if err != nil {
			return err
		}
		all[i] = nd
		return nil
	}
	duty := 1.0
	if *step > 1 {
		one, agg, err := probeHashRates(ctx, e, *nodes, mining, *initial)
		if err != nil {
			return err
		}
		duty = min(1, max(0.01, agg/(*step*one)))
		e.logf("retarget: probe: one miner %.0f H/s, %d miners %.0f H/s; node-0 runs %.1f%% of each %s in the first half", one, *nodes, agg, 100*duty, *period)
	}
	for i := range all {
		if err := start(i, i == 0); err != nil {
			return err
		}
	}
	endThrottle := func() float64 { return 1 }
	if duty < 1 {
		on := time.Duration(duty * float64(*period)).Round(time.Millisecond)
		endThrottle = throttle(ctx, all[0].Pid(), on, *period)
	}
	throttled := true
	defer func() {
		if throttled {
			endThrottle()
		}
	}()
	e.logf("retarget: %d nodes, node-0 mining; warm-up %s", *nodes, *warmup)
	if err := sleepCtx(ctx, *warmup); err != nil {
		return err
	}
	half := *duration / 2
	h0, rate0, err := sample(ctx, all[0])
	if err != nil {
		return err
	}
	if err := sleepCtx(ctx, half); err != nil {
		return err
	}
	hChange, rateLow, err := sample(ctx, all[0])
	if err != nil {
		return err
	}
	rateLow = (rate0 + rateLow) / 2
	ranFor := endThrottle()
	throttled = false
	e.logf("retarget: height %d; the other %d nodes start mining", hChange, *nodes-1)
	for i := 1; i < *nodes; i++ {
		if err := stop(i); err != nil {
			return err
		}
		if err := start(i, true); err != nil {
			return err
		}
	}
	if err := sleepCtx(ctx, half/2); err != nil {
		return err
	}
	var rateHigh float64
	for _, nd := range all {
		_, r, err := sample(ctx, nd)
		if err != nil {
			return err
		}
		rateHigh += r
	}
	if err := sleepCtx(ctx, half-half/2); err != nil {
		return err
	}
	hEnd, _, err := sample(ctx, all[0])
	if err != nil {
		return err
	}
	// Stop mining everywhere, then read the common chain.
	for i := range all {
		if err := stop(i); err != nil {
			return err
		}
	}
	for i := range all {
		if err := start(i, false); err != nil {
			return err
		}
	}
	if err := oneHead(ctx, all, hEnd); err != nil {
		return err
	}
	chainResp, err := all[0].Client().Chain(ctx)
	if err != nil {
		return err
	}
	ts := make([]float64, len(chainResp.Chain)+1) // by index
	work := make([]float64, len(chainResp.Chain)+1)
	for _, b := range chainResp.Chain {
		ts[b.Index] = float64(b.Timestamp) / 1e6 // seconds
		w, err := b.Bits.Work()
		if err != nil {
			return fmt.Errorf("block %d: %w", b.Index, err)
		}
		work[b.Index], _ = new(big.Float).SetInt(w).Float64()
	}
	// The hash rate a stretch of the main chain shows: its work (the
	// expected hashes of its blocks) over its time. Stale blocks' work is
	// not counted.
	workRate := func(from, to uint64) float64 {
		var sum float64
		for k := from + 1; k <= to; k++ {
			sum += work[k]
		}
		return sum / (ts[to] - ts[from])
	}
	chainRatio := workRate(hChange, hEnd) / workRate(h0, hChange)
	T := target.Seconds()
	mean := func(from, to uint64) float64 { return (ts[to] - ts[from]) / float64(to-from) }
	first := mean(h0, hChange)
	second := mean(hChange, hEnd)
	// Settled: the first block after the change from which the mean of
	// the next 2·H/T intervals (at least 10) is within 15% of T.
	win := uint64(max(10, math.Round(2*halfLife.Seconds()/target.Seconds())))
	settle := -1
	for k := hChange; k+win <= hEnd; k++ {
		if math.Abs(mean(k, k+win)/T-1) <= 0.15 {
			settle = int(k - hChange)
			break
		}
	}
	after := math.NaN()
	if settle >= 0 {
		after = mean(hChange+uint64(settle), hEnd)
	}
	// Stale rate and deepest reorganisation, from the logs of the mining
	// runs: every "new head ... source=mined" line is a block mined.
	final, _, err := sample(ctx, all[0])
	if err != nil {
		return err
	}
	onMain := int(final - 1) // the genesis is not mined
	stale := 0.0
	if minedBlocks > 0 {
		stale = float64(max(minedBlocks-onMain, 0)) / float64(minedBlocks)
	}
	hb := halfLife.Seconds() / T
	reported := rateHigh / max(rateLow, 1)
	note := fmt.Sprintf("T = %s, H = %s (%.0f blocks), %d nodes × %d thread(s); first half: node-0 duty-cycled with SIGSTOP/SIGCONT, let run %.1f%% of the wall time",
		target, halfLife, hb, *nodes, *threads, 100*ranFor)
	within := func(x float64) bool { return math.Abs(x/T-1) <= 0.1 }
	e.sink.add(Row{ID: "7a", Item: "Retargeting", What: fmt.Sprintf("mean block interval, first half (one node mining; blocks %d..%d)", h0, hChange),
		Figure: fmt.Sprintf("%.3f s", first), Ratio: fmtRatio(first / T), Goal: "within ±10% of T", Verdict: verdict(within(first)), Command: e.command, Notes: []string{note}})
	e.sink.add(Row{ID: "7b", Item: "Retargeting", What: fmt.Sprintf("mean block interval, second half (all nodes mining; blocks %d..%d)", hChange, hEnd),
		Figure: fmt.Sprintf("%.3f s", second), Ratio: fmtRatio(second / T), Goal: "within ±10% of T", Verdict: verdict(within(second)), Command: e.command,
		Notes: []string{fmt.Sprintf("a step of k× in hash rate costs log2(k)·H/T extra blocks against the schedule (%.0f for 10×, %.0f for the measured ratio), which shortens the half's mean interval", math.Log2(10)*hb, math.Log2(max(chainRatio, 1))*hb)}})
	e.sink.add(Row{ID: "7c", Item: "Retargeting", What: "mean block interval of the second half after settling",
		Figure: fmt.Sprintf("%.3f s", after), Ratio: fmtRatio(after / T), Goal: "within ±10% of T", Verdict: verdict(within(after)), Command: e.command})
	e.sink.add(Row{ID: "7d", Item: "Retargeting", What: fmt.Sprintf("blocks after the change until the mean of the next %d intervals (2 half-lives) is within 15%% of T", win),
		Figure: strconv.Itoa(settle), Ratio: fmt.Sprintf("%.2f half-lives", float64(settle)/hb), Goal: "within 2 half-lives", Verdict: verdict(settle >= 0 && float64(settle) <= 2*hb), Command: e.command})
	e.sink.add(Row{ID: "7e", Item: "Retargeting", What: "stale rate: blocks mined that did not end on the main chain",
		Figure: fmt.Sprintf("%d of %d", max(minedBlocks-onMain, 0), minedBlocks), Ratio: fmt.Sprintf("%.2f%%", 100*stale), Goal: "≤ 3%", Verdict: verdict(stale <= 0.03), Command: e.command})
	e.sink.add(Row{ID: "7f", Item: "Retargeting", What: "deepest reorganisation on any node",
		Figure: fmt.Sprintf("%d blocks", deepest), Command: e.command})
	e.sink.add(Row{ID: "7g", Item: "Retargeting", What: "achieved hash-rate step, second half ÷ first: main-chain work per second (nodes' reported hash rates)",
		Figure: fmt.Sprintf("%.2f× (%.2f×)", chainRatio, reported), Ratio: fmtRatio(chainRatio / *step), Goal: fmt.Sprintf("%g× (--step), ±20%%", *step),
		Verdict: verdict(math.Abs(chainRatio / *step - 1) <= 0.2), Command: e.command})
	return nil
}

// probeHashRates measures, on a probe network of its own (so the measured
// chain is not touched), the hash rate of one mining node alone and the
// aggregate of n mining nodes at once, from their /status hash_rate.
func probeHashRates(ctx context.Context, e *env, n int, mining []string, initial int) (one, agg float64, err error) {
	network := []string{"--network", "retargetprobe", "--target-block-time", "1s", "--initial-difficulty", strconv.Itoa(initial)}
	probes := make([]*node, n)
	defer func() {
		for _, p := range probes {
			if p != nil {
				e.procs.stop(p)
			}
		}
	}()
	// measure lets the running probes settle, then averages the sum of
	// their /status hash rates (attempts over the last second) over
	// several samples.
	measure := func(running []*node) (float64, error) {
		if err := sleepCtx(ctx, 3*time.Second); err != nil {
			return 0, err
		}
		const samples = 6
		var sum float64
		for range samples {
			if err := sleepCtx(ctx, time.Second); err != nil {
				return 0, err
			}
			for _, p := range running {
				_, r, err := sample(ctx, p)
				if err != nil {
					return 0, fmt.Errorf("probe hash rate: %w", err)
				}
				sum += r
			}
		}
		if sum <= 0 {
			return 0, fmt.Errorf("probe hash rate: the probes reported none")
		}
		return sum / samples, nil
	}
	for i := range probes {
		p, err := e.startNode(ctx, nodeOpts{name: fmt.Sprintf("probe-%d", i), dataDir: filepath.Join(e.workDir, fmt.Sprintf("probe-%d", i)),
			network: network, logLevel: "info", extra: mining})
		if err != nil {
			return 0, 0, err
		}
		probes[i] = p
		if i == 0 {
			if one, err = measure(probes[:1]); err != nil {
				return 0, 0, err
			}
		}
	}
	if agg, err = measure(probes); err != nil {
		return 0, 0, err
	}
	return one, agg, nil
}

// sample returns a node's height and the hash rate of its miner.
func sample(ctx context.Context, nd *node) (uint64, float64, error) {
	st, err := nd.Client().Status(ctx)
	return st.Height, st.HashRate, err
}

var (
	minedLineRE = regexp.MustCompile(`msg="new head"[^\n]*source=mined`)
	reorgLineRE = regexp.MustCompile(`msg="chain reorganised"[^\n]*abandoned=(\d+)`)
)

// minedAndReorgs counts the blocks mined in a node's log and the deepest
// reorganisation it logged.
func minedAndReorgs(logPath string) (mined, deepest int, err error) {
	data, err := os.ReadFile(logPath)
	if err != nil {
		return 0, 0, err
	}
	for _, m := range reorgLineRE.FindAllSubmatch(data, -1) {
		if d, _ := strconv.Atoi(string(m[1])); d > deepest {
			deepest = d
		}
	}
	return len(minedLineRE.FindAll(data, -1)), deepest, nil
}
