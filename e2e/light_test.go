package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/gossipchain/gossipchain/api/client"
	"github.com/gossipchain/gossipchain/chain"
)

// TestLightNodeAgrees starts two full nodes of a signed network, a payment
// between two wallets, and a light node (--light) bootstrapped from them;
// on every endpoint the light node serves, its answer agrees with a full
// node's: /status, /chain (headers: no transactions, the same hashes,
// roots and counts), /blocks/{id}, /accounts/{address} (proved: "verified"
// true, at the same head) for a payer, a payee and an unknown address,
// and /transactions/{id} (proved in the same block, with the same
// confirmations). What needs a full node answers 501 with a message.
func TestLightNodeAgrees(t *testing.T) {
	dir := t.TempDir()
	alice := newWalletKey(t, filepath.Join(dir, "alice.key"))
	bob := newWalletKey(t, filepath.Join(dir, "bob.key"))
	nobody := newWalletKey(t, filepath.Join(dir, "nobody.key"))
	a := startNode(t, signedOpts("light", "--miner-address", alice))
	b := startNode(t, signedOpts("light"))
	if err := b.register(a.multiaddr()); err != nil {
		t.Fatal(err)
	}
	if _, errOut, code := gossipchain(t, "mine", "2", "--node", a.url); code != 0 {
		t.Fatalf("mine 2: exit %d: %s", code, errOut)
	}
	r := a.blockReward()
	waitBalance(t, alice, 2*r, a, b)
	paid := walletSend(t, a, filepath.Join(dir, "alice.key"), bob, 1)
	waitPending(t, []chain.Hash{paid}, b)
	b.mine()
	b.mine()
	waitBalance(t, bob, 1, a, b)
	head := sameHead(t, []*node{a, b}, 5)

	lopts := signedOpts("light")
	lopts.light = true
	lopts.bootstrap = []string{a.multiaddr(), b.multiaddr()}
	light := startNode(t, lopts)
	if got := sameHead(t, []*node{a, b, light}, 5); got != head {
		t.Fatalf("head %s, want %s", got, head)
	}

	full, lst := a.mustStatus(), light.mustStatus()
	if !lst.Light || full.Light {
		t.Errorf("light: %v on the light node, %v on the full one", lst.Light, full.Light)
	}
	if lst.Network != full.Network || lst.Genesis != full.Genesis || lst.Height != full.Height || lst.Head != full.Head ||
		lst.TotalWork != full.TotalWork || lst.Bits != full.Bits || lst.Params != full.Params {
		t.Errorf("GET /status differs:\nlight %+v\nfull  %+v", lst, full)
	}

	waitFor(t, "the light node's peers listed with their heights", waitTimeout, func() error {
		ps, err := light.peers()
		if err != nil || len(ps) < 2 {
			return fmt.Errorf("%d peers, %v", len(ps), err)
		}
		for _, p := range ps {
			if p.Height == nil || *p.Height != full.Height {
				return fmt.Errorf("peer %s at height %v, want %d", p.ID, p.Height, full.Height)
			}
		}
		return nil
	})

	var fullChain, lightChain struct {
		Chain  []json.RawMessage `json:"chain"`
		Length int               `json:"length"`
	}
	mustGet(t, a, "/chain", &fullChain)
	mustGet(t, light, "/chain", &lightChain)
	if lightChain.Length != fullChain.Length || len(lightChain.Chain) != len(fullChain.Chain) {
		t.Fatalf("GET /chain: %d blocks on the light node, %d on the full one", lightChain.Length, fullChain.Length)
	}
	for i := range fullChain.Chain {
		var fb, lb chain.Block
		if err := json.Unmarshal(fullChain.Chain[i], &fb); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(lightChain.Chain[i], &lb); err != nil {
			t.Fatalf("light block %d: %v", i+1, err)
		}
		if len(lb.Transactions) != 0 || lb.Header() != fb.Header() || lb.Hash != fb.Hash {
			t.Errorf("block %d: light %+v, full %+v", i+1, lb, fb)
		}
		for _, id := range []string{fmt.Sprint(fb.Index), fb.Hash.String()} {
			var one chain.Block
			mustGet(t, light, "/blocks/"+id, &one)
			if one.Hash != fb.Hash {
				t.Errorf("GET /blocks/%s: %s, want %s", id, one.Hash, fb.Hash)
			}
		}
	}

	for _, addr := range []string{alice, bob, nobody} {
		var fa, la client.Account
		mustGet(t, a, "/accounts/"+addr, &fa)
		mustGet(t, light, "/accounts/"+addr, &la)
		if !la.Verified || fa.Verified || la.Balance != fa.Balance || la.NextNonce != fa.NextNonce ||
			la.Head != fa.Head || la.Height != fa.Height || la.Address != addr {
			t.Errorf("GET /accounts/%s:\nlight %+v\nfull  %+v", addr, la, fa)
		}
	}
	var ftx, ltx client.TxStatus
	mustGet(t, a, "/transactions/"+paid.String(), &ftx)
	mustGet(t, light, "/transactions/"+paid.String(), &ltx)
	ltx.Verified = false
	if !reflect.DeepEqual(ftx, ltx) {
		t.Errorf("GET /transactions/%s:\nlight %+v\nfull  %+v", paid, ltx, ftx)
	}
	for path, want := range map[string]int{
		"/transactions/" + strings.Repeat("ab", 32): http.StatusNotFound,
		"/transactions/xyz":                         http.StatusBadRequest,
		"/accounts/not-an-address":                  http.StatusBadRequest,
		"/blocks/999":                               http.StatusNotFound,
	} {
		fcode, _ := a.getJSON(path, nil)
		lcode, _ := light.getJSON(path, nil)
		if fcode != want || lcode != want {
			t.Errorf("GET %s: HTTP %d on the light node, %d on the full one, want %d", path, lcode, fcode, want)
		}
	}

	for _, req := range []struct{ method, path, body string }{
		{http.MethodGet, "/mine", ""},
		{http.MethodPost, "/transactions/new", `{"sender":"a","recipient":"b","amount":1}`},
		{http.MethodPost, "/blocks", "{}"},
		{http.MethodGet, "/transactions/pending", ""},
		{http.MethodGet, "/nodes/resolve", ""},
	} {
		var e client.ErrorBody
		code, err := light.do(req.method, req.path, req.body, &e)
		if err != nil || code != http.StatusNotImplemented || !strings.Contains(e.Error, "light node") {
			t.Errorf("%s %s: HTTP %d %q %v, want 501 naming the light node", req.method, req.path, code, e.Error, err)
		}
	}

	// The explorer says where a balance and a confirmation come from.
	br := newBrowser(t)
	for _, c := range []struct {
		n    *node
		want string
	}{{light, "checked by proof (light node)"}, {a, "held by this node (full node)"}} {
		br.open(c.n.url + "/")
		check := fmt.Sprintf(`(() => {
			const held = document.getElementById(%%q).parentElement.querySelector('.held');
			return held && held.textContent === %q ? '' : (held ? held.textContent : 'no mark');
		})()`, c.want)
		br.goTo("#/tx/"+paid.String(), "#tx-confirmations")
		pageCheck(t, br, c.n.opts.httpAddr+": the payment's confirmations", fmt.Sprintf(check, "tx-confirmations"))
		br.goTo("#/address/"+bob, "#balance-confirmed")
		pageCheck(t, br, c.n.opts.httpAddr+": bob's balance", fmt.Sprintf(check, "balance-confirmed"))
	}
	br.noConsoleErrors()
}

// mustGet sends GET path to n and decodes its 200 answer into v.
func mustGet(t *testing.T, n *node, path string, v any) {
	t.Helper()
	if code, err := n.getJSON(path, v); err != nil || code != http.StatusOK {
		t.Fatalf("GET %s on %s: HTTP %d %v", path, n.opts.httpAddr, code, err)
	}
}
