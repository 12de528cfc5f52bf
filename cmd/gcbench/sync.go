package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// Goals of a sync (item 3) and of start-up.
const (
	syncBoltGoal      = 0.5     // rate ÷ bare bbolt of the same bytes, same sitting
	syncFlatGoal      = 1 / 0.9 // rate at the shorter ÷ rate at the longer chain
	syncBytesGoal     = 1.5     // bytes written per block ÷ its binary size
	memoryGrowthLimit = 1.25    // anonymous memory at the longer ÷ the shorter chain
	startupRatioGoal  = 1.2     // start-up on a long chain ÷ on an empty one
)

// firstSyncMetric is the syncing node's own time of its first sync
// session's start, on its GET /metrics.
const firstSyncMetric = "gossipchain_sync_first_session_start_seconds"

// syncRuns is what the runs of one chain length gave: per run, in the order
// of the runs.
type syncRuns struct {
	n                int
	sit              *sitting
	rates, execRates []float64 // blocks/s from the node's start of sync; from its exec
	lead             []float64 // seconds from exec to the start of sync
	anon, hwm        []float64 // peak RssAnon (sampled), VmHWM at the end
	written          []float64 // write_bytes per block
	startups         []float64 // seconds, a node on the source chain, no peers
	bolt, stream     []float64 // blocks/s of the references
	binary           float64   // mean bytes of a block's binary encoding
}

// runSync measures item 3: a fresh node process catching up from a peer
// process over loopback, and the start-up of a node on the same chains.
func runSync(ctx context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("sync", flag.ContinueOnError)
	sizes := intList{10_000, 100_000}
	fs.Var(&sizes, "blocks", "chain `lengths` to sync, comma-separated")
	runs := fs.Int("runs", 3, "runs of every figure (median, min, max)")
	timeout := fs.Duration("timeout", 5*time.Minute, "longest a sync may take")
	check := fs.String("check", "", "compare the rows with those of this earlier results `file` (see gcbench report --check)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if len(sizes) == 0 || *runs < 1 {
		return fmt.Errorf("want --blocks and --runs >= 1")
	}
	slices.Sort(sizes)
	sizes = slices.Compact(sizes)
	p, err := benchParams()
	if err != nil {
		return err
	}

	dirs := make([]string, len(sizes))
	for i, n := range sizes {
		dirs[i] = filepath.Join(e.workDir, fmt.Sprintf("source-%d", n))
	}
	e.logf("sync: making a chain of %d blocks, %d at a time, into a data directory per length and a block file", sizes[len(sizes)-1], addBatch)
	var genAnon []float64 // gcbench's own anonymous memory as each length was reached
	src, err := streamChain(p, sizes, dirs, filepath.Join(e.workDir, "blocks.bin"), func(n int) {
		st, _ := procStatus(os.Getpid())
		genAnon = append(genAnon, st["RssAnon"])
		e.logf("sync: %d blocks made; gcbench's anonymous memory %s", n, fmtBytes(st["RssAnon"]))
	})
	if err != nil {
		return err
	}

	emptySit := startSitting()
	empty, err := e.measureStartups(ctx, "empty", "", *runs)
	if err != nil {
		return err
	}
	emptySit.end()
	var results []syncRuns
	for i, n := range sizes {
		r, err := measureSync(ctx, e, n, dirs[i], src.blockFile, *runs, *timeout)
		if err != nil {
			return err
		}
		r.binary = float64(src.bytes[i]) / float64(n)
		results = append(results, r)
	}
	syncRows(e, results, emptySit, empty, genAnon)
	if *check != "" {
		if err := checkAgainst(e.log, *check, e.sink.rows); err != nil {
			e.logf("sync: %v", err)
		}
	}
	return nil
}

