package api

import (
	"encoding/hex"
	"net/http"
	"testing"

	"github.com/gossipchain/gossipchain/api/client"
	"github.com/gossipchain/gossipchain/chain"
	"github.com/gossipchain/gossipchain/chain/proof"
)

// decodeProof decodes the binary proof of a proof's JSON.
func decodeProof[T any](t *testing.T, head client.ProofHead, decode func([]byte) (T, error)) T {
	t.Helper()
	bin, err := head.Binary()
	if err != nil {
		t.Fatal(err)
	}
	p, err := decode(bin)
	if err != nil {
		t.Fatalf("%s proof: %v", head.Type, err)
	}
	return p
}

// TestTxProof: GET /proof/tx/{id} proves a confirmed transaction against
// its block's header, with the JSON of PROTOCOL.md 13; a pending or
// unknown one is 404, a bad id 400.
func TestTxProof(t *testing.T) {
	n := newSignedNode(t, "apitxproof")
	n.mine()
	_, bob := newLedgerKey(t)
	var sent client.SignedTxAccepted
	n.do(http.MethodPost, "/transactions", n.sign(bob, 1, 0, n.chain.Genesis().Hash)).wantCode(t, http.StatusCreated).json(t, &sent)
	if r := n.do(http.MethodGet, "/proof/tx/"+sent.ID.String(), "").wantCode(t, http.StatusNotFound); r.errorMessage(t) == "" {
		t.Fatal("no message")
	}
	mined := n.mine()
	n.mine()
	c := client.New(n.url, nil)
	got, err := c.TxProof(t.Context(), sent.ID)
	if err != nil {
		t.Fatal(err)
	}
	block, err := n.chain.BlockByHeight(3)
	if err != nil {
		t.Fatal(err)
	}
	if got.Type != "transaction" || got.ID != sent.ID || got.Block.Hash != block.Hash || got.Block.Height != 3 ||
		got.TxCount != 2 || got.Index != 0 || got.Transaction.ID != sent.ID || got.Transaction.Recipient != bob {
		t.Fatalf("proof %+v of a payment in block %d (%s)", got, mined.Index, block.Hash)
	}
	p := decodeProof(t, got.ProofHead, proof.DecodeTx)
	hdr, err := p.Verify(sent.ID)
	if err != nil {
		t.Fatal(err)
	}
	if h := block.Header(); hdr.Hash != block.Hash || got.Block.Header != hex.EncodeToString(h[:]) {
		t.Fatalf("verified against %s, want %s; header %s", hdr.Hash, block.Hash, got.Block.Header)
	}
	if len(got.Path) != len(p.Path) || got.Path[0] != chain.Hash(p.Path[0]).String() {
		t.Fatalf("path %v, proof's %x", got.Path, p.Path)
	}
	// The reward, the block's last transaction, is proven too.
	reward := block.Transactions[1].ID
	if rp, err := c.TxProof(t.Context(), reward); err != nil || rp.Index != 1 {
		t.Fatalf("reward: %+v, %v", rp, err)
	}
	for _, id := range []string{"nope", sent.ID.String()[:63], sent.ID.String() + "0"} {
		n.do(http.MethodGet, "/proof/tx/"+id, "").wantCode(t, http.StatusBadRequest)
	}
	if _, err := c.TxProof(t.Context(), chain.Hash{1}); client.StatusOf(err) != http.StatusNotFound {
		t.Fatalf("unknown id: %v, want a 404", err)
	}
}

// TestAccountProof: GET /proof/account/{address} proves an account at the
// head or at ?at=HEIGHT|HASH, an absent one by a proof of absence; an open
// network, an unknown block and a height above the head are 404, a bad
// address or at 400.
func TestAccountProof(t *testing.T) {
	n := newSignedNode(t, "apiaccountproof")
	n.mine()
	n.mine()
	c := client.New(n.url, nil)
	check := func(at string, height, balance uint64) client.AccountProof {
		t.Helper()
		got, err := c.AccountProof(t.Context(), n.addr, at)
		if err != nil {
			t.Fatal(err)
		}
		block, err := n.chain.BlockByHeight(height)
		if err != nil {
			t.Fatal(err)
		}
		if got.Type != "account" || got.Address != n.addr || got.Balance != balance || got.NextNonce != 0 ||
			got.Present != (balance > 0) || got.Block.Hash != block.Hash || got.Block.Height != height || got.StateRoot != block.StateRoot {
			t.Fatalf("at %q: %+v, want balance %d after block %d (%s)", at, got, balance, height, block.Hash)
		}
		p := decodeProof(t, got.ProofHead, proof.DecodeAccount)
		if hdr, err := p.Verify(n.addr); err != nil || hdr.Hash != block.Hash {
			t.Fatalf("at %q: verified against %s, %v", at, hdr.Hash, err)
		}
		return got
	}
	check("", 3, 2)
	check("2", 2, 1)
	g := check("1", 1, 0) // before the first reward: absent
	if g.Present {
		t.Fatal("an absent account is present")
	}
	b2, err := n.chain.BlockByHeight(2)
	if err != nil {
		t.Fatal(err)
	}
	check(b2.Hash.String(), 2, 1)

	_, carol := newLedgerKey(t)
	absent, err := c.AccountProof(t.Context(), carol, "")
	if err != nil || absent.Present || absent.Balance != 0 {
		t.Fatalf("an unused address: %+v, %v", absent, err)
	}
	for _, c := range []struct {
		path string
		code int
	}{
		{"/proof/account/bob", http.StatusBadRequest},
		{"/proof/account/" + n.addr + "?at=0", http.StatusBadRequest},
		{"/proof/account/" + n.addr + "?at=x", http.StatusBadRequest},
		{"/proof/account/" + n.addr + "?at=-1", http.StatusBadRequest},
		{"/proof/account/" + n.addr + "?at=" + b2.Hash.String()[:63] + "x", http.StatusBadRequest},
		{"/proof/account/" + n.addr + "?at=4", http.StatusNotFound},
		{"/proof/account/" + n.addr + "?at=" + chain.Hash{1}.String(), http.StatusNotFound},
	} {
		r := n.do(http.MethodGet, c.path, "").wantCode(t, c.code)
		t.Logf("%s: %s", c.path, r.errorMessage(t))
	}

	open := newTestNode(t)
	open.mine()
	r := open.do(http.MethodGet, "/proof/account/"+n.addr, "").wantCode(t, http.StatusNotFound)
	t.Logf("open network: %s", r.errorMessage(t))
}
