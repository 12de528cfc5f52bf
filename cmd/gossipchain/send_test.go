package main

import (
	"bytes"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gossipchain/gossipchain/chain"
	"github.com/gossipchain/gossipchain/chain/chaintest"
)

// TestSendFee: gossipchain send --fee auto pays the node's estimate for 3
// blocks, which is the minimum relay fee on a quiet node; --fee N pays N,
// and a fee below the node's --min-relay-fee is refused with the minimum
// named.
func TestSendFee(t *testing.T) {
	n := startNode(t, "--difficulty", "4", "--ledger", "signed", "--min-relay-fee", "10")
	n.cli(t, "mine", "8")
	key := filepath.Join(n.dataDir, "identity.key")
	_, to := chaintest.Key(t, "bob")
	min := chain.FeeForRate(10, 196) // 2
	out := n.cli(t, "send", "--key", key, "--to", to, "--amount", "1")
	if got := row(t, out, "fee"); got != "2" || min != 2 {
		t.Fatalf("--fee auto paid %q, want the minimum %d:\n%s", got, min, out)
	}
	out = n.cli(t, "send", "--key", key, "--to", to, "--amount", "1", "--fee", "3")
	if got := row(t, out, "fee"); got != "3" {
		t.Fatalf("--fee 3 paid %q", got)
	}
	var errOut bytes.Buffer
	if code := runClient([]string{"send", "--key", key, "--to", to, "--amount", "1", "--fee", "1", "--node", n.url}, io.Discard, &errOut); code != exitError ||
		!strings.Contains(errOut.String(), "a fee of at least 2") {
		t.Fatalf("--fee 1 under a minimum of 2: exit %d: %s", code, errOut.String())
	}
	if code := runClient([]string{"send", "--key", key, "--to", to, "--amount", "1", "--fee", "lots", "--node", n.url}, io.Discard, &errOut); code == exitOK ||
		!strings.Contains(errOut.String(), `--fee "lots"`) {
		t.Fatalf("--fee lots: exit %d: %s", code, errOut.String())
	}
}
