package p2p

import (
	"context"
	"errors"
	"net"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/multiformats/go-multiaddr"
)

func TestAddrs(t *testing.T) {
	n := newNode(t, testConfig(t))
	addrs := n.Addrs()
	if len(addrs) == 0 {
		t.Fatal("Addrs: none")
	}
	for _, a := range addrs {
		ai, err := peer.AddrInfoFromP2pAddr(a)
		if err != nil || ai.ID != n.ID() {
			t.Errorf("Addrs: %s does not end in /p2p/%s (%v)", a, n.ID(), err)
		}
		if !strings.HasPrefix(a.String(), "/ip4/127.0.0.1/tcp/") {
			t.Errorf("Addrs: %s is not on the listen address", a)
		}
	}
}

func TestBootstrapRedial(t *testing.T) {
	a := newNode(t, testConfig(t))
	cfg := testConfig(t)
	for _, m := range a.Addrs() {
		cfg.Bootstrap = append(cfg.Bootstrap, m.String())
	}
	b := newNode(t, cfg)

	waitFor(t, 10*time.Second, "b to reach its bootstrap peer", func() bool { return connected(b, a) })
	if !b.cm.IsProtected(a.ID(), tagBootstrap) {
		t.Error("bootstrap peer is not protected in the connection manager")
	}
	checkPeer(t, b, a.ID(), "outbound", SourceBootstrap)
	waitFor(t, 10*time.Second, "a to see b", func() bool { return connected(a, b) })
	checkPeer(t, a, b.ID(), "inbound", SourceInbound)

	for round := range 3 {
		// Cut only once a has registered the connection: an inbound connection that a
		// has not finished setting up would survive ClosePeer.
		waitFor(t, 10*time.Second, "both sides to see the connection", func() bool {
			return connected(a, b) && connected(b, a)
		})
		cut := time.Now()
		if err := a.Host().Network().ClosePeer(b.ID()); err != nil {
			t.Fatalf("ClosePeer: %v", err)
		}
		waitFor(t, 15*time.Second, "b to redial its bootstrap peer", func() bool {
			for _, c := range b.Host().Network().ConnsToPeer(a.ID()) {
				if c.Stat().Opened.After(cut) {
					return true
				}
			}
			return false
		})
		t.Logf("round %d: reconnected after %v", round, time.Since(cut))
	}
}

// TestBootstrapLate starts a node whose bootstrap peer is down and brings the peer up
// four seconds later: the node must reach it within its own backoff (at most 500ms
// here), not the swarm's per-address dial backoff (6s after a first failure).
func TestBootstrapLate(t *testing.T) {
	cfgA := testConfig(t)
	cfgA.ListenAddrs = []string{"/ip4/127.0.0.1/tcp/" + freePort(t)}
	a, err := New(t.Context(), cfgA) // learn a's identity and address
	if err != nil {
		t.Fatal(err)
	}
	aID, aAddr := a.ID(), a.Addrs()[0]
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}

	cfgB := testConfig(t)
	cfgB.Bootstrap = []string{aAddr.String()}
	b := newNode(t, cfgB)
	time.Sleep(4 * time.Second) // b's dials fail meanwhile
	if b.Host().Network().Connectedness(aID) == network.Connected {
		t.Fatal("connected to a bootstrap peer that is down")
	}

	a = newNode(t, cfgA)
	if a.ID() != aID {
		t.Fatalf("restarted peer has ID %s, want %s", a.ID(), aID)
	}
	up := time.Now()
	waitFor(t, 2*time.Second, "b to reach its restarted bootstrap peer", func() bool { return connected(b, a) })
	t.Logf("reconnected %v after the peer came back", time.Since(up))
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
}

func checkPeer(t *testing.T, n *Node, id peer.ID, direction, source string) {
	t.Helper()
	for _, p := range n.Peers() {
		if p.ID != id {
			continue
		}
		if p.Direction != direction || p.Source != source || p.Addr == nil {
			t.Errorf("Peers entry for %s: got direction %q source %q addr %v, want %q %q", id, p.Direction, p.Source, p.Addr, direction, source)
		}
		return
	}
	t.Errorf("Peers: %s missing", id)
}

