package chain_test

import (
	"testing"

	"github.com/gossipchain/gossipchain/chain"
	"github.com/gossipchain/gossipchain/chain/chaintest"
)

// TestRewardCollectsFees: the reward of a signed block must be the
// network's reward plus the block's fees, exactly.
func TestRewardCollectsFees(t *testing.T) {
	p := chaintest.SignedParams(t)
	g := p.Genesis()
	alice, _ := chaintest.Key(t, "alice")
	_, bob := chaintest.Key(t, "bob")
	var txs []chain.Transaction
	for nonce, fee := range []uint64{0, 196, 1000} {
		tx, err := chain.SignTransactionFee(alice, bob, 5, fee, uint64(nonce), g.Hash)
		if err != nil {
			t.Fatal(err)
		}
		txs = append(txs, tx)
	}
	for _, amount := range []uint64{p.Reward + 1196, p.Reward, p.Reward + 1195, p.Reward + 1197} {
		b := chaintest.NewBlock(&p, g, bob, txs...)
		reward := &b.Transactions[len(b.Transactions)-1]
		if reward.Amount != p.Reward+1196 {
			t.Fatalf("NewBlock's reward is %d, want %d", reward.Amount, p.Reward+1196)
		}
		*reward = chain.NewRewardTransaction(bob, amount, b.Index)
		b.TxRoot = chain.TxRoot(b.Transactions)
		chaintest.Mine(t, b, b.Bits)
		err := p.CheckBlockSanity(b, chaintest.Now)
		if amount == p.Reward+1196 {
			if err != nil {
				t.Fatalf("reward %d with fees 1196: %v", amount, err)
			}
		} else if chain.RuleCode(err) != chain.ErrBadReward {
			t.Errorf("reward %d with fees 1196: %v, want %v", amount, err, chain.ErrBadReward)
		}
	}
}

// TestFeeOnlyOnSignedTransactions: an unsigned transaction (the open
// ledger's, a reward) cannot carry a fee, in binary (no field), by the
// rules (Check) or in JSON.
func TestFeeOnlyOnSignedTransactions(t *testing.T) {
	tx := chaintest.Tx("alice", "bob", 5, 1)
	tx.Fee = 3
	if err := tx.Check(); chain.RuleCode(err) != chain.ErrBadTransaction {
		t.Errorf("unsigned transaction with a fee: %v", err)
	}
	js := `{"id":"` + tx.ID.String() + `","sender":"alice","recipient":"bob","amount":5,"nonce":1,"fee":0}`
	if _, err := chain.DecodeTransactionJSON([]byte(js)); err == nil {
		t.Errorf("an unsigned transaction with a \"fee\" key decoded")
	}
}
