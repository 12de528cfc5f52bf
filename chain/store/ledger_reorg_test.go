package store

import (
	"bytes"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"

	"github.com/libp2p/go-libp2p/core/crypto"

	"github.com/gossipchain/gossipchain/chain"
	"github.com/gossipchain/gossipchain/chain/chaintest"
)

// syncBuffer is a log sink safe for concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestReorgDropsPooledOverspend: alice (50) pays bob 30 in a block and has
// a payment of 15 to carol pending; a heavier branch where alice paid dave
// 45 instead wins. The returned payment to bob (its nonce is used) and the
// pending one to carol (5 left) leave the pool, each with a logged reason.
func TestReorgDropsPooledOverspend(t *testing.T) {
	p := chaintest.SignedParams(t)
	p.Reward = 50
	cfg := testConfig(t, p)
	var logs syncBuffer
	cfg.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	c := openChain(t, cfg)
	alice, aliceAddr := chaintest.Key(t, "alice")
	_, bobAddr := chaintest.Key(t, "bob")
	_, carolAddr := chaintest.Key(t, "carol")
	_, daveAddr := chaintest.Key(t, "dave")
	_, minerAddr := chaintest.Key(t, "miner")

	b2 := chaintest.NextBlock(t, &p, c.Genesis(), aliceAddr)
	mustAdd(t, c, b2)
	toBob := signedTx(t, c, alice, bobAddr, 30, 0)
	toCarol := signedTx(t, c, alice, carolAddr, 15, 1)
	toDave := signedTx(t, c, alice, daveAddr, 45, 0)
	if err := c.AddTransaction(toBob); err != nil {
		t.Fatal(err)
	}
	if err := c.AddTransaction(toCarol); err != nil {
		t.Fatal(err)
	}
	a3 := chaintest.NextBlock(t, &p, b2, minerAddr, toBob)
	mustAdd(t, c, a3)
	if got := chaintest.IDsOf(c.Pending(0)); len(got) != 1 || got[0] != toCarol.ID {
		t.Fatalf("pending %v, want the payment to carol", got)
	}
	wantAccount(t, c, aliceAddr, 20, 1)

	// The other side: alice paid dave; two blocks outweigh one.
	x3 := chaintest.NextBlock(t, &p, b2, minerAddr, toDave)
	x4 := chaintest.NextBlock(t, &p, x3, minerAddr)
	mustAdd(t, c, x3)
	res := mustAdd(t, c, x4)
	if res.Status != Reorganized {
		t.Fatalf("status %s", res.Status)
	}
	wantAccount(t, c, aliceAddr, 5, 1)
	wantAccount(t, c, daveAddr, 45, 0)
	wantAccount(t, c, bobAddr, 0, 0)
	if n := c.PendingCount(); n != 0 {
		t.Fatalf("%d pending, want none: %v", n, c.Pending(0))
	}
	dropped := map[chain.Hash]string{}
	for _, d := range res.Dropped {
		dropped[d.Tx.ID] = d.Reason
	}
	if !strings.Contains(dropped[toBob.ID], "nonce 0") || !strings.Contains(dropped[toCarol.ID], "has 5, less than the amount 15") {
		t.Fatalf("dropped %v", res.Dropped)
	}
	for _, id := range []chain.Hash{toBob.ID, toCarol.ID} {
		if !strings.Contains(logs.String(), `msg="pending transaction dropped" tx=`+id.String()) {
			t.Errorf("no log line for %s in:\n%s", id, logs.String())
		}
	}
	// And after a restart nothing comes back.
	c.Close()
	c2 := openChain(t, cfg)
	if n := c2.PendingCount(); n != 0 {
		t.Fatalf("%d pending after reopening", n)
	}
	wantAccount(t, c2, aliceAddr, 5, 1)
}

// ledgerModel is the test's own replay of the ledger rules.
type ledgerModel map[string]acct

func (m ledgerModel) clone() ledgerModel {
	out := ledgerModel{}
	for k, v := range m {
		out[k] = v
	}
	return out
}

// apply replays b, which must be valid on m.
func (m ledgerModel) apply(t testing.TB, b *chain.Block) {
	t.Helper()
	for _, tx := range b.Transactions {
		if !tx.IsReward() {
			from := m[tx.Sender]
			if from.nonce != tx.Nonce || from.balance < tx.Amount {
				t.Fatalf("model: block %d spends from %+v: %+v", b.Index, from, tx)
			}
			from.balance -= tx.Amount
			from.nonce++
			m[tx.Sender] = from
		}
		to := m[tx.Recipient]
		to.balance += tx.Amount
		m[tx.Recipient] = to
	}
}

// TestSignedReorgProperty grows a tree of blocks with random payments,
// each block on a random recent block, and checks after every block that
// every account the chain reports equals a replay of its main chain from
// the genesis, also after reopening the store. Invalid blocks (an
// overspend on their branch) are refused and change nothing.
func TestSignedReorgProperty(t *testing.T) {
	for seed := range uint64(4) {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) { signedReorgProperty(t, seed) })
	}
}

