package sync

import (
	"bufio"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"

	"github.com/gossipchain/gossipchain/chain"
	"github.com/gossipchain/gossipchain/chain/merkle"
)

// paidNetwork is a signed network of two connected full nodes on which
// alice, funded by the first block, paid bob in the head block, and a
// light node connected to both at that head.
type paidNetwork struct {
	full        []*testNode
	light       *lightNode
	alice, bob  string
	payment     chain.Transaction
	paymentHead *chain.Block
}

func newPaidNetwork(t *testing.T) *paidNetwork {
	t.Helper()
	params := signedParams(t, testNetwork)
	a, b := startTestNode(t, params, t.TempDir()), startTestNode(t, params, t.TempDir())
	connect(t, a, b)
	aliceKey, err := chain.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	bobKey, _ := chain.GenerateKey()
	pn := &paidNetwork{full: []*testNode{a, b}}
	pn.alice, _ = chain.AddressOf(aliceKey)
	pn.bob, _ = chain.AddressOf(bobKey)
	fund := buildBlocks(t, params, a.chain.Genesis(), 1, pn.alice)
	addBlocks(t, a.chain, fund)
	addBlocks(t, b.chain, fund)
	if pn.payment, err = chain.SignTransaction(aliceKey, pn.bob, 40, 0, params.Genesis().Hash); err != nil {
		t.Fatal(err)
	}
	if err := a.svc.SubmitTransaction(context.Background(), pn.payment); err != nil {
		t.Fatal(err)
	}
	pn.paymentHead = a.mine()
	waitSameHead(t, pn.full, pn.paymentHead.Hash, 60*time.Second)
	pn.light = newLightNode(t, params, nil)
	for _, f := range pn.full {
		pn.light.dial(t, f.node.Host())
	}
	pn.light.waitHead(t, pn.paymentHead.Hash)
	return pn
}

// account asks the light node for addr's account until some peer proves
// it (the peers' protocols are known once identify has run).
func (ln *lightNode) account(t testing.TB, addr string) VerifiedAccount {
	t.Helper()
	var acct VerifiedAccount
	var err error
	waitFor(t, 30*time.Second, "a proof of "+addr, func() bool {
		acct, err = ln.light.Account(context.Background(), addr)
		return err == nil
	})
	return acct
}

// TestLightVerifiesPayment: a light node learns by proof from two full
// peers the balance a payment gave an address it watches, checked against
// its head; the payment's block and confirmations; and, by a proof of
// absence, that an unknown address has nothing. An unknown transaction is
// proved by nobody. No peer is penalised.
func TestLightVerifiesPayment(t *testing.T) {
	pn := newPaidNetwork(t)
	ln := pn.light
	bob := ln.account(t, pn.bob)
	if bob.Balance != 40 || bob.NextNonce != 0 || bob.Block.Hash != pn.paymentHead.Hash || bob.Peers != 2 {
		t.Errorf("bob: %+v; want balance 40 at %s from 2 peers", bob, pn.paymentHead.Hash)
	}
	alice := ln.account(t, pn.alice)
	if want := 100 - 40 - pn.payment.Fee; alice.Balance != want || alice.NextNonce != 1 {
		t.Errorf("alice: balance %d, next nonce %d; want %d, 1", alice.Balance, alice.NextNonce, want)
	}
	nobodyKey, _ := chain.GenerateKey()
	nobody, _ := chain.AddressOf(nobodyKey)
	if a := ln.account(t, nobody); a.Balance != 0 || a.NextNonce != 0 || a.Peers != 2 {
		t.Errorf("unknown address: %+v; want an absence proved by 2 peers", a)
	}

	tx, err := ln.light.Transaction(context.Background(), pn.payment.ID)
	if err != nil {
		t.Fatal(err)
	}
	if tx.Block.Hash != pn.paymentHead.Hash || tx.Tx.ID != pn.payment.ID || tx.Confirmations != 1 || tx.Peers != 2 {
		t.Errorf("payment: block %s, id %s, %d confirmations, %d peers; want %s, %s, 1, 2",
			tx.Block.Hash, tx.Tx.ID, tx.Confirmations, tx.Peers, pn.paymentHead.Hash, pn.payment.ID)
	}
	if _, err := ln.light.Transaction(context.Background(), randomHash()); !errors.Is(err, ErrNoProof) {
		t.Errorf("unknown transaction: %v, want ErrNoProof", err)
	}

	next := pn.full[1].mine()
	ln.waitHead(t, next.Hash)
	if tx, err := ln.light.Transaction(context.Background(), pn.payment.ID); err != nil || tx.Confirmations != 2 {
		t.Errorf("after one more block: %d confirmations, %v; want 2", tx.Confirmations, err)
	}
	if a := ln.account(t, pn.bob); a.Block.Hash != next.Hash {
		t.Errorf("bob checked against %s, want the new head %s", a.Block.Hash, next.Hash)
	}
	for _, f := range pn.full {
		if ln.node.Banned(f.node.ID()) {
			t.Errorf("honest peer %s penalised", f)
		}
	}
}

