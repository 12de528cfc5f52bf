package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// idleMemoryGoal is item 6's goal for the resident memory of an idle node.
const idleMemoryGoal = 40e6

// footprint is what one node's readings gave.
type footprint struct {
	rss, hwm, anon, file []float64
	goroutines, openFDs  float64
	fds                  int
}

// startupGoal is the longest start-up of a node holding a long chain.
const startupGoal = 100 * time.Millisecond

// runFootprint measures item 6.
func runFootprint(ctx context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("footprint", flag.ContinueOnError)
	blocks := fs.Int("blocks", 100_000, "length of the long chain (blocks after the genesis)")
	settle := fs.Duration("settle", 3*time.Second, "wait after start-up before the readings")
	runs := fs.Int("runs", 3, "start-ups of each node (median, min, max)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *runs < 1 {
		return fmt.Errorf("want --runs >= 1")
	}
	p, err := benchParams()
	if err != nil {
		return err
	}

	idle, err := measureFootprint(ctx, e, "idle", filepath.Join(e.workDir, "idle"), *settle)
	if err != nil {
		return err
	}
	e.logf("footprint: making and storing a chain of %d blocks, %d at a time", *blocks, addBatch)
	dir := filepath.Join(e.workDir, "long")
	if _, err := streamChain(p, []int{*blocks}, []string{dir}, os.DevNull, nil); err != nil {
		return err
	}
	long, err := measureFootprint(ctx, e, "long", dir, *settle)
	if err != nil {
		return err
	}
	sit := startSitting()
	emptyUps, err := e.measureStartups(ctx, "empty-startup", "", *runs)
	if err != nil {
		return err
	}
	longUps, err := e.measureStartups(ctx, "long-startup", dir, *runs)
	if err != nil {
		return err
	}
	sit.end()
	emptyUp, longUp := summarize(emptyUps), summarize(longUps)

	rss := summarize(idle.rss)
	e.sink.add(Row{
		ID: "6a", Item: "Footprint",
		What:    "resident memory (VmRSS) of an idle node: empty chain, no peers",
		Figure:  rss.format(fmtBytes),
		Ratio:   fmt.Sprintf("%s of the goal; anonymous %s, file-backed %s", fmtRatio(rss.Median/idleMemoryGoal), fmtBytes(median(idle.anon)), fmtBytes(median(idle.file))),
		Goal:    "< 40 MB",
		Verdict: verdict(rss.Median < idleMemoryGoal),
		Command: e.command,
	})
	lrss := summarize(long.rss)
	e.sink.add(Row{
		ID: "6b", Item: "Footprint",
		What:   fmt.Sprintf("resident memory (VmRSS) of a node holding %s blocks, no peers", groupDigits(*blocks)),
		Figure: lrss.format(fmtBytes),
		Ratio: fmt.Sprintf("%s the idle node; anonymous %s, file-backed (the mapped store) %s; peak during start-up %s",
			fmtRatio(lrss.Median/rss.Median), fmtBytes(median(long.anon)), fmtBytes(median(long.file)),
			fmtBytes(median(long.hwm))),
		Command: e.command,
	})
	e.sink.add(sit.stamp(Row{
		ID: "6d", Item: "Footprint",
		What:    fmt.Sprintf("start-up of a node holding %s blocks, no peers: exec to its first answered GET /status (tried every millisecond)", groupDigits(*blocks)),
		Figure:  longUp.format(fmtSeconds),
		Ratio:   fmt.Sprintf("%s an empty data directory, same sitting: %s", fmtRatio(longUp.Median/emptyUp.Median), emptyUp.format(fmtSeconds)),
		Goal:    fmt.Sprintf("≤ %s, ≤ %.1f× empty", fmtDur(startupGoal), startupRatioGoal),
		Verdict: verdict(longUp.Median <= startupGoal.Seconds() && longUp.Median/emptyUp.Median <= startupRatioGoal),
		Command: e.command,
	}, longUp))
	e.sink.add(Row{
		ID: "6c", Item: "Footprint",
		What: "goroutines (go_goroutines of GET /metrics) and open files (/proc/PID/fd; process_open_fds)",
		Figure: fmt.Sprintf("idle: %.0f goroutines, %d open files (%.0f); %s blocks: %.0f goroutines, %d open files (%.0f)",
			idle.goroutines, idle.fds, idle.openFDs, groupDigits(*blocks), long.goroutines, long.fds, long.openFDs),
		Command: e.command,
	})
	return nil
}

// measureFootprint starts a node on dataDir, waits settle, and takes three
// readings of its memory a second apart, then its goroutines and files.
func measureFootprint(ctx context.Context, e *env, name, dataDir string, settle time.Duration) (footprint, error) {
	var fp footprint
	nd, err := e.startNode(ctx, nodeOpts{name: name, dataDir: dataDir})
	if err != nil {
		return fp, err
	}
	defer e.procs.stop(nd)
	if err := sleepCtx(ctx, settle); err != nil {
		return fp, err
	}
	for i := range 3 {
		if i > 0 {
			if err := sleepCtx(ctx, time.Second); err != nil {
				return fp, err
			}
		}
		st, err := procStatus(nd.Pid())
		if err != nil {
			return fp, err
		}
		fp.rss = append(fp.rss, st["VmRSS"])
		fp.hwm = append(fp.hwm, st["VmHWM"])
		fp.anon = append(fp.anon, st["RssAnon"])
		fp.file = append(fp.file, st["RssFile"])
	}
	m, err := nd.Client().Metrics(ctx)
	if err != nil {
		return fp, err
	}
	fp.goroutines, fp.openFDs = m["go_goroutines"], m["process_open_fds"]
	if fp.fds, err = fdCount(nd.Pid()); err != nil {
		return fp, err
	}
	e.logf("footprint: %s: RSS %s, %.0f goroutines, %d files", name, fmtBytes(median(fp.rss)), fp.goroutines, fp.fds)
	return fp, nil
}
