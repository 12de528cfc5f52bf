package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/gossipchain/gossipchain/api/client"
	"github.com/gossipchain/gossipchain/chain"
	"github.com/gossipchain/gossipchain/chain/store"
)

// The tutorial's request bodies, byte for byte.
const (
	tutorialTransaction = `{"sender": "d4ee26eee15148ee92c6cd394edd974e","recipient": "someone-other-address","amount": 5}`
	tutorialRegister    = `{"nodes": ["http://127.0.0.1:5001"]}`
)

// TestTutorialWalkthrough follows the tutorial: mine, post its transaction,
// mine again, read the chain.
func TestTutorialWalkthrough(t *testing.T) {
	n := newTestNode(t)

	first := n.mine()
	if first.Message != "New Block Forged" || first.Index != 2 || first.PreviousHash != n.chain.Genesis().Hash {
		t.Fatalf("first /mine: %+v", first)
	}
	if len(first.Transactions) != 1 || first.Transactions[0].Sender != "0" || first.Transactions[0].Amount != 1 {
		t.Fatalf("first block should hold only the reward: %+v", first.Transactions)
	}

	var tx client.TxAccepted
	n.do(http.MethodPost, "/transactions/new", tutorialTransaction).wantCode(t, http.StatusCreated).json(t, &tx)
	if tx.Message != "Transaction will be added to Block 3" {
		t.Fatalf("message %q, want %q", tx.Message, "Transaction will be added to Block 3")
	}
	if tx.ID.IsZero() {
		t.Fatal("no transaction id")
	}

	second := n.mine()
	if second.Index != 3 || second.PreviousHash != first.Hash || len(second.Transactions) != 2 {
		t.Fatalf("second /mine: %+v", second)
	}
	got := second.Transactions[0]
	if got.ID != tx.ID || got.Sender != "d4ee26eee15148ee92c6cd394edd974e" || got.Recipient != "someone-other-address" || got.Amount != 5 {
		t.Fatalf("mined transaction %+v, want the posted one %s", got, tx.ID)
	}

	blocks, length := n.servedChain("")
	if length != 3 || len(blocks) != 3 {
		t.Fatalf("length %d with %d blocks, want 3", length, len(blocks))
	}
	checkLinked(t, n.chain, blocks)
	if blocks[2].Hash != second.Hash {
		t.Fatalf("head %s, want %s", blocks[2].Hash, second.Hash)
	}
	if got := n.net.publishedCount(); got != 2 {
		t.Fatalf("%d blocks published, want the 2 mined", got)
	}
}

// TestMineResponseFields checks the exact fields of GET and POST /mine.
func TestMineResponseFields(t *testing.T) {
	n := newTestNode(t)
	for _, method := range []string{http.MethodGet, http.MethodPost} {
		var fields map[string]json.RawMessage
		n.do(method, "/mine", "").wantCode(t, http.StatusOK).json(t, &fields)
		for _, k := range []string{"message", "index", "transactions", "proof", "previous_hash", "hash"} {
			if _, ok := fields[k]; !ok {
				t.Errorf("%s /mine: no %q in %v", method, k, fields)
			}
		}
	}
	if h := n.chain.Head().Height; h != 3 {
		t.Fatalf("height %d after two /mine, want 3", h)
	}
	n.do(http.MethodHead, "/mine", "").wantCode(t, http.StatusMethodNotAllowed)
	if h := n.chain.Head().Height; h != 3 {
		t.Fatal("HEAD /mine mined a block")
	}
}

