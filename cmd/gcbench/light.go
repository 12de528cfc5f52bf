package main

import (
	"context"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// lightFootprintGoal is the largest share of a full node's disk and memory
// a light node may take at the same chain.
const lightFootprintGoal = 0.1

// lightRuns is what the runs of one kind of node (full or light) gave.
type lightRuns struct {
	rates      []float64 // blocks (headers) per second from exec to synced
	disk       []float64 // bytes allocated under the data directory, synced
	anonSynced []float64 // RssAnon right after the sync
	rssIdle    []float64 // VmRSS after settle at idle
	anonIdle   []float64 // RssAnon after settle at idle
	// VmRSS and RssAnon after settle, restarted on the synced data
	// directory without peers
	rssRestarted, anonRestarted []float64
}

// runLight measures item 15's footprint: a fresh full node and a fresh
// light node (--light) syncing the same chain from one source node, in the
// same sitting, and their data directories and memory once synced and at
// idle.
func runLight(ctx context.Context, e *env, args []string) error {
	fset := flag.NewFlagSet("light", flag.ContinueOnError)
	blocks := fset.Int("blocks", 1_000_000, "length of the chain (blocks after the genesis)")
	runs := fset.Int("runs", 3, "syncs of each kind of node (median, min, max)")
	settle := fset.Duration("settle", 5*time.Second, "wait after the sync before the idle readings")
	timeout := fset.Duration("timeout", 15*time.Minute, "longest a sync may take")
	check := fset.String("check", "", "compare the rows with those of this earlier results `file` (see gcbench report --check)")
	if err := fset.Parse(args); err != nil {
		return err
	}
	if *blocks < 1 || *runs < 1 {
		return fmt.Errorf("want --blocks and --runs >= 1")
	}
	p, err := benchParams()
	if err != nil {
		return err
	}
	dir := filepath.Join(e.workDir, "source")
	e.logf("light: making a chain of %d blocks, %d at a time", *blocks, addBatch)
	if _, err := streamChain(p, []int{*blocks}, []string{dir}, os.DevNull, nil); err != nil {
		return err
	}
	src, err := e.startNode(ctx, nodeOpts{name: "source", dataDir: dir})
	if err != nil {
		return err
	}
	defer e.procs.stop(src)
	sit := startSitting()
	var full, light lightRuns
	for run := range *runs {
		// Alternate the kinds, so that a change of the machine's load
		// falls on both.
		for _, kind := range []struct {
			name  string
			extra []string
			r     *lightRuns
		}{{"full", nil, &full}, {"light", []string{"--light"}, &light}} {
			if err := lightRun(ctx, e, kind.r, kind.name, run, kind.extra, src.addr, *blocks, *settle, *timeout); err != nil {
				return err
			}
		}
	}
	sit.end()
	lightRows(e, sit, *blocks, &full, &light)
	if *check != "" {
		if err := checkAgainst(e.log, *check, e.sink.rows); err != nil {
			e.logf("light: %v", err)
		}
	}
	return nil
}

// lightRun syncs one fresh node of the given kind from the source at addr,
// then restarts it without peers, and adds its readings to r.
func lightRun(ctx context.Context, e *env, r *lightRuns, kind string, run int, extra []string, addr string, n int, settle, timeout time.Duration) error {
	name := fmt.Sprintf("%s-%d", kind, run)
	dir := filepath.Join(e.workDir, name)
	defer os.RemoveAll(dir)
	if err := lightSynced(ctx, e, r, name, dir, extra, addr, n, settle, timeout); err != nil {
		return err
	}
	// The same node restarted on its data directory, without peers: what
	// holding the chain costs once the sync's buffers are gone.
	nd, err := e.startNode(ctx, nodeOpts{name: name + "-restarted", dataDir: dir, extra: extra})
	if err != nil {
		return err
	}
	defer e.procs.stop(nd)
	if err := sleepCtx(ctx, settle); err != nil {
		return err
	}
	st, err := procStatus(nd.Pid())
	if err != nil {
		return err
	}
	r.rssRestarted = append(r.rssRestarted, st["VmRSS"])
	r.anonRestarted = append(r.anonRestarted, st["RssAnon"])
	e.logf("light: %s restarted without peers: anonymous memory %s (VmRSS %s)", name, fmtBytes(st["RssAnon"]), fmtBytes(st["VmRSS"]))
	return nil
}

// lightSynced is the first part of lightRun: the sync and the readings
// after it.
func lightSynced(ctx context.Context, e *env, r *lightRuns, name, dir string, extra []string, addr string, n int, settle, timeout time.Duration) error {
	nd, err := e.startNode(ctx, nodeOpts{name: name, dataDir: dir, bootstrap: []string{addr}, extra: extra})
	if err != nil {
		return err
	}
	defer e.procs.stop(nd)
	seen, _, err := waitSynced(ctx, nd, uint64(n)+1, timeout)
	if err != nil {
		return err
	}
	st, err := procStatus(nd.Pid())
	if err != nil {
		return err
	}
	r.rates = append(r.rates, float64(n)/seen.Sub(nd.Started()).Seconds())
	r.anonSynced = append(r.anonSynced, st["RssAnon"])
	if err := sleepCtx(ctx, settle); err != nil {
		return err
	}
	if st, err = procStatus(nd.Pid()); err != nil {
		return err
	}
	r.rssIdle = append(r.rssIdle, st["VmRSS"])
	r.anonIdle = append(r.anonIdle, st["RssAnon"])
	disk, err := allocatedBytes(dir)
	if err != nil {
		return err
	}
	r.disk = append(r.disk, disk)
	k := len(r.rates) - 1
	e.logf("light: %s: %s blocks/s from exec, data directory %s, anonymous memory %s synced, %s idle (VmRSS %s)",
		name, fmtSI(r.rates[k]), fmtBytes(disk), fmtBytes(r.anonSynced[k]), fmtBytes(r.anonIdle[k]), fmtBytes(r.rssIdle[k]))
	return nil
}

// lightRows adds the rows of item 15's footprint: each figure of the light
// node against the full node's of the same sitting.
func lightRows(e *env, sit *sitting, n int, full, light *lightRuns) {
	rows := []struct {
		id, what    string
		light, full []float64
		format      func(float64) string
		goal        bool
	}{
		{"15a", "data directory on disk (bytes allocated)", light.disk, full.disk, fmtBytes, true},
		{"15b", "anonymous resident memory (RssAnon) right after the sync", light.anonSynced, full.anonSynced, fmtBytes, true},
		{"15c", "anonymous resident memory (RssAnon) at idle", light.anonIdle, full.anonIdle, fmtBytes, true},
		{"15d", "resident memory (VmRSS, the mapped files included) at idle", light.rssIdle, full.rssIdle, fmtBytes, false},
		{"15e", "sync from exec to the source's height (headers or blocks/s)", light.rates, full.rates, fmtSI, false},
		{"15f", "anonymous resident memory (RssAnon) restarted on its synced data directory, no peers", light.anonRestarted, full.anonRestarted, fmtBytes, true},
		{"15g", "resident memory (VmRSS) restarted on its synced data directory, no peers", light.rssRestarted, full.rssRestarted, fmtBytes, false},
	}
	for _, r := range rows {
		s := summarize(r.light)
		ratio := summarize(ratios(r.light, r.full))
		row := Row{
			ID: r.id, Item: "Light node",
			What:    fmt.Sprintf("a light node (--light) synced to %s blocks from one source node: %s", groupDigits(n), r.what),
			Figure:  s.format(r.format),
			Ratio:   fmt.Sprintf("%s a full node's, same sitting: %s", fmtRatio(ratio.Median), summarize(r.full).format(r.format)),
			Command: e.command,
		}
		if r.goal {
			row.Goal = fmt.Sprintf("≤ %s a full node's", fmtRatio(lightFootprintGoal))
			row.Verdict = verdict(ratio.Median <= lightFootprintGoal)
		}
		e.sink.add(sit.stamp(row, s))
	}
}

// allocatedBytes is the disk space the regular files under dir take (their
// allocated blocks, as du counts: a file bbolt has grown ahead of its data
// is counted for what it holds).
func allocatedBytes(dir string) (float64, error) {
	var total float64
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		if st, ok := fi.Sys().(*syscall.Stat_t); ok {
			total += float64(st.Blocks) * 512
		}
		return nil
	})
	return total, err
}
