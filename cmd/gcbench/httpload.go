package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gossipchain/gossipchain/e2e/launch"
)

// Item 5's goals: GET /chain's median latency at most chainGoal times the
// bare net/http server's sending the same bytes; POST /transactions/new at
// least postGoal times its requests per second.
const (
	chainGoal = 3.0
	postGoal  = 0.5
)

// tutorialChainLatency is the tutorial's Flask server answering GET /chain
// on 1,000 blocks on this machine, for scale (not measured by gcbench).
const tutorialChainLatency = 10 * time.Millisecond

// loadResult is what one load run measured.
type loadResult struct {
	ok      int             // 2xx answers in the measured window
	codes   map[int]int     // non-2xx answers by status code (0: transport error)
	lat     []time.Duration // latency of every request of the window
	elapsed time.Duration   // the measured window
	size    int             // body size of the last 2xx answer
	lastErr error           // the last transport error, if any
}

// rate returns 2xx answers per second.
func (r loadResult) rate() float64 { return float64(r.ok) / r.elapsed.Seconds() }

// loadSpec describes one load run.
type loadSpec struct {
	method  string
	url     string
	body    func(worker, i int) []byte // nil for no body
	workers int
	warmup  time.Duration // requests before this are not recorded
	window  time.Duration // recorded requests
}

// runLoad sends requests from spec.workers keep-alive workers for
// warmup+window and records the requests that started within the window.
func runLoad(ctx context.Context, spec loadSpec) loadResult {
	tr := &http.Transport{
		MaxIdleConns:        spec.workers * 2,
		MaxIdleConnsPerHost: spec.workers * 2,
		DisableCompression:  true,
		IdleConnTimeout:     time.Minute,
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
	}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: time.Minute}

	begin := time.Now()
	from, until := begin.Add(spec.warmup), begin.Add(spec.warmup+spec.window)
	type workerResult struct {
		ok      int
		codes   map[int]int
		lat     []time.Duration
		size    int
		lastErr error
	}
	results := make([]workerResult, spec.workers)
	var wg sync.WaitGroup
	for w := range spec.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res := &results[w]
			res.codes = make(map[int]int)
			for i := 0; ctx.Err() == nil; i++ {
				start := time.Now()
				if !start.Before(until) {
					return
				}
				var body io.Reader
				if spec.body != nil {
					body = bytes.NewReader(spec.body(w, i))
				}
				req, err := http.NewRequestWithContext(ctx, spec.method, spec.url, body)
				if err != nil {
					res.lastErr = err
					return
				}
				if body != nil {
					req.Header.Set("Content-Type", "application/json")
				}
				code, size := 0, 0
				resp, err := client.Do(req)
				if err == nil {
					var n int64
					n, err = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					code, size = resp.StatusCode, int(n)
				}
				d := time.Since(start)
				if start.Before(from) {
					continue
				}
				if err != nil {
					res.lastErr = err
					res.codes[0]++
					continue
				}
				if code/100 == 2 {
					res.ok++
					res.size = size
				} else {
					res.codes[code]++
				}
				res.lat = append(res.lat, d)
			}
		}()
	}
	wg.Wait()
	out := loadResult{codes: make(map[int]int), elapsed: spec.window}
	for _, r := range results {
		out.ok += r.ok
		out.lat = append(out.lat, r.lat...)
		for c, n := range r.codes {
			out.codes[c] += n
		}
		if r.size > 0 {
			out.size = r.size
		}
		if r.lastErr != nil {
			out.lastErr = r.lastErr
		}
	}
	return out
}

// failures describes the non-2xx answers of a run, or "".
func (r loadResult) failures() string {
	var parts []string
	for c, n := range r.codes {
		if c == 0 {
			parts = append(parts, fmt.Sprintf("%d transport errors (%v)", n, r.lastErr))
		} else {
			parts = append(parts, fmt.Sprintf("%d × HTTP %d", n, c))
		}
	}
	return strings.Join(parts, ", ")
}

// staticServer is a reference HTTP server process serving fixed bodies.
type staticServer struct {
	*launch.Process
	url   string
	stdin io.WriteCloser
}

// stopStatic closes the static server's stdin, which ends it, and stops
// its process.
func (e *env) stopStatic(s *staticServer) {
	s.stdin.Close()
	e.procs.stop(s.Process)
}