func TestNewTransactionErrors(t *testing.T) {
	n := newTestNode(t)
	tests := []struct {
		name string
		body string
		code int
		msg  string // substring of the error
	}{
		{"missing amount", `{"sender": "a", "recipient": "b"}`, 400, "Missing values"},
		{"missing sender", `{"recipient": "b", "amount": 5}`, 400, "Missing values"},
		{"empty object", `{}`, 400, "Missing values"},
		{"null field", `{"sender": null, "recipient": "b", "amount": 5}`, 400, "Missing values"},
		{"null amount", `{"sender": "a", "recipient": "b", "amount": null}`, 400, "Missing values"},
		{"empty body", ``, 400, "empty"},
		{"malformed JSON", `{"sender": "a",`, 400, "invalid JSON"},
		{"not an object", `["a", "b", 5]`, 400, "JSON object"},
		{"sender not a string", `{"sender": 7, "recipient": "b", "amount": 5}`, 400, "sender"},
		{"amount as string", `{"sender": "a", "recipient": "b", "amount": "5"}`, 400, "positive integer"},
		{"negative amount", `{"sender": "a", "recipient": "b", "amount": -5}`, 400, "positive integer"},
		{"fractional amount", `{"sender": "a", "recipient": "b", "amount": 5.5}`, 400, "positive integer"},
		{"exponent amount", `{"sender": "a", "recipient": "b", "amount": 1e3}`, 400, "positive integer"},
		{"zero amount", `{"sender": "a", "recipient": "b", "amount": 0}`, 400, "positive integer"},
		{"amount above 2^53-1", `{"sender": "a", "recipient": "b", "amount": 9007199254740992}`, 400, "exceeds"},
		{"amount beyond uint64", `{"sender": "a", "recipient": "b", "amount": 123456789012345678901234567890}`, 400, "exceeds"},
		{"unknown field", `{"sender": "a", "recipient": "b", "amount": 5, "fee": 1}`, 400, "fee"},
		{"trailing data", `{"sender": "a", "recipient": "b", "amount": 5} {}`, 400, "trailing"},
		{"reward sender", `{"sender": "0", "recipient": "b", "amount": 5}`, 400, "reserved"},
		{"empty sender", `{"sender": "", "recipient": "b", "amount": 5}`, 400, "sender is empty"},
		{"long recipient", `{"sender": "a", "recipient": "` + strings.Repeat("r", chain.MaxAddressLen+1) + `", "amount": 5}`, 400, "longer"},
		{"control character", `{"sender": "a\u0007", "recipient": "b", "amount": 5}`, 400, "non-printable"},
		{"invalid UTF-8", "{\"sender\": \"a\xff\", \"recipient\": \"b\", \"amount\": 5}", 400, "invalid UTF-8"},
		{"lone surrogate", `{"sender": "a\ud800", "recipient": "b", "amount": 5}`, 400, "surrogate"},
		{"body over the limit", `{"sender": "` + strings.Repeat("a", DefaultMaxBodyBytes) + `", "recipient": "b", "amount": 5}`, 413, "larger than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := n.do(http.MethodPost, "/transactions/new", tt.body)
			r.wantCode(t, tt.code)
			if msg := r.errorMessage(t); !strings.Contains(msg, tt.msg) {
				t.Fatalf("error %q does not mention %q", msg, tt.msg)
			}
		})
	}
	if c := n.chain.PendingCount(); c != 0 {
		t.Fatalf("%d transactions pending after invalid requests", c)
	}
	// The tutorial's text, exactly.
	r := n.do(http.MethodPost, "/transactions/new", `{"sender": "a"}`)
	if got := strings.TrimSpace(string(r.body)); got != `{"error":"Missing values"}` {
		t.Fatalf("body %s", got)
	}
}

func TestNewTransactionPoolErrors(t *testing.T) {
	n := newTestNode(t)
	tests := []struct {
		err  error
		code int
	}{
		{chain.ErrKnownTransaction, http.StatusConflict},
		{chain.ErrPoolFull, http.StatusServiceUnavailable},
		{chain.ErrFeeTooLow, http.StatusBadRequest},
		{&chain.RuleError{Code: chain.ErrDuplicateTx, Description: "duplicate"}, http.StatusBadRequest},
		{fmt.Errorf("disk on fire"), http.StatusInternalServerError},
	}
	for _, tt := range tests {
		n.net.mu.Lock()
		n.net.submitErr = tt.err
		n.net.mu.Unlock()
		r := n.do(http.MethodPost, "/transactions/new", tutorialTransaction)
		r.wantCode(t, tt.code)
		r.errorMessage(t)
	}
}

