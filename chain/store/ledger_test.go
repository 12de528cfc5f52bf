package store

import (
	"errors"
	"testing"

	"github.com/gossipchain/gossipchain/chain"
	"github.com/gossipchain/gossipchain/chain/chaintest"
)

func TestSignedLedgerBasics(t *testing.T) {
	p := chaintest.SignedParams(t)
	p.Reward = 50
	c := openChain(t, testConfig(t, p))
	alice, aliceAddr := chaintest.Key(t, "alice")
	_, bobAddr := chaintest.Key(t, "bob")

	b2 := chaintest.NextBlock(t, &p, c.Genesis(), aliceAddr)
	mustAdd(t, c, b2)
	wantAccount(t, c, aliceAddr, 50, 0)

	// Unsigned, wrong nonce, overspend.
	chaintest.WantErr(t, c.AddTransaction(chaintest.Tx(aliceAddr, bobAddr, 1, 0)), chain.ErrSignatureRequired)
	chaintest.WantErr(t, c.AddTransaction(signedTx(t, c, alice, bobAddr, 1, 1)), chain.ErrBadNonce)
	chaintest.WantErr(t, c.AddTransaction(signedTx(t, c, alice, bobAddr, 51, 0)), chain.ErrInsufficientBalance)
	bad := signedTx(t, c, alice, bobAddr, 1, 0)
	bad.Signature[5] ^= 1
	bad.ID = bad.ComputeID()
	chaintest.WantErr(t, c.AddTransaction(bad), chain.ErrBadSignature)

	tx0 := signedTx(t, c, alice, bobAddr, 20, 0)
	tx1 := signedTx(t, c, alice, bobAddr, 20, 1)
	if err := c.AddTransaction(tx0); err != nil {
		t.Fatal(err)
	}
	if err := c.AddTransaction(tx1); err != nil {
		t.Fatal(err)
	}
	// The pending spend counts: 40 of 50 are pending.
	chaintest.WantErr(t, c.AddTransaction(signedTx(t, c, alice, bobAddr, 11, 2)), chain.ErrInsufficientBalance)
	// No replacement without a higher fee.
	chaintest.WantErr(t, c.AddTransaction(signedTx(t, c, alice, bobAddr, 5, 1)), chain.ErrBadNonce)
	a, _ := c.Account(aliceAddr)
	if a.Pending != 2 || a.PendingNonce != 2 || a.PendingSpend != 40 {
		t.Fatalf("account %+v", a)
	}
	if got := chaintest.IDsOf(c.AccountPending(aliceAddr)); len(got) != 2 || got[0] != tx0.ID || got[1] != tx1.ID {
		t.Fatalf("AccountPending %v", got)
	}

	b3 := chaintest.NextBlock(t, &p, b2, bobAddr, tx0, tx1)
	mustAdd(t, c, b3)
	wantAccount(t, c, aliceAddr, 10, 2)
	wantAccount(t, c, bobAddr, 90, 0)
	if c.PendingCount() != 0 {
		t.Fatalf("pending %d", c.PendingCount())
	}
	// Replays on the same network.
	chaintest.WantErr(t, c.AddTransaction(tx0), chain.ErrKnownTransaction)
	b4 := chaintest.NextBlock(t, &p, b3, bobAddr, tx0)
	_, err := c.AddBlock(b4)
	if !errors.Is(err, chain.ErrDuplicateTx) && !errors.Is(err, chain.ErrBadNonce) {
		t.Fatalf("replayed block: %v", err)
	}

	page, err := c.AccountTransactions(aliceAddr, "", 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Transactions) != 2 || page.Transactions[0].Tx.ID != tx1.ID || page.Transactions[1].Tx.ID != tx0.ID || page.Next == "" {
		t.Fatalf("page 1: %+v", page)
	}
	page, err = c.AccountTransactions(aliceAddr, page.Next, 2)
	if err != nil || len(page.Transactions) != 1 || page.Transactions[0].Tx.ID != b2.Reward().ID || page.Next != "" {
		t.Fatalf("page 2: %+v, %v", page, err)
	}
}
