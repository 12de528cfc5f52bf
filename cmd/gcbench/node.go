package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"time"

	"github.com/gossipchain/gossipchain/chain"
	"github.com/gossipchain/gossipchain/e2e/launch"
)

// The network every benchmark node runs: its name and a difficulty at which
// proofs of work cost almost nothing, so that mining is not what is measured.
const (
	benchNetwork    = "bench"
	benchDifficulty = 4
)

// node is a running gossipchain process.
type node struct {
	*launch.Node
	peerID string
	addr   string // loopback TCP multiaddr ending in /p2p/<id>
	debug  string // http://127.0.0.1:<port> of its --pprof listener, if started with one
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

// pprofListeningRE matches the log line announcing the --pprof listener.
var pprofListeningRE = regexp.MustCompile(`msg="pprof listening" url=(http://[^/\s]+)/`)

// startNode starts a gossipchain node on loopback with mDNS off, its HTTP API
// and libp2p TCP listener on ports chosen by the system, and waits until its
// HTTP API answers. Its log goes to <dataDir>.log.
func (e *env) startNode(ctx context.Context, o nodeOpts) (*node, error) {
	n, err := e.launch(ctx, launch.Options{Name: o.name, DataDir: o.dataDir, Args: o.args()})
	if err != nil {
		return nil, err
	}
	if o.debug {
		d := pprofListeningRE.FindStringSubmatch(n.Log())
		if d == nil {
			e.procs.stop(n)
			return nil, fmt.Errorf("%s: no pprof listening line before the HTTP API's", o.name)
		}
		n.debug = d[1]
	}
	if n.addr, err = n.Multiaddr(ctx, "127.0.0.1"); err != nil {
		e.procs.stop(n)
		return nil, err
	}
	return n, nil
}

// args returns the node's flags but --datadir and --http.
func (o nodeOpts) args() []string {
	if o.logLevel == "" {
		o.logLevel = "info"
	}
	args := o.network
	if args == nil {
		args = []string{"--network", benchNetwork, "--difficulty", strconv.Itoa(benchDifficulty)}
	}
	args = append(slices.Clone(args), "--listen", "/ip4/127.0.0.1/tcp/0", "--mdns=false", "--log-level", o.logLevel)
	args = append(args, o.extra...)
	for _, b := range o.bootstrap {
		args = append(args, "--bootstrap", b)
	}
	if o.debug {
		args = append(args, "--pprof", "127.0.0.1:0")
	}
	return args
}

// launch starts a node with the gossipchain binary and o (its binary, HTTP
// client and timeouts filled in), tracks it and reads its peer ID.
func (e *env) launch(ctx context.Context, o launch.Options) (*node, error) {
	bin, err := e.gossipchain(ctx)
	if err != nil {
		return nil, err
	}
	o.Binary, o.HTTPClient, o.StopTimeout = bin, control, stopTimeout
	ln, err := launch.Start(ctx, o)
	if err != nil {
		return nil, err
	}
	n := &node{Node: ln}
	e.procs.add(n)
	st, err := n.Client().Status(ctx)
	if err != nil {
		e.procs.stop(n)
		return nil, err
	}
	n.peerID = st.PeerID
	return n, nil
}

// seen returns when the node accepted the block or transaction id, from its
// /debug/gossip/{id} (ns of its clock); ok is false if it has not.
func (n *node) seen(ctx context.Context, id chain.Hash) (accepted time.Time, ok bool, err error) {
	if n.debug == "" {
		return time.Time{}, false, fmt.Errorf("%s was started without --pprof", n.Name())
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, n.debug+"/debug/gossip/"+id.String(), nil)
	if err != nil {
		return time.Time{}, false, err
	}
	resp, err := control.Do(req)
	if err != nil {
		return time.Time{}, false, fmt.Errorf("%s: %w", n.Name(), err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		return time.Time{}, false, nil
	}
	var s struct {
		Accepted int64 `json:"accepted_unix_ns"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 4096)).Decode(&s); err != nil || resp.StatusCode != http.StatusOK {
		return time.Time{}, false, fmt.Errorf("%s /debug/gossip: %s %v", n.Name(), resp.Status, err)
	}
	return time.Unix(0, s.Accepted), true, nil
}

// waitHeight waits until the node's height is at least h, polling every
// interval, and returns when it saw it.
func (n *node) waitHeight(ctx context.Context, h uint64, interval, timeout time.Duration) (time.Time, error) {
	var last uint64
	var seen time.Time
	err := waitFor(ctx, interval, timeout, func() (bool, error) {
		if st, err := n.Client().Status(ctx); err == nil {
			last = st.Height
			if st.Height >= h {
				seen = time.Now()
				return true, nil
			}
		}
		return false, n.exitError()
	})
	if errors.Is(err, errNotWithin) {
		err = fmt.Errorf("%s: height %d after %s, want %d", n.Name(), last, timeout, h)
	}
	return seen, err
}

// exitError describes a node that exited; nil while it runs.
func (n *node) exitError() error {
	if !n.Exited() {
		return nil
	}
	return fmt.Errorf("%s exited (%v); log:\n%s", n.Name(), n.Err(), n.LogTail(20))
}