// newProofServer starts a raw peer that serves ProofsProtocol, answering
// every well-framed request with an ok reply carrying reply(request).
func newProofServer(t testing.TB, reply func(req []byte) []byte) host.Host {
	t.Helper()
	h := newRawHost(t)
	h.SetStreamHandler(ProofsProtocol, func(s network.Stream) {
		req, err := readFrame(bufio.NewReader(s), nil, maxProofRequestSize)
		if err != nil {
			s.Reset()
			return
		}
		s.Write(appendFrame(nil, append([]byte{byte(CodeOK)}, reply(req)...)))
		s.Close()
	})
	return h
}

// marshal encodes a proof.
func marshal(t testing.TB, p interface{ MarshalBinary() ([]byte, error) }) []byte {
	t.Helper()
	b, err := p.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestLightRefusesForgedProofs: a peer that serves a forged account proof
// (a balance its map proof does not hold) or a forged transaction proof (a
// path that does not lead to the root) is penalised, and the light node
// answers from the honest peer's proof. A peer whose valid proof puts the
// payment in a block off the light node's header chain loses to the
// honest one and is not penalised.
func TestLightRefusesForgedProofs(t *testing.T) {
	pn := newPaidNetwork(t)
	honest := pn.full[0]
	ap, err := honest.chain.AccountProof(pn.bob, pn.paymentHead.Hash)
	if err != nil {
		t.Fatal(err)
	}
	forgedAccount := ap.Binary()
	forgedAccount.Balance = 1_000_000
	tp, err := honest.chain.TxProof(pn.payment.ID)
	if err != nil {
		t.Fatal(err)
	}
	forgedTx := tp
	forgedTx.Path = append([]merkle.Hash(nil), tp.Path...)
	forgedTx.Path[0][0] ^= 1

	// The payment mined again on a chain of its own: a valid proof whose
	// block the light node's header chain does not hold.
	elsewhere := startTestNode(t, honest.params, t.TempDir())
	fund, err := honest.chain.BlockByHeight(2)
	if err != nil {
		t.Fatal(err)
	}
	addBlocks(t, elsewhere.chain, []*chain.Block{fund})
	if err := elsewhere.svc.SubmitTransaction(context.Background(), pn.payment); err != nil {
		t.Fatal(err)
	}
	elsewhere.mine()
	offChain, err := elsewhere.chain.TxProof(pn.payment.ID)
	if err != nil {
		t.Fatal(err)
	}

	ln := pn.light
	askAccount := func() {
		if a := ln.account(t, pn.bob); a.Balance != 40 {
			t.Errorf("bob: balance %d, want 40", a.Balance)
		}
	}
	askTx := func() {
		tx, err := ln.light.Transaction(context.Background(), pn.payment.ID)
		if err != nil || tx.Block.Hash != pn.paymentHead.Hash {
			t.Errorf("payment: block %s, %v; want %s", tx.Block.Hash, err, pn.paymentHead.Hash)
		}
	}
	cases := []struct {
		name      string
		reply     []byte
		ask       func()
		penalised bool
	}{
		{"forged account proof", marshal(t, forgedAccount), askAccount, true},
		{"forged transaction proof", marshal(t, forgedTx), askTx, true},
		{"transaction proof off the header chain", marshal(t, offChain), askTx, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			evil := newProofServer(t, func([]byte) []byte { return tc.reply })
			ln.dial(t, evil)
			waitFor(t, 30*time.Second, "the server's protocols known", func() bool {
				ps, err := ln.node.Host().Peerstore().SupportsProtocols(evil.ID(), ProofsProtocol)
				return err == nil && len(ps) == 1
			})
			ln.light.answers.put(chain.Hash{}, "", nil) // another head: the cached answers are forgotten
			tc.ask()
			if got := ln.node.Banned(evil.ID()); got != tc.penalised {
				t.Errorf("penalised: %v, want %v", got, tc.penalised)
			}
			if ln.node.Banned(honest.node.ID()) {
				t.Error("the honest peer was penalised")
			}
			evil.Close()
		})
	}
}