func TestConnectRegister(t *testing.T) {
	nodes := newNodes(t, 2)
	a, b := nodes[0], nodes[1]
	connect(t, a, b)
	checkPeer(t, a, b.ID(), "outbound", SourceRegister)
	checkPeer(t, b, a.ID(), "inbound", SourceInbound)

	if err := a.Connect(t.Context(), a.Addrs()[0]); err == nil {
		t.Error("Connect to self: got nil error")
	}
	noID, err := multiaddr.NewMultiaddr(strings.Split(b.Addrs()[0].String(), "/p2p/")[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Connect(t.Context(), noID); err == nil || !strings.Contains(err.Error(), noID.String()) {
		t.Errorf("Connect without /p2p/: got %v, want an error naming %s", err, noID)
	}
}

func TestPenalize(t *testing.T) {
	cfgA := testConfig(t)
	cfgA.banDuration = 2 * time.Second
	a := newNode(t, cfgA)
	b := newNode(t, testConfig(t))
	connect(t, b, a)

	start := time.Now()
	a.Penalize(b.ID(), "test: sent an invalid chain")
	if !a.Banned(b.ID()) {
		t.Fatal("Banned right after Penalize: got false")
	}
	waitFor(t, 5*time.Second, "penalized peer to be disconnected", func() bool {
		return !connected(a, b) && !connected(b, a)
	})

	// A refuses to dial B ...
	if err := a.Connect(t.Context(), b.Addrs()[0]); !errors.Is(err, ErrBanned) {
		t.Errorf("a.Connect(banned b): got %v, want ErrBanned", err)
	}
	// ... and refuses B's dials, whatever B's side believes for a moment.
	for range 3 {
		ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
		_ = b.Connect(ctx, a.Addrs()[0])
		cancel()
		if connected(a, b) && a.Banned(b.ID()) {
			t.Fatal("banned peer got a connection accepted")
		}
	}
	waitFor(t, 5*time.Second, "b to give up its refused connection", func() bool { return !connected(b, a) })

	// After the ban, B may connect again.
	waitFor(t, 15*time.Second, "ban to expire and b to reconnect", func() bool {
		if a.Banned(b.ID()) {
			return false
		}
		ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
		defer cancel()
		_ = b.Connect(ctx, a.Addrs()[0])
		return connected(a, b)
	})
	if d := time.Since(start); d < cfgA.banDuration {
		t.Errorf("reconnected after %v, before the ban of %v ended", d, cfgA.banDuration)
	}
}

func TestCloseStopsEverything(t *testing.T) {
	run := func() {
		a := newNode(t, testConfig(t))
		cfg := testConfig(t)
		cfg.Bootstrap = []string{a.Addrs()[0].String()}
		b := newNode(t, cfg)
		waitFor(t, 10*time.Second, "bootstrap connection", func() bool { return connected(b, a) })
		for _, n := range []*Node{a, b} {
			if _, err := n.Join("blocks", nil); err != nil {
				t.Fatalf("Join: %v", err)
			}
		}
		for _, n := range []*Node{b, a} {
			for range 2 {
				if err := n.Close(); err != nil {
					t.Errorf("Close: %v", err)
				}
			}
		}
		if err := a.Start(t.Context()); !errors.Is(err, ErrClosed) {
			t.Errorf("Start after Close: got %v, want ErrClosed", err)
		}
		if _, err := a.Join("txs", nil); !errors.Is(err, ErrClosed) {
			t.Errorf("Join after Close: got %v, want ErrClosed", err)
		}
	}
	run() // warm up lazily started package-level goroutines
	before := runtime.NumGoroutine()
	for range 3 {
		run()
	}
	const tolerance = 10
	var after int
	deadline := time.Now().Add(20 * time.Second)
	for {
		runtime.GC()
		after = runtime.NumGoroutine()
		if after <= before+tolerance || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if after > before+tolerance {
		buf := make([]byte, 1<<20)
		t.Errorf("goroutines: %d before, %d after closing 6 nodes\n%s", before, after, buf[:runtime.Stack(buf, true)])
	}
}
