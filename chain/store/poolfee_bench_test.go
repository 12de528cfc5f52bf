package store

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/gossipchain/gossipchain/chain"
)

// feeBenchPool returns a signed pool of n entries from n/8 senders (8
// nonces each, random fees) and the senders, without a store: the fee
// order's own cost.
func feeBenchPool(n int) (*pool, []string) {
	p := newPool(n+1, 1<<40)
	p.signed = true
	r := rand.New(rand.NewPCG(1, 2))
	senders := make([]string, n/8)
	for i := range senders {
		senders[i] = fmt.Sprintf("%052d", i)
		for nonce := range uint64(8) {
			tx := chain.Transaction{Sender: senders[i], Recipient: senders[0], Amount: 1, Nonce: nonce, Fee: r.Uint64N(1000), Signature: chain.Signature{1}}
			tx.ID = tx.ComputeID()
			p.pushLocked(tx)
		}
	}
	return p, senders
}

// BenchmarkFeePoolAdmit is the cost of the fee order for one admission and
// one removal (a sender's next nonce, then the same leaving) in pools of
// 1,000 and 50,000 (the default bound) transactions: O(log n) in the
// number of senders, with the sender's queue rescored (at most
// PoolMaxPerAccount entries).
func BenchmarkFeePoolAdmit(b *testing.B) {
	for _, n := range []int{1000, 50_000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			p, senders := feeBenchPool(n)
			r := rand.New(rand.NewPCG(3, 4))
			b.ReportAllocs()
			for b.Loop() {
				tx := chain.Transaction{Sender: senders[r.IntN(len(senders))], Recipient: senders[0], Amount: 1, Nonce: 8, Fee: r.Uint64N(1000), Signature: chain.Signature{1}}
				tx.ID = tx.ComputeID()
				p.pushLocked(tx)
				p.removeLocked(tx.ID)
			}
		})
	}
}

// BenchmarkFeePoolTemplateOrder is the cost of ordering a whole pool of
// 50,000 transactions for a block template (pool.byFeeRate), beside the
// copy in arrival order that an open network's template reads (and a
// signed one's did before fees) as the same-run reference.
func BenchmarkFeePoolTemplateOrder(b *testing.B) {
	p, _ := feeBenchPool(50_000)
	for _, c := range []struct {
		name  string
		order func() []chain.Transaction
	}{
		{"fee rate, all", func() []chain.Transaction { return p.byFeeRate(0) }},
		{"fee rate, a template's 4,000", func() []chain.Transaction { return p.byFeeRate(4000) }},
		{"arrival (reference)", func() []chain.Transaction { return p.pending(0) }},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if got := c.order(); len(got) < 4000 {
					b.Fatalf("%d ordered", len(got))
				}
			}
		})
	}
}
