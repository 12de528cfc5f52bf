package sync

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	pb "github.com/libp2p/go-libp2p-pubsub/pb"

	"github.com/gossipchain/gossipchain/chain"
)

// TestSubmitTransactions: a batch gets one outcome per transaction, in
// order; the accepted ones are pending on disk when the call returns and
// reach a peer by gossip, the refused ones do not.
func TestSubmitTransactions(t *testing.T) {
	a, b := newTestNode(t, "batchnet"), newTestNode(t, "batchnet")
	connect(t, a, b)
	waitMesh(t, []*testNode{a, b})

	var txs []chain.Transaction
	for i := range 5 {
		tx, err := chain.NewTransaction(fmt.Sprintf("batch-%d", i), "bob", uint64(i+1))
		if err != nil {
			t.Fatal(err)
		}
		txs = append(txs, tx)
	}
	reward := chain.Transaction{Sender: chain.RewardSender, Recipient: "bob", Amount: 1}
	reward.ID = reward.ComputeID()
	txs = append(txs, txs[1], reward)
	errs := a.svc.SubmitTransactions(context.Background(), txs)
	for i, err := range errs[:5] {
		if err != nil {
			t.Fatalf("transaction %d: %v", i, err)
		}
	}
	if !errors.Is(errs[5], chain.ErrKnownTransaction) {
		t.Errorf("a duplicate in the batch: %v", errs[5])
	}
	if !chain.IsRuleError(errs[6]) {
		t.Errorf("a reward transaction: %v", errs[6])
	}
	waitFor(t, 30*time.Second, "the batch pending on the peer", func() bool {
		for _, tx := range txs[:5] {
			if !pending(b, tx.ID) {
				return false
			}
		}
		return true
	})
	if pending(b, reward.ID) {
		t.Error("the refused transaction reached the peer")
	}

	a.svc.Close()
	for i, err := range a.svc.SubmitTransactions(context.Background(), txs[:2]) {
		if !errors.Is(err, ErrClosed) {
			t.Errorf("after Close, transaction %d: %v", i, err)
		}
	}
}

// TestOwnPublicationAccepted: the validators accept the node's own
// publications without decoding them again (a message pubsub marks local,
// or from the node itself, passes even if it could not be decoded), while
// the same bytes from a peer are rejected.
func TestOwnPublicationAccepted(t *testing.T) {
	a, b := newTestNode(t, "ownnet"), newTestNode(t, "ownnet")
	garbage := make([]byte, 40)
	for _, v := range []struct {
		name     string
		validate pubsub.ValidatorEx
	}{{"blocks", a.svc.validateBlock}, {"transactions", a.svc.validateTx}} {
		local := &pubsub.Message{Message: &pb.Message{Data: garbage}, ReceivedFrom: a.node.ID(), Local: true}
		if r := v.validate(context.Background(), a.node.ID(), local); r != pubsub.ValidationAccept {
			t.Errorf("%s: own publication: %v, want accept", v.name, r)
		}
		remote := &pubsub.Message{Message: &pb.Message{Data: garbage}, ReceivedFrom: b.node.ID()}
		if r := v.validate(context.Background(), b.node.ID(), remote); r != pubsub.ValidationReject {
			t.Errorf("%s: the same bytes from a peer: %v, want reject", v.name, r)
		}
	}
}
