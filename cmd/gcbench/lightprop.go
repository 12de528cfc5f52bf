package main

import (
	"context"
	"flag"
	"fmt"
	mrand "math/rand/v2"
	"path/filepath"
	"time"

	"github.com/gossipchain/gossipchain/chain"
)

// lightPropRun is what one run of runLightProp measured: per delivery of
// a block to one node, the delay after the miner accepted it.
type lightPropRun struct {
	full, light               []time.Duration
	fullMissing, lightMissing int // deliveries not seen within seenTimeout
	load                      string
	fullLatency, lightLatency latencies
}

// runLightProp measures item 15's propagation: full node processes in a
// random graph and light node processes (--light) each bootstrapped to two
// of them; blocks are mined at random full nodes, and each node's own time
// of accepting the block (a full node: validated; a light node: its header
// checked and stored) is read from its GET /debug/gossip/{id}.
func runLightProp(ctx context.Context, e *env, args []string) error {
	fset := flag.NewFlagSet("lightprop", flag.ContinueOnError)
	nFull := fset.Int("full", 7, "full node processes")
	nLight := fset.Int("light", 3, "light node processes")
	blocks := fset.Int("blocks", 50, "blocks measured per run")
	interval := fset.Duration("interval", 200*time.Millisecond, "pause between two blocks")
	degree := fset.Int("degree", 2, "earlier full nodes each full node bootstraps to; full nodes each light node bootstraps to")
	runs := fset.Int("runs", 3, "runs, each on its own random graph")
	seed := fset.Uint64("seed", 1, "random `seed` of the graph and of the miners (run r uses seed+r)")
	if err := fset.Parse(args); err != nil {
		return err
	}
	if *nFull < 2 || *nLight < 1 || *blocks < 1 || *runs < 1 || *degree < 1 {
		return fmt.Errorf("want --full >= 2, --light, --blocks, --runs and --degree >= 1")
	}
	sit := startSitting()
	var results []lightPropRun
	for r := range *runs {
		rng := mrand.New(mrand.NewPCG(*seed+uint64(r), uint64(*nFull)))
		res, err := lightPropOnce(ctx, e, r, *nFull, *nLight, *blocks, *degree, *interval, rng)
		if err != nil {
			return err
		}
		e.logf("lightprop: run %d (load %s): full nodes %s, light nodes %s; missing %d full, %d light",
			r+1, res.load, res.fullLatency, res.lightLatency, res.fullMissing, res.lightMissing)
		results = append(results, res)
	}
	sit.end()
	var l50, l99, f50, f99, r50, r99 []float64
	var notes []string
	for k, r := range results {
		l50, l99 = append(l50, float64(r.lightLatency.P50)), append(l99, float64(r.lightLatency.P99))
		f50, f99 = append(f50, float64(r.fullLatency.P50)), append(f99, float64(r.fullLatency.P99))
		r50, r99 = append(r50, l50[k]/f50[k]), append(r99, l99[k]/f99[k])
		notes = append(notes, fmt.Sprintf("run %d (load %s): light %s over %d deliveries (%d not seen within %s); full %s over %d (%d not seen)",
			k+1, r.load, r.lightLatency, len(r.light), r.lightMissing, seenTimeout, r.fullLatency, len(r.full), r.fullMissing))
	}
	dur := func(x float64) string { return fmtDur(time.Duration(x)) }
	p50, p99 := summarize(l50), summarize(l99)
	e.sink.add(sit.stamp(Row{
		ID: "15j", Item: "Light node",
		What: fmt.Sprintf("%d full and %d light node processes (each light node bootstrapped to %d full nodes): delay from a block's acceptance at the full node that mined it to each light node's storing its header, per delivery, %d blocks a run in %d runs",
			*nFull, *nLight, *degree, *blocks, *runs),
		Figure: fmt.Sprintf("p50 %s, p99 %s (medians of the runs)", p50.format(dur), p99.format(dur)),
		Ratio: fmt.Sprintf("full nodes of the same runs p50 %s, p99 %s; ratio p50 %s, p99 %s",
			summarize(f50).format(dur), summarize(f99).format(dur), fmtRatio(median(r50)), fmtRatio(median(r99))),
		Command: e.command,
		Notes:   notes,
	}, p50))
	return nil
}

