package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gossipchain/gossipchain/api/client"
)

// gossipchain runs the binary with args and returns its output and exit
// code.
func gossipchain(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		var ee *exec.ExitError
		if err != nil && !errors.As(err, &ee) {
			t.Fatalf("gossipchain %v: %v", args, err)
		}
	case <-time.After(waitTimeout):
		cmd.Process.Kill()
		<-done
		t.Fatalf("gossipchain %v did not exit within %s", args, waitTimeout)
	}
	return out.String(), errb.String(), cmd.ProcessState.ExitCode()
}

// TestCLIAgainstNode runs the client subcommands against a real node.
func TestCLIAgainstNode(t *testing.T) {
	n := startNode(t, nodeOptions{})
	peer := startNode(t, nodeOptions{bootstrap: nil})
	if err := peer.register(n.multiaddr()); err != nil {
		t.Fatal(err)
	}

	out, errOut, code := gossipchain(t, "mine", "3", "--node", n.url)
	if code != 0 {
		t.Fatalf("mine 3: exit %d: %s", code, errOut)
	}
	if rows := regexp.MustCompile(`(?m)^[2-4] +[0-9a-f]{64} +1$`).FindAllString(out, -1); len(rows) != 3 ||
		!strings.Contains(out, "height 4") {
		t.Fatalf("mine 3 printed:\n%s", out)
	}

	out, _, code = gossipchain(t, "status", "--node", n.url)
	if code != 0 || !regexp.MustCompile(`(?m)^height +4$`).MatchString(out) || !regexp.MustCompile(`(?m)^peers +1$`).MatchString(out) ||
		!regexp.MustCompile(`(?m)^version +\S+`).MatchString(out) {
		t.Fatalf("status: exit %d:\n%s", code, out)
	}
	out, _, code = gossipchain(t, "status", "--json", "--node", n.url)
	var st map[string]any
	if code != 0 || json.Unmarshal([]byte(out), &st) != nil || st["height"] != 4.0 || st["syncing"] != false {
		t.Fatalf("status --json: exit %d:\n%s", code, out)
	}

	// The height of a peer is the one of its last status (exchanged on
	// connecting and every 10 s).
	out, _, code = gossipchain(t, "peers", "--node", n.url)
	peerID := peer.mustStatus().PeerID
	if code != 0 || !regexp.MustCompile(`(?m)^`+peerID+` +\d+ +inbound +inbound +/ip4/127\.0\.0\.1/tcp/\d+$`).MatchString(out) {
		t.Fatalf("peers: exit %d:\n%s", code, out)
	}

	out, _, code = gossipchain(t, "tx", "send", "alice", "bob", "5", "--node", n.url)
	if code != 0 || !regexp.MustCompile(`(?m)^id +[0-9a-f]{64}$`).MatchString(out) || !strings.Contains(out, "Block 5") {
		t.Fatalf("tx send: exit %d:\n%s", code, out)
	}
	out, _, code = gossipchain(t, "chain", "--limit", "2", "--node", n.url)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != 0 || len(lines) != 4 || !strings.HasPrefix(lines[1], "4 ") || !strings.HasPrefix(lines[2], "3 ") || lines[3] != "(2 of 4 blocks)" {
		t.Fatalf("chain --limit 2: exit %d:\n%s", code, out)
	}
	out, _, code = gossipchain(t, "chain", "--json", "--node", n.url)
	var ch client.Chain
	if code != 0 || json.Unmarshal([]byte(out), &ch) != nil || len(ch.Chain) != 4 {
		t.Fatalf("chain --json: exit %d:\n%.300s", code, out)
	}

	// The node's own errors are shown, with exit code 1; bad usage exits 2.
	_, errOut, code = gossipchain(t, "tx", "send", "alice", "bob", "0", "--node", n.url)
	if code != 1 || !strings.Contains(errOut, "amount must be a positive integer") || !strings.Contains(errOut, "bad_transaction") {
		t.Fatalf("tx send amount 0: exit %d: %s", code, errOut)
	}
	_, errOut, code = gossipchain(t, "status", "--node", "http://127.0.0.1:1")
	if code != 1 || !strings.Contains(errOut, "cannot reach the node") {
		t.Fatalf("unreachable node: exit %d: %s", code, errOut)
	}
	for _, args := range [][]string{{"mine", "x"}, {"tx", "send", "a"}, {"status", "extra"}, {"status", "--node", "localhost:5000"}} {
		if _, errOut, code = gossipchain(t, args...); code != 2 {
			t.Errorf("%v: exit %d, want 2: %s", args, code, errOut)
		}
	}

	// A block mined on n reaches the peer by gossip once the mesh has
	// formed, and the peer logs the new head with its source and peer.
	waitFor(t, "a new head received by gossip", waitTimeout, func() error {
		h := n.mine().Hash.String()
		sameHead(t, []*node{n, peer}, 0)
		if !regexp.MustCompile(`level=INFO msg="new head" .*hash=` + h + ` source=gossip peer=` + n.mustStatus().PeerID).MatchString(peer.Log()) {
			return errors.New("block " + h + " did not come by gossip")
		}
		return nil
	})
}

// TestFlagsCheckedBeforeStart checks that bad flag values exit with 2
// before the node starts (no data directory is created), and --version.
func TestFlagsCheckedBeforeStart(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	for _, args := range [][]string{
		{"--miner-address", "0"},
		{"--log-format", "yaml"},
		{"--cors", "not an origin"},
	} {
		_, errOut, code := gossipchain(t, append(args, "--datadir", dir, "--mdns=false", "--http", "127.0.0.1:0")...)
		if code != 2 || !strings.Contains(errOut, args[0]) {
			t.Errorf("%v: exit %d, want 2: %s", args, code, errOut)
		}
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("the data directory was created: %v", err)
	}
	out, _, code := gossipchain(t, "--version")
	if code != 0 || !regexp.MustCompile(`^gossipchain \S+\n$`).MatchString(out) {
		t.Fatalf("--version: exit %d: %q", code, out)
	}
}

// TestLogFormatJSON checks --log-format json: every line is a JSON object,
// and a mined block gives one INFO "new head" line.
func TestLogFormatJSON(t *testing.T) {
	n := startNode(t, nodeOptions{extra: []string{"--log-format", "json", "--log-level", "info"}})
	mined := n.mine()
	waitFor(t, "a JSON new-head line", waitTimeout, func() error {
		sc := bufio.NewScanner(strings.NewReader(n.Log()))
		found := false
		for sc.Scan() {
			var line map[string]any
			if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
				return errors.New("not a JSON line: " + sc.Text())
			}
			if line["msg"] == "new head" && line["level"] == "INFO" && line["hash"] == mined.Hash.String() && line["source"] == "mined" {
				found = true
			}
		}
		if !found {
			return errors.New("no new-head line yet")
		}
		return nil
	})
}

// TestMDNSWithoutMulticastInterface starts a node with mDNS on in a
// namespace whose interfaces have multicast off: it warns and runs on.
func TestMDNSWithoutMulticastInterface(t *testing.T) {
	l := newLAN(t, 1)
	l.run("ip", "netns", "exec", l.hosts[0], "ip", "link", "set", "eth0", "multicast", "off")
	n := l.startHostNode(1, nodeOptions{extra: []string{"--log-level", "info"}})
	n.waitLog("mDNS warning", `level=WARN`, `mDNS discovery is off`, `--mdns=false`)
	n.mine()
	if s := n.mustStatus(); s.Height != 2 {
		t.Fatalf("height %d after mining", s.Height)
	}
}