func signedReorgProperty(t *testing.T, seed uint64) {
	p := chaintest.SignedParams(t)
	p.Reward = 100
	cfg := testConfig(t, p)
	c := openChain(t, cfg)
	rng := rand.New(rand.NewPCG(7, seed))
	const users = 5
	keys := make([]crypto.PrivKey, users)
	addrs := make([]string, users)
	for i := range keys {
		keys[i], addrs[i] = chaintest.Key(t, string(rune('a'+i)))
	}
	type node struct {
		b     *chain.Block
		state ledgerModel
	}
	nodes := []node{{c.Genesis(), ledgerModel{}}}
	reorgs, refused, submitted, dropped := 0, 0, 0, 0
	steps := 120
	if testing.Short() {
		steps = 40
	}
	for step := range steps {
		// A parent among the last few blocks made: forks and reorganisations.
		parent := nodes[max(0, len(nodes)-1-rng.IntN(4))]
		st := parent.state.clone()
		var txs []chain.Transaction
		invalid := rng.IntN(10) == 0
		for range rng.IntN(4) {
			i, j := rng.IntN(users), rng.IntN(users)
			from := st[addrs[i]]
			if from.balance == 0 {
				continue
			}
			amount := 1 + rng.Uint64N(from.balance)
			tx, err := chain.SignTransaction(keys[i], addrs[j], amount, from.nonce, c.Genesis().Hash)
			if err != nil {
				t.Fatal(err)
			}
			txs = append(txs, tx)
			st.apply(t, &chain.Block{Index: parent.b.Index + 1, Transactions: []chain.Transaction{tx}})
		}
		if invalid {
			i := rng.IntN(users)
			from := st[addrs[i]]
			tx, _ := chain.SignTransaction(keys[i], addrs[(i+1)%users], from.balance+1, from.nonce, c.Genesis().Hash)
			txs = append(txs, tx)
		}
		b := chaintest.NewBlock(&p, parent.b, addrs[rng.IntN(users)], txs...)
		b.Timestamp += chain.Timestamp(rng.IntN(1000))
		chaintest.Seal(t, b)
		res, err := c.AddBlock(b)
		if invalid {
			if chain.RuleCode(err) != chain.ErrInsufficientBalance && !(err == nil && res.Status == SideBranch) {
				t.Fatalf("step %d: an overspending block: %v, %v", step, res.Status, err)
			}
			if err != nil {
				refused++
			}
			// A side block is checked against the accounts only when its
			// branch wins; it is then refused (below, it never wins: the
			// test does not build on it).
			continue
		}
		if err != nil {
			t.Fatalf("step %d: %v", step, err)
		}
		if res.Status == Reorganized {
			reorgs++
		}
		st.apply(t, &chain.Block{Transactions: []chain.Transaction{b.Transactions[len(b.Transactions)-1]}})
		nodes = append(nodes, node{b, st})
		checkReplay(t, c, addrs)
		if step%4 == 0 {
			checkHistory(t, c, addrs, 3)
		}
		// Payments to the pool, valid against it now; later blocks of the
		// test spend the same coins on other branches.
		for range rng.IntN(3) {
			i := rng.IntN(users)
			acc, err := c.Account(addrs[i])
			if err != nil {
				t.Fatal(err)
			}
			if acc.Balance <= acc.PendingSpend {
				continue
			}
			tx, err := chain.SignTransaction(keys[i], addrs[rng.IntN(users)], 1+rng.Uint64N(acc.Balance-acc.PendingSpend), acc.PendingNonce, c.Genesis().Hash)
			if err != nil {
				t.Fatal(err)
			}
			if err := c.AddTransaction(tx); err != nil {
				t.Fatalf("step %d: pool: %v", step, err)
			}
			submitted++
		}
		dropped += len(res.Dropped)
		checkPoolLedger(t, c, addrs)
	}
	if reorgs < 5 || refused == 0 || dropped == 0 {
		t.Fatalf("only %d reorganisations, %d refused blocks, %d dropped pending transactions", reorgs, refused, dropped)
	}
	t.Logf("%d reorganisations, %d refused blocks, %d payments submitted, %d dropped", reorgs, refused, submitted, dropped)
	c.Close()
	c = openChain(t, cfg)
	checkReplay(t, c, addrs)
	checkPoolLedger(t, c, addrs)
	checkHistory(t, c, addrs, 3)
}

// checkReplay compares every account with a replay of the main chain.
func checkReplay(t *testing.T, c *Chain, addrs []string) {
	t.Helper()
	m := ledgerModel{}
	if err := c.MainChain(2, 0, func(b *chain.Block) error { m.apply(t, b); return nil }); err != nil {
		t.Fatal(err)
	}
	for _, a := range addrs {
		want := m[a]
		wantAccount(t, c, a, want.balance, want.nonce)
	}
	// Nothing else has an account.
	if n := storedAccounts(c); n != len(m) {
		t.Fatalf("%d stored accounts, the replay has %d", n, len(m))
	}
	checkStateRoot(t, c, m, addrs)
}

// checkPoolLedger checks that every address's pending transactions
// continue its account: nonces from the next one without a gap, and a
// balance that covers them all.
func checkPoolLedger(t *testing.T, c *Chain, addrs []string) {
	t.Helper()
	total := 0
	for _, a := range addrs {
		acc, err := c.Account(a)
		if err != nil {
			t.Fatal(err)
		}
		var spend uint64
		for i, tx := range c.AccountPending(a) {
			if tx.Nonce != acc.NextNonce+uint64(i) {
				t.Fatalf("%s: pending nonce %d at position %d, the next is %d", a, tx.Nonce, i, acc.NextNonce)
			}
			spend += tx.Amount
			total++
		}
		if spend > acc.Balance || spend != acc.PendingSpend {
			t.Fatalf("%s: pending spend %d (account says %d), balance %d", a, spend, acc.PendingSpend, acc.Balance)
		}
	}
	if total != c.PendingCount() {
		t.Fatalf("%d pending by sender, %d in the pool", total, c.PendingCount())
	}
}
