package p2p

import (
	"context"
	"io"
	"log/slog"
	"os"
	"testing"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/network"
)

// testNetwork is the network name of every test node.
const testNetwork = "testnet"

// testLogger discards logs unless P2P_TEST_LOG is set: pubsub goroutines may log after
// a test has ended, which t.Log does not allow.
func testLogger() *slog.Logger {
	if os.Getenv("P2P_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// testConfig is a Config for a node on 127.0.0.1 with mDNS off and fast timers.
func testConfig(t *testing.T) Config {
	t.Helper()
	return Config{
		DataDir:          t.TempDir(),
		Network:          testNetwork,
		ListenAddrs:      []string{"/ip4/127.0.0.1/tcp/0"},
		MaxMessageSize:   1 << 20,
		Logger:           testLogger(),
		redialMin:        50 * time.Millisecond,
		redialMax:        500 * time.Millisecond,
		scoreInspectFreq: 100 * time.Millisecond,
	}
}

// newNode builds and starts a node from cfg and closes it when the test ends.
func newNode(t *testing.T, cfg Config) *Node {
	t.Helper()
	n, err := New(t.Context(), cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { n.Close() })
	if err := n.Start(t.Context()); err != nil {
		t.Fatalf("Start: %v", err)
	}
	return n
}

// newNodes starts count default test nodes.
func newNodes(t *testing.T, count int) []*Node {
	t.Helper()
	nodes := make([]*Node, count)
	for i := range nodes {
		nodes[i] = newNode(t, testConfig(t))
	}
	return nodes
}

// connect makes a dial b and waits until both see the connection.
func connect(t *testing.T, a, b *Node) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := a.Connect(ctx, b.Addrs()[0]); err != nil {
		t.Fatalf("connect %s -> %s: %v", a.ID(), b.ID(), err)
	}
	waitFor(t, 10*time.Second, "connection seen on both sides", func() bool {
		return connected(a, b) && connected(b, a)
	})
}

// connected reports whether a has a connection to b.
func connected(a, b *Node) bool {
	return a.Host().Network().Connectedness(b.ID()) == network.Connected
}

// waitFor polls cond until it holds, failing the test after timeout.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// join joins the topic of kind on n with validator, failing the test on an error.
func join(t *testing.T, n *Node, kind string, validator pubsub.ValidatorEx) *Topic {
	t.Helper()
	topic, err := n.Join(kind, validator)
	if err != nil {
		t.Fatalf("Join %s: %v", kind, err)
	}
	return topic
}