func TestChainStreamed(t *testing.T) {
	n := newTestNode(t)
	n.server.batchBlocks = 2 // several batches
	for range 6 {
		n.do(http.MethodPost, "/transactions/new", tutorialTransaction).wantCode(t, http.StatusCreated)
		n.mine()
	}
	blocks, length := n.servedChain("")
	if length != 7 || len(blocks) != 7 {
		t.Fatalf("length %d with %d blocks, want 7", length, len(blocks))
	}
	checkLinked(t, n.chain, blocks)
	for _, b := range blocks[1:] {
		if err := b.Transactions[0].Check(); err != nil {
			t.Fatalf("block %d: transaction from served JSON: %v", b.Index, err)
		}
		if chain.TxRoot(b.Transactions) != b.TxRoot {
			t.Fatalf("block %d: tx root does not match the served transactions", b.Index)
		}
	}

	// Batches cut by size as well as by count.
	n.server.batchBlocks, n.server.batchBytes = 100, 1
	again, length := n.servedChain("")
	if length != 7 || len(again) != 7 || again[6].Hash != blocks[6].Hash {
		t.Fatalf("byte-bounded batches: length %d, %d blocks", length, len(again))
	}
}

func TestChainPaging(t *testing.T) {
	n := newTestNode(t)
	for range 4 {
		n.mine()
	}
	all, _ := n.servedChain("")
	tests := []struct {
		query  string
		first  uint64 // index of the first block served; 0 for none
		count  int
		length int
	}{
		{"?from=2&limit=2", 2, 2, 5},
		{"?from=1", 1, 5, 5},
		{"?limit=3", 1, 3, 5},
		{"?from=5&limit=10", 5, 1, 5},
		{"?from=6", 0, 0, 5},
		{"?from=18446744073709551615", 0, 0, 5},
	}
	for _, tt := range tests {
		blocks, length := n.servedChain(tt.query)
		if len(blocks) != tt.count || length != tt.length {
			t.Errorf("%s: %d blocks, length %d; want %d, %d", tt.query, len(blocks), length, tt.count, tt.length)
			continue
		}
		for i, b := range blocks {
			if b.Index != tt.first+uint64(i) || b.Hash != all[b.Index-1].Hash {
				t.Errorf("%s: block %d is %d %s", tt.query, i, b.Index, b.Hash)
			}
		}
	}
	for _, q := range []string{"?from=0", "?from=-1", "?from=abc", "?from=", "?limit=0", "?limit=10001", "?limit=x", "?from=1&limit=-2"} {
		r := n.do(http.MethodGet, "/chain"+q, "")
		r.wantCode(t, http.StatusBadRequest)
		r.errorMessage(t)
	}
}

// reorgChain serves, from its second MainChainJSON call on, blocks that do
// not link to those served before, as if the main chain had been
// reorganised while it was being streamed.
type reorgChain struct {
	*store.Chain
	calls int
}

func (c *reorgChain) MainChainJSON(from uint64, limit int, fn func(hash, prev chain.Hash, js []byte) error) error {
	c.calls++
	if c.calls == 1 {
		return c.Chain.MainChainJSON(from, limit, fn)
	}
	return c.Chain.MainChainJSON(from, limit, func(hash, prev chain.Hash, js []byte) error {
		prev[0] ^= 0xff
		return fn(hash, prev, js)
	})
}

func TestChainStreamEndsAtReorg(t *testing.T) {
	var rc *reorgChain
	n := newTestNode(t, func(cfg *Config) {
		rc = &reorgChain{Chain: cfg.Chain.(*store.Chain)}
		cfg.Chain = rc
	})
	n.server.batchBlocks = 2
	for range 4 {
		n.mine()
	}
	blocks, length := n.servedChain("")
	if len(blocks) != 2 || length != 2 {
		t.Fatalf("%d blocks, length %d; want the 2 of the first batch", len(blocks), length)
	}
	checkLinked(t, n.chain, blocks)
}

