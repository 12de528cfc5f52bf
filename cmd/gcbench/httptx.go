package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"
)

// This file measures transaction admission over HTTP: POST
// /transactions/new with a few worker counts, each on a fresh node (an
// empty pool, which holds 50,000 transactions), and optionally with a CPU
// profile of the node during the measured window.

// txLoad holds the flags of the admission measurements of gcbench http.
type txLoad struct {
	workers intList       // worker counts of POST /transactions/new
	window  time.Duration // measured time
	warmup  time.Duration
	profile string // directory for CPU profiles of the node; empty: none

	batch        int // transactions per body of POST /transactions/batch; 0: not measured
	batchTxs     int // transactions posted in all
	batchWorkers int
}

// startTxNode starts a fresh bench node for an admission measurement, with
// its --pprof listener when profiles are asked for.
func (e *env) startTxNode(ctx context.Context, l txLoad, name string) (*node, error) {
	return e.startNode(ctx, nodeOpts{name: name, dataDir: filepath.Join(e.workDir, name), debug: l.profile != ""})
}

// profileDuring records a CPU profile of n for d into l.profile/name.pprof
// from now on; the returned function waits for it. Without --profile it
// does nothing.
func profileDuring(ctx context.Context, l txLoad, n *node, name string, d time.Duration) func() error {
	if l.profile == "" {
		return func() error { return nil }
	}
	done := make(chan error, 1)
	go func() {
		done <- fetchProfile(ctx, n.debug, filepath.Join(l.profile, name+".pprof"), d)
	}()
	return func() error { return <-done }
}

// fetchProfile writes the CPU profile of d seconds (at least one) served
// at debug's /debug/pprof/profile to path.
func fetchProfile(ctx context.Context, debug, path string, d time.Duration) error {
	secs := max(1, int(d.Round(time.Second)/time.Second))
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("%s/debug/pprof/profile?seconds=%d", debug, secs), nil)
	if err != nil {
		return err
	}
	resp, err := control.Do(req)
	if err != nil {
		return fmt.Errorf("cpu profile: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("cpu profile: %s", resp.Status)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, io.LimitReader(resp.Body, 256<<20)); err != nil {
		f.Close()
		return fmt.Errorf("cpu profile: %w", err)
	}
	return f.Close()
}

// measureNewTx measures POST /transactions/new with each worker count of
// l on a fresh node, against the reference server, and adds a row each.
func measureNewTx(ctx context.Context, e *env, l txLoad, ref *staticServer, addRow func(Row)) error {
	body := func(w, i int) []byte {
		return fmt.Appendf(nil, `{"sender":"load-%d","recipient":"bench","amount":%d}`, w, i+1)
	}
	for _, w := range l.workers {
		name := fmt.Sprintf("post-%d", w)
		nd, err := e.startTxNode(ctx, l, name)
		if err != nil {
			return err
		}
		spec := loadSpec{method: http.MethodPost, url: nd.URL() + "/transactions/new", body: body,
			workers: w, warmup: l.warmup, window: l.window}
		prof := profileDuring(ctx, l, nd, name, l.warmup+l.window)
		ours := runLoad(ctx, spec)
		perr := prof()
		e.procs.stop(nd)
		if ours.ok == 0 {
			return fmt.Errorf("POST /transactions/new: no successful answer: %s", ours.failures())
		}
		if perr != nil {
			return perr
		}
		base, err := runReference(ctx, ref, spec, ours)
		if err != nil {
			return err
		}
		e.logf("http: POST /transactions/new ×%d: %s/s, %s; reference %s/s, %s", w,
			fmtSI(ours.rate()), summarizeDurations(ours.lat), fmtSI(base.rate()), summarizeDurations(base.lat))
		r := underLoadRow(fmt.Sprintf("POST /transactions/new (no peers, empty pool), %d workers, %s", w, l.window), ours, base)
		r.Goal = fmt.Sprintf("≥ %.1f× net/http req/s", postGoal)
		r.Verdict = verdict(ours.rate()/base.rate() >= postGoal)
		addRow(r)
	}
	return nil
}

// runReference runs spec against the reference server with the body size
// that ours answered.
func runReference(ctx context.Context, ref *staticServer, spec loadSpec, ours loadResult) (loadResult, error) {
	rs := spec
	rs.url = fmt.Sprintf("%s/bytes/%d", ref.url, ours.size)
	base := runLoad(ctx, rs)
	if base.ok == 0 {
		return base, fmt.Errorf("reference server: no successful answer: %s", base.failures())
	}
	return base, ctx.Err()
}

// underLoadRow is the row of a measurement under load against the
// reference server; what describes the load.
func underLoadRow(what string, ours, base loadResult) Row {
	o, b := summarizeDurations(ours.lat), summarizeDurations(base.lat)
	r := Row{
		What:   what + ": requests/s and latency",
		Figure: fmt.Sprintf("%s; p50 %s, p99 %s", fmtRate(ours.rate()), fmtDur(o.P50), fmtDur(o.P99)),
		Ratio: fmt.Sprintf("reference net/http, same body size (%s): %s, p99 %s; ratio req/s %s, p99 %s",
			fmtBytes(float64(ours.size)), fmtRate(base.rate()), fmtDur(b.P99),
			fmtRatio(ours.rate()/base.rate()), fmtRatio(float64(o.P99)/float64(b.P99))),
	}
	if f := ours.failures(); f != "" {
		r.Notes = append(r.Notes, what+": "+f)
	}
	return r
}

