package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/gossipchain/gossipchain/api/client"
	"github.com/gossipchain/gossipchain/e2e/launch"
)

// startupPoll is how often a starting node's GET /status is tried.
const startupPoll = time.Millisecond

// startupClient sends the start-up probes: a refused connection fails at
// once, and a probe that hangs does not hold the next one long.
var startupClient = &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}

// measureStartup starts a node on dataDir without peers, its HTTP API on a
// port chosen beforehand, and returns the time from its exec to the first
// GET /status it answers (tried every millisecond from the exec on); then it
// stops the node. The node's log goes to <dataDir>.log.
func (e *env) measureStartup(ctx context.Context, name, dataDir string) (time.Duration, error) {
	bin, err := e.gossipchain(ctx)
	if err != nil {
		return 0, err
	}
	port, err := launch.FreePort()
	if err != nil {
		return 0, err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	logPath := dataDir + ".log"
	if err := os.MkdirAll(filepath.Dir(logPath), 0o755); err != nil {
		return 0, err
	}
	log, err := os.Create(logPath)
	if err != nil {
		return 0, err
	}
	defer log.Close()
	cmd := launch.Command(bin, append([]string{"--datadir", dataDir, "--http", addr}, nodeOpts{}.args()...)...)
	cmd.Stdout, cmd.Stderr = log, log
	api := client.New("http://"+addr, startupClient)

	start := time.Now()
	p, err := e.procs.start(name, cmd)
	if err != nil {
		return 0, err
	}
	defer e.procs.stop(p)
	var took time.Duration
	err = waitFor(ctx, startupPoll, launch.DefaultStartTimeout, func() (bool, error) {
		if _, err := api.Status(ctx); err == nil {
			took = time.Since(start)
			return true, nil
		}
		if p.Exited() {
			return false, fmt.Errorf("exited during start-up (%v); its log: %s", p.Err(), logPath)
		}
		return false, nil
	})
	if err != nil {
		return 0, fmt.Errorf("%s: %w", name, err)
	}
	return took, nil
}

// measureStartups measures the start-up of a node on dataDir runs times (a
// fresh empty data directory each time when dataDir is empty) and returns
// the times in seconds. A first start, not counted, brings the binary and
// the store into the page cache.
func (e *env) measureStartups(ctx context.Context, name, dataDir string, runs int) ([]float64, error) {
	var out []float64
	for run := range runs + 1 { // run 0 is the start not counted
		label := fmt.Sprintf("%s-%d", name, run)
		dir := dataDir
		if dir == "" {
			dir = filepath.Join(e.workDir, label)
		}
		d, err := e.measureStartup(ctx, label, dir)
		if err != nil {
			return nil, err
		}
		if dataDir == "" {
			os.RemoveAll(dir)
			os.Remove(dir + ".log")
		}
		if run > 0 {
			out = append(out, d.Seconds())
		}
	}
	return out, nil
}
