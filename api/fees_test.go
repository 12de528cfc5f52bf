package api

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/gossipchain/gossipchain/api/client"
	"github.com/gossipchain/gossipchain/chain"
)

// TestFees: GET /fees answers on an empty signed chain with the minimum,
// through the typed client too; a signed transaction with a fee is
// accepted by POST /transactions and shown with it in /accounts, and the
// reward that collects it shows its block's fees; an open network answers
// 404 saying it has no fees.
func TestFees(t *testing.T) {
	n := newSignedNode(t, "apifees")
	var est client.FeeEstimates
	n.do(http.MethodGet, "/fees", "").wantCode(t, http.StatusOK).json(t, &est)
	if len(est.Estimates) != 3 || est.Unit != chain.FeeRateUnit || est.TypicalSize != 196 {
		t.Fatalf("GET /fees: %+v", est)
	}
	for i, e := range est.Estimates {
		if e.Blocks != []int{1, 3, 10}[i] || e.FeeRate != est.MinRelayFeeRate {
			t.Fatalf("estimate %d on an empty chain: %+v, want the minimum %d", i, e, est.MinRelayFeeRate)
		}
	}
	if got, err := client.New(n.url, nil).Fees(context.Background()); err != nil || len(got.Estimates) != 3 {
		t.Fatalf("client.Fees: %+v, %v", got, err)
	}

	for range 8 { // the reward is 1: 8 pay amount 1 and fee 7
		n.mine()
	}
	_, bob := newLedgerKey(t)
	tx, err := chain.SignTransactionFee(n.key, bob, 1, 7, 0, n.chain.Genesis().Hash)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := json.Marshal(tx)
	if !strings.Contains(string(body), `"fee":7`) {
		t.Fatalf("transaction JSON without its fee: %s", body)
	}
	n.do(http.MethodPost, "/transactions", string(body)).wantCode(t, http.StatusCreated)
	var acct client.Account
	n.do(http.MethodGet, "/accounts/"+n.addr, "").wantCode(t, http.StatusOK).json(t, &acct)
	if len(acct.PendingTransactions) != 1 || acct.PendingTransactions[0].Fee != 7 || acct.PendingSpend != 8 {
		t.Fatalf("account with a pending fee: %+v", acct)
	}
	b := n.mine()
	var hist client.AccountHistory
	n.do(http.MethodGet, "/accounts/"+n.addr+"/transactions", "").wantCode(t, http.StatusOK).json(t, &hist)
	var fees []uint64
	for _, e := range hist.Transactions {
		if e.Direction == "reward" {
			fees = append(fees, e.Fees)
		}
	}
	if len(fees) != 9 || fees[0] != 7 || fees[1] != 0 {
		t.Fatalf("rewards' fees %v (block %+v), want 7 for the newest, then 0", fees, b)
	}

	open := newTestNode(t)
	msg := open.do(http.MethodGet, "/fees", "").wantCode(t, http.StatusNotFound).errorMessage(t)
	if !strings.Contains(msg, "open ledger") || !strings.Contains(msg, "no fees") {
		t.Fatalf("GET /fees on an open network: %q", msg)
	}
}