// measureTx runs the admission measurements of l.
func measureTx(ctx context.Context, e *env, l txLoad, ref *staticServer, addRow func(Row)) error {
	if err := measureNewTx(ctx, e, l, ref, addRow); err != nil || l.batch == 0 {
		return err
	}
	return measureBatch(ctx, e, l, ref, addRow)
}

// batchGoal is the goal of POST /transactions/batch in transactions per
// second.
const batchGoal = 50_000

// measureBatch posts l.batchTxs transactions in bodies of l.batch to POST
// /transactions/batch of a fresh node from l.batchWorkers workers, and the
// same bodies to the reference server, and adds a row.
func measureBatch(ctx context.Context, e *env, l txLoad, ref *staticServer, addRow func(Row)) error {
	bodies := make([][]byte, (l.batchTxs+l.batch-1)/l.batch)
	for i := range bodies {
		var b bytes.Buffer
		b.WriteString(`{"transactions":[`)
		for j := range min(l.batch, l.batchTxs-i*l.batch) {
			if j > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `{"sender":"batch-%d","recipient":"bench","amount":%d}`, i, j+1)
		}
		b.WriteString(`]}`)
		bodies[i] = b.Bytes()
	}
	name := fmt.Sprintf("batch-%d", l.batchWorkers)
	nd, err := e.startTxNode(ctx, l, name)
	if err != nil {
		return err
	}
	prof := profileDuring(ctx, l, nd, name, time.Second)
	ours, err := postBodies(ctx, nd.URL()+"/transactions/batch", bodies, l.batchWorkers)
	perr := prof()
	e.procs.stop(nd)
	if err != nil {
		return err
	}
	if perr != nil {
		return perr
	}
	base, err := postBodies(ctx, fmt.Sprintf("%s/bytes/%d", ref.url, ours.size), bodies, l.batchWorkers)
	if err != nil {
		return err
	}
	rate, baseRate := float64(ours.accepted)/ours.elapsed.Seconds(), float64(l.batchTxs)/base.elapsed.Seconds()
	e.logf("http: POST /transactions/batch ×%d: %d of %d accepted in %s, %s/s; reference (same bodies) %s", l.batchWorkers,
		ours.accepted, l.batchTxs, fmtDur(ours.elapsed), fmtSI(rate), fmtDur(base.elapsed))
	r := Row{
		What: fmt.Sprintf("POST /transactions/batch (no peers, empty pool), %s transactions in bodies of %d from %d workers: transactions/s",
			groupDigits(l.batchTxs), l.batch, l.batchWorkers),
		Figure: fmt.Sprintf("%s transactions; %d requests in %s", fmtRate(rate), len(bodies), fmtDur(ours.elapsed)),
		Ratio: fmt.Sprintf("reference net/http receiving the same bodies and answering %s each: %s (%s transactions), ratio %s",
			fmtBytes(float64(ours.size)), fmtDur(base.elapsed), fmtRate(baseRate), fmtRatio(rate/baseRate)),
		Goal:    fmt.Sprintf("≥ %s transactions/s", fmtSI(batchGoal)),
		Verdict: verdict(rate >= batchGoal),
	}
	if ours.accepted != l.batchTxs {
		r.Notes = append(r.Notes, fmt.Sprintf("%d of %d transactions refused", l.batchTxs-ours.accepted, l.batchTxs))
	}
	addRow(r)
	return nil
}

// batchRun is what postBodies measured.
type batchRun struct {
	elapsed  time.Duration
	accepted int // the sum of the answers' "accepted"
	size     int // size of an answer
}

// postBodies posts every body once to url from workers keep-alive workers
// and times the whole. A non-2xx answer is an error.
func postBodies(ctx context.Context, url string, bodies [][]byte, workers int) (batchRun, error) {
	tr := &http.Transport{MaxIdleConnsPerHost: workers, DisableCompression: true}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, Timeout: time.Minute}
	var next atomic.Int64
	var accepted atomic.Int64
	var size atomic.Int64
	errs := make(chan error, workers)
	start := time.Now()
	for range workers {
		go func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= len(bodies) {
					errs <- nil
					return
				}
				req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(bodies[i]))
				if err != nil {
					errs <- err
					return
				}
				req.Header.Set("Content-Type", "application/json")
				resp, err := hc.Do(req)
				if err != nil {
					errs <- err
					return
				}
				data, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
				resp.Body.Close()
				if err != nil || resp.StatusCode/100 != 2 {
					errs <- fmt.Errorf("POST %s: %s %v: %.200s", url, resp.Status, err, data)
					return
				}
				size.Store(int64(len(data)))
				var b struct {
					Accepted int `json:"accepted"`
				}
				if json.Unmarshal(data, &b) == nil {
					accepted.Add(int64(b.Accepted))
				}
			}
		}()
	}
	var first error
	for range workers {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	return batchRun{elapsed: time.Since(start), accepted: int(accepted.Load()), size: int(size.Load())}, first
}
