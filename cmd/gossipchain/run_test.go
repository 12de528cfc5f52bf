package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gossipchain/gossipchain/api/client"
	"github.com/gossipchain/gossipchain/chain"
)

// testNode is a node run by run, as main runs it, on loopback.
type testNode struct {
	url     string
	dataDir string
	api     *client.Client
}

// freeAddr returns a 127.0.0.1 address whose port was free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// nodeConfig parses the flags of a test node with args added.
func nodeConfig(t *testing.T, args ...string) config {
	t.Helper()
	base := []string{"--datadir", t.TempDir(), "--http", freeAddr(t), "--listen", "/ip4/127.0.0.1/tcp/0",
		"--mdns=false", "--miner-threads", "1", "--log-level", "error"}
	cfg, err := parseFlags(append(base, args...), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// startNode runs a node with args added to the test flags until the test
// ends, and waits until its API answers.
func startNode(t *testing.T, args ...string) *testNode {
	t.Helper()
	cfg := nodeConfig(t, args...)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil))) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("node stopped with %v", err)
		}
	})
	n := &testNode{url: "http://" + cfg.httpAddr, dataDir: cfg.dataDir}
	n.api = client.New(n.url, nil)
	deadline := time.Now().Add(60 * time.Second)
	for {
		select {
		case err := <-done:
			t.Fatalf("node exited: %v", err)
		default:
		}
		if _, err := n.api.Status(t.Context()); err == nil {
			return n
		} else if time.Now().After(deadline) {
			t.Fatalf("node does not answer: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// cli runs a client subcommand against n and returns its output; it fails
// the test on an exit code other than 0.
func (n *testNode) cli(t *testing.T, args ...string) string {
	t.Helper()
	var out, errOut bytes.Buffer
	if code := runClient(append(args, "--node", n.url), &out, &errOut); code != exitOK {
		t.Fatalf("%q: exit %d: %s", args, code, errOut.String())
	}
	return out.String()
}

// row returns the value of the row name of a table printed by the client.
func row(t *testing.T, table, name string) string {
	t.Helper()
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name) + ` {2,}(.*)$`).FindStringSubmatch(table)
	if m == nil {
		t.Fatalf("no row %q in:\n%s", name, table)
	}
	return m[1]
}

// TestStatusNamesNetwork checks that gossipchain status names the network's
// genesis, its retargeting or fixed difficulty, and its ledger.
func TestStatusNamesNetwork(t *testing.T) {
	retarget := startNode(t, "--network", "statusnet")
	out := retarget.cli(t, "status")
	p := chain.DefaultParams()
	p.Name = "statusnet"
	for name, want := range map[string]string{
		"network":    "statusnet",
		"genesis":    p.Genesis().Hash.String(),
		"difficulty": "22 bits for the next block, retargeting toward one block every 10s (half-life 40s, at least 22 bits)",
		"ledger":     "open: free-form senders, no balances (gossipchain tx send)",
	} {
		if got := row(t, out, name); got != want {
			t.Errorf("status %s: %q, want %q", name, got, want)
		}
	}
	st, err := retarget.api.Status(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(st.NAT.AnnouncedP2PAddrs) == 0 || row(t, out, "announced") != st.NAT.AnnouncedP2PAddrs[0] {
		t.Errorf("announced addresses %v in:\n%s", st.NAT.AnnouncedP2PAddrs, out)
	}

	fixed := startNode(t, "--difficulty", "6", "--ledger", "signed")
	out = fixed.cli(t, "status")
	if got, want := row(t, out, "difficulty"), "6 bits for the next block, fixed (--difficulty 6): it never retargets"; got != want {
		t.Errorf("status difficulty: %q, want %q", got, want)
	}
	if got, want := row(t, out, "ledger"), "signed: accounts with balances and nonces (gossipchain balance, gossipchain send)"; got != want {
		t.Errorf("status ledger: %q, want %q", got, want)
	}
}

// TestAnnouncedAddrsCarryPeerID checks /status's nat.announced_p2p_addrs:
// the --announce addresses with /p2p/<peer id>, ready for --bootstrap.
func TestAnnouncedAddrsCarryPeerID(t *testing.T) {
	n := startNode(t, "--announce", "/ip4/203.0.113.9/tcp/4001,/ip4/203.0.113.9/udp/4001/quic-v1")
	st, err := n.api.Status(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"/ip4/203.0.113.9/tcp/4001/p2p/" + st.PeerID, "/ip4/203.0.113.9/udp/4001/quic-v1/p2p/" + st.PeerID}
	if got := st.NAT.AnnouncedP2PAddrs; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("announced_p2p_addrs %v, want %v", got, want)
	}
	if _, err := parseFlags([]string{"--bootstrap", want[0]}, io.Discard); err != nil {
		t.Fatalf("an announced address is no --bootstrap: %v", err)
	}
}

// TestBalance checks gossipchain balance on both ledgers: a signed
// network's account, by key file or address; on an open network what the
// address received and sent, said to be no balance.
func TestBalance(t *testing.T) {
	signed := startNode(t, "--difficulty", "4", "--ledger", "signed")
	signed.cli(t, "mine", "2")
	key := filepath.Join(signed.dataDir, "identity.key")
	out := signed.cli(t, "balance", "--key", key)
	addr := row(t, out, "address")
	if got := row(t, out, "balance"); got != "2  (confirmed at height 3)" {
		t.Errorf("balance: %q\n%s", got, out)
	}
	if byAddr := signed.cli(t, "balance", addr); byAddr != out {
		t.Errorf("balance by address:\n%s\nby key:\n%s", byAddr, out)
	}
	var errOut bytes.Buffer
	if code := runClient([]string{"balance", "alice", "--node", signed.url}, io.Discard, &errOut); code != exitError ||
		!strings.Contains(errOut.String(), `"alice" is not an address of a signed network`) {
		t.Errorf("balance alice on a signed network: exit %d: %s", code, errOut.String())
	}

	open := startNode(t, "--difficulty", "4")
	open.cli(t, "mine", "2")
	open.cli(t, "tx", "send", "alice", "bob", "5")
	st, err := open.api.Status(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	out = open.cli(t, "balance", st.MinerAddress)
	for name, want := range map[string]string{
		"ledger":          "open: network devnet keeps no balances (any sender may send any amount); these are totals",
		"received":        "2",
		"sent":            "0",
		"blocks searched": "1-3, the whole chain",
		"pending":         "0 transaction(s)",
	} {
		if got := row(t, out, name); got != want {
			t.Errorf("open balance %s: %q, want %q", name, got, want)
		}
	}
	if got := row(t, open.cli(t, "balance", "alice"), "pending"); got != "1 transaction(s)" {
		t.Errorf("alice's pending: %q", got)
	}
}

// TestPortInUse checks the error of a port in use: one line naming the
// address and the flag that chose it.
func TestPortInUse(t *testing.T) {
	held, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	addr := held.Addr().String()
	port := held.Addr().(*net.TCPAddr).Port
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--http", addr}, "--http " + addr + ": address already in use; another node runs here? give this one another -p or --http"},
		{[]string{"--listen", fmt.Sprintf("/ip4/127.0.0.1/tcp/%d", port)},
			fmt.Sprintf("--listen /ip4/127.0.0.1/tcp/%d: address already in use; another node runs here? give this one another --listen", port)},
	}
	for _, tt := range tests {
		cfg := nodeConfig(t, tt.args...)
		err := run(t.Context(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
		if err == nil || err.Error() != tt.want {
			t.Errorf("%q: error\n %v\nwant\n %s", tt.args, err, tt.want)
		}
	}
	cfg := nodeConfig(t, "--listen", fmt.Sprintf("/ip4/127.0.0.1/tcp/%d", port))
	cfg.listenFlag = false // as if it followed the HTTP port
	cfg.httpFlag = "-p 5001"
	want := fmt.Sprintf("/ip4/127.0.0.1/tcp/%d (the default --listen for -p 5001): address already in use; another node runs here? "+
		"give this one another -p (HTTP port P listens for peers on P-999) or --listen", port)
	if err := run(t.Context(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil))); err == nil || err.Error() != want {
		t.Errorf("default listen address in use: error\n %v\nwant\n %s", err, want)
	}
}

// TestJSONLogValues checks that JSON lines write durations and compact
// targets as the text lines do.
func TestJSONLogValues(t *testing.T) {
	var buf bytes.Buffer
	log := newLogger(&buf, config{logJSON: true})
	log.Info("starting gossipchain", "target_block_time", 10*time.Second, "initial_bits", chain.Compact(0x1f00ffff))
	if s := buf.String(); !strings.Contains(s, `"target_block_time":"10s","initial_bits":"0x1f00ffff"`) {
		t.Fatalf("JSON line: %s", s)
	}
}
