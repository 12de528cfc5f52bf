package sync

import (
	"context"
	"testing"
	"time"

	"github.com/gossipchain/gossipchain/chain"
)

// signedParams returns the parameters of a signed test network of that
// name, whose reward is 100.
func signedParams(t testing.TB, network string) chain.Params {
	t.Helper()
	p := testParams(t, network, testDifficulty)
	p.Ledger = chain.LedgerSigned
	p.Reward = 100
	return p
}

// TestSignedGossip: on a signed network, a peer gossiping a transaction
// whose signature does not verify, or an unsigned one, is rejected and its
// score falls; one gossiping a well-signed transaction whose nonce or
// balance does not fit this node's accounts is ignored without a penalty,
// and its valid transactions are still accepted and forwarded.
func TestSignedGossip(t *testing.T) {
	params := signedParams(t, testNetwork)
	h1 := startTestNode(t, params, t.TempDir())
	h2 := startTestNode(t, params, t.TempDir())
	connect(t, h1, h2)
	genesis := h1.chain.Genesis().Hash

	alice, err := chain.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	aliceAddr, _ := chain.AddressOf(alice)
	bobKey, _ := chain.GenerateKey()
	bob, _ := chain.AddressOf(bobKey)
	fund := buildBlocks(t, params, h1.chain.Genesis(), 1, aliceAddr)
	addBlocks(t, h1.chain, fund)
	addBlocks(t, h2.chain, fund)

	sign := func(amount, nonce uint64) chain.Transaction {
		tx, err := chain.SignTransaction(alice, bob, amount, nonce, genesis)
		if err != nil {
			t.Fatal(err)
		}
		return tx
	}
	badSig := sign(1, 0)
	badSig.Signature[10] ^= 0x40
	badSig.ID = badSig.ComputeID()
	unsigned := chain.Transaction{Sender: aliceAddr, Recipient: bob, Amount: 1, Nonce: 0}
	unsigned.ID = unsigned.ComputeID()
	gap := sign(1, 5)
	overspend := sign(101, 0)

	rejected := []struct {
		name   string
		tx     chain.Transaction
		reason string
	}{
		{"bad signature", badSig, "bad_signature"},
		{"unsigned", unsigned, "signature_required"},
	}
	for _, tc := range rejected {
		e := newEvilGossiper(t, h1)
		if err := e.txs.Publish(context.Background(), frameMsg(tc.tx.ID, tc.tx.AppendBinary(nil))); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 30*time.Second, tc.name+" rejected", func() bool { return h1.svc.Stats().TxsRejected[tc.reason] > 0 })
		waitFor(t, 30*time.Second, tc.name+": sender's score below zero", func() bool { return h1.node.Score(e.ID()) < 0 })
	}

	honest := newEvilGossiper(t, h1)
	before := h1.svc.Stats().TxsIgnored
	for _, tx := range []chain.Transaction{gap, overspend} {
		if err := honest.txs.Publish(context.Background(), frameMsg(tx.ID, tx.AppendBinary(nil))); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, 30*time.Second, "nonce gap and overspend ignored", func() bool { return h1.svc.Stats().TxsIgnored >= before+2 })
	if s := h1.node.Score(honest.ID()); s < 0 {
		t.Fatalf("score %v after state-dependent refusals, want no penalty", s)
	}
	good := sign(30, 0)
	if err := honest.txs.Publish(context.Background(), frameMsg(good.ID, good.AppendBinary(nil))); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "the valid transaction pending on both nodes", func() bool { return pending(h1, good.ID) && pending(h2, good.ID) })
	if h1.chain.PendingCount() != 1 || h2.chain.PendingCount() != 1 {
		t.Fatalf("pending %d and %d, want only the valid transaction", h1.chain.PendingCount(), h2.chain.PendingCount())
	}
	if st := h2.svc.Stats(); len(st.TxsRejected) != 0 {
		t.Fatalf("invalid transactions were forwarded: %+v", st.TxsRejected)
	}
	// Mined by h2, the payment moves the coins on both nodes.
	b := h2.mine()
	waitSameHead(t, []*testNode{h1, h2}, b.Hash, 30*time.Second)
	for _, n := range []*testNode{h1, h2} {
		a, err := n.chain.Account(aliceAddr)
		if err != nil || a.Balance != 70 || a.NextNonce != 1 {
			t.Fatalf("%s: alice %+v, %v", n, a, err)
		}
	}
}

// TestSignedPoolExchange: a late node of a signed network gets the signed
// pending transactions of its peer by pool exchange, several nonces per
// sender in order, each verified.
func TestSignedPoolExchange(t *testing.T) {
	params := signedParams(t, "signedpoolx")
	a := startTestNode(t, params, t.TempDir())
	genesis := a.chain.Genesis().Hash
	parent := a.chain.Genesis()
	var funding []*chain.Block
	senders := make([]string, 4)
	var txs []chain.Transaction
	for i := range senders {
		k, err := chain.GenerateKey()
		if err != nil {
			t.Fatal(err)
		}
		senders[i], _ = chain.AddressOf(k)
		funding = append(funding, buildBlocks(t, params, parent, 1, senders[i])...)
		parent = funding[len(funding)-1]
		for n := range uint64(3) {
			tx, err := chain.SignTransaction(k, a.node.ID().String(), 10, n, genesis)
			if err != nil {
				t.Fatal(err)
			}
			txs = append(txs, tx)
		}
	}
	addBlocks(t, a.chain, funding)
	for _, tx := range txs {
		if err := a.chain.AddTransaction(tx); err != nil {
			t.Fatal(err)
		}
	}
	a = a.restart() // no gossip cache: only pool exchange can bring them
	b := startTestNode(t, params, t.TempDir())
	addBlocks(t, b.chain, funding)
	connect(t, b, a)
	waitFor(t, 20*time.Second, "every signed transaction in the late node's pool", func() bool {
		for _, tx := range txs {
			if !pending(b, tx.ID) {
				return false
			}
		}
		return true
	})
	acc, err := b.chain.Account(senders[0])
	if err != nil || acc.Pending != 3 || acc.PendingNonce != 3 {
		t.Fatalf("account on the late node: %+v, %v", acc, err)
	}
}

// TestLedgerModesNeverConnect: an open and a signed network of the same
// name (the same topics, the same mDNS service) have different genesis
// blocks: their nodes disconnect at the status exchange and exchange
// nothing.
func TestLedgerModesNeverConnect(t *testing.T) {
	open := testParams(t, "twin", testDifficulty)
	signed := open
	signed.Ledger = chain.LedgerSigned
	a := startTestNode(t, open, t.TempDir())
	b := startTestNode(t, signed, t.TempDir())
	if a.chain.Genesis().Hash == b.chain.Genesis().Hash {
		t.Fatal("one genesis for both ledger modes")
	}
	addBlocks(t, a.chain, buildBlocks(t, open, a.chain.Genesis(), 5, "a"))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := b.node.Connect(ctx, a.node.Addrs()[0]); err != nil {
		t.Fatalf("connect: %v", err)
	}
	waitFor(t, 30*time.Second, "peer of the other ledger mode disconnected", func() bool {
		return a.svc.Stats().PeersWrongNetwork+b.svc.Stats().PeersWrongNetwork > 0 &&
			!isConnected(a, b) && !isConnected(b, a)
	})
	if h := b.head().Height; h != 1 {
		t.Fatalf("the signed node is at height %d, want 1", h)
	}
}
