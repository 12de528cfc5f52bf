package store

import (
	"fmt"
	"testing"

	"github.com/gossipchain/gossipchain/chain"
	"github.com/gossipchain/gossipchain/chain/chaintest"
)

// TestUnfundedNotVerified: on a signed network, a transaction its sender
// cannot pay for, or whose nonce does not continue its sender's, is refused
// before its signature is verified, one by one and in a batch; a transaction
// of the main chain offered again is known, not a bad nonce; and a funded
// transaction is verified once and admitted.
func TestUnfundedNotVerified(t *testing.T) {
	p := chaintest.SignedParams(t)
	p.Reward = 100
	c := openChain(t, testConfig(t, p))
	alice, aliceAddr := chaintest.Key(t, "alice")
	_, bob := chaintest.Key(t, "bob")
	fund := chaintest.NextBlock(t, &p, c.Genesis(), aliceAddr)
	mustAdd(t, c, fund)

	type refusal struct {
		tx   chain.Transaction
		code chain.ErrorCode
	}
	var refused []refusal
	for i := range 100 {
		key, _ := chaintest.Key(t, fmt.Sprint("fresh ", i))
		refused = append(refused,
			refusal{signedTx(t, c, key, bob, 1, 0), chain.ErrInsufficientBalance},
			refusal{signedTx(t, c, key, bob, 1, 1), chain.ErrBadNonce})
	}
	forged := func(amount, nonce uint64) chain.Transaction {
		tx := signedTx(t, c, alice, bob, amount, nonce)
		tx.Signature[3] ^= 1 // never checked
		tx.ID = tx.ComputeID()
		return tx
	}
	refused = append(refused, refusal{forged(101, 0), chain.ErrInsufficientBalance}, refusal{forged(1, 7), chain.ErrBadNonce})

	before := SignaturesVerified()
	batch := make([]chain.Transaction, len(refused))
	for i, r := range refused {
		chaintest.WantErr(t, c.AddTransactionFrom(r.tx, "peer"), r.code)
		batch[i] = r.tx
	}
	for i, err := range c.AddTransactions(batch, "peer") {
		chaintest.WantErr(t, err, refused[i].code)
	}
	if n := SignaturesVerified() - before; n != 0 {
		t.Fatalf("%d signatures verified for %d unfundable transactions, want none", n, 2*len(refused))
	}

	// Funded: verified once, then admitted; a second of the same sender in
	// one batch continues the first.
	tx0, tx1 := signedTx(t, c, alice, bob, 40, 0), signedTx(t, c, alice, bob, 60, 1)
	before = SignaturesVerified()
	for i, err := range c.AddTransactions([]chain.Transaction{tx0, tx1, forged(1, 1)}, "") {
		if want := []error{nil, nil, chain.ErrBadNonce}[i]; want == nil && err != nil {
			t.Fatalf("funded transaction %d: %v", i, err)
		} else if want != nil {
			chaintest.WantErr(t, err, want) // nonce 1 is pending already
		}
	}
	if n := SignaturesVerified() - before; n != 2 {
		t.Fatalf("%d signatures verified for 2 funded transactions, want 2", n)
	}
	chaintest.WantErr(t, c.AddTransaction(signedTx(t, c, alice, bob, 1, 2)), chain.ErrInsufficientBalance)

	// Mined, tx0 is known; a forgery of its nonce is a bad nonce.
	mustAdd(t, c, chaintest.NextBlock(t, &p, fund, bob, tx0, tx1))
	chaintest.WantErr(t, c.AddTransaction(tx0), chain.ErrKnownTransaction)
	chaintest.WantErr(t, c.AddTransaction(forged(40, 0)), chain.ErrBadNonce)
	wantAccount(t, c, aliceAddr, 0, 2)
}
