package api

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/gossipchain/gossipchain/api/client"
	"github.com/gossipchain/gossipchain/chain"
)

// TestClientReadsEveryAnswer drives the typed client against the server:
// every answer decodes into its type, and a decoded /status encodes back
// to the very bytes the server sent.
func TestClientReadsEveryAnswer(t *testing.T) {
	n := newTestNode(t)
	c := client.New(n.url, n.http.Client())
	ctx := context.Background()

	mined, err := c.Mine(ctx)
	if err != nil || mined.Message != "New Block Forged" || mined.Index != 2 || len(mined.Transactions) != 1 {
		t.Fatalf("Mine: %+v %v", mined, err)
	}
	many, err := c.MineBlocks(ctx, 2)
	if err != nil || len(many.Blocks) != 2 || many.Height != 4 || many.Blocks[1].Hash != many.Head {
		t.Fatalf("MineBlocks: %+v %v", many, err)
	}
	tx, err := c.NewTransaction(ctx, "alice", "bob", 5)
	if err != nil || tx.Message != "Transaction will be added to Block 5" || tx.ID.IsZero() {
		t.Fatalf("NewTransaction: %+v %v", tx, err)
	}
	if p, err := c.Pending(ctx, 0); err != nil || p.Total != 1 || len(p.Transactions) != 1 || p.Transactions[0].ID != tx.ID {
		t.Fatalf("Pending: %+v %v", p, err)
	}
	if loc, err := c.Transaction(ctx, tx.ID); err != nil || loc.Status != "pending" || loc.Transaction.Amount != 5 {
		t.Fatalf("Transaction: %+v %v", loc, err)
	}
	st, err := c.Status(ctx)
	if err != nil || st.PeerID != n.net.id || st.Height != 4 || st.Head != many.Head || st.Pending != 1 ||
		st.Params.Ledger != chain.LedgerOpen || st.Genesis != n.chain.Genesis().Hash {
		t.Fatalf("Status: %+v %v", st, err)
	}
	raw := n.do(http.MethodGet, "/status", "").wantCode(t, http.StatusOK).body
	again, err := marshal(st)
	if err != nil || !bytes.Equal(append(again, '\n'), raw) {
		t.Fatalf("a decoded status encodes as\n%s\nnot as the server sent it\n%s", again, raw)
	}

	ch, err := c.Chain(ctx)
	if err != nil || ch.Length != 4 || len(ch.Chain) != 4 || ch.Chain[3].Hash != many.Head {
		t.Fatalf("Chain: %d blocks, length %d, %v", len(ch.Chain), ch.Length, err)
	}
	for _, b := range ch.Chain {
		if b.ComputeHash() != b.Hash {
			t.Fatalf("block %d decoded from /chain does not hash to %s", b.Index, b.Hash)
		}
	}
	page, err := c.ChainPage(ctx, 2, 2)
	if err != nil || page.Length != 4 || len(page.Chain) != 2 || page.Chain[0].Index != 2 {
		t.Fatalf("ChainPage: %+v %v", page, err)
	}
	b, err := c.Block(ctx, "3")
	if err != nil || b.Hash != ch.Chain[2].Hash {
		t.Fatalf("Block: %+v %v", b, err)
	}
	if sub, err := c.SubmitBlock(ctx, b); err != nil || sub.Status != "known" || sub.Height != 4 {
		t.Fatalf("SubmitBlock of a known block: %+v %v", sub, err)
	}
	if res, err := c.Resolve(ctx); err != nil || res.Message != "Our chain is authoritative" || len(res.Chain) != 4 {
		t.Fatalf("Resolve: %q %d %v", res.Message, len(res.Chain), err)
	}
	if ps, err := c.Peers(ctx); err != nil || ps == nil || len(ps) != 0 {
		t.Fatalf("Peers: %v %v", ps, err)
	}
	if m, err := c.Metrics(ctx); err != nil || m["gossipchain_api_blocks_mined_total"] != 3 {
		t.Fatalf("Metrics: mined %v, %v", m["gossipchain_api_blocks_mined_total"], err)
	}
}

