package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/gossipchain/gossipchain/api/client"
	"github.com/gossipchain/gossipchain/chain"
)

// This file tests signed ledgers with real processes: the wallet
// subcommands against a node, a double spend across a partition, and the
// replay of a signed transaction.

// signedOpts are the options of a node of a signed network.
func signedOpts(network string, extra ...string) nodeOptions {
	return nodeOptions{network: network, difficulty: 4, extra: append([]string{"--ledger", "signed"}, extra...)}
}

func (n *node) ledgerAccount(addr string) (client.Account, error) {
	var a client.Account
	code, err := n.getJSON("/accounts/"+addr, &a)
	if err == nil && code != http.StatusOK {
		err = fmt.Errorf("GET /accounts/%s: HTTP %d", addr, code)
	}
	return a, err
}

// waitBalance waits until addr's balance on every node is want.
func waitBalance(t *testing.T, addr string, want uint64, nodes ...*node) {
	t.Helper()
	waitFor(t, fmt.Sprintf("balance of %s is %d on every node", addr, want), waitTimeout, func() error {
		for i, n := range nodes {
			a, err := n.ledgerAccount(addr)
			if err != nil {
				return err
			}
			if a.Balance != want {
				return fmt.Errorf("node %d: balance %d", i, a.Balance)
			}
		}
		return nil
	})
}

// waitPending waits until every transaction of ids is pending on every node.
func waitPending(t *testing.T, ids []chain.Hash, nodes ...*node) {
	t.Helper()
	waitFor(t, fmt.Sprintf("transactions %v pending on every node", ids), waitTimeout, func() error {
		for i, n := range nodes {
			for _, id := range ids {
				if st, err := n.txStatus(id); err != nil || st != "pending" {
					return fmt.Errorf("node %d: transaction %s is %q (%v)", i, id, st, err)
				}
			}
		}
		return nil
	})
}

// blockReward is the block reward of the node's network.
func (n *node) blockReward() uint64 {
	n.t.Helper()
	st, err := n.status()
	if err != nil || st.Params.Reward == 0 {
		n.t.Fatalf("GET /status params.reward: %+v %v", st, err)
	}
	return st.Params.Reward
}

var (
	addressLine = regexp.MustCompile(`(?m)^address +(12D3KooW\w+)$`)
	txIDLine    = regexp.MustCompile(`(?m)^id +([0-9a-f]{64})$`)
)

// newWalletKey runs gossipchain key new --out path and returns the address.
func newWalletKey(t *testing.T, path string) string {
	t.Helper()
	out, errOut, code := gossipchain(t, "key", "new", "--out", path)
	m := addressLine.FindStringSubmatch(out)
	if code != 0 || m == nil {
		t.Fatalf("key new --out %s: exit %d\n%s%s", path, code, out, errOut)
	}
	return m[1]
}