// lightPropOnce starts the nodes of one run, mines the blocks and reads
// their delays.
func lightPropOnce(ctx context.Context, e *env, run, nFull, nLight, blocks, degree int, interval time.Duration, rng *mrand.Rand) (lightPropRun, error) {
	res := lightPropRun{load: loadAverage()}
	dir := filepath.Join(e.workDir, fmt.Sprintf("lightprop-%d", run))
	var all []*node
	defer func() {
		for _, nd := range all {
			e.procs.stop(nd)
		}
	}()
	start := func(name string, boot []string, extra []string) (*node, error) {
		nd, err := e.startNode(ctx, nodeOpts{name: name, dataDir: filepath.Join(dir, name), bootstrap: boot, debug: true, extra: extra})
		if err == nil {
			all = append(all, nd)
		}
		return nd, err
	}
	topo := topology(nFull, degree, rng)
	fulls := make([]*node, nFull)
	for i := range fulls {
		var boot []string
		for _, j := range topo[i] {
			boot = append(boot, fulls[j].addr)
		}
		var err error
		if fulls[i], err = start(fmt.Sprintf("full-%d", i), boot, nil); err != nil {
			return res, err
		}
	}
	lights := make([]*node, nLight)
	for i := range lights {
		var boot []string
		for _, j := range rng.Perm(nFull)[:min(degree, nFull)] {
			boot = append(boot, fulls[j].addr)
		}
		var err error
		if lights[i], err = start(fmt.Sprintf("light-%d", i), boot, []string{"--light"}); err != nil {
			return res, err
		}
	}
	deg := degrees(topo)
	for i, nd := range all {
		want := min(degree, nFull)
		if i < nFull {
			want = deg[i]
		}
		if err := waitFor(ctx, 50*time.Millisecond, time.Minute, func() (bool, error) {
			st, err := nd.Client().Status(ctx)
			return err == nil && st.Peers >= want, nil
		}); err != nil {
			return res, fmt.Errorf("%s did not reach %d peers: %w", nd.Name(), want, err)
		}
	}
	if err := sleepCtx(ctx, 2*time.Second); err != nil { // the gossip meshes form
		return res, err
	}
	height := uint64(1)
	var mined []chain.Hash
	var origins []int
	for k := range blocks + 3 { // 3 warm-up blocks first
		o := rng.IntN(nFull)
		if _, err := fulls[o].waitHeight(ctx, height, 2*time.Millisecond, time.Minute); err != nil {
			return res, err
		}
		mr, err := fulls[o].Client().Mine(ctx)
		if err != nil {
			return res, err
		}
		height++
		if k >= 3 {
			mined, origins = append(mined, mr.Hash), append(origins, o)
		}
		if err := sleepCtx(ctx, interval); err != nil {
			return res, err
		}
	}
	if err := waitAllHeight(ctx, all, height); err != nil {
		return res, err
	}
	for k, id := range mined {
		o := fulls[origins[k]]
		others := []*node{o}
		for _, nd := range fulls {
			if nd != o {
				others = append(others, nd)
			}
		}
		each, _, err := seenDelays(ctx, others, 0, id)
		if err != nil {
			return res, err
		}
		res.full, res.fullMissing = append(res.full, each...), res.fullMissing+len(others)-1-len(each)
		if each, _, err = seenDelays(ctx, append([]*node{o}, lights...), 0, id); err != nil {
			return res, err
		}
		res.light, res.lightMissing = append(res.light, each...), res.lightMissing+nLight-len(each)
	}
	res.fullLatency, res.lightLatency = summarizeDurations(res.full), summarizeDurations(res.light)
	return res, nil
}
