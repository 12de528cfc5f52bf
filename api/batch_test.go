package api

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/gossipchain/gossipchain/api/client"
	"github.com/gossipchain/gossipchain/chain"
)

// batchBody is the body of POST /transactions/batch holding items.
func batchBody(items ...string) string {
	return `{"transactions":[` + strings.Join(items, ",") + `]}`
}

// TestBatchOpen: a batch of the tutorial's transactions, valid and invalid
// mixed, gets one result per item, in order, with the answer of POST
// /transactions/new; every transaction answered 201 is in the store after
// it is reopened.
func TestBatchOpen(t *testing.T) {
	n := newTestNode(t)
	n.mine()
	items := []struct {
		body string
		code int
		rule string // "" for none
		want string // in the message or error
	}{
		{`{"sender":"a","recipient":"b","amount":1}`, 201, "", "Block 3"},
		{`{"sender":"a","recipient":"b"}`, 400, "", missingValues},
		{`{"sender":"a","recipient":"b","amount":1.5}`, 400, "bad_transaction", "amount"},
		{`{"sender":"a","recipient":"b","amount":2}`, 201, "", "Block 3"},
		{`{"sender":"a","recipient":"b","amount":-1}`, 400, "bad_transaction", "amount"},
		{`{"sender":"0","recipient":"b","amount":1}`, 400, "bad_transaction", "reserved"},
		{`{"sender":"a","recipient":"b","amount":3,"fee":1}`, 400, "", "unknown field"},
		{`[1]`, 400, "", "JSON object"},
		{` {"sender":"c","recipient":"b","amount":3} `, 201, "", "Block 3"},
	}
	var bodies []string
	for _, it := range items {
		bodies = append(bodies, it.body)
	}
	var got client.Batch
	n.do(http.MethodPost, "/transactions/batch", batchBody(bodies...)).wantCode(t, http.StatusOK).json(t, &got)
	if len(got.Results) != len(items) || got.Accepted != 3 {
		t.Fatalf("%d results, %d accepted; want %d, 3: %+v", len(got.Results), got.Accepted, len(items), got)
	}
	var accepted []chain.Hash
	for i, it := range items {
		r := got.Results[i]
		text := r.Message + r.Error
		if r.Status != it.code || r.Rule != it.rule || !strings.Contains(text, it.want) {
			t.Errorf("item %d %s: got %+v, want %d %q with %q", i, it.body, r, it.code, it.rule, it.want)
		}
		if r.Status == http.StatusCreated {
			if r.ID.IsZero() || r.Nonce != nil {
				t.Errorf("item %d: 201 with id %s, nonce %v", i, r.ID, r.Nonce)
			}
			accepted = append(accepted, r.ID)
		}
	}

	// The client sends the same form (the node gives the transaction its
	// id, as POST /transactions/new does).
	tx, err := chain.NewTransaction("client", "b", 7)
	if err != nil {
		t.Fatal(err)
	}
	cb, err := client.New(n.url, nil).SubmitBatch(context.Background(), []chain.Transaction{tx})
	if err != nil || cb.Accepted != 1 || cb.Results[0].Status != http.StatusCreated {
		t.Fatalf("client: %+v, %v", cb, err)
	}
	if loc, err := n.chain.FindTransaction(cb.Results[0].ID); err != nil || loc.Tx.Sender != "client" || loc.Tx.Amount != 7 {
		t.Fatalf("client's transaction: %+v, %v", loc, err)
	}
	accepted = append(accepted, cb.Results[0].ID)

	n.chain.Close()
	c := openChainAt(t, "apitest", n.path)
	for _, id := range accepted {
		if loc, err := c.FindTransaction(id); err != nil || !loc.Pending {
			t.Errorf("transaction %s answered 201 after reopening: %+v, %v", id, loc, err)
		}
	}
	if c.PendingCount() != len(accepted) {
		t.Errorf("%d pending after reopening, want %d", c.PendingCount(), len(accepted))
	}
}

