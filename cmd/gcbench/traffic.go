package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"maps"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gossipchain/gossipchain/api/client"
)

// trafficGoal is item 12's goal: bytes received per node per block.
const trafficGoal = 5000

// trafficSeries are the /metrics series of the bytes received by protocol.
const trafficSeries = `p2p_received_bytes_total{protocol="`

// runTraffic measures what a block costs every node in bytes received, by
// protocol (item 12): --nodes processes bootstrapped to the first, each
// run's idle traffic measured over --idle first, then --blocks blocks mined
// one after the other on random nodes, each waited for on every node. A
// protocol's figure is its bytes received during the blocks, less its idle
// rate over the same time, per node and per block.
func runTraffic(ctx context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("traffic", flag.ContinueOnError)
	count := fs.Int("nodes", 12, "`number` of node processes")
	blocks := fs.Int("blocks", 20, "`number` of blocks mined per run")
	interval := fs.Duration("interval", time.Second, "pause between two blocks")
	idle := fs.Duration("idle", 20*time.Second, "idle window measured before the blocks")
	runs := fs.Int("runs", 3, "`number` of runs (fresh networks)")
	extra := fs.String("flags", "", "extra node `flags`, space-separated")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var totals []float64
	perProto := map[string][]float64{}
	var peers, idles []float64
	for r := range *runs {
		res, err := trafficRun(ctx, e, r, *count, *blocks, *interval, *idle, strings.Fields(*extra))
		if err != nil {
			return err
		}
		var total float64
		for p, v := range res.perBlock {
			perProto[p] = append(perProto[p], v)
			total += v
		}
		totals = append(totals, total)
		peers = append(peers, res.peers...)
		idles = append(idles, res.idle)
		e.logf("traffic run %d: %s per node per block (%s); idle %s/s per node; peers per node %v; load %s",
			r+1, fmtBytes(total), protoSplit(res.perBlock), fmtBytes(res.idle), res.peers, loadAverage())
	}
	medians := map[string]float64{}
	for p, xs := range perProto {
		medians[p] = median(xs)
	}
	pk := summarize(peers)
	m := median(totals)
	e.sink.add(Row{
		ID: "12a", Item: "Traffic",
		What: fmt.Sprintf("bytes received per node per block (beyond the idle rate), %d node processes bootstrapped to the first, %d blocks mined on random nodes %s apart",
			*count, *blocks, *interval),
		Figure:  fmt.Sprintf("%s (runs: %s); peers per node %.0f (min %.0f, max %.0f)", fmtBytes(m), joinBytes(totals), pk.Median, pk.Min, pk.Max),
		Ratio:   fmtRatio(m/trafficGoal) + " of the goal",
		Goal:    fmt.Sprintf("≤ %s", fmtBytes(trafficGoal)),
		Verdict: verdict(m <= trafficGoal),
		Command: e.command,
		Notes: []string{"by protocol (median of runs): " + protoSplit(medians),
			fmt.Sprintf("idle: %s/s received per node (median of runs)", fmtBytes(median(idles))),
			"load " + loadAverage() + "; " + machineInfo()},
	})
	return nil
}

type trafficResult struct {
	perBlock map[string]float64 // bytes per node per block, by protocol
	idle     float64            // bytes received per node per second while idle
	peers    []float64          // every node's peers at the end
}

func trafficRun(ctx context.Context, e *env, run, count, blocks int, interval, idle time.Duration, extra []string) (trafficResult, error) {
	var res trafficResult
	dir := filepath.Join(e.workDir, fmt.Sprintf("traffic%d", run))
	first, err := e.startNode(ctx, nodeOpts{name: fmt.Sprintf("t%d-0", run), dataDir: filepath.Join(dir, "0"), extra: extra})
	if err != nil {
		return res, err
	}
	nodes := []*node{first}
	defer func() {
		for _, n := range nodes {
			e.procs.stop(n)
		}
	}()
	var mu sync.Mutex
	var wg sync.WaitGroup
	errs := make([]error, count)
	sem := make(chan struct{}, 4)
	for i := 1; i < count; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			n, err := e.startNode(ctx, nodeOpts{name: fmt.Sprintf("t%d-%d", run, i), dataDir: filepath.Join(dir, fmt.Sprint(i)),
				bootstrap: []string{first.addr}, extra: extra})
			errs[i] = err
			if err == nil {
				mu.Lock()
				nodes = append(nodes, n)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return res, err
	}
	want := min(discoveryTarget, count-1)
	if err := waitAll(ctx, nodes, 3*time.Minute, func(st client.Status) bool { return st.Peers >= want }); err != nil {
		return res, err
	}
	// One block first, so that every node has joined the meshes and made its
	// first status exchanges before anything is measured.
	if _, err := mineAndWait(ctx, first, nodes, time.Minute); err != nil {
		return res, err
	}
	if err := sleepCtx(ctx, 10*time.Second); err != nil {
		return res, err
	}
	t0, err := receivedBytes(ctx, nodes)
	if err != nil {
		return res, err
	}
	start := time.Now()
	if err := sleepCtx(ctx, idle); err != nil {
		return res, err
	}
	t1, err := receivedBytes(ctx, nodes)
	if err != nil {
		return res, err
	}
	idleFor := time.Since(start)
	start = time.Now()
	for range blocks {
		if _, err := mineAndWait(ctx, nodes[rand.IntN(len(nodes))], nodes, time.Minute); err != nil {
			return res, err
		}
		if err := sleepCtx(ctx, interval); err != nil {
			return res, err
		}
	}
	t2, err := receivedBytes(ctx, nodes)
	if err != nil {
		return res, err
	}
	busyFor := time.Since(start)
	res.perBlock = map[string]float64{}
	for p := range t2 {
		idleRate := (t1[p] - t0[p]) / idleFor.Seconds()
		res.idle += idleRate / float64(len(nodes))
		res.perBlock[p] = ((t2[p] - t1[p]) - idleRate*busyFor.Seconds()) / float64(len(nodes)*blocks)
	}
	for _, n := range nodes {
		st, err := n.Client().Status(ctx)
		if err != nil {
			return res, err
		}
		res.peers = append(res.peers, float64(st.Peers))
	}
	return res, nil
}

// receivedBytes sums, over nodes, the bytes received by protocol of /metrics.
func receivedBytes(ctx context.Context, nodes []*node) (map[string]float64, error) {
	out := map[string]float64{}
	for _, n := range nodes {
		m, err := n.Client().Metrics(ctx)
		if err != nil {
			return nil, fmt.Errorf("metrics of %s: %w", n.Name(), err)
		}
		for k, v := range m {
			if p, ok := strings.CutPrefix(k, trafficSeries); ok {
				out[strings.TrimSuffix(p, `"}`)] += v
			}
		}
	}
	return out, nil
}

// protoSplit lists the figures of byProto of at least a byte, largest first.
func protoSplit(byProto map[string]float64) string {
	keys := slices.Collect(maps.Keys(byProto))
	slices.SortFunc(keys, func(a, b string) int { return cmp.Compare(byProto[b], byProto[a]) })
	var out []string
	for _, p := range keys {
		if v := byProto[p]; v >= 1 || v <= -1 {
			out = append(out, fmt.Sprintf("%s %.0f B", p, v))
		}
	}
	return strings.Join(out, ", ")
}

func joinBytes(xs []float64) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = fmtBytes(x)
	}
	return strings.Join(s, ", ")
}