func TestRegisterNodes(t *testing.T) {
	a := newTestNode(t)
	b := newTestNode(t)
	bID := b.net.id
	bLoop := "/ip4/127.0.0.1/tcp/4001/p2p/" + bID
	bLAN := "/ip4/192.0.2.7/tcp/4001/p2p/" + bID
	bQUIC := "/ip4/127.0.0.1/udp/4001/quic-v1/p2p/" + bID
	b.net.addrs = []string{bLAN, bQUIC, bLoop}
	a.net.reachable[bLoop] = true

	body := strings.Replace(tutorialRegister, "http://127.0.0.1:5001", b.url, 1)
	var out client.Registered
	a.do(http.MethodPost, "/nodes/register", body).wantCode(t, http.StatusCreated).json(t, &out)
	if out.Message != "New nodes have been added" {
		t.Fatalf("message %q", out.Message)
	}
	if want := []string{"/ip4/127.0.0.1/tcp/4001/p2p/" + bID}; fmt.Sprint(out.TotalNodes) != fmt.Sprint(want) {
		t.Fatalf("total_nodes %v, want %v", out.TotalNodes, want)
	}
	if got := a.net.dialled; len(got) != 1 || got[0] != bLoop {
		t.Fatalf("dialled %v, want the loopback TCP address first and only", got)
	}

	// A bare host:port, as the tutorial's urlparse accepts it; the LAN
	// address is tried after the loopback ones fail.
	a.net.reachable = map[string]bool{bLAN: true}
	a.net.dialled = nil
	a.do(http.MethodPost, "/nodes/register", `{"nodes": ["`+strings.TrimPrefix(b.url, "http://")+`"]}`).wantCode(t, http.StatusCreated)
	if got := a.net.dialled; fmt.Sprint(got) != fmt.Sprint([]string{bLoop, bQUIC, bLAN}) {
		t.Fatalf("dial order %v", got)
	}

	// A multiaddr is dialled as it is.
	other := "/ip4/127.0.0.1/tcp/4999/p2p/" + newPeerID(t).String()
	a.net.reachable[other] = true
	a.do(http.MethodPost, "/nodes/register", `{"nodes": ["`+other+`"]}`).wantCode(t, http.StatusCreated)
}

func TestRegisterNodesErrors(t *testing.T) {
	a := newTestNode(t)
	foreign := newTestNodeOn(t, "othernet")
	unreachable := newTestNode(t) // Connect refuses every address
	closed := newTestNode(t)
	closed.http.Close()

	tests := []struct {
		name string
		body string
		msg  string
	}{
		{"no nodes", `{}`, invalidNodeList},
		{"null", `{"nodes": null}`, invalidNodeList},
		{"empty list", `{"nodes": []}`, invalidNodeList},
		{"not a list", `{"nodes": "http://127.0.0.1:5001"}`, invalidNodeList},
		{"not strings", `{"nodes": [5001]}`, invalidNodeList},
		{"too many", `{"nodes": [` + strings.Repeat(`"127.0.0.1:1",`, MaxRegisterNodes) + `"127.0.0.1:1"]}`, "at most"},
		{"malformed JSON", `{"nodes": [`, "invalid JSON"},
		{"unknown field", `{"nodes": ["127.0.0.1:1"], "x": 1}`, "invalid JSON"},
		{"empty entry", `{"nodes": [""]}`, "empty entry"},
		{"bad multiaddr", `{"nodes": ["/ip4/999.1.1.1/tcp/1"]}`, "invalid multiaddr"},
		{"multiaddr without peer id", `{"nodes": ["/ip4/127.0.0.1/tcp/4001"]}`, "/p2p/"},
		{"bad scheme", `{"nodes": ["ftp://127.0.0.1:5001"]}`, "scheme"},
		{"credentials", `{"nodes": ["http://u:p@127.0.0.1:5001"]}`, "credentials"},
		{"no host", `{"nodes": ["http://"]}`, "no host"},
		{"not listening", `{"nodes": ["` + closed.url + `"]}`, closed.url},
		{"other network", `{"nodes": ["` + foreign.url + `"]}`, "othernet"},
		{"itself", `{"nodes": ["` + a.url + `"]}`, "is this node"},
		{"not dialable", `{"nodes": ["` + unreachable.url + `"]}`, "could be dialled"},
		{"not a node", `{"nodes": ["` + a.url + `/chain"]}`, "is this node"}, // only the host counts
		{"unreachable multiaddr", `{"nodes": ["/ip4/127.0.0.1/tcp/1/p2p/` + newPeerID(t).String() + `"]}`, "connection refused"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := a.do(http.MethodPost, "/nodes/register", tt.body)
			r.wantCode(t, http.StatusBadRequest)
			if msg := r.errorMessage(t); !strings.Contains(msg, tt.msg) {
				t.Fatalf("error %q does not mention %q", msg, tt.msg)
			}
		})
	}
	// The tutorial's text, exactly.
	r := a.do(http.MethodPost, "/nodes/register", `{"nodes": []}`)
	if got := strings.TrimSpace(string(r.body)); got != `{"error":"Error: Please supply a valid list of nodes"}` {
		t.Fatalf("body %s", got)
	}
}

