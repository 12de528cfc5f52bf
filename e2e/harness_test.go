package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gossipchain/gossipchain/api/client"
	"github.com/gossipchain/gossipchain/chain"
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
	build := exec.Command("go", "build", "-o", binary, "../cmd/gossipchain")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build gossipchain:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// waitTimeout is the generous deadline for every condition the tests wait for.
const waitTimeout = 60 * time.Second

// eventually polls cond until it returns nil or the deadline passes.
func eventually(t testing.TB, what string, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	var err error
	for time.Now().Before(deadline) {
		if err = cond(); err == nil {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s: not reached within %s: %v", what, waitTimeout, err)
}

// freePort returns a TCP port that was free a moment ago on 127.0.0.1.
//
// The port is below the kernel's ephemeral range, so that no outgoing
// connection and no listener on port 0 (of this process, a node or another
// test package) can take it between freePort and the node's bind, nor while
// a stopped node waits to be restarted on it. Ports are handed out in turn
// from a random start, each checked free.
func freePort(t testing.TB) int {
	t.Helper()
	portOnce.Do(func() {
		limit := ephemeralPortStart()
		portLow, portHigh = max(limit-12000, 1024), limit
		nextPort = portLow + int(time.Now().UnixNano()%int64(portHigh-portLow))
	})
	portMu.Lock()
	defer portMu.Unlock()
	for range portHigh - portLow {
		p := nextPort
		if nextPort++; nextPort >= portHigh {
			nextPort = portLow
		}
		if ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p)); err == nil {
			ln.Close()
			return p
		}
	}
	t.Fatalf("no free TCP port in %d..%d", portLow, portHigh-1)
	return 0
}

var (
	portOnce          sync.Once
	portMu            sync.Mutex
	portLow, portHigh int // [portLow, portHigh): below the ephemeral range
	nextPort          int
)

// ephemeralPortStart returns the first port of the kernel's ephemeral range
// (32768, Linux's default, if it cannot be read).
func ephemeralPortStart() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return 32768
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 32768
	}
	lo, err := strconv.Atoi(f[0])
	if err != nil || lo <= 2048 {
		return 32768
	}
	return lo
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
}

// node is a running gossipchain process.
type node struct {
	t    testing.TB
	opts nodeOptions
	cmd  *exec.Cmd
	done chan struct{}
	logs *syncBuffer
	url  string
	api  *client.Client
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
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
	n := &node{t: t, opts: opts, logs: &syncBuffer{}, url: "http://" + opts.httpAddr}
	n.api = client.New(n.url, hc)
	n.start()
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("last log lines of node %s:\n%s", n.opts.httpAddr, n.lastLines(40))
		}
		n.stop()
	})
	return n
}

func (n *node) args() []string {
	o := n.opts
	args := []string{
		"--datadir", o.datadir,
		"--network", o.network,
		"--http", o.httpAddr,
		"--listen", fmt.Sprintf("/ip4/%s/tcp/%d", o.listenIP, o.p2pPort),
		fmt.Sprintf("--mdns=%t", o.mdns),
		"--miner-threads", "1",
		"--log-level", "debug",
	}
	if !o.retarget {
		args = append(args, "--difficulty", fmt.Sprint(o.difficulty))
	}
	if len(o.bootstrap) > 0 {
		args = append(args, "--bootstrap", strings.Join(o.bootstrap, ","))
	}
	return append(args, o.extra...)
}

func (n *node) start() {
	t := n.t
	t.Helper()
	var cmd *exec.Cmd
	if n.opts.netns != "" {
		cmd = exec.Command("ip", append([]string{"netns", "exec", n.opts.netns, binary}, n.args()...)...)
	} else {
		cmd = exec.Command(binary, n.args()...)
	}
	cmd.Stdout, cmd.Stderr = n.logs, n.logs
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start node: %v", err)
	}
	n.cmd = cmd
	n.done = make(chan struct{})
	go func() { cmd.Wait(); close(n.done) }()
	eventually(t, "node "+n.opts.httpAddr+" answers /status", func() error {
		select {
		case <-n.done:
			return fmt.Errorf("node exited: %s\n%s", cmd.ProcessState, n.logs)
		default:
		}
		_, err := n.status()
		return err
	})
}