// walletSend runs gossipchain send and returns the transaction id.
func walletSend(t *testing.T, n *node, key, to string, amount uint64) chain.Hash {
	t.Helper()
	out, errOut, code := gossipchain(t, "send", "--key", key, "--to", to, "--amount", fmt.Sprint(amount), "--node", n.url)
	m := txIDLine.FindStringSubmatch(out)
	if code != 0 || m == nil {
		t.Fatalf("send --key %s --to %s --amount %d: exit %d\n%s%s", key, to, amount, code, out, errOut)
	}
	id, err := chain.ParseHash(m[1])
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// TestWalletEndToEnd creates keys with gossipchain key new, mines to one of
// them, pays another with gossipchain send (two payments in a row: the
// second one's nonce counts the first, still pending), and spends a node's
// mining rewards with its identity key; every balance is read back from
// both nodes after the blocks are mined.
func TestWalletEndToEnd(t *testing.T) {
	dir := t.TempDir()
	alice := newWalletKey(t, filepath.Join(dir, "alice.key"))
	bob := newWalletKey(t, filepath.Join(dir, "bob.key"))
	if out, _, code := gossipchain(t, "key", "show", "--key", filepath.Join(dir, "alice.key")); code != 0 || strings.TrimSpace(out) != alice {
		t.Fatalf("key show: exit %d: %q, want %s", code, out, alice)
	}
	if _, errOut, code := gossipchain(t, "key", "new", "--out", filepath.Join(dir, "alice.key")); code == 0 || !strings.Contains(errOut, "already exists") {
		t.Fatalf("key new over an existing file: exit %d: %s", code, errOut)
	}

	a := startNode(t, signedOpts("wallet", "--miner-address", alice))
	b := startNode(t, signedOpts("wallet"))
	if err := b.register(a.multiaddr()); err != nil {
		t.Fatal(err)
	}
	r := a.blockReward()

	if _, errOut, code := gossipchain(t, "mine", "3", "--node", a.url); code != 0 {
		t.Fatalf("mine 3: exit %d: %s", code, errOut)
	}
	waitBalance(t, alice, 3*r, a, b)
	// Two payments in a row: the second is signed with the next nonce.
	tx1 := walletSend(t, a, filepath.Join(dir, "alice.key"), bob, 2)
	tx2 := walletSend(t, a, filepath.Join(dir, "alice.key"), bob, 1)
	acct, err := a.ledgerAccount(alice)
	if err != nil || acct.NextNonce != 0 || acct.Pending != 2 || acct.PendingNonce != 2 || acct.PendingSpend != 3 {
		t.Fatalf("alice with two pending payments: %+v %v", acct, err)
	}

	// Node b's rewards go to its peer ID; its identity key spends them.
	bKey := filepath.Join(b.opts.datadir, "identity.key")
	bID := b.mustStatus().PeerID
	if out, _, code := gossipchain(t, "key", "show", "--key", bKey); code != 0 || strings.TrimSpace(out) != bID {
		t.Fatalf("key show of node b's identity key: exit %d: %q, want %s", code, out, bID)
	}
	waitPending(t, []chain.Hash{tx1, tx2}, b)
	b.mine() // alice's two payments and b's reward
	waitBalance(t, bob, 3, a, b)
	waitBalance(t, bID, r, a, b)
	for _, id := range []chain.Hash{tx1, tx2} {
		if st, err := a.txStatus(id); err != nil || st != "confirmed" {
			t.Fatalf("transaction %s: %q %v", id, st, err)
		}
	}
	tx3 := walletSend(t, b, bKey, bob, r)
	waitPending(t, []chain.Hash{tx3}, a)
	a.mine()
	waitBalance(t, bob, 3+r, a, b)
	waitBalance(t, bID, 0, a, b)
	waitBalance(t, alice, 4*r-3, a, b)
	if st, err := b.txStatus(tx3); err != nil || st != "confirmed" {
		t.Fatalf("transaction %s: %q %v", tx3, st, err)
	}
	acct, err = b.ledgerAccount(alice)
	if err != nil || acct.NextNonce != 2 || acct.Pending != 0 || acct.PendingNonce != 2 {
		t.Fatalf("alice after her payments were mined: %+v %v", acct, err)
	}

	// The history of bob, newest first, in pages of one.
	var ids []chain.Hash
	cursor := ""
	for range 10 {
		var page client.AccountHistory
		path := "/accounts/" + bob + "/transactions?limit=1"
		if cursor != "" {
			path += "&cursor=" + cursor
		}
		if code, err := a.getJSON(path, &page); err != nil || code != http.StatusOK || len(page.Transactions) > 1 {
			t.Fatalf("GET %s: %d %+v %v", path, code, page, err)
		}
		for _, e := range page.Transactions {
			ids = append(ids, e.Transaction.ID)
		}
		if cursor = page.NextCursor; cursor == "" {
			break
		}
	}
	if len(ids) != 3 || ids[0] != tx3 || !(ids[1] == tx1 && ids[2] == tx2 || ids[1] == tx2 && ids[2] == tx1) {
		t.Fatalf("bob's history %v, want %s then %s and %s", ids, tx3, tx1, tx2)
	}

	// Clear errors.
	open := startNode(t, nodeOptions{network: "wallet"})
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"send", "--key", filepath.Join(dir, "none.key"), "--to", bob, "--amount", "1", "--node", a.url}, 1, "does not exist"},
		{[]string{"send", "--key", filepath.Join(a.opts.datadir, "chain.db"), "--to", bob, "--amount", "1", "--node", a.url}, 1, "not a gossipchain key"},
		{[]string{"send", "--key", filepath.Join(dir, "bob.key"), "--to", "bob", "--amount", "1", "--node", a.url}, 1, "address"},
		{[]string{"send", "--key", filepath.Join(dir, "bob.key"), "--to", alice, "--amount", "0", "--node", a.url}, 2, "positive integer"},
		{[]string{"send", "--key", filepath.Join(dir, "bob.key"), "--to", alice, "--amount", "1000000", "--node", a.url}, 1, "balance"},
		{[]string{"send", "--key", filepath.Join(dir, "bob.key"), "--to", alice, "--amount", "1", "--node", fmt.Sprintf("http://127.0.0.1:%d", freePort(t))}, 1, "cannot reach"},
		{[]string{"send", "--key", filepath.Join(dir, "bob.key"), "--to", alice, "--amount", "1", "--node", open.url}, 1, "open ledger"},
		{[]string{"send", "--to", alice, "--amount", "1", "--node", a.url}, 2, "--key"},
		{[]string{"key", "show"}, 2, "--key"},
	} {
		out, errOut, code := gossipchain(t, c.args...)
		if code != c.code || !strings.Contains(errOut, c.want) {
			t.Errorf("gossipchain %s: exit %d (want %d): %s%s (want %q)", strings.Join(c.args, " "), code, c.code, out, errOut, c.want)
		}
	}

	// The tutorial's unsigned transaction says how to make a signed one.
	var e client.ErrorBody
	code, err := a.do(http.MethodPost, "/transactions/new", `{"sender": "alice", "recipient": "bob", "amount": 5}`, &e)
	if err != nil || code != http.StatusBadRequest || !strings.Contains(e.Error, "gossipchain send") || !strings.Contains(e.Error, "POST /transactions") {
		t.Fatalf("POST /transactions/new on a signed network: %d %q %v", code, e.Error, err)
	}
}

