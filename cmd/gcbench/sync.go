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
	blocks, err := buildBlocks(p, longest, genTxsPerBlock)
	if err != nil {
		return err
	}

	type result struct {
		n                   int
		rates, walls        []float64
		hwm, anon, startups []float64
		written             []float64
		bolt                []float64 // seconds: the same blocks into bare bbolt
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
			e.procs.stop(b)
			wall := seen.Sub(b.Started())
			res.rates = append(res.rates, float64(n)/wall.Seconds())
			res.walls = append(res.walls, wall.Seconds())
			res.hwm = append(res.hwm, st["VmHWM"])
			res.anon = append(res.anon, peakAnon)
			res.startups = append(res.startups, b.Ready().Sub(b.Started()).Seconds())
			e.logf("sync: %d blocks in %s (%s blocks/s), peak memory %s (anonymous %s)", n, fmtDur(wall),
				fmtSI(float64(n)/wall.Seconds()), fmtBytes(st["VmHWM"]), fmtBytes(peakAnon))
			os.RemoveAll(dstDir)
			os.Remove(b.LogPath())
		}
		e.procs.stop(a)
		for range *runs {
			d, err := boltSequential(filepath.Join(e.workDir, fmt.Sprintf("bolt-%d.db", n)), blocks[:n])
			if err != nil {
				return err
			}
			res.bolt = append(res.bolt, d.Seconds())
		}
		results = append(results, res)
	}

	id := 'a'
	next := func() string { defer func() { id++ }(); return fmt.Sprintf("3%c", id) }
	for _, r := range results {
		rate := summarize(r.rates)
		boltRate := float64(r.n) / median(r.bolt)
		e.sink.add(Row{
			ID:   next(),
			Item: "Sync",
			What: fmt.Sprintf("fresh node process catching up %s blocks from a peer process over loopback (wall time from exec to its /status at the peer's height)", groupDigits(r.n)),
			Figure: fmt.Sprintf("%s blocks/s; wall %s; peak memory %s",
				rate.format(fmtSI), summarize(r.walls).format(fmtSeconds), summarize(r.hwm).format(fmtBytes)),
			Ratio: fmt.Sprintf("%s of the goal; the same blocks written into a bare bbolt file under sequential height keys, %d per transaction, same run: %s blocks/s, so sync takes %s its time (goal ≤ 3×)",
				fmtRatio(rate.Median/syncGoal), addBatch, fmtSI(boltRate), fmtRatio(boltRate/rate.Median)),
			Goal:    fmt.Sprintf("≥ %s blocks/s, ≤ 3× bare bbolt", fmtSI(syncGoal)),
			Verdict: verdict(rate.Median >= syncGoal && boltRate/rate.Median <= 3),
			Command: e.command,
			Notes: []string{fmt.Sprintf("start-up of the fresh node (exec to HTTP API listening), included in the wall time: %s",
				summarize(r.startups).format(fmtSeconds))},
		})
		perBlock := median(r.written) / float64(r.n)
		e.sink.add(Row{
			ID:      next(),
			Item:    "Sync",
			What:    fmt.Sprintf("bytes the syncing node wrote to disk per block, %s blocks (write_bytes of /proc/PID/io)", groupDigits(r.n)),
			Figure:  fmtBytes(perBlock),
			Ratio:   fmt.Sprintf("%s of the goal; %s in all", fmtRatio(perBlock/syncBytesGoal), fmtBytes(median(r.written))),
			Goal:    "≤ 1.5 kB",
			Verdict: verdict(perBlock <= syncBytesGoal),
			Command: e.command,
		})
	}
	if len(results) >= 2 {
		first, last := results[0], results[len(results)-1]
		cost := (median(last.walls) / float64(last.n)) / (median(first.walls) / float64(first.n))
		e.sink.add(Row{
			ID:      next(),
			Item:    "Sync",
			What:    fmt.Sprintf("cost per block (wall time ÷ blocks), %s vs %s blocks", groupDigits(last.n), groupDigits(first.n)),
			Figure:  fmtRatio(cost),
			Ratio:   fmt.Sprintf("%s vs %s per block", fmtDur(time.Duration(median(last.walls)/float64(last.n)*1e9)), fmtDur(time.Duration(median(first.walls)/float64(first.n)*1e9))),
			Goal:    fmt.Sprintf("≤ %.2f", memoryGrowthLimit),
			Verdict: verdict(cost <= memoryGrowthLimit),
			Command: e.command,
		})
		a0, a1 := median(first.anon), median(last.anon)
		e.sink.add(Row{
			ID:     next(),
			Item:   "Sync",
			What:   fmt.Sprintf("peak anonymous memory (RssAnon: heap, stacks; sampled every 10 ms) of the syncing node, %s vs %s blocks", groupDigits(last.n), groupDigits(first.n)),
			Figure: fmt.Sprintf("%s vs %s (medians)", fmtBytes(a1), fmtBytes(a0)),
			Ratio: fmt.Sprintf("%s for %s× the blocks; peak resident memory (VmHWM, with the file-backed binary and mapped store, which grows with the chain) %s vs %s",
				fmtRatio(a1/a0), sig3(float64(last.n)/float64(first.n)), fmtBytes(median(last.hwm)), fmtBytes(median(first.hwm))),
			Goal:    fmt.Sprintf("≤ %.2f×", memoryGrowthLimit),
			Verdict: verdict(a1/a0 <= memoryGrowthLimit),
			Command: e.command,
		})
	}
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
