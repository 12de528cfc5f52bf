package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// memoryGrowthLimit is the largest ratio of peak memory between the longest
// and the shortest chain synced that still counts as "not growing with the
// chain's length".
const memoryGrowthLimit = 1.25

// runSync measures item 3: a fresh node process catching up from a peer
// process over loopback.
func runSync(ctx context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("sync", flag.ContinueOnError)
	sizes := intList{10_000, 50_000}
	fs.Var(&sizes, "blocks", "chain `lengths` to sync, comma-separated")
	runs := fs.Int("runs", 3, "syncs per length (median, min, max)")
	timeout := fs.Duration("timeout", 5*time.Minute, "longest a sync may take")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if len(sizes) == 0 || *runs < 1 {
		return fmt.Errorf("want --blocks and --runs >= 1")
	}
	p, err := benchParams()
	if err != nil {
		return err
	}
	longest := slices.Max(sizes)
	e.logf("sync: building a chain of %d blocks in memory", longest)
	blocks := buildBlocks(p, longest, genTxsPerBlock)

	type result struct {
		n                   int
		rates, walls        []float64
		hwm, anon, startups []float64
		written             []float64
	}
	var results []result
	for _, n := range sizes {
		srcDir := filepath.Join(e.workDir, fmt.Sprintf("source-%d", n))
		e.logf("sync: writing the source data directory (%d blocks)", n)
		if err := writeDataDir(srcDir, p, blocks[:n]); err != nil {
			return err
		}
		a, err := e.startNode(ctx, nodeOpts{name: fmt.Sprintf("source-%d", n), dataDir: srcDir})
		if err != nil {
			return err
		}
		res := result{n: n}
		for run := range *runs {
			dstDir := filepath.Join(e.workDir, fmt.Sprintf("fresh-%d-%d", n, run))
			b, err := e.startNode(ctx, nodeOpts{name: fmt.Sprintf("fresh-%d-%d", n, run), dataDir: dstDir, bootstrap: []string{a.addr}})
			if err != nil {
				return err
			}
			seen, peakAnon, err := waitSynced(ctx, b, uint64(n)+1, *timeout)
			if err != nil {
				return err
			}
			st, err := procStatus(b.Pid())
			if err != nil {
				return err
			}
			wb, err := procWriteBytes(b.Pid())
			if err != nil {
				return err
			}
			res.written = append(res.written, wb)
			e.procs.stop(b.proc)
			wall := seen.Sub(b.started)
			res.rates = append(res.rates, float64(n)/wall.Seconds())
			res.walls = append(res.walls, wall.Seconds())
			res.hwm = append(res.hwm, st["VmHWM"])
			res.anon = append(res.anon, peakAnon)
			res.startups = append(res.startups, b.ready.Sub(b.started).Seconds())
			e.logf("sync: %d blocks in %s (%s blocks/s), peak memory %s (anonymous %s)", n, fmtDur(wall),
				fmtSI(float64(n)/wall.Seconds()), fmtBytes(st["VmHWM"]), fmtBytes(peakAnon))
			os.RemoveAll(dstDir)
			os.Remove(b.logPath)
		}
		e.procs.stop(a.proc)
		results = append(results, res)
	}

	for i, r := range results {
		rate := summarize(r.rates)
		e.sink.add(Row{
			ID:   fmt.Sprintf("3%c", 'a'+i),
			Item: "Sync",
			What: fmt.Sprintf("fresh node process catching up %s blocks from a peer process over loopback (wall time from exec to its /status at the peer's height)", groupDigits(r.n)),
			Figure: fmt.Sprintf("%s blocks/s; wall %s; peak memory %s",
				rate.format(fmtSI), summarize(r.walls).format(fmtSeconds), summarize(r.hwm).format(fmtBytes)),
			Ratio:   fmtRatio(rate.Median/syncGoal) + " of the goal",
			Goal:    "≥ 50,000 blocks/s",
			Verdict: verdict(rate.Median >= syncGoal),
			Command: e.command,
			Notes: []string{fmt.Sprintf("start-up of the fresh node (exec to HTTP API listening), included in the wall time: %s; the syncing node wrote %s to disk (write_bytes of /proc/PID/io), %s per block",
				summarize(r.startups).format(fmtSeconds), fmtBytes(median(r.written)), fmtBytes(median(r.written)/float64(r.n)))},
		})
	}
	if len(results) >= 2 {
		first, last := results[0], results[len(results)-1]
		m0, m1 := median(first.hwm), median(last.hwm)
		growth := m1 / m0
		e.sink.add(Row{
			ID:     fmt.Sprintf("3%c", 'a'+len(results)),
			Item:   "Sync",
			What:   fmt.Sprintf("peak memory (VmHWM) of the syncing node, %s vs %s blocks", groupDigits(last.n), groupDigits(first.n)),
			Figure: fmt.Sprintf("%s vs %s (medians)", fmtBytes(m1), fmtBytes(m0)),
			Ratio: fmt.Sprintf("%s for %s× the blocks; peak anonymous memory (RssAnon: heap, stacks; sampled every 10 ms) %s vs %s, %s; the rest is file-backed: the binary and the mapped store, which grows with the chain",
				fmtRatio(growth), sig3(float64(last.n)/float64(first.n)),
				fmtBytes(median(last.anon)), fmtBytes(median(first.anon)), fmtRatio(median(last.anon)/median(first.anon))),
			Goal:    fmt.Sprintf("no growth with length (ratio ≤ %.2f)", memoryGrowthLimit),
			Verdict: verdict(growth <= memoryGrowthLimit),
			Command: e.command,
		})
	}
	return nil
}

// waitSynced polls the node's height every 10 ms until it reaches h, and
// samples its anonymous resident memory (RssAnon) at the same pace. It
// returns when the height was seen and the largest sample.
func waitSynced(ctx context.Context, nd *node, h uint64, timeout time.Duration) (time.Time, float64, error) {
	deadline := time.Now().Add(timeout)
	var peak float64
	var last uint64
	for {
		if st, err := procStatus(nd.Pid()); err == nil {
			peak = max(peak, st["RssAnon"])
		}
		if st, err := nd.status(ctx); err == nil {
			last = st.Height
			if st.Height >= h {
				return time.Now(), peak, nil
			}
		}
		if nd.exited() {
			return time.Time{}, 0, fmt.Errorf("%s exited (%v); log:\n%s", nd.name, nd.err, nd.logTail(20))
		}
		if time.Now().After(deadline) {
			return time.Time{}, 0, fmt.Errorf("%s: height %d after %s, want %d", nd.name, last, timeout, h)
		}
		if err := sleepCtx(ctx, 10*time.Millisecond); err != nil {
			return time.Time{}, 0, err
		}
	}
}