// signedTx returns the JSON of a transaction as GET /transactions/{id}
// serves it.
func (n *node) signedTx(id chain.Hash) string {
	n.t.Helper()
	var out struct {
		Transaction json.RawMessage `json:"transaction"`
	}
	if code, err := n.getJSON("/transactions/"+id.String(), &out); err != nil || code != http.StatusOK {
		n.t.Fatalf("GET /transactions/%s: %d %v", id, code, err)
	}
	return string(out.Transaction)
}

// TestLedgerReplay submits a signed transaction again: to the node that
// has it pending (409), to the same network once it is mined (409: it is
// in a block; its nonce is used too), and to a node of another signed
// network, whose genesis differs (400: the signature does not verify
// there).
func TestLedgerReplay(t *testing.T) {
	dir := t.TempDir()
	alice := newWalletKey(t, filepath.Join(dir, "alice.key"))
	a := startNode(t, signedOpts("replay-a", "--miner-address", alice))
	other := startNode(t, signedOpts("replay-b", "--miner-address", alice))
	a.mine()
	other.mine()
	bob := newWalletKey(t, filepath.Join(dir, "bob.key"))
	id := walletSend(t, a, filepath.Join(dir, "alice.key"), bob, 1)
	tx := a.signedTx(id)

	var e client.ErrorBody
	if code, err := a.do(http.MethodPost, "/transactions", tx, &e); err != nil || code != http.StatusConflict {
		t.Fatalf("the pending transaction again: %d %+v %v", code, e, err)
	}
	a.mine()
	if st, err := a.txStatus(id); err != nil || st != "confirmed" {
		t.Fatalf("transaction %s: %q %v", id, st, err)
	}
	e.Error, e.Rule = "", ""
	if code, err := a.do(http.MethodPost, "/transactions", tx, &e); err != nil || code != http.StatusConflict || !strings.Contains(e.Error, "in block 3") {
		t.Fatalf("the mined transaction again, same network: %d %+v %v", code, e, err)
	}
	e.Error, e.Rule = "", ""
	if code, err := other.do(http.MethodPost, "/transactions", tx, &e); err != nil || code != http.StatusBadRequest || !strings.Contains(e.Error, "signature") {
		t.Fatalf("the transaction on another network: %d %+v %v", code, e, err)
	}
	if acct, err := other.ledgerAccount(alice); err != nil || acct.NextNonce != 0 || acct.Pending != 0 {
		t.Fatalf("alice on the other network after the replay: %+v %v", acct, err)
	}
}

