package store

import (
	"os"
	"testing"

	"github.com/gossipchain/gossipchain/chain"
	"github.com/gossipchain/gossipchain/chain/chaintest"
)

// TestWriteFormat3Fixture writes testdata/store/format3.db, a signed
// network's store in format 3, when GOSSIPCHAIN_FORMAT3_FIXTURE names the
// file to write; see testdata/store/README.md.
func TestWriteFormat3Fixture(t *testing.T) {
	out := os.Getenv("GOSSIPCHAIN_FORMAT3_FIXTURE")
	if out == "" {
		t.Skip("GOSSIPCHAIN_FORMAT3_FIXTURE is not set")
	}
	p := chaintest.SignedParams(t)
	p.Reward = 50
	cfg := testConfig(t, p)
	c := openChain(t, cfg)
	alice, aliceAddr := chaintest.Key(t, "alice")
	_, bobAddr := chaintest.Key(t, "bob")
	_, carolAddr := chaintest.Key(t, "carol")
	_, daveAddr := chaintest.Key(t, "dave")
	_, erinAddr := chaintest.Key(t, "erin")
	_, minerAddr := chaintest.Key(t, "miner")

	// alice earns the reward of height 2, then pays bob 1 at each of the
	// heights 3 to 6.
	main := []*chain.Block{chaintest.NextBlock(t, &p, c.Genesis(), aliceAddr)}
	for n := range uint64(4) {
		main = append(main, chaintest.NextBlock(t, &p, main[len(main)-1], minerAddr, signedTx(t, c, alice, bobAddr, 1, n)))
	}
	mustAddAll(t, c, main)
	// A branch from height 4 where alice paid dave 2 with nonce 2 takes
	// over at height 7: heights 5 and 6 become a side branch, the payment
	// to bob of nonce 3 returns to the pool, that of nonce 2 is dropped.
	x5 := chaintest.NextBlock(t, &p, main[2], carolAddr, signedTx(t, c, alice, daveAddr, 2, 2))
	x6 := chaintest.NextBlock(t, &p, x5, carolAddr)
	x7 := chaintest.NextBlock(t, &p, x6, carolAddr)
	mustAddAll(t, c, []*chain.Block{x5, x6})
	if res := mustAdd(t, c, x7); res.Status != Reorganized {
		t.Fatalf("status %s", res.Status)
	}
	if err := c.AddTransaction(signedTx(t, c, alice, erinAddr, 3, 4)); err != nil {
		t.Fatal(err)
	}
	for _, a := range []string{aliceAddr, bobAddr, carolAddr, daveAddr, minerAddr} {
		acct, err := c.Account(a)
		t.Logf("account %s: %+v %v", a, acct, err)
	}
	for _, tx := range c.Pending(0) {
		t.Logf("pending %s nonce %d to %s", tx.ID, tx.Nonce, tx.Recipient)
	}
	for _, b := range append(main, x5, x6, x7) {
		t.Logf("block %d %s", b.Index, b.Hash)
	}
	c.Close()
	raw, err := os.ReadFile(cfg.Path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(out, raw, 0o644); err != nil {
		t.Fatal(err)
	}
}