// measureSync makes the runs of one chain length: start-ups of a node on
// the source data directory dir, then syncs of a fresh node from a node on
// it, then the references on the first n blocks of the block file.
func measureSync(ctx context.Context, e *env, n int, dir, blockFile string, runs int, timeout time.Duration) (syncRuns, error) {
	r := syncRuns{n: n, sit: startSitting()}
	var err error
	if r.startups, err = e.measureStartups(ctx, fmt.Sprintf("startup-%d", n), dir, runs); err != nil {
		return r, err
	}
	a, err := e.startNode(ctx, nodeOpts{name: fmt.Sprintf("source-%d", n), dataDir: dir})
	if err != nil {
		return r, err
	}
	defer e.procs.stop(a)
	for run := range runs {
		dstDir := filepath.Join(e.workDir, fmt.Sprintf("fresh-%d-%d", n, run))
		b, err := e.startNode(ctx, nodeOpts{name: fmt.Sprintf("fresh-%d-%d", n, run), dataDir: dstDir, bootstrap: []string{a.addr}})
		if err != nil {
			return r, err
		}
		err = syncRun(ctx, &r, b, n, timeout)
		e.procs.stop(b)
		if err != nil {
			return r, err
		}
		e.logf("sync: %d blocks: %s blocks/s from the node's start of sync (%s from its exec), peak anonymous memory %s",
			n, fmtSI(r.rates[run]), fmtSI(r.execRates[run]), fmtBytes(r.anon[run]))
		os.RemoveAll(dstDir)
		os.Remove(b.LogPath())
	}
	e.procs.stop(a)
	for range runs {
		d, err := boltSequential(filepath.Join(e.workDir, fmt.Sprintf("bolt-%d.db", n)), blockFile, n)
		if err != nil {
			return r, err
		}
		r.bolt = append(r.bolt, float64(n)/d.Seconds())
		d, err = libp2pStream(ctx, blockFile, n)
		if err != nil {
			return r, err
		}
		r.stream = append(r.stream, float64(n)/d.Seconds())
	}
	r.sit.end()
	e.logf("sync: %d blocks: bare bbolt %s blocks/s, bare libp2p stream %s blocks/s", n, fmtSI(median(r.bolt)), fmtSI(median(r.stream)))
	return r, nil
}

// syncRun waits until b, syncing, reaches the height of n blocks, and adds
// its figures to r.
func syncRun(ctx context.Context, r *syncRuns, b *node, n int, timeout time.Duration) error {
	seen, peakAnon, err := waitSynced(ctx, b, uint64(n)+1, timeout)
	if err != nil {
		return err
	}
	m, err := b.Client().Metrics(ctx)
	if err != nil {
		return err
	}
	first := m[firstSyncMetric]
	if first <= 0 {
		return fmt.Errorf("%s: no %s on its /metrics: a gossipchain built before it", b.Name(), firstSyncMetric)
	}
	started := time.Unix(0, int64(first*1e9))
	st, err := procStatus(b.Pid())
	if err != nil {
		return err
	}
	wb, err := procWriteBytes(b.Pid())
	if err != nil {
		return err
	}
	r.rates = append(r.rates, float64(n)/seen.Sub(started).Seconds())
	r.execRates = append(r.execRates, float64(n)/seen.Sub(b.Started()).Seconds())
	r.lead = append(r.lead, started.Sub(b.Started()).Seconds())
	r.anon = append(r.anon, peakAnon)
	r.hwm = append(r.hwm, st["VmHWM"])
	r.written = append(r.written, wb/float64(n))
	return nil
}

// waitSynced polls the node's height every 10 ms until it reaches h, and
// samples its anonymous resident memory (RssAnon) at the same pace. It
// returns when the height was seen and the largest sample.
func waitSynced(ctx context.Context, nd *node, h uint64, timeout time.Duration) (time.Time, float64, error) {
	var peak float64
	var last uint64
	var seen time.Time
	err := waitFor(ctx, 10*time.Millisecond, timeout, func() (bool, error) {
		if st, err := procStatus(nd.Pid()); err == nil {
			peak = max(peak, st["RssAnon"])
		}
		if st, err := nd.Client().Status(ctx); err == nil {
			last = st.Height
			if st.Height >= h {
				seen = time.Now()
				return true, nil
			}
		}
		return false, nd.exitError()
	})
	if errors.Is(err, errNotWithin) {
		err = fmt.Errorf("%s: height %d after %s, want %d", nd.Name(), last, timeout, h)
	}
	if err != nil {
		return time.Time{}, 0, err
	}
	return seen, peak, nil
}

// ratios returns a[i] ÷ b[i] for the runs both have.
func ratios(a, b []float64) []float64 {
	out := make([]float64, min(len(a), len(b)))
	for i := range out {
		out[i] = a[i] / b[i]
	}
	return out
}
