package chain

import (
	"crypto/sha256"
	"errors"
	"testing"

	"github.com/libp2p/go-libp2p/core/crypto"
)

// signedParams returns the parameters of a signed test network at the test
// difficulty.
func signedParams(t testing.TB) Params {
	t.Helper()
	p := testParams(t, testDifficulty)
	p.Ledger = LedgerSigned
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	return p
}

// testKey returns a deterministic key for name and its address.
func testKey(t testing.TB, name string) (crypto.PrivKey, string) {
	t.Helper()
	seed := sha256.Sum256([]byte("gossipchain test key " + name))
	k, err := crypto.UnmarshalEd25519PrivateKey(ed25519Expand(seed[:]))
	if err != nil {
		t.Fatal(err)
	}
	addr, err := AddressOf(k)
	if err != nil {
		t.Fatal(err)
	}
	return k, addr
}

// signedTx signs a payment from key for the chain's network.
func signedTx(t testing.TB, c *Chain, key crypto.PrivKey, to string, amount, nonce uint64) Transaction {
	t.Helper()
	tx, err := SignTransaction(key, to, amount, nonce, c.Genesis().Hash)
	if err != nil {
		t.Fatal(err)
	}
	return tx
}

// wantAccount checks the confirmed balance and next nonce of addr.
func wantAccount(t testing.TB, c *Chain, addr string, balance, nonce uint64) {
	t.Helper()
	a, err := c.Account(addr)
	if err != nil {
		t.Fatal(err)
	}
	if a.Balance != balance || a.NextNonce != nonce {
		t.Fatalf("account %s: balance %d, next nonce %d; want %d, %d", addr[len(addr)-6:], a.Balance, a.NextNonce, balance, nonce)
	}
}

func TestSignedLedgerBasics(t *testing.T) {
	p := signedParams(t)
	p.Reward = 50
	c := openChain(t, testConfig(t, p))
	alice, aliceAddr := testKey(t, "alice")
	_, bobAddr := testKey(t, "bob")

	b2 := nextBlock(t, &p, c.Genesis(), aliceAddr)
	mustAdd(t, c, b2)
	wantAccount(t, c, aliceAddr, 50, 0)

	// Unsigned, wrong nonce, overspend.
	wantErr(t, c.AddTransaction(makeTx(aliceAddr, bobAddr, 1, 0)), ErrSignatureRequired)
	wantErr(t, c.AddTransaction(signedTx(t, c, alice, bobAddr, 1, 1)), ErrBadNonce)
	wantErr(t, c.AddTransaction(signedTx(t, c, alice, bobAddr, 51, 0)), ErrInsufficientBalance)
	bad := signedTx(t, c, alice, bobAddr, 1, 0)
	bad.Signature[5] ^= 1
	bad.ID = bad.ComputeID()
	wantErr(t, c.AddTransaction(bad), ErrBadSignature)

	tx0 := signedTx(t, c, alice, bobAddr, 20, 0)
	tx1 := signedTx(t, c, alice, bobAddr, 20, 1)
	if err := c.AddTransaction(tx0); err != nil {
		t.Fatal(err)
	}
	if err := c.AddTransaction(tx1); err != nil {
		t.Fatal(err)
	}
	// The pending spend counts: 40 of 50 are pending.
	wantErr(t, c.AddTransaction(signedTx(t, c, alice, bobAddr, 11, 2)), ErrInsufficientBalance)
	// No replacement.
	wantErr(t, c.AddTransaction(signedTx(t, c, alice, bobAddr, 5, 1)), ErrBadNonce)
	a, _ := c.Account(aliceAddr)
	if a.Pending != 2 || a.PendingNonce != 2 || a.PendingSpend != 40 {
		t.Fatalf("account %+v", a)
	}
	if got := idsOf(c.AccountPending(aliceAddr)); len(got) != 2 || got[0] != tx0.ID || got[1] != tx1.ID {
		t.Fatalf("AccountPending %v", got)
	}

	b3 := nextBlock(t, &p, b2, bobAddr, tx0, tx1)
	mustAdd(t, c, b3)
	wantAccount(t, c, aliceAddr, 10, 2)
	wantAccount(t, c, bobAddr, 90, 0)
	if c.PendingCount() != 0 {
		t.Fatalf("pending %d", c.PendingCount())
	}
	// Replays on the same network.
	wantErr(t, c.AddTransaction(tx0), ErrKnownTransaction)
	b4 := nextBlock(t, &p, b3, bobAddr, tx0)
	_, err := c.AddBlock(b4)
	if !errors.Is(err, ErrDuplicateTx) && !errors.Is(err, ErrBadNonce) {
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
