package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gossipchain/gossipchain/chain"
	"github.com/gossipchain/gossipchain/e2e/launch"
)

// binary is the gossipchain command built once by TestMain.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "gossipchain-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "gossipchain")
	if err := launch.Build(context.Background(), launch.Gossipchain, binary); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// waitTimeout is the generous deadline for every condition the tests wait for.
const waitTimeout = 60 * time.Second

// waitFor polls cond until it returns nil, failing the test after timeout
// with cond's last error. It polls every 20 ms at first, then less often,
// every 100 ms after the first half second.
func waitFor(t testing.TB, what string, timeout time.Duration, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	interval := 20 * time.Millisecond
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not reached within %s: %v", what, timeout, err)
		}
		time.Sleep(interval)
		interval = min(interval*3/2, 100*time.Millisecond)
	}
}

// freePort returns a TCP port that was free a moment ago on 127.0.0.1,
// below the ephemeral range (see launch.FreePort).
func freePort(t testing.TB) int {
	t.Helper()
	p, err := launch.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// nodeOptions say how to start one node process.
type nodeOptions struct {
	network    string
	difficulty int  // fixed difficulty; default 8
	retarget   bool // no --difficulty: the network retargets
	datadir    string
	httpAddr   string   // host:port
	p2pPort    int      // TCP listen port on 127.0.0.1
	bootstrap  []string // multiaddrs
	extra      []string // more flags
	netns      string   // run inside this network namespace (ip netns exec)
	listenIP   string   // default 127.0.0.1
	mdns       bool
	binary     string // the gossipchain binary; default the one TestMain built
	light      bool   // --light, without the miner's flags
}

// node is a running gossipchain process of a test.
type node struct {
	*launch.Node
	t    testing.TB
	opts nodeOptions
	url  string
}

// startNode starts a node and waits until its HTTP API answers. The node is
// stopped when the test ends.
func startNode(t testing.TB, opts nodeOptions) *node {
	t.Helper()
	if opts.network == "" {
		opts.network = "e2e"
	}
	if opts.difficulty == 0 {
		opts.difficulty = 8
	}
	if opts.datadir == "" {
		opts.datadir = t.TempDir()
	}
	if opts.httpAddr == "" {
		opts.httpAddr = fmt.Sprintf("127.0.0.1:%d", freePort(t))
	}
	if opts.p2pPort == 0 {
		opts.p2pPort = freePort(t)
	}
	if opts.listenIP == "" {
		opts.listenIP = "127.0.0.1"
	}
	if opts.binary == "" {
		opts.binary = binary
	}
	n := &node{t: t, opts: opts, url: "http://" + opts.httpAddr}
	var err error
	n.Node, err = launch.Start(context.Background(), launch.Options{
		Binary: opts.binary, Name: "node " + opts.httpAddr, DataDir: opts.datadir, HTTP: opts.httpAddr,
		Args: n.args(), Netns: opts.netns, HTTPClient: hc, StartTimeout: waitTimeout,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("last log lines of node %s:\n%s", n.opts.httpAddr, n.LogTail(40))
		}
		n.stop()
	})
	return n
}

// args are the node's flags besides --datadir and --http.
func (n *node) args() []string {
	o := n.opts
	args := []string{
		"--network", o.network,
		"--listen", fmt.Sprintf("/ip4/%s/tcp/%d", o.listenIP, o.p2pPort),
		fmt.Sprintf("--mdns=%t", o.mdns),
		"--log-level", "debug",
	}
	if o.light {
		args = append(args, "--light")
	} else {
		args = append(args, "--miner-threads", "1")
	}
	if !o.retarget {
		args = append(args, "--difficulty", fmt.Sprint(o.difficulty))
	}
	if len(o.bootstrap) > 0 {
		args = append(args, "--bootstrap", strings.Join(o.bootstrap, ","))
	}
	return append(args, o.extra...)
}

// stop sends SIGTERM and waits for a clean exit (SIGKILL after 20 s).
func (n *node) stop() {
	if err := n.Stop(); err != nil {
		n.t.Errorf("%v\n%s", err, n.Log())
	}
}

// kill sends SIGKILL and waits for the process to be gone.
func (n *node) kill() { n.Kill() }

// restart starts the node again on the same data directory, with its
// options as they are now.
func (n *node) restart() {
	n.t.Helper()
	if err := n.Restart(context.Background(), n.args()...); err != nil {
		n.t.Fatal(err)
	}
}

// multiaddr returns the node's multiaddr on its listen IP.
func (n *node) multiaddr() string {
	n.t.Helper()
	ctx, cancel := requestCtx()
	defer cancel()
	a, err := n.Multiaddr(ctx, n.opts.listenIP)
	if err != nil {
		n.t.Fatal(err)
	}
	return a
}

// sameHead waits until every node reports the same head at height >= min.
func sameHead(t testing.TB, nodes []*node, minHeight uint64) chain.Hash {
	t.Helper()
	var head chain.Hash
	waitFor(t, "all nodes on one head", waitTimeout, func() error {
		head = chain.Hash{}
		for i, n := range nodes {
			s, err := n.status()
			if err != nil {
				return err
			}
			if s.Height < minHeight {
				return fmt.Errorf("node %d at height %d < %d", i, s.Height, minHeight)
			}
			if head.IsZero() {
				head = s.Head
			} else if s.Head != head {
				return fmt.Errorf("node %d head %s differs from %s", i, s.Head, head)
			}
		}
		return nil
	})
	return head
}
