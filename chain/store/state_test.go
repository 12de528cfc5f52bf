package store

import (
	"errors"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/gossipchain/gossipchain/chain"
	"github.com/gossipchain/gossipchain/chain/chaintest"
	"github.com/gossipchain/gossipchain/chain/smt"
)

// replayRoot returns the root of a map built from scratch, in memory, of
// the accounts of m.
func replayRoot(t testing.TB, m ledgerModel) chain.Hash {
	t.Helper()
	var changes []smt.Change
	for addr, a := range m {
		if !a.isZero() {
			changes = append(changes, chain.StateChange(addr, a.balance, a.nonce))
		}
	}
	root, err := smt.Apply(smt.NewMemStore(), smt.Empty, changes)
	if err != nil {
		t.Fatal(err)
	}
	return chain.Hash(root)
}

// openSigned opens a fresh store of a signed network whose reward is
// reward.
func openSigned(t *testing.T, reward uint64) (chain.Params, Config, *Chain) {
	t.Helper()
	p := chaintest.SignedParams(t)
	p.Reward = reward
	cfg := testConfig(t, p)
	return p, cfg, openChain(t, cfg)
}

// checkProof checks the proof of addr at the block of hash: it verifies
// against the state root the store recorded for the block, which is
// want, and proves want's account of addr.
func checkProof(t testing.TB, c *Chain, addr string, hash, root chain.Hash, want acct) {
	t.Helper()
	pr, err := c.AccountProof(addr, hash)
	if err != nil {
		t.Fatal(err)
	}
	if pr.StateRoot != root || pr.Hash != hash || len(pr.Header) != chain.HeaderSize {
		t.Fatalf("proof of %s at %s: root %s, block %s, %d-byte header; want root %s", addr, hash, pr.StateRoot, pr.Hash, len(pr.Header), root)
	}
	if got := (acct{pr.Balance, pr.NextNonce}); got != want {
		t.Fatalf("proof of %s at %d: account %+v, want %+v", addr, pr.Height, got, want)
	}
	key := smt.Hash(chain.AccountKey(addr))
	var value *smt.Hash
	if !want.isZero() {
		v := smt.Hash(chain.AccountValueHash(want.balance, want.nonce))
		value = &v
	}
	if err := smt.Verify(smt.Hash(root), key, value, pr.Proof); err != nil {
		t.Fatalf("proof of %s at %d does not verify: %v", addr, pr.Height, err)
	}
	// Forgeries: another account, the other kind of claim, a changed byte.
	other := smt.Hash(chain.AccountValueHash(want.balance+1, want.nonce))
	if smt.Verify(smt.Hash(root), key, &other, pr.Proof) == nil {
		t.Fatalf("proof of %s at %d verifies balance %d too", addr, pr.Height, want.balance+1)
	}
	if value != nil && smt.Verify(smt.Hash(root), key, nil, pr.Proof) == nil {
		t.Fatalf("inclusion proof of %s at %d verifies an absence", addr, pr.Height)
	}
	forged := append([]byte(nil), pr.Proof...)
	forged[len(forged)-1] ^= 1
	if err := smt.Verify(smt.Hash(root), key, value, forged); !errors.Is(err, smt.ErrBadProof) {
		t.Fatalf("a proof of %s with its last byte changed: %v, want ErrBadProof", addr, err)
	}
}

// checkStateRoot checks that the head's recorded state root is the root
// of m, the replay of the main chain from the genesis, and that the proof
// of each of addrs verifies against it.
func checkStateRoot(t testing.TB, c *Chain, m ledgerModel, addrs []string) {
	t.Helper()
	head := c.Head()
	root := replayRoot(t, m)
	for _, a := range addrs {
		checkProof(t, c, a, head.Hash, root, m[a])
	}
}

// TestAccountProof builds a funded signed chain with payments and checks,
// at every block, that the store's state root is the one chaintest gave
// the block, and that the proofs of the users and of an address never used
// verify against it with the accounts chaintest tracked, before and after
// the blocks acknowledged one at a time are committed, and after
// reopening.
func TestAccountProof(t *testing.T) {
	p, cfg, c := openSigned(t, 50)
	alice, aliceAddr := chaintest.Key(t, "alice")
	bob, bobAddr := chaintest.Key(t, "bob")
	_, carolAddr := chaintest.Key(t, "carol")
	_, unused := chaintest.Key(t, "nobody")
	addrs := []string{aliceAddr, bobAddr, carolAddr, unused}
	g := c.Genesis()
	blocks := chaintest.Run{Miner: chaintest.Pay(aliceAddr, bobAddr)}.Blocks(t, &p, g, 4)
	blocks = append(blocks, chaintest.NextBlock(t, &p, blocks[3], carolAddr,
		signedTx(t, c, alice, bobAddr, 30, 0), signedTx(t, c, bob, carolAddr, 70, 0)))
	// bob pays back all he has: his balance is zero, his nonce is not.
	blocks = append(blocks, chaintest.NextBlock(t, &p, blocks[4], aliceAddr, signedTx(t, c, bob, aliceAddr, 60, 1)))
	mustAddAll(t, c, blocks)

	check := func() {
		t.Helper()
		for _, b := range append([]*chain.Block{g}, blocks...) {
			root, ok := chaintest.StateRootAt(b.Hash)
			if !ok || root != b.StateRoot {
				t.Fatalf("block %d: chaintest root %s (%v), the block states %s", b.Index, root, ok, b.StateRoot)
			}
			for _, a := range addrs {
				want, _ := chaintest.AccountAt(b.Hash, a)
				checkProof(t, c, a, b.Hash, root, acct{want.Balance, want.Nonce})
			}
		}
	}
	if c.pend == nil {
		t.Fatal("the single blocks are not pending: the test checks no pending node")
	}
	check()
	c.mu.Lock()
	err := c.flushPendingLocked()
	c.mu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	check()
	c.Close()
	c = openChain(t, cfg)
	check()

	side := chaintest.NextBlock(t, &p, blocks[4], carolAddr)
	if res := mustAdd(t, c, side); res.Status != SideBranch {
		t.Fatalf("status %s", res.Status)
	}
	if _, err := c.AccountProof(aliceAddr, side.Hash); !errors.Is(err, chain.ErrNotFound) {
		t.Fatalf("a proof at a side block: %v, want ErrNotFound", err)
	}
	if _, err := c.AccountProof("gossipchain:testnet", g.Hash); !errors.Is(err, chain.ErrNotAddress) {
		t.Fatalf("a proof of no address: %v, want ErrNotAddress", err)
	}
	open := newTestChain(t, chaintest.Difficulty)
	if _, err := open.AccountProof(aliceAddr, open.Genesis().Hash); !errors.Is(err, chain.ErrNotSigned) {
		t.Fatalf("a proof on an open network: %v, want ErrNotSigned", err)
	}
}