// TestLedgerDoubleSpendPartition spends the same coins twice across a
// partition. Four nodes share a funded account's history; then the right
// half (b1, b2) is restarted linked only to itself (every node runs with
// --dial-known=false, so nothing redials the other half). Each half spends
// the account's whole balance with the same nonce to a different
// recipient and mines it, the right half more. After the halves are joined
// again, every node is on the heavier branch, its spend is confirmed
// everywhere, and the other spend is in no node's pool nor chain; the
// nodes that held it logged why it left their pool.
func TestLedgerDoubleSpendPartition(t *testing.T) {
	dir := t.TempDir()
	aliceKey := filepath.Join(dir, "alice.key")
	alice := newWalletKey(t, aliceKey)
	x := newWalletKey(t, filepath.Join(dir, "x.key"))
	y := newWalletKey(t, filepath.Join(dir, "y.key"))

	a1 := startNode(t, signedOpts("split", "--miner-address", alice, "--dial-known=false"))
	boot := []string{a1.multiaddr()}
	a2 := startNode(t, nodeOptions{network: "split", difficulty: 4, bootstrap: boot, extra: []string{"--ledger", "signed", "--dial-known=false"}})
	b1 := startNode(t, nodeOptions{network: "split", difficulty: 4, bootstrap: boot, extra: []string{"--ledger", "signed", "--dial-known=false"}})
	b2 := startNode(t, nodeOptions{network: "split", difficulty: 4, bootstrap: boot, extra: []string{"--ledger", "signed", "--dial-known=false"}})
	left, right, all := []*node{a1, a2}, []*node{b1, b2}, []*node{a1, a2, b1, b2}
	a1.mine()
	a1.mine()
	r := a1.blockReward()
	sameHead(t, all, 3)
	waitBalance(t, alice, 2*r, all...)

	// The partition: the right half restarts linked to itself only.
	b1.stop()
	b2.stop()
	b1.opts.bootstrap = nil
	b1.restart()
	b2.opts.bootstrap = []string{b1.multiaddr()}
	b2.restart()
	ids := map[*node]string{}
	for _, n := range all {
		ids[n] = n.mustStatus().PeerID
	}
	waitFor(t, "two halves, each connected within itself only", waitTimeout, func() error {
		for _, side := range [][]*node{left, right} {
			for i, n := range side {
				peers, err := n.peerSet()
				if err != nil {
					return err
				}
				if other := side[1-i]; !peers[ids[other]] || len(peers) != 1 {
					return fmt.Errorf("%s has peers %v, want only %s", n.opts.httpAddr, peers, ids[other])
				}
			}
		}
		return nil
	})
	sameHead(t, right, 3)

	// The same coins, the same nonce, two recipients.
	spendL := walletSend(t, a1, aliceKey, x, 2*r)
	spendR := walletSend(t, b1, aliceKey, y, 2*r)
	waitPending(t, []chain.Hash{spendL}, left...)
	waitPending(t, []chain.Hash{spendR}, right...)
	mineOnSide(t, left, 0)
	mineOnSide(t, right, 0)
	mineOnSide(t, right, 1)
	heavy := b1.mustStatus()
	for _, n := range left {
		if code, err := n.blockCode(heavy.Head.String()); err != nil || code != http.StatusNotFound {
			t.Fatalf("the partition let the right side's head through: %d %v", code, err)
		}
		if st, err := n.txStatus(spendL); err != nil || st != "confirmed" {
			t.Fatalf("left side: its spend %s is %q (%v), want confirmed", spendL, st, err)
		}
	}
	waitBalance(t, x, 2*r, left...)
	waitBalance(t, y, 2*r, right...)

	// Heal: a link from each node of the losing side to the other side, so
	// that each syncs from it at once.
	if err := a1.register(b1.multiaddr()); err != nil {
		t.Fatal(err)
	}
	if err := a2.register(b2.multiaddr()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "every node on the heavier branch", waitTimeout, func() error {
		for i, n := range all {
			if ok, err := n.hasOnMain(heavy.Head, heavy.Height); err != nil || !ok {
				return fmt.Errorf("node %d: %s@%d not on its main chain (%v)", i, heavy.Head, heavy.Height, err)
			}
		}
		return nil
	})
	waitFor(t, "exactly one spend survives on every node", waitTimeout, func() error {
		for i, n := range all {
			if st, err := n.txStatus(spendR); err != nil || st != "confirmed" {
				return fmt.Errorf("node %d: the surviving spend %s is %q (%v)", i, spendR, st, err)
			}
			if st, err := n.txStatus(spendL); err != nil || st != "" {
				return fmt.Errorf("node %d: the dropped spend %s is %q (%v), want unknown", i, spendL, st, err)
			}
			var pool client.Pending
			if _, err := n.getJSON("/transactions/pending", &pool); err != nil {
				return err
			}
			for _, tx := range pool.Transactions {
				if tx.ID == spendL || tx.ID == spendR {
					return fmt.Errorf("node %d: %s still in GET /transactions/pending", i, tx.ID)
				}
			}
		}
		return nil
	})
	for _, n := range left {
		line := n.waitLog("the dropped spend's reason in the log", `msg="pending transaction dropped"`, regexp.QuoteMeta(spendL.String()), `reason=`)
		t.Logf("%s: %s", n.opts.httpAddr, line)
	}
	waitBalance(t, x, 0, all...)
	waitBalance(t, y, 2*r, all...)
	waitBalance(t, alice, 0, all...)
	for i, n := range all {
		if acct, err := n.ledgerAccount(alice); err != nil || acct.NextNonce != 1 || acct.Pending != 0 {
			t.Fatalf("node %d: alice after the heal: %+v %v", i, acct, err)
		}
	}
	// Mining on the losing side does not bring the dropped spend back.
	mineOnSide(t, all, 0)
	if st, err := a1.txStatus(spendL); err != nil || st != "" {
		t.Fatalf("the dropped spend after another block: %q %v", st, err)
	}
}

