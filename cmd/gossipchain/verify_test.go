package main

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gossipchain/gossipchain/api/client"
	"github.com/gossipchain/gossipchain/chain"
	"github.com/gossipchain/gossipchain/chain/chaintest"
)

// signedFlags are the network flags of the test nodes of TestVerify.
var signedFlags = []string{"--difficulty", "4", "--ledger", "signed"}

// runVerify runs gossipchain verify with the test network's flags and
// returns its exit code, output and error output.
func runVerify(args ...string) (int, string, string) {
	var out, errOut bytes.Buffer
	code := runClient(append(append([]string{"verify"}, signedFlags...), args...), &out, &errOut)
	return code, out.String(), errOut.String()
}

// saveAnswer saves the body of GET path, as curl -o would.
func (n *testNode) saveAnswer(t *testing.T, path, file string) []byte {
	t.Helper()
	status, data, err := n.api.Raw(t.Context(), http.MethodGet, path, nil)
	if err != nil || status != http.StatusOK {
		t.Fatalf("GET %s: %d %v %s", path, status, err, data)
	}
	if err := os.WriteFile(file, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return data
}

// changeHeader rewrites the header at height h of a header file with
// change, and writes the result to a new file.
func changeHeader(t *testing.T, headers []byte, h int, file string, change func(b *chain.Block)) string {
	t.Helper()
	out := bytes.Clone(headers)
	at := out[(h-1)*chain.HeaderSize : h*chain.HeaderSize]
	b, err := chain.DecodeHeader(at)
	if err != nil {
		t.Fatal(err)
	}
	change(&b)
	enc := b.Header()
	copy(at, enc[:])
	if err := os.WriteFile(file, out, 0o644); err != nil {
		t.Fatal(err)
	}
	return file
}

// TestVerify: a saved proof of either kind verifies offline against the
// header chain of a file or of the node, given as JSON or hex; a forged
// proof, a forged header chain (bad proof of work, bad bits), a chain of
// another network and header chains without the proof's block are
// refused with a message that names what failed, and exit code 1.
func TestVerify(t *testing.T) {
	n := startNode(t, signedFlags...)
	n.cli(t, "mine", "2")
	dir := t.TempDir()
	st, err := n.api.Status(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	b2, err := n.api.Block(t.Context(), "2")
	if err != nil {
		t.Fatal(err)
	}
	reward := b2.Transactions[len(b2.Transactions)-1].ID
	txFile := filepath.Join(dir, "tx.json")
	txJSON := n.saveAnswer(t, "/proof/tx/"+reward.String(), txFile)
	acctFile := filepath.Join(dir, "account.json")
	n.saveAnswer(t, "/proof/account/"+st.MinerAddress, acctFile)
	headersFile := filepath.Join(dir, "headers.bin")
	if out := n.cli(t, "headers", "--out", headersFile); !strings.Contains(out, "saved 3 headers") {
		t.Fatalf("headers: %s", out)
	}
	headers, err := os.ReadFile(headersFile)
	if err != nil {
		t.Fatal(err)
	}

	// Verified: against the file and against the node, as JSON and as hex.
	var tp client.TxProof
	if err := json.Unmarshal(txJSON, &tp); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"--headers", headersFile, txFile}, {"--node", n.url, txFile}, {"--headers", headersFile, tp.Proof}} {
		code, out, errOut := runVerify(args...)
		if code != exitOK {
			t.Fatalf("verify %q: exit %d: %s", args, code, errOut)
		}
		for name, want := range map[string]string{"transaction": reward.String(), "height": "2", "confirmations": "2",
			"block": b2.Hash.String(), "position": "0 of 1 in the block"} {
			if got := row(t, out, name); got != want {
				t.Errorf("verify %q: %s %q, want %q", args, name, got, want)
			}
		}
	}
	// The JSON on stdin, as curl ... | gossipchain verify - gives it.
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	w.Write(txJSON)
	w.Close()
	stdin := os.Stdin
	os.Stdin = r
	code, out, errOut := runVerify("--headers", headersFile, "-")
	os.Stdin = stdin
	r.Close()
	if code != exitOK || row(t, out, "transaction") != reward.String() {
		t.Fatalf("verify - (stdin): exit %d: %s%s", code, out, errOut)
	}
	code, out, errOut = runVerify("--headers", headersFile, acctFile)
	if code != exitOK {
		t.Fatalf("verify the account proof: exit %d: %s", code, errOut)
	}
	for name, want := range map[string]string{"address": st.MinerAddress, "balance": "2", "next nonce": "0", "height": "3", "confirmations": "1"} {
		if got := row(t, out, name); got != want {
			t.Errorf("account: %s %q, want %q", name, got, want)
		}
	}
	code, out, _ = runVerify("--json", "--headers", headersFile, acctFile)
	var res verified
	if err := json.Unmarshal([]byte(out), &res); code != exitOK || err != nil || *res.Balance != 2 || res.Height != 3 {
		t.Errorf("--json: exit %d, %v: %s", code, err, out)
	}

	// Refused, each with what failed.
	// The reward's nonce changed: the proof decodes, its id is no leaf of
	// the block's tree.
	bin, err := tp.Binary()
	if err != nil {
		t.Fatal(err)
	}
	bin[len(bin)-2] ^= 1 // the last byte of the transaction, before the path length 0
	forged := bytes.Replace(txJSON, []byte(tp.Proof), []byte(hex.EncodeToString(bin)), 1)
	forgedFile := filepath.Join(dir, "forged.json")
	if err := os.WriteFile(forgedFile, forged, 0o644); err != nil {
		t.Fatal(err)
	}
	badWork := changeHeader(t, headers, 2, filepath.Join(dir, "badwork.bin"), func(b *chain.Block) { chaintest.Unmine(t, b, b.Bits) })
	badBits := changeHeader(t, headers, 3, filepath.Join(dir, "badbits.bin"), func(b *chain.Block) {
		b.Bits = chain.MustCompact(chain.ZeroBitsTarget(5)) // harder than the network's 4 bits, and mined
		chaintest.Mine(t, b, b.Bits)
	})
	short := filepath.Join(dir, "short.bin")
	if err := os.WriteFile(short, headers[:2*chain.HeaderSize], 0o644); err != nil {
		t.Fatal(err)
	}
	other := startNode(t, signedFlags...)
	other.cli(t, "mine", "3")
	otherFile := filepath.Join(dir, "other.bin")
	other.cli(t, "headers", "--out", otherFile)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--headers", headersFile, forgedFile}, "the transaction proof does not verify"},
		{[]string{"--headers", badWork, txFile}, "header 2 of the header chain (block "},
		{[]string{"--headers", badWork, txFile}, "is above the target"},
		{[]string{"--headers", badBits, acctFile}, "the retargeting rule requires"},
		{[]string{"--headers", short, acctFile}, "is not on the header chain, whose tip is at height 2"},
		{[]string{"--headers", otherFile, txFile}, "is not on the header chain, which has "},
		{[]string{"--node", other.url, acctFile}, "is not on the header chain, which has "},
		{[]string{"--ledger", "open", "--headers", headersFile, txFile}, "does not start with the genesis"},
		{[]string{"--headers", headersFile, "--node", n.url, txFile}, "not both"},
		{[]string{"--headers", headersFile, "00ff"}, "the proof does not decode"},
		{[]string{"--headers", headersFile, filepath.Join(dir, "missing.json")}, "no such file"},
	} {
		code, _, errOut := runVerify(c.args...)
		t.Logf("%q: %s", c.args[len(c.args)-1], strings.TrimSpace(errOut))
		if code == exitOK || !strings.Contains(errOut, c.want) {
			t.Errorf("verify %q: exit %d: %s, want an error containing %q", c.args, code, errOut, c.want)
		}
	}
}