// stop sends SIGTERM and waits for a clean exit (SIGKILL after 20 s).
func (n *node) stop() {
	if n.cmd == nil {
		return
	}
	select {
	case <-n.done:
		n.cmd = nil
		return
	default:
	}
	n.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-n.done:
		if code := n.cmd.ProcessState.ExitCode(); code != 0 {
			n.t.Errorf("node %s exited with code %d after SIGTERM\n%s", n.opts.httpAddr, code, n.logs)
		}
	case <-time.After(20 * time.Second):
		n.cmd.Process.Kill()
		<-n.done
		n.t.Errorf("node %s did not stop within 20s of SIGTERM\n%s", n.opts.httpAddr, n.logs)
	}
	n.cmd = nil
}

// kill sends SIGKILL and waits for the process to be gone.
func (n *node) kill() {
	n.cmd.Process.Kill()
	<-n.done
	n.cmd = nil
}

// restart starts the node again with the same options and data directory.
func (n *node) restart() { n.start() }

// hc is the HTTP client of the tests' requests.
var hc = &http.Client{Timeout: 30 * time.Second}

// requestCtx returns the context of one request of the tests.
func requestCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 60*time.Second)
}

func (n *node) status() (client.Status, error) {
	ctx, cancel := requestCtx()
	defer cancel()
	return n.api.Status(ctx)
}

// mustStatus returns the status or fails the test.
func (n *node) mustStatus() client.Status {
	n.t.Helper()
	s, err := n.status()
	if err != nil {
		n.t.Fatal(err)
	}
	return s
}

// multiaddr returns the node's multiaddr on its listen IP.
func (n *node) multiaddr() string {
	n.t.Helper()
	s := n.mustStatus()
	for _, a := range s.Addrs {
		if strings.Contains(a, "/ip4/"+n.opts.listenIP+"/tcp/") {
			return a
		}
	}
	n.t.Fatalf("no /ip4/%s/tcp address in %v", n.opts.listenIP, s.Addrs)
	return ""
}

func (n *node) getJSON(path string, v any) (int, error) {
	return n.do(http.MethodGet, path, "", v)
}

// do sends a request with body (none when empty) and decodes the JSON
// answer into v (if not nil), whatever its status code, which it returns.
func (n *node) do(method, path, body string, v any) (int, error) {
	ctx, cancel := requestCtx()
	defer cancel()
	var b any
	if body != "" {
		b = body
	}
	code, data, err := n.api.Raw(ctx, method, path, b)
	if err != nil {
		return code, err
	}
	if v != nil {
		if err := json.Unmarshal(data, v); err != nil {
			return code, fmt.Errorf("%s %s: decode %q: %w", method, path, truncate(data), err)
		}
	}
	return code, nil
}

func truncate(b []byte) string {
	if len(b) > 300 {
		return string(b[:300]) + "..."
	}
	return string(b)
}

// metric returns the value of an unlabelled metric from GET /metrics.
func (n *node) metric(name string) (float64, error) {
	m, err := n.metrics()
	if err != nil {
		return 0, err
	}
	v, ok := m[name]
	if !ok {
		return 0, fmt.Errorf("metric %s not found", name)
	}
	return v, nil
}

// mine asks the node to mine one block.
func (n *node) mine() client.Mined {
	n.t.Helper()
	ctx, cancel := requestCtx()
	defer cancel()
	m, err := n.api.Mine(ctx)
	if err != nil {
		n.t.Fatalf("GET /mine: %v", err)
	}
	return m
}

// chainHashes returns the hashes of the node's main chain.
func (n *node) chainHashes() ([]chain.Hash, error) {
	ctx, cancel := requestCtx()
	defer cancel()
	ch, err := n.api.Chain(ctx)
	if err != nil {
		return nil, err
	}
	hashes := make([]chain.Hash, len(ch.Chain))
	for i, b := range ch.Chain {
		hashes[i] = b.Hash
	}
	if uint64(len(hashes)) != ch.Length {
		return nil, fmt.Errorf("length %d but %d blocks", ch.Length, len(hashes))
	}
	return hashes, nil
}

// lastLines returns the last lines of the node's log, for failure messages.
func (n *node) lastLines(k int) string {
	sc := bufio.NewScanner(strings.NewReader(n.logs.String()))
	var lines []string
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if len(lines) > k {
		lines = lines[len(lines)-k:]
	}
	return strings.Join(lines, "\n")
}

// sameHead waits until every node reports the same head at height >= min.
func sameHead(t testing.TB, nodes []*node, minHeight uint64) chain.Hash {
	t.Helper()
	var head chain.Hash
	eventually(t, "all nodes on one head", func() error {
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

// Reset discards what was written so far.
func (b *syncBuffer) Reset() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf.Reset()
}