// TestStateRootRule checks that a block stating another state root is
// refused with bad_state_root and changes nothing, on a signed network,
// and that an open network's blocks state the empty map's root, and that
// a mined template is valid: the root it states is the one chaintest
// computes on its own.
func TestStateRootRule(t *testing.T) {
	open := newTestChain(t, chaintest.Difficulty)
	op := open.Params()
	_, minerAddr := chaintest.Key(t, "miner")
	b := chaintest.NewBlock(&op, open.Genesis(), minerAddr)
	b.StateRoot[0] = 1
	chaintest.Mine(t, b, b.Bits)
	if _, err := open.AddBlock(b); chain.RuleCode(err) != chain.ErrBadStateRoot {
		t.Fatalf("an open network's block with a state root: %v, want bad_state_root", err)
	}

	p := chaintest.SignedParams(t)
	c := openChain(t, testConfig(t, p))
	alice, aliceAddr := chaintest.Key(t, "alice")
	_, bobAddr := chaintest.Key(t, "bob")
	b2 := chaintest.NextBlock(t, &p, c.Genesis(), aliceAddr)
	mustAdd(t, c, b2)
	if err := c.AddTransaction(signedTx(t, c, alice, bobAddr, 1, 0)); err != nil {
		t.Fatal(err)
	}
	tmpl := c.BlockTemplate(minerAddr)
	chaintest.Mine(t, tmpl, tmpl.Bits)
	if root, ok := chaintest.StateRootAt(tmpl.Hash); !ok || root != tmpl.StateRoot || root == (chain.Hash{}) {
		t.Fatalf("template states %s, chaintest computes %s (%v)", tmpl.StateRoot, root, ok)
	}
	bad := chaintest.CloneBlock(tmpl)
	bad.StateRoot[31] ^= 1
	chaintest.Mine(t, bad, bad.Bits)
	if _, err := c.AddBlock(bad); chain.RuleCode(err) != chain.ErrBadStateRoot {
		t.Fatalf("a block with another state root: %v, want bad_state_root", err)
	}
	if c.Head().Hash != b2.Hash {
		t.Fatalf("head %s, want %s", c.Head().Hash, b2.Hash)
	}
	wantAccount(t, c, aliceAddr, p.Reward, 0)
	mustAdd(t, c, tmpl)
	wantAccount(t, c, aliceAddr, p.Reward-1, 1)
}

// TestStateBuiltOnOpen opens a signed store whose account-state buckets
// are missing, as one written before they existed, and checks that the
// map Open builds from the accounts and the undo data gives every
// main-chain block the root chaintest gave it, and proofs that verify.
func TestStateBuiltOnOpen(t *testing.T) {
	p, cfg, c := openSigned(t, 20)
	alice, aliceAddr := chaintest.Key(t, "alice")
	_, bobAddr := chaintest.Key(t, "bob")
	nonce := uint64(0)
	blocks := chaintest.Run{Miner: chaintest.Pay(aliceAddr), Txs: func(i int) []chain.Transaction {
		if i == 0 {
			return nil
		}
		nonce++
		return []chain.Transaction{signedTx(t, c, alice, bobAddr, 3, nonce-1)}
	}}.Blocks(t, &p, c.Genesis(), 6)
	if _, _, err := c.AddBlocks(blocks); err != nil {
		t.Fatal(err)
	}
	c.Close()
	db, err := bolt.Open(cfg.Path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		if err := tx.DeleteBucket(bucketStateNodes); err != nil {
			return err
		}
		return tx.DeleteBucket(bucketStateRoots)
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	c = openChain(t, cfg)
	for _, b := range blocks {
		for _, a := range []string{aliceAddr, bobAddr} {
			want, _ := chaintest.AccountAt(b.Hash, a)
			checkProof(t, c, a, b.Hash, b.StateRoot, acct{want.Balance, want.Nonce})
		}
	}
	mustAdd(t, c, chaintest.NextBlock(t, &p, blocks[len(blocks)-1], bobAddr))
}
