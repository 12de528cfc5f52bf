package api

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/gossipchain/gossipchain/api/client"
	"github.com/gossipchain/gossipchain/chain"
	"github.com/gossipchain/gossipchain/chain/chaintest"
)

// TestAddressVectorsAdmission runs testdata/addresses.json through
// POST /transactions: a recipient that is no address is refused by the
// ledger rule (bad_transaction); a valid address whose key can never sign
// is refused by the node's policy (400, no rule); the others are admitted.
// A payment the policy refuses is still valid in a block: the pool admits
// it as gossip would deliver it, and the next block holds it.
func TestAddressVectorsAdmission(t *testing.T) {
	var v struct {
		Addresses []struct {
			Description string `json:"description"`
			Address     string `json:"address"`
			Consensus   bool   `json:"consensus"`
			Policy      bool   `json:"policy"`
		} `json:"addresses"`
	}
	chaintest.ReadVectors(t, "addresses.json", &v)
	n := newSignedNode(t, "apiaddresses")
	for range len(v.Addresses) + 1 {
		n.mine()
	}
	g := n.chain.Genesis().Hash
	nonce := uint64(0)
	var refused []string
	for _, c := range v.Addresses {
		tx := chain.Transaction{Sender: n.addr, Recipient: c.Address, Amount: 1, Nonce: nonce}
		if err := tx.Sign(n.key, g); err != nil {
			t.Fatal(err)
		}
		body, err := json.Marshal(tx)
		if err != nil {
			t.Fatal(err)
		}
		var e client.ErrorBody
		switch r := n.do(http.MethodPost, "/transactions", string(body)); {
		case !c.Consensus:
			r.wantCode(t, http.StatusBadRequest).json(t, &e)
			if e.Rule != chain.ErrBadTransaction.String() {
				t.Errorf("%s: %+v, want rule bad_transaction", c.Description, e)
			}
		case !c.Policy:
			r.wantCode(t, http.StatusBadRequest).json(t, &e)
			if e.Rule != "" || !strings.Contains(e.Error, "does not admit") || !strings.Contains(e.Error, "lost") {
				t.Errorf("%s: %+v, want the policy's refusal", c.Description, e)
			}
			if err := n.chain.AddTransaction(tx); err != nil {
				t.Fatalf("%s: the pool refuses a payment the policy refuses: %v", c.Description, err)
			}
			refused = append(refused, c.Address)
			nonce++
		default:
			r.wantCode(t, http.StatusCreated)
			nonce++
		}
	}
	if len(refused) == 0 {
		t.Fatal("no vector of a valid address that the policy refuses")
	}
	n.mine()
	if p := n.chain.Pending(100); len(p) != 0 {
		t.Fatalf("%d transactions left pending after a block", len(p))
	}
	for _, addr := range refused {
		var a client.Account
		n.do(http.MethodGet, "/accounts/"+addr, "").wantCode(t, http.StatusOK).json(t, &a)
		if a.Balance == 0 {
			t.Errorf("%s: balance 0 after the block that pays it", addr)
		}
	}
}