// TestLedgerSurvivesKill: balances, nonces and a pending payment of a
// signed network are the same after SIGKILL and a restart.
func TestLedgerSurvivesKill(t *testing.T) {
	dir := t.TempDir()
	aliceKey := filepath.Join(dir, "alice.key")
	alice := newWalletKey(t, aliceKey)
	bob := newWalletKey(t, filepath.Join(dir, "bob.key"))
	n := startNode(t, signedOpts("ledgerkill", "--miner-address", alice))
	for range 3 {
		n.mine()
	}
	walletSend(t, n, aliceKey, bob, 2)
	n.mine()
	pending := walletSend(t, n, aliceKey, bob, 1)
	before := map[string]client.Account{}
	for _, addr := range []string{alice, bob} {
		a, err := n.ledgerAccount(addr)
		if err != nil {
			t.Fatal(err)
		}
		before[addr] = a
	}
	if before[alice].NextNonce != 1 || before[alice].Pending != 1 || before[bob].Balance != 2 {
		t.Fatalf("before the kill: %+v", before)
	}
	n.kill()
	n.restart()
	for addr, want := range before {
		if got, err := n.ledgerAccount(addr); err != nil || got.Account != want.Account {
			t.Fatalf("%s after SIGKILL: %+v %v, want %+v", addr, got, err, want)
		}
	}
	if st, err := n.txStatus(pending); err != nil || st != "pending" {
		t.Fatalf("the pending payment after SIGKILL: %q %v", st, err)
	}
	n.mine()
	waitBalance(t, bob, 3, n)
}