// TestRegisterStatusTooLarge checks that another node's status is read
// within a bound.
func TestRegisterStatusTooLarge(t *testing.T) {
	a := newTestNode(t)
	b := newTestNode(t)
	b.net.addrs = make([]string, 2000)
	for i := range b.net.addrs {
		b.net.addrs[i] = fmt.Sprintf("/ip4/127.0.0.1/tcp/%d/p2p/%s", i+1, b.net.id)
	}
	r := a.do(http.MethodPost, "/nodes/register", `{"nodes": ["`+b.url+`"]}`)
	r.wantCode(t, http.StatusBadRequest)
	if msg := r.errorMessage(t); !strings.Contains(msg, "larger than") {
		t.Fatalf("error %q", msg)
	}
}

func TestResolve(t *testing.T) {
	n := newTestNode(t)
	n.mine()

	var auth struct {
		Message string            `json:"message"`
		Chain   []json.RawMessage `json:"chain"`
	}
	n.do(http.MethodGet, "/nodes/resolve", "").wantCode(t, http.StatusOK).json(t, &auth)
	if auth.Message != "Our chain is authoritative" || len(auth.Chain) != 2 {
		t.Fatalf("%q with %d blocks", auth.Message, len(auth.Chain))
	}

	n.net.replaced = true
	var repl struct {
		Message  string            `json:"message"`
		NewChain []json.RawMessage `json:"new_chain"`
	}
	n.do(http.MethodGet, "/nodes/resolve", "").wantCode(t, http.StatusOK).json(t, &repl)
	if repl.Message != "Our chain was replaced" || len(repl.NewChain) != 2 {
		t.Fatalf("%q with %d blocks", repl.Message, len(repl.NewChain))
	}
	for i, raw := range repl.NewChain {
		b, err := chain.DecodeBlockJSON(raw, 0)
		if err != nil || b.ComputeHash() != b.Hash || b.Index != uint64(i+1) {
			t.Fatalf("block %d: %v", i, err)
		}
	}

	// Blocks adopted from elsewhere before the resolution (as after
	// /nodes/register) count as a replacement, once.
	n.net.replaced = false
	for _, b := range mineElsewhere(t, 3) {
		if _, err := n.chain.AddBlock(b); err != nil {
			t.Fatal(err)
		}
	}
	for i, want := range []string{"Our chain was replaced", "Our chain is authoritative"} {
		var got map[string]any
		n.do(http.MethodGet, "/nodes/resolve", "").wantCode(t, http.StatusOK).json(t, &got)
		if got["message"] != want {
			t.Fatalf("resolve %d after adopting blocks: %q, want %q", i, got["message"], want)
		}
	}

	n.net.resolve = fmt.Errorf("every peer failed")
	r := n.do(http.MethodGet, "/nodes/resolve", "")
	r.wantCode(t, http.StatusBadGateway)
	if msg := r.errorMessage(t); !strings.Contains(msg, "every peer failed") {
		t.Fatalf("error %q", msg)
	}
}
