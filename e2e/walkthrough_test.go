package e2e

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/gossipchain/gossipchain/api/client"
)

// The tutorial's curl walkthrough, request bodies byte for byte, against two
// node processes: the second registers the first by its HTTP URL and
// resolves to its chain. Both run the default network, devnet, which
// retargets: its initial target lets GET /mine answer at once.
func TestTutorialWalkthrough(t *testing.T) {
	a := startNode(t, nodeOptions{network: "devnet", retarget: true})
	b := startNode(t, nodeOptions{network: "devnet", retarget: true})

	var mined client.Mined
	if code, err := a.getJSON("/mine", &mined); err != nil || code != http.StatusOK || mined.Message != "New Block Forged" || mined.Index != 2 {
		t.Fatalf("GET /mine: %d %+v %v", code, mined, err)
	}

	var added client.TxAccepted
	body := `{
 "sender": "d4ee26eee15148ee92c6cd394edd974e",
 "recipient": "someone-other-address",
 "amount": 5
}`
	if code, err := a.do(http.MethodPost, "/transactions/new", body, &added); err != nil || code != http.StatusCreated || added.Message != "Transaction will be added to Block 3" {
		t.Fatalf("POST /transactions/new: %d %+v %v", code, added, err)
	}
	if code, err := a.getJSON("/mine", &mined); err != nil || code != http.StatusOK || mined.Index != 3 || len(mined.Transactions) != 2 {
		t.Fatalf("second GET /mine: %d %+v %v", code, mined, err)
	}
	if got := mined.Transactions[0].Sender; got != "d4ee26eee15148ee92c6cd394edd974e" {
		t.Fatalf("first transaction sender %v", got)
	}

	var full client.Chain
	if code, err := a.getJSON("/chain", &full); err != nil || code != http.StatusOK || full.Length != 3 || len(full.Chain) != 3 {
		t.Fatalf("GET /chain: %d length %d blocks %d %v", code, full.Length, len(full.Chain), err)
	}

	var reg client.Registered
	regBody := fmt.Sprintf(`{
 "nodes": ["%s"]
}`, a.url)
	if code, err := b.do(http.MethodPost, "/nodes/register", regBody, &reg); err != nil || code != http.StatusCreated || reg.Message != "New nodes have been added" || len(reg.TotalNodes) == 0 {
		t.Fatalf("POST /nodes/register: %d %+v %v", code, reg, err)
	}
	var bad client.ErrorBody
	if code, err := b.do(http.MethodPost, "/nodes/register", `{"nodes": []}`, &bad); err != nil || code != http.StatusBadRequest || bad.Error != "Error: Please supply a valid list of nodes" {
		t.Fatalf("POST /nodes/register without nodes: %d %v %v", code, bad, err)
	}

	var resolved client.Resolved
	if code, err := b.getJSON("/nodes/resolve", &resolved); err != nil || code != http.StatusOK || resolved.Message != "Our chain was replaced" || len(resolved.NewChain) != 3 {
		t.Fatalf("GET /nodes/resolve on the second node: %d %q new_chain %d %v", code, resolved.Message, len(resolved.NewChain), err)
	}
	if code, err := a.getJSON("/nodes/resolve", &resolved); err != nil || code != http.StatusOK || resolved.Message != "Our chain is authoritative" || len(resolved.Chain) != 3 {
		t.Fatalf("GET /nodes/resolve on the first node: %d %q chain %d %v", code, resolved.Message, len(resolved.Chain), err)
	}
	ha, _ := a.chainHashes()
	hb, _ := b.chainHashes()
	if fmt.Sprint(ha) != fmt.Sprint(hb) {
		t.Fatalf("chains differ after resolve:\n%v\n%v", ha, hb)
	}
}