// startStatic starts a static-server child process.
func (e *env) startStatic(ctx context.Context) (*staticServer, error) {
	bin, err := self()
	if err != nil {
		return nil, err
	}
	cmd := launch.Command(bin, "static-server")
	p, stdin, stdout, err := e.procs.startPiped("static-server", cmd)
	if err != nil {
		return nil, err
	}
	line := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		if sc.Scan() {
			line <- sc.Text()
		}
		io.Copy(io.Discard, stdout)
	}()
	select {
	case l := <-line:
		url, ok := strings.CutPrefix(l, "url ")
		if !ok {
			e.procs.stop(p)
			return nil, fmt.Errorf("static-server said %q", l)
		}
		return &staticServer{Process: p, url: url, stdin: stdin}, nil
	case <-p.Done():
		return nil, fmt.Errorf("static-server exited: %v", p.Err())
	case <-time.After(30 * time.Second):
		e.procs.stop(p)
		return nil, errors.New("static-server did not start")
	case <-ctx.Done():
		e.procs.stop(p)
		return nil, ctx.Err()
	}
}

// cmdStaticServer is the reference server: GET or POST /bytes/<n> answers
// n bytes with status 200 from memory, with net/http's defaults. It prints
// "url <base URL>" and serves until stdin closes.
func cmdStaticServer(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("static-server", flag.ContinueOnError)
	if err := fs.Parse(args); err != nil {
		return err
	}
	var mu sync.Mutex
	bodies := map[int][]byte{}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		n, err := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/bytes/"))
		if err != nil || n < 0 || n > 256<<20 {
			http.Error(w, "want /bytes/<n>", http.StatusNotFound)
			return
		}
		mu.Lock()
		b, ok := bodies[n]
		if !ok {
			b = bytes.Repeat([]byte{'x'}, n)
			bodies[n] = b
		}
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.Itoa(n))
		w.Write(b)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	fmt.Fprintf(out, "url http://%s\n", ln.Addr())
	done := make(chan struct{})
	go func() {
		io.Copy(io.Discard, os.Stdin)
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
	}
	return srv.Close()
}

