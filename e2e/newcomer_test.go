package e2e

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/gossipchain/gossipchain/api/client"
)

// The traps and error messages a newcomer meets, each with its exact text,
// against real processes.

// firstLine returns the first line of s.
func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// tableRow returns the value of row name of a table the client printed.
func tableRow(t *testing.T, table, name string) string {
	t.Helper()
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name) + ` {2,}(.*)$`).FindStringSubmatch(table)
	if m == nil {
		t.Fatalf("no row %q in:\n%s", name, table)
	}
	return m[1]
}

// failedStart runs a node that must fail to start, with JSON logs, and
// returns the "err" of its one ERROR line; every line must be JSON.
func failedStart(t *testing.T, args ...string) string {
	t.Helper()
	_, errOut, code := gossipchain(t, append(args, "--mdns=false", "--log-format", "json")...)
	if code != 1 {
		t.Fatalf("%q: exit %d, want 1:\n%s", args, code, errOut)
	}
	var errs []string
	for _, line := range strings.Split(strings.TrimSpace(errOut), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("%q: a line not in the node's JSON format: %s", args, line)
		}
		if rec["level"] == "ERROR" {
			errs = append(errs, fmt.Sprint(rec["err"]))
		}
	}
	if len(errs) != 1 {
		t.Fatalf("%q: %d ERROR lines, want 1:\n%s", args, len(errs), errOut)
	}
	return errs[0]
}

// TestNewcomerCLI checks the client's traps: a flag of another subcommand
// or of the node, a boolean with a space, and what status and balance say.
func TestNewcomerCLI(t *testing.T) {
	n := startNode(t, nodeOptions{retarget: true})
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"chain", "--from", "5", "--node", n.url}, "gossipchain chain: unknown flag --from: did you mean --from-block? (--from is a flag of gossipchain tx send)"},
		{[]string{"status", "-p", "5001"}, "gossipchain status: unknown flag -p: -p is a flag of the node (gossipchain -p ... runs one); ask a running node with --node URL, such as --node http://127.0.0.1:5001"},
		{[]string{"balance", "--node", n.url}, "gossipchain balance: want balance --key FILE, or balance ADDRESS"},
		{[]string{"--json", "status"}, "gossipchain: unknown flag --json: --json is a flag of the subcommands (gossipchain status, gossipchain peers, gossipchain chain, ...), which come first: gossipchain status --json ..."},
		{[]string{"--mdns", "false"}, `gossipchain: unexpected argument "false": a boolean flag takes its value after =, as --mdns=false`},
	} {
		_, errOut, code := gossipchain(t, tt.args...)
		if code != 2 || firstLine(errOut) != tt.want {
			t.Errorf("%q: exit %d:\n %s\nwant exit 2 and\n %s", tt.args, code, firstLine(errOut), tt.want)
		}
	}
	help, _, _ := gossipchain(t, "--help")
	if !strings.Contains(help, "(default: none, the network retargets from --initial-difficulty)") || strings.Contains(help, "(default 20)") {
		t.Errorf("--help on --difficulty:\n%s", help)
	}

	out, _, code := gossipchain(t, "status", "--node", n.url)
	if code != 0 {
		t.Fatalf("status: exit %d", code)
	}
	st := n.mustStatus()
	for name, want := range map[string]string{
		"genesis":    st.Genesis.String(),
		"difficulty": "22 bits for the next block, retargeting toward one block every 10s (half-life 40s, at least 22 bits)",
		"ledger":     "open: free-form senders, no balances (gossipchain tx send)",
	} {
		if got := tableRow(t, out, name); got != want {
			t.Errorf("status %s: %q, want %q", name, got, want)
		}
	}
	n.mine()
	out, _, code = gossipchain(t, "balance", st.MinerAddress, "--node", n.url)
	if code != 0 || tableRow(t, out, "received") != "1" ||
		tableRow(t, out, "ledger") != "open: network e2e keeps no balances (any sender may send any amount); these are totals" {
		t.Errorf("balance on an open network: exit %d:\n%s", code, out)
	}

	signed := startNode(t, nodeOptions{extra: []string{"--ledger", "signed"}})
	signed.mine()
	out, _, code = gossipchain(t, "balance", "--key", filepath.Join(signed.opts.datadir, "identity.key"), "--node", signed.url)
	if code != 0 || tableRow(t, out, "balance") != "1  (confirmed at height 2)" {
		t.Errorf("balance on a signed network: exit %d:\n%s", code, out)
	}
}

// TestNewcomerErrors checks that the errors of a newcomer's mistakes name
// what was typed: a data directory of another network, ports in use, and
// a peer or registered node of other parameters.
func TestNewcomerErrors(t *testing.T) {
	a := startNode(t, nodeOptions{retarget: true})
	a.stop()
	got := failedStart(t, "--datadir", a.opts.datadir, "--network", "e2e", "--http", fmt.Sprintf("127.0.0.1:%d", freePort(t)),
		"--listen", fmt.Sprintf("/ip4/127.0.0.1/tcp/%d", freePort(t)), "--ledger", "signed")
	want := "open chain: open store " + filepath.Join(a.opts.datadir, "chain.db") + `: wrong network: the store holds a chain of network "e2e" made with --ledger open, ` +
		"this node runs with --ledger signed; start the node with --ledger open to use that chain, or use another data directory (--datadir, or scripts/devnet.sh --wipe for a devnet's)"
	if got != want {
		t.Errorf("store of another network:\n %s\nwant\n %s", got, want)
	}
	a.restart()

	// Ports in use: one line naming the address and the flag, in the
	// node's format, without go-libp2p's own lines.
	got = failedStart(t, "--datadir", t.TempDir(), "--http", a.opts.httpAddr)
	if want := "--http " + a.opts.httpAddr + ": address already in use; another node runs here? give this one another -p or --http"; got != want {
		t.Errorf("HTTP port in use:\n %s\nwant\n %s", got, want)
	}
	listen := fmt.Sprintf("/ip4/127.0.0.1/tcp/%d", a.opts.p2pPort)
	got = failedStart(t, "--datadir", t.TempDir(), "--http", fmt.Sprintf("127.0.0.1:%d", freePort(t)), "--listen", listen)
	if want := "--listen " + listen + ": address already in use; another node runs here? give this one another --listen"; got != want {
		t.Errorf("p2p port in use:\n %s\nwant\n %s", got, want)
	}

	// A node of --difficulty 12 is refused by its parameters' flags, at
	// the status exchange and by POST /nodes/register.
	b := startNode(t, nodeOptions{difficulty: 12, bootstrap: []string{a.multiaddr()}})
	fromA := `differs="the peer runs with --difficulty 12, this node with no --difficulty (it retargets from 22 bits)"`
	fromB := `differs="the peer runs with no --difficulty (it retargets from 22 bits), this node with --difficulty 12"`
	waitFor(t, "a peer of another network disconnected with the flags that differ", waitTimeout, func() error {
		if strings.Contains(a.Log(), fromA) || strings.Contains(b.Log(), fromB) {
			return nil
		}
		return fmt.Errorf("no line with %s or %s", fromA, fromB)
	})
	ctx, cancel := requestCtx()
	defer cancel()
	_, err := a.Client().Register(ctx, b.url)
	want = b.url + " is on another network: it runs with --difficulty 12, this node with no --difficulty (it retargets from 22 bits)"
	if client.StatusOf(err) != 400 || !strings.Contains(err.Error(), want) {
		t.Errorf("register a node of --difficulty 12: %v, want 400 with %q", err, want)
	}
}
