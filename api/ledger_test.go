package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/libp2p/go-libp2p/core/crypto"

	"github.com/gossipchain/gossipchain/api/client"
	"github.com/gossipchain/gossipchain/chain"
	"github.com/gossipchain/gossipchain/chain/miner"
	"github.com/gossipchain/gossipchain/chain/store"
)

// signedNode is a test node of a signed network whose miner is a key of
// the test.
type signedNode struct {
	*testNode
	key  crypto.PrivKey
	addr string // the miner's address
}

func newSignedNode(t *testing.T, network string) *signedNode {
	t.Helper()
	params, err := chain.NewParams(network, testDifficulty)
	if err != nil {
		t.Fatal(err)
	}
	params.Ledger = chain.LedgerSigned
	c, err := store.Open(store.Config{Params: params, Path: filepath.Join(t.TempDir(), "chain.db"), Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	key, addr := newLedgerKey(t)
	m, err := miner.New(c, miner.Config{Address: addr, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	n := &testNetwork{chain: c, id: newPeerID(t).String(), reachable: map[string]bool{}}
	s := New(Config{Chain: c, Network: n, Miner: m, Logger: quiet})
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	t.Cleanup(func() { s.Shutdown(context.Background()) })
	return &signedNode{testNode: &testNode{t: t, chain: c, miner: m, net: n, server: s, http: ts, url: ts.URL}, key: key, addr: addr}
}

func newLedgerKey(t *testing.T) (crypto.PrivKey, string) {
	t.Helper()
	k, err := chain.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	a, err := chain.AddressOf(k)
	if err != nil {
		t.Fatal(err)
	}
	return k, a
}

// sign returns the JSON of a payment from the miner's key.
func (n *signedNode) sign(to string, amount, nonce uint64, genesis chain.Hash) string {
	n.t.Helper()
	tx, err := chain.SignTransaction(n.key, to, amount, nonce, genesis)
	if err != nil {
		n.t.Fatal(err)
	}
	b, err := json.Marshal(tx)
	if err != nil {
		n.t.Fatal(err)
	}
	return string(b)
}

func TestSubmitSignedTransaction(t *testing.T) {
	n := newSignedNode(t, "apisigned")
	n.mine()
	n.mine()
	_, bob := newLedgerKey(t)
	_, carol := newLedgerKey(t)
	g := n.chain.Genesis().Hash

	var ok client.SignedTxAccepted
	body := n.sign(bob, 1, 0, g)
	n.do(http.MethodPost, "/transactions", body).wantCode(t, http.StatusCreated).json(t, &ok)
	if ok.Message != "Transaction will be added to Block 4" || ok.Nonce != 0 {
		t.Fatalf("201 %+v", ok)
	}
	if loc, err := n.chain.FindTransaction(ok.ID); err != nil || !loc.Pending {
		t.Fatalf("transaction %s: %+v %v", ok.ID, loc, err)
	}
	n.do(http.MethodPost, "/transactions", body).wantCode(t, http.StatusConflict)

	var signed map[string]any
	if err := json.Unmarshal([]byte(n.sign(bob, 1, 1, g)), &signed); err != nil {
		t.Fatal(err)
	}
	edit := func(f func(m map[string]any)) string {
		m := map[string]any{}
		for k, v := range signed {
			m[k] = v
		}
		f(m)
		b, _ := json.Marshal(m)
		return string(b)
	}
	for _, c := range []struct {
		name string
		body string
		code int
		rule string // "" for none
		want string // in the message
	}{
		{"empty", "", 400, "", "empty"},
		{"not an object", `[1]`, 400, "", "JSON object"},
		{"unknown field", edit(func(m map[string]any) { m["memo"] = 1 }), 400, "", "unknown field"},
		{"duplicate key", strings.Replace(n.sign(bob, 1, 1, g), `{`, `{"amount":1,`, 1), 400, "", "twice"},
		{"no signature", edit(func(m map[string]any) { delete(m, "signature") }), 400, "bad_transaction", "signature"},
		{"no nonce", edit(func(m map[string]any) { delete(m, "nonce") }), 400, "bad_transaction", "nonce"},
		{"fractional amount", edit(func(m map[string]any) { m["amount"] = 1.5 }), 400, "bad_transaction", "amount"},
		{"negative nonce", edit(func(m map[string]any) { m["nonce"] = -1 }), 400, "bad_transaction", "nonce"},
		{"short signature", edit(func(m map[string]any) { m["signature"] = "abcd" }), 400, "bad_signature", "signature"},
		{"wrong id", edit(func(m map[string]any) { m["id"] = strings.Repeat("0", 64) }), 400, "bad_transaction", "not the transaction's id"},
		{"tampered recipient", edit(func(m map[string]any) { m["recipient"] = carol; delete(m, "id") }), 400, "bad_signature", "signature"},
		// The balance is checked before the signature: an unfunded
		// transaction costs no verification.
		{"tampered amount beyond the balance", edit(func(m map[string]any) { m["amount"] = 2; delete(m, "id") }), 400, "insufficient_balance", "less than the amount"},
		{"recipient not an address", edit(func(m map[string]any) { m["recipient"] = "bob"; delete(m, "id") }), 400, "bad_transaction", "recipient"},
		{"other network", n.sign(bob, 1, 1, chain.Hash{1}), 400, "bad_signature", "signature"},
		{"nonce reused", n.sign(bob, 2, 0, g), 400, "bad_nonce", "nonce"},
		{"nonce gap", n.sign(bob, 1, 2, g), 400, "bad_nonce", "nonce"},
		{"overspend", n.sign(bob, 5, 1, g), 400, "insufficient_balance", ""},
		{"too large", `{"sender":"` + strings.Repeat("a", DefaultMaxBodyBytes) + `"}`, 413, "", "larger"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := n.do(http.MethodPost, "/transactions", c.body)
			var e client.ErrorBody
			r.wantCode(t, c.code).json(t, &e)
			if e.Rule != c.rule || !strings.Contains(e.Error, c.want) {
				t.Fatalf("got %+v, want rule %q and %q in the message", e, c.rule, c.want)
			}
		})
	}

	// The tutorial's endpoint says how to make a signed transaction.
	var e client.ErrorBody
	n.do(http.MethodPost, "/transactions/new", `{"sender":"a","recipient":"b","amount":1}`).wantCode(t, http.StatusBadRequest).json(t, &e)
	if e.Rule != "signature_required" || !strings.Contains(e.Error, "gossipchain send") || !strings.Contains(e.Error, "POST /transactions") {
		t.Fatalf("POST /transactions/new on a signed network: %+v", e)
	}
}

func TestAccountEndpoints(t *testing.T) {
	n := newSignedNode(t, "apiaccounts")
	for range 3 {
		n.mine()
	}
	_, bob := newLedgerKey(t)
	g := n.chain.Genesis().Hash
	for nonce := range uint64(2) {
		n.do(http.MethodPost, "/transactions", n.sign(bob, 1, nonce, g)).wantCode(t, http.StatusCreated)
	}
	var a struct {
		chain.Account
		PendingTransactions []chain.Transaction `json:"pending_transactions"`
		Height              uint64              `json:"height"`
	}
	n.do(http.MethodGet, "/accounts/"+n.addr, "").wantCode(t, http.StatusOK).json(t, &a)
	want := chain.Account{Address: n.addr, Balance: 3, NextNonce: 0, Pending: 2, PendingSpend: 2, PendingNonce: 2}
	if a.Account != want || a.Height != 4 || len(a.PendingTransactions) != 2 ||
		a.PendingTransactions[0].Nonce != 0 || a.PendingTransactions[1].Nonce != 1 || a.PendingTransactions[1].Recipient != bob {
		t.Fatalf("got %+v, want %+v at height 4 with its two payments", a, want)
	}
	n.mine()
	n.do(http.MethodGet, "/accounts/"+bob, "").wantCode(t, http.StatusOK).json(t, &a)
	if a.Balance != 2 || a.NextNonce != 0 || a.Pending != 0 {
		t.Fatalf("bob: %+v", a)
	}
	_, carol := newLedgerKey(t)
	a.PendingTransactions = nil
	n.do(http.MethodGet, "/accounts/"+carol, "").wantCode(t, http.StatusOK).json(t, &a)
	if a.Account != (chain.Account{Address: carol}) || a.PendingTransactions == nil || len(a.PendingTransactions) != 0 {
		t.Fatalf("an unused address: %+v", a)
	}
	n.do(http.MethodGet, "/accounts/bob", "").wantCode(t, http.StatusBadRequest)

	// The miner's history in pages of two, newest first: its two payments
	// in block 5 and its four rewards.
	type page struct {
		Transactions []struct {
			Direction   string            `json:"direction"`
			BlockIndex  uint64            `json:"block_index"`
			Transaction chain.Transaction `json:"transaction"`
		} `json:"transactions"`
		Next string `json:"next_cursor"`
	}
	var got []string
	cursor := ""
	for range 10 {
		var p page
		path := "/accounts/" + n.addr + "/transactions?limit=2"
		if cursor != "" {
			path += "&cursor=" + cursor
		}
		n.do(http.MethodGet, path, "").wantCode(t, http.StatusOK).json(t, &p)
		if len(p.Transactions) > 2 {
			t.Fatalf("%s: %d entries", path, len(p.Transactions))
		}
		for _, e := range p.Transactions {
			got = append(got, fmt.Sprintf("%d:%s", e.BlockIndex, e.Direction))
		}
		if cursor = p.Next; cursor == "" {
			break
		}
	}
	if strings.Join(got, " ") != "5:reward 5:out 5:out 4:reward 3:reward 2:reward" {
		t.Fatalf("history %v", got)
	}
	for _, q := range []string{"?limit=0", "?limit=1001", "?cursor=nope", "?cursor=" + strings.Repeat("9", 100)} {
		n.do(http.MethodGet, "/accounts/"+n.addr+"/transactions"+q, "").wantCode(t, http.StatusBadRequest)
	}
}

// TestLedgerEndpointsOnOpenNetwork: the tutorial's network has no
// accounts, and its transactions are not signed.
func TestLedgerEndpointsOnOpenNetwork(t *testing.T) {
	n := newTestNode(t)
	_, addr := newLedgerKey(t)
	for _, path := range []string{"/accounts/" + addr, "/accounts/" + addr + "/transactions", "/accounts/alice"} {
		msg := n.do(http.MethodGet, path, "").wantCode(t, http.StatusNotFound).errorMessage(t)
		if !strings.Contains(msg, "open") || !strings.Contains(msg, "/addresses/") {
			t.Fatalf("GET %s: %q", path, msg)
		}
	}
	msg := n.do(http.MethodPost, "/transactions", `{"sender":"a"}`).wantCode(t, http.StatusBadRequest).errorMessage(t)
	if !strings.Contains(msg, "/transactions/new") {
		t.Fatalf("POST /transactions on an open network: %q", msg)
	}
	var st client.Status
	n.do(http.MethodGet, "/status", "").wantCode(t, http.StatusOK).json(t, &st)
	if st.Params.Ledger != chain.LedgerOpen {
		t.Fatalf("params.ledger %q", st.Params.Ledger)
	}
}

// TestSubmitSignedAccountFull: a sender with as many pending transactions
// as one account may have gets 503 until a block takes some.
func TestSubmitSignedAccountFull(t *testing.T) {
	n := newSignedNode(t, "apiaccountfull")
	for range store.DefaultPoolMaxPerAccount + 1 {
		n.mine()
	}
	_, bob := newLedgerKey(t)
	g := n.chain.Genesis().Hash
	for nonce := range uint64(store.DefaultPoolMaxPerAccount) {
		n.do(http.MethodPost, "/transactions", n.sign(bob, 1, nonce, g)).wantCode(t, http.StatusCreated)
	}
	next := n.sign(bob, 1, store.DefaultPoolMaxPerAccount, g)
	msg := n.do(http.MethodPost, "/transactions", next).wantCode(t, http.StatusServiceUnavailable).errorMessage(t)
	if !strings.Contains(msg, "next block") {
		t.Fatalf("503 %q", msg)
	}
	n.mine()
	n.do(http.MethodPost, "/transactions", next).wantCode(t, http.StatusCreated)
}

// TestAddressPageOnSignedNetwork: on a signed network GET /addresses/{address}
// gives the account's balance and next nonce beside the history, and a
// string that is no address still gets its history searched.
func TestAddressPageOnSignedNetwork(t *testing.T) {
	n := newSignedNode(t, "apiaddresspage")
	for range 3 {
		n.mine()
	}
	_, bob := newLedgerKey(t)
	n.do(http.MethodPost, "/transactions", n.sign(bob, 2, 0, n.chain.Genesis().Hash)).wantCode(t, http.StatusCreated)
	n.mine()
	var a struct {
		Received  uint64  `json:"received"`
		Sent      uint64  `json:"sent"`
		Balance   *uint64 `json:"balance"`
		NextNonce *uint64 `json:"next_nonce"`
	}
	n.do(http.MethodGet, "/addresses/"+n.addr, "").wantCode(t, http.StatusOK).json(t, &a)
	if a.Balance == nil || *a.Balance != 2 || a.NextNonce == nil || *a.NextNonce != 1 || a.Received != 4 || a.Sent != 2 {
		t.Fatalf("the miner's page: %+v (balance %v, next nonce %v)", a, a.Balance, a.NextNonce)
	}
	a.Balance, a.NextNonce = nil, nil
	n.do(http.MethodGet, "/addresses/bob", "").wantCode(t, http.StatusOK).json(t, &a)
	if a.Balance != nil || a.NextNonce != nil {
		t.Fatalf("a string that is no address has an account: %+v", a)
	}
}