// runHTTP measures item 5.
func runHTTP(ctx context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("http", flag.ContinueOnError)
	workers := fs.Int("workers", 8, "concurrent keep-alive workers")
	window := fs.Duration("duration", 5*time.Second, "measured time per endpoint under load")
	warmup := fs.Duration("warmup", 500*time.Millisecond, "unrecorded time before each measurement")
	sizes := intList{1_000, 10_000}
	fs.Var(&sizes, "blocks", "chain `lengths` (blocks, genesis included) for GET /chain, comma-separated")
	txs := fs.Int("txs", 1, "transactions per block besides the reward (the tutorial's walkthrough has one)")
	postWorkers := intList{8, 64}
	fs.Var(&postWorkers, "post-workers", "concurrent workers for POST /transactions/new, comma-separated (each on a fresh node: keep their rate times warmup+duration below the pool's 50,000)")
	postWindow := fs.Duration("post-duration", 2*time.Second, "measured time per POST measurement (fewer transactions than a pool holds must fill warmup+duration)")
	txOnly := fs.Bool("tx-only", false, "measure only the transaction endpoints (POST /transactions/new, /transactions/batch)")
	batch := fs.Int("batch", 1000, "transactions per body of POST /transactions/batch (0: do not measure it)")
	batchTxs := fs.Int("batch-txs", 40_000, "transactions posted to POST /transactions/batch (fewer than a pool holds, 50,000)")
	batchWorkers := fs.Int("batch-workers", 4, "concurrent workers for POST /transactions/batch")
	profile := fs.String("profile", "", "write CPU profiles of the node during each POST measurement into this `directory` (starts it with --pprof)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *workers < 1 || len(sizes) == 0 || *txs < 0 {
		return errors.New("want --workers >= 1, --blocks and --txs >= 0")
	}
	for _, n := range sizes {
		if n < 2 {
			return errors.New("want --blocks of at least 2")
		}
	}
	p, err := benchParams()
	if err != nil {
		return err
	}
	ref, err := e.startStatic(ctx)
	if err != nil {
		return err
	}
	defer e.stopStatic(ref)

	letter := 'a'
	addRow := func(r Row) {
		r.ID = fmt.Sprintf("5%c", letter)
		letter++
		r.Item = "HTTP"
		r.Command = e.command
		e.sink.add(r)
	}
	if *batch < 0 || *batch > 1000 || *batchTxs < 1 || *batchWorkers < 1 {
		return errors.New("want --batch from 0 to 1000, --batch-txs and --batch-workers >= 1")
	}
	tl := txLoad{workers: postWorkers, window: *postWindow, warmup: *warmup, profile: *profile,
		batch: *batch, batchTxs: *batchTxs, batchWorkers: *batchWorkers}
	if *txOnly {
		// The rows keep the letters of a full run: two per chain length
		// and GET /status come first.
		letter += rune(2*len(sizes) + 1)
		return measureTx(ctx, e, tl, ref, addRow)
	}
	longest := 0
	for _, n := range sizes {
		longest = max(longest, n)
	}
	e.logf("http: building a chain of %d blocks in memory", longest-1)
	blocks, err := buildBlocks(p, longest-1, *txs)
	if err != nil {
		return err
	}

	// measure runs spec against the node and against the reference server
	// with a body of the size the node answered.
	measure := func(spec loadSpec) (ours, base loadResult, err error) {
		ours = runLoad(ctx, spec)
		if ours.ok == 0 {
			return ours, base, fmt.Errorf("%s %s: no successful answer: %s", spec.method, spec.url, ours.failures())
		}
		if base, err = runReference(ctx, ref, spec, ours); err != nil {
			return ours, base, err
		}
		e.logf("http: %s %s ×%d: %s/s, %s; reference %s/s, %s", spec.method, spec.url, spec.workers,
			fmtSI(ours.rate()), summarizeDurations(ours.lat), fmtSI(base.rate()), summarizeDurations(base.lat))
		return ours, base, ctx.Err()
	}
	underLoad := func(what string, ours, base loadResult) Row {
		return underLoadRow(fmt.Sprintf("%s, %d workers, %s", what, *workers, *window), ours, base)
	}

	var firstChain *node
	for _, n := range sizes {
		dir := filepath.Join(e.workDir, fmt.Sprintf("chain-%d", n))
		if err := writeDataDir(dir, p, blocks[:n-1]); err != nil {
			return err
		}
		nd, err := e.startNode(ctx, nodeOpts{name: fmt.Sprintf("chain-%d", n), dataDir: dir})
		if err != nil {
			return err
		}
		what := fmt.Sprintf("GET /chain, %s blocks of %d transaction(s) + reward", groupDigits(n), *txs)
		single := loadSpec{method: http.MethodGet, url: nd.URL() + "/chain", workers: 1, warmup: *warmup, window: *window / 2}
		ours1, base1, err := measure(single)
		if err != nil {
			return err
		}
		o1, b1 := summarizeDurations(ours1.lat), summarizeDurations(base1.lat)
		row := Row{
			What:   fmt.Sprintf("%s (%s), one worker: median latency", what, fmtBytes(float64(ours1.size))),
			Figure: fmt.Sprintf("median %s (p99 %s, %s)", fmtDur(o1.P50), fmtDur(o1.P99), fmtRate(ours1.rate())),
			Ratio: fmt.Sprintf("reference net/http, same body: median %s, ratio %s", fmtDur(b1.P50),
				fmtRatio(float64(o1.P50)/float64(b1.P50))),
		}
		chainRatio := float64(o1.P50) / float64(b1.P50)
		row.Goal = fmt.Sprintf("≤ %.0f× net/http", chainGoal)
		row.Verdict = verdict(chainRatio <= chainGoal)
		if n == 1_000 {
			row.Ratio += fmt.Sprintf("; the tutorial's Flask server: about %s", fmtDur(tutorialChainLatency))
		}
		addRow(row)
		oursN, baseN, err := measure(loadSpec{method: http.MethodGet, url: nd.URL() + "/chain", workers: *workers, warmup: *warmup, window: *window})
		if err != nil {
			return err
		}
		addRow(underLoad(what, oursN, baseN))
		if firstChain == nil {
			firstChain = nd
		} else {
			e.procs.stop(nd)
		}
	}

	nd := firstChain
	ours, base, err := measure(loadSpec{method: http.MethodGet, url: nd.URL() + "/status", workers: *workers, warmup: *warmup, window: *window})
	if err != nil {
		return err
	}
	addRow(underLoad("GET /status", ours, base))

	e.procs.stop(nd)
	return measureTx(ctx, e, tl, ref, addRow)
}
