package sync

import (
	"context"
	"fmt"
	"math/big"
	"testing"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"

	"github.com/gossipchain/gossipchain/chain"
	"github.com/gossipchain/gossipchain/chain/chaintest"
	"github.com/gossipchain/gossipchain/chain/store"
)

// TestUnfundedGossip: on a signed network, a peer gossiping thousands of
// correctly signed transactions from fresh keys that own nothing costs the
// victim no signature verification, and once past its budget its score falls
// below zero; a peer relaying a few such transactions among funded ones is
// not penalised, and the funded ones enter the pool, each verified once.
func TestUnfundedGossip(t *testing.T) {
	params := signedParams(t, testNetwork)
	victim := startTestNode(t, params, t.TempDir())
	genesis := victim.chain.Genesis().Hash
	alice, aliceAddr := chaintest.Key(t, "alice")
	_, bob := chaintest.Key(t, "bob")
	addBlocks(t, victim.chain, buildBlocks(t, params, victim.chain.Genesis(), 1, aliceAddr))

	// Unfunded: nonce 0 is an insufficient balance, nonce 1 a bad nonce.
	unfunded := func(keys, from int) []chain.Transaction {
		var txs []chain.Transaction
		for i := range keys {
			key, _ := chaintest.Key(t, fmt.Sprint("fresh ", from+i))
			for n := range uint64(2) {
				txs = append(txs, chaintest.SignedTx(t, genesis, key, bob, 1, n))
			}
		}
		return txs
	}
	publish := func(e *evilGossiper, txs []chain.Transaction) {
		t.Helper()
		for _, tx := range txs {
			if err := e.txs.Publish(context.Background(), frameMsg(tx.ID, tx.AppendBinary(nil))); err != nil {
				t.Fatal(err)
			}
		}
	}
	attacker := newEvilGossiper(t, victim)
	relay := newEvilGossiper(t, victim)
	before := store.SignaturesVerified()
	publish(attacker, unfunded(1000, 0))
	waitFor(t, 60*time.Second, "the attacker's score below zero", func() bool { return victim.node.Score(attacker.ID()) < 0 })
	st := victim.svc.Stats()
	if n := st.TxsRejected[chain.ErrInsufficientBalance.String()] + st.TxsRejected[chain.ErrBadNonce.String()]; n == 0 || st.TxsIgnored < UnplaceableBurst {
		t.Fatalf("%d ignored, %d rejected; want the budget of %d ignored, then rejections", st.TxsIgnored, n, UnplaceableBurst)
	}

	funded := make([]chain.Transaction, 3)
	for n := range funded {
		funded[n] = chaintest.SignedTx(t, genesis, alice, bob, 10, uint64(n))
	}
	publish(relay, unfunded(4, 1000))
	for _, tx := range funded {
		// One at a time: gossip may reorder nonces, which is no fault.
		publish(relay, []chain.Transaction{tx})
		waitFor(t, 30*time.Second, "the funded transaction pending", func() bool { return pending(victim, tx.ID) })
	}
	if n := store.SignaturesVerified() - before; n != int64(len(funded)) {
		t.Fatalf("%d signatures verified, want %d: only the funded transactions'", n, len(funded))
	}
	if s := victim.node.Score(relay.ID()); s < 0 || victim.node.Banned(relay.ID()) {
		t.Fatalf("relay of a few unfunded transactions: score %v, banned %v; want no penalty", s, victim.node.Banned(relay.ID()))
	}
	if n := victim.chain.PendingCount(); n != len(funded) {
		t.Fatalf("%d pending, want the %d funded transactions alone", n, len(funded))
	}
}

// TestUnplaceableBudget: a forwarding peer's nonce and balance refusals are
// ignored up to UnplaceableBurst, then rejected; none is counted while the
// peer's status claims more work than this node's chain.
func TestUnplaceableBudget(t *testing.T) {
	n := newTestNode(t, testNetwork)
	relay, ahead := newRawHost(t).ID(), newRawHost(t).ID()
	refusal := chain.RuleErrorf(chain.ErrInsufficientBalance, "unfunded")
	for i := range UnplaceableBurst {
		if r := n.svc.unplaceable(relay, refusal); r != pubsub.ValidationIgnore {
			t.Fatalf("refusal %d within the budget: %v, want ignore", i, r)
		}
	}
	// The bucket refills at UnplaceableRate meanwhile.
	rejected := false
	for range 4 * UnplaceableBurst {
		if rejected = n.svc.unplaceable(relay, refusal) == pubsub.ValidationReject; rejected {
			break
		}
	}
	if !rejected {
		t.Fatalf("no refusal rejected past the budget of %d", UnplaceableBurst)
	}
	work := new(big.Int).Add(n.head().Work, big.NewInt(1))
	n.svc.mu.Lock()
	n.svc.peers[ahead] = Status{Genesis: n.chain.Genesis().Hash, Work: work}
	n.svc.mu.Unlock()
	for i := range 2 * UnplaceableBurst {
		if r := n.svc.unplaceable(ahead, refusal); r != pubsub.ValidationIgnore {
			t.Fatalf("refusal %d from a peer ahead of this node: %v, want ignore", i, r)
		}
	}
}