// TestBatchBody: a body that is not a batch gets a clear error and no
// transaction is added.
func TestBatchBody(t *testing.T) {
	n := newTestNode(t)
	one := `{"sender":"a","recipient":"b","amount":1}`
	many := make([]string, client.MaxBatch+1)
	for i := range many {
		many[i] = fmt.Sprintf(`{"sender":"a","recipient":"b","amount":%d}`, i+1)
	}
	for _, c := range []struct {
		name string
		body string
		code int
		want string
	}{
		{"empty", "", 400, "empty"},
		{"not an object", `[` + one + `]`, 400, "JSON object"},
		{"malformed", `{"transactions":[` + one, 400, "invalid JSON"},
		{"no list", `{}`, 400, "list of transactions"},
		{"not a list", `{"transactions":{}}`, 400, "invalid JSON"},
		{"empty list", batchBody(), 400, "empty"},
		{"unknown field", `{"transactions":[` + one + `],"more":1}`, 400, "unknown field"},
		{"duplicate key", `{"transactions":[` + one + `],"transactions":[` + one + `]}`, 400, "twice"},
		{"duplicate key in an item", batchBody(`{"sender":"a","sender":"b","recipient":"b","amount":1}`), 400, "twice"},
		{"too many", batchBody(many...), 413, "at most 1000"},
		{"too large", batchBody(`{"sender":"` + strings.Repeat("a", MaxBatchBodyBytes) + `"}`), 413, "larger"},
	} {
		t.Run(c.name, func(t *testing.T) {
			msg := n.do(http.MethodPost, "/transactions/batch", c.body).wantCode(t, c.code).errorMessage(t)
			if !strings.Contains(msg, c.want) {
				t.Errorf("error %q, want it to contain %q", msg, c.want)
			}
		})
	}
	if got := n.chain.PendingCount(); got != 0 {
		t.Errorf("%d pending after refused batches", got)
	}
	n.net.submitErr = errorf(http.StatusServiceUnavailable, "node is shutting down")
	var got client.Batch
	n.do(http.MethodPost, "/transactions/batch", batchBody(one)).wantCode(t, http.StatusOK).json(t, &got)
	if got.Accepted != 0 || got.Results[0].Status != http.StatusServiceUnavailable {
		t.Errorf("a failing network: %+v", got)
	}
}

// TestBatchSigned: on a signed network each item is a signed transaction,
// answered as POST /transactions would answer it, nonce included (a
// transaction twice in one batch: 409 the second time).
func TestBatchSigned(t *testing.T) {
	n := newSignedNode(t, "apibatchsigned")
	n.mine()
	n.mine()
	n.mine() // item 4 is funded: its signature is checked
	_, bob := newLedgerKey(t)
	g := n.chain.Genesis().Hash
	var got client.Batch
	n.do(http.MethodPost, "/transactions/batch", batchBody(
		n.sign(bob, 1, 0, g),
		n.sign(bob, 1, 1, g),
		n.sign(bob, 2, 1, g),
		`{"sender":"a","recipient":"b","amount":1}`,
		n.sign(bob, 1, 2, chain.Hash{1}),
		n.sign(bob, 1, 0, g),
	)).wantCode(t, http.StatusOK).json(t, &got)
	want := []struct {
		code int
		rule string
	}{{201, ""}, {201, ""}, {400, "bad_nonce"}, {400, "bad_transaction"}, {400, "bad_signature"}, {409, ""}}
	if len(got.Results) != len(want) || got.Accepted != 2 {
		t.Fatalf("%+v", got)
	}
	for i, w := range want {
		r := got.Results[i]
		if r.Status != w.code || r.Rule != w.rule {
			t.Errorf("item %d: %+v, want %d %q", i, r, w.code, w.rule)
		}
		if r.Status == http.StatusCreated && (r.Nonce == nil || *r.Nonce != uint64(i)) {
			t.Errorf("item %d: nonce %v, want %d", i, r.Nonce, i)
		}
	}
}
