package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/gossipchain/gossipchain/api/client"
	"github.com/gossipchain/gossipchain/chain"
)

// The network every benchmark node runs: its name and a difficulty at which
// proofs of work cost almost nothing, so that mining is not what is measured.
const (
	benchNetwork    = "bench"
	benchDifficulty = 4
)

// nodeStartTimeout bounds a node's start-up, which includes verifying its
// stored chain.
const nodeStartTimeout = 3 * time.Minute

// node is a running gossipchain process.
type node struct {
	*proc
	name    string
	dataDir string
	logPath string
	url     string // http://127.0.0.1:<port>
	peerID  string
	addr    string // loopback TCP multiaddr ending in /p2p/<id>
	started time.Time
	ready   time.Time // when its HTTP API was listening
	debug   string    // http://127.0.0.1:<port> of its --pprof listener, if started with one
	api     *client.Client

	wantDebug bool
}

// nodeOpts configures startNode.
type nodeOpts struct {
	name      string
	dataDir   string
	logLevel  string // default "info"
	bootstrap []string
	debug     bool // start the --pprof listener (profiles and /debug/gossip)
	// network replaces the bench network's flags (--network bench
	// --difficulty 4) when set; extra flags follow the others.
	network []string
	extra   []string
}

// control is the HTTP client gcbench uses to drive nodes.
var control = &http.Client{Timeout: time.Minute}

// httpListeningRE matches the node's log line announcing its HTTP address.
var httpListeningRE = regexp.MustCompile(`msg="http api listening" url=(http://\S+)`)

// pprofListeningRE matches the log line announcing the --pprof listener.
var pprofListeningRE = regexp.MustCompile(`msg="pprof listening" url=(http://[^/\s]+)/`)

// startNode starts a gossipchain node on loopback with mDNS off, its HTTP API
// and libp2p TCP listener on ports chosen by the system, and waits until its
// HTTP API answers. Its log goes to <dataDir>.log.
func (e *env) startNode(ctx context.Context, o nodeOpts) (*node, error) {
	bin, err := e.gossipchain(ctx)
	if err != nil {
		return nil, err
	}
	if o.logLevel == "" {
		o.logLevel = "info"
	}
	n := &node{name: o.name, dataDir: o.dataDir, logPath: o.dataDir + ".log", wantDebug: o.debug}
	network := o.network
	if network == nil {
		network = []string{"--network", benchNetwork, "--difficulty", strconv.Itoa(benchDifficulty)}
	}
	args := append([]string{"--datadir", o.dataDir}, network...)
	args = append(args,
		"--http", "127.0.0.1:0",
		"--listen", "/ip4/127.0.0.1/tcp/0",
		"--mdns=false",
		"--log-level", o.logLevel,
	)
	args = append(args, o.extra...)
	for _, b := range o.bootstrap {
		args = append(args, "--bootstrap", b)
	}
	if o.debug {
		args = append(args, "--pprof", "127.0.0.1:0")
	}
	if err := os.MkdirAll(filepath.Dir(o.dataDir), 0o755); err != nil {
		return nil, err
	}
	logFile, err := os.Create(n.logPath)
	if err != nil {
		return nil, err
	}
	cmd := execCommand(bin, args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	n.started = time.Now()
	p, err := e.procs.start(o.name, cmd)
	logFile.Close() // the child has its own descriptor
	if err != nil {
		return nil, err
	}
	n.proc = p
	if err := n.waitReady(ctx); err != nil {
		e.procs.stop(p)
		return nil, err
	}
	return n, nil
}

// waitReady waits for the node's "http api listening" log line, then reads
// its identity and multiaddr from GET /status.
func (n *node) waitReady(ctx context.Context) error {
	deadline := time.Now().Add(nodeStartTimeout)
	for n.url == "" {
		if data, err := os.ReadFile(n.logPath); err == nil {
			if m := httpListeningRE.FindSubmatch(data); m != nil {
				if n.wantDebug {
					d := pprofListeningRE.FindSubmatch(data)
					if d == nil {
						return fmt.Errorf("%s: no pprof listening line before the HTTP API's", n.name)
					}
					n.debug = string(d[1])
				}
				n.url = string(m[1])
				n.api = client.New(n.url, control)
				n.ready = time.Now()
				break
			}
		}
		if n.exited() {
			return fmt.Errorf("%s exited during start-up (%v); log:\n%s", n.name, n.err, n.logTail(20))
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s did not start within %s; log:\n%s", n.name, nodeStartTimeout, n.logTail(20))
		}
		if err := sleepCtx(ctx, 5*time.Millisecond); err != nil {
			return err
		}
	}
	st, err := n.api.Status(ctx)
	if err != nil {
		return err
	}
	n.peerID = st.PeerID
	for _, a := range st.Addrs {
		if strings.HasPrefix(a, "/ip4/127.0.0.1/tcp/") {
			n.addr = a
			break
		}
	}
	if n.addr == "" {
		return fmt.Errorf("%s: no loopback TCP address in /status addrs %v", n.name, st.Addrs)
	}
	return nil
}

// logTail returns the last lines of the node's log.
func (n *node) logTail(lines int) string {
	data, _ := os.ReadFile(n.logPath)
	all := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	return strings.Join(all[max(0, len(all)-lines):], "\n")
}

// seen returns when the node accepted the block or transaction id, from its
// /debug/gossip/{id} (ns of its clock); ok is false if it has not.
func (n *node) seen(ctx context.Context, id chain.Hash) (accepted time.Time, ok bool, err error) {
	if n.debug == "" {
		return time.Time{}, false, fmt.Errorf("%s was started without --pprof", n.name)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, n.debug+"/debug/gossip/"+id.String(), nil)
	if err != nil {
		return time.Time{}, false, err
	}
	resp, err := control.Do(req)
	if err != nil {
		return time.Time{}, false, fmt.Errorf("%s: %w", n.name, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		return time.Time{}, false, nil
	}
	var s struct {
		Accepted int64 `json:"accepted_unix_ns"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 4096)).Decode(&s); err != nil || resp.StatusCode != http.StatusOK {
		return time.Time{}, false, fmt.Errorf("%s /debug/gossip: %s %v", n.name, resp.Status, err)
	}
	return time.Unix(0, s.Accepted), true, nil
}

// waitHeight waits until the node's height is at least h, polling every
// interval, and returns when it saw it.
func (n *node) waitHeight(ctx context.Context, h uint64, interval, timeout time.Duration) (time.Time, error) {
	deadline := time.Now().Add(timeout)
	var last client.Status
	for {
		st, err := n.api.Status(ctx)
		if err == nil {
			last = st
			if st.Height >= h {
				return time.Now(), nil
			}
		}
		if n.exited() {
			return time.Time{}, fmt.Errorf("%s exited (%v); log:\n%s", n.name, n.err, n.logTail(20))
		}
		if time.Now().After(deadline) {
			return time.Time{}, fmt.Errorf("%s: height %d after %s, want %d", n.name, last.Height, timeout, h)
		}
		if err := sleepCtx(ctx, interval); err != nil {
			return time.Time{}, err
		}
	}
}