// TestClientErrors: an error answer is an *Error with the node's status,
// message and rule.
func TestClientErrors(t *testing.T) {
	n := newTestNode(t)
	c := client.New(n.url, n.http.Client())
	ctx := context.Background()

	_, err := c.NewTransaction(ctx, "alice", "bob", 0)
	var e *client.Error
	if !errors.As(err, &e) || e.Status != http.StatusBadRequest || e.Rule != chain.ErrBadTransaction.String() ||
		e.Message != "amount must be a positive integer" {
		t.Fatalf("amount 0: %#v", err)
	}
	if err.Error() != "amount must be a positive integer (HTTP 400, rule bad_transaction)" {
		t.Fatalf("message %q", err)
	}
	if _, err := c.Register(ctx); client.StatusOf(err) != http.StatusBadRequest || err.Error() != invalidNodeList+" (HTTP 400)" {
		t.Fatalf("register nothing: %v", err)
	}
	if _, err := c.Block(ctx, "99"); client.StatusOf(err) != http.StatusNotFound {
		t.Fatalf("block 99: %v", err)
	}
	if _, err := c.Account(ctx, "alice"); client.StatusOf(err) != http.StatusNotFound {
		t.Fatalf("account on an open ledger: %v", err)
	}
	if code, body, err := c.Raw(ctx, http.MethodGet, "/nope", nil); err != nil || code != http.StatusNotFound || !bytes.Contains(body, []byte("no such endpoint")) {
		t.Fatalf("Raw: %d %s %v", code, body, err)
	}
	if _, err := client.New("http://127.0.0.1:1", nil).Status(ctx); err == nil || client.StatusOf(err) != 0 {
		t.Fatalf("unreachable node: %v", err)
	}
	if _, err := client.New("127.0.0.1:5000", nil).Status(ctx); err == nil {
		t.Fatal("a base URL without a scheme was accepted")
	}
}

// TestClientSignedLedger drives the account endpoints of a signed network.
func TestClientSignedLedger(t *testing.T) {
	n := newSignedNode(t, "apiclientsigned")
	c := client.New(n.url, n.http.Client())
	ctx := context.Background()
	if _, err := c.MineBlocks(ctx, 2); err != nil {
		t.Fatal(err)
	}
	_, bob := newLedgerKey(t)
	acct, err := c.Account(ctx, n.addr)
	if err != nil || acct.Balance != 2 || acct.PendingNonce != 0 || acct.PendingTransactions == nil {
		t.Fatalf("Account: %+v %v", acct, err)
	}
	tx, err := chain.SignTransaction(n.key, bob, 1, acct.PendingNonce, n.chain.Genesis().Hash)
	if err != nil {
		t.Fatal(err)
	}
	sent, err := c.SubmitTransaction(ctx, tx)
	if err != nil || sent.ID != tx.ID || sent.Nonce != 0 {
		t.Fatalf("SubmitTransaction: %+v %v", sent, err)
	}
	if _, err := c.SubmitTransaction(ctx, tx); client.StatusOf(err) != http.StatusConflict {
		t.Fatalf("the same transaction again: %v", err)
	}
	if acct, err = c.Account(ctx, n.addr); err != nil || acct.Pending != 1 || acct.PendingNonce != 1 || len(acct.PendingTransactions) != 1 {
		t.Fatalf("Account with a payment pending: %+v %v", acct, err)
	}
	if _, err := c.Mine(ctx); err != nil {
		t.Fatal(err)
	}
	h, err := c.AccountTransactions(ctx, n.addr, "", 2)
	if err != nil || h.Address != n.addr || len(h.Transactions) != 2 || h.NextCursor == "" ||
		h.Transactions[0].Direction != "reward" || h.Transactions[1].Direction != "out" || h.Transactions[1].Transaction.ID != tx.ID {
		t.Fatalf("AccountTransactions: %+v %v", h, err)
	}
	rest, err := c.AccountTransactions(ctx, n.addr, h.NextCursor, 0)
	if err != nil || len(rest.Transactions) != 2 || rest.NextCursor != "" {
		t.Fatalf("second page: %+v %v", rest, err)
	}
}
