package store

import (
	"container/heap"

	"github.com/gossipchain/gossipchain/chain"
)

// Fee order of the pending pool on a signed network.
//
// A transaction's fee rate is its fee per byte of its encoding (compared
// exactly, as fractions). A sender's transactions can only be mined in
// nonce order, so the rate a miner sees for one of them is its package
// rate: the lowest fee rate among it and its sender's pending transactions
// before it (a transaction paying little holds back those after it; one
// paying much does not lift those before it). Package rates fall, or stay,
// along a sender's nonce chain.
//
//   - Block templates take the transactions by package rate, highest first,
//     each sender's in nonce order (ties: the older first): a merge of the
//     senders' queues by the package rate of their first transaction.
//   - A full pool evicts the transaction with the lowest package rate, the
//     last of its sender's queue, when the newcomer's package rate is
//     higher (the origin quotas of poolquota.go are the second line).
//
// Admission updates one sender's queue (at most PoolMaxPerAccount entries)
// and one position in a heap of the senders' last transactions: O(log n).

// feeRate is a fee per size, compared as a fraction.
type feeRate struct{ fee, size uint64 }

func rateOf(t *chain.Transaction) feeRate {
	return feeRate{t.Fee, uint64(t.EncodedSize())}
}

// cmp compares r and o: -1, 0 or +1. Fees are at most 2^53 and sizes below
// 2^10, so the products do not overflow.
func (r feeRate) cmp(o feeRate) int {
	a, b := r.fee*o.size, o.fee*r.size
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// perUnit is the rate in chain.FeeRateUnit bytes, rounded down.
func (r feeRate) perUnit() uint64 { return r.fee * chain.FeeRateUnit / max(r.size, 1) }

func minRate(a, b feeRate) feeRate {
	if b.cmp(a) < 0 {
		return b
	}
	return a
}

// rescore sets the package rates of q's transactions from index i on.
// Called with p.mu held.
func (q *senderQueue) rescore(i int) {
	for ; i < len(q.txs); i++ {
		e := q.txs[i]
		e.score = rateOf(&e.tx)
		if i > 0 {
			e.score = minRate(e.score, q.txs[i-1].score)
		}
	}
}

// last is the sender's last pending transaction, the lowest package rate.
func (q *senderQueue) last() *poolEntry { return q.txs[len(q.txs)-1] }

// tailHeap orders the senders by the package rate of their last pending
// transaction, lowest first (ties: the newest first), so that its root is
// the transaction a full pool evicts.
type tailHeap []*senderQueue

func (h tailHeap) Len() int { return len(h) }
func (h tailHeap) Less(i, j int) bool {
	a, b := h[i].last(), h[j].last()
	if c := a.score.cmp(b.score); c != 0 {
		return c < 0
	}
	return a.seq > b.seq
}
func (h tailHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].heapIx, h[j].heapIx = i, j
}
func (h *tailHeap) Push(x any) {
	q := x.(*senderQueue)
	q.heapIx = len(*h)
	*h = append(*h, q)
}
func (h *tailHeap) Pop() any {
	old := *h
	q := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	q.heapIx = -1
	return q
}

// requeue restores the heap position of q after its queue changed.
// Called with p.mu held.
func (p *pool) requeue(q *senderQueue) {
	switch {
	case len(q.txs) == 0 && q.heapIx >= 0:
		heap.Remove(&p.tails, q.heapIx)
	case len(q.txs) == 0:
	case q.heapIx < 0:
		heap.Push(&p.tails, q)
	default:
		heap.Fix(&p.tails, q.heapIx)
	}
}

// packageRate is the package rate t would have as its sender's next
// pending transaction. Called with p.mu held.
func (p *pool) packageRate(t *chain.Transaction) feeRate {
	r := rateOf(t)
	if q := p.senders[t.Sender]; q != nil && len(q.txs) > 0 {
		r = minRate(r, q.last().score)
	}
	return r
}

// evictCheapestLocked removes from memory the pending transaction of the
// lowest package rate if newcomer's package rate is higher, and returns
// it; nil if there is none. Called with Chain.mu and p.mu held.
func (p *pool) evictCheapestLocked(newcomer *chain.Transaction) *poolEntry {
	if !p.signed || len(p.tails) == 0 {
		return nil
	}
	victim := p.tails[0].last()
	if p.packageRate(newcomer).cmp(victim.score) <= 0 {
		return nil
	}
	p.removeLocked(victim.tx.ID)
	return victim
}

// cheaperOrEqual reports whether e's package rate is at most that of
// newcomer: on a signed network the origin quotas evict nothing that pays
// more than the transaction they make room for. Called with p.mu held.
func (p *pool) cheaperOrEqual(e *poolEntry, newcomer *chain.Transaction) bool {
	return !p.signed || e.score.cmp(p.packageRate(newcomer)) <= 0
}

// byFeeRate returns the first limit pending transactions of a signed
// network (limit <= 0: all) in the order a block takes them: by package
// rate, highest first, each sender's in nonce order, ties to the older.
func (p *pool) byFeeRate(limit int) []chain.Transaction {
	txs, _ := p.ranked(limit)
	return txs
}

// ranked is byFeeRate with the package rate of each transaction.
func (p *pool) ranked(limit int) ([]chain.Transaction, []feeRate) {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := p.order.Len()
	if limit > 0 && limit < n {
		n = limit
	}
	h := make(headHeap, 0, len(p.senders))
	for _, q := range p.senders {
		c := &queueCursor{q: q}
		c.load()
		h = append(h, c)
	}
	heap.Init(&h)
	out := make([]chain.Transaction, 0, n)
	scores := make([]feeRate, 0, n)
	for len(h) > 0 && len(out) < n {
		c := h[0]
		out = append(out, c.q.txs[c.i].tx)
		scores = append(scores, c.score)
		if c.i++; c.i < len(c.q.txs) {
			c.load()
			heap.Fix(&h, 0)
		} else {
			heap.Pop(&h)
		}
	}
	return out, scores
}

// queueCursor is the next transaction of a sender's queue in a merge,
// with its package rate and sequence number at hand.
type queueCursor struct {
	q     *senderQueue
	i     int
	score feeRate
	seq   int64
}

// load reads the package rate and sequence number of the cursor's entry.
func (c *queueCursor) load() { c.score, c.seq = c.q.txs[c.i].score, c.q.txs[c.i].seq }

// headHeap orders cursors by the package rate of their next transaction,
// highest first (ties: the older first).
type headHeap []*queueCursor

func (h headHeap) Len() int { return len(h) }
func (h headHeap) Less(i, j int) bool {
	a, b := h[i], h[j]
	if c := a.score.cmp(b.score); c != 0 {
		return c > 0
	}
	return a.seq < b.seq
}
func (h headHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *headHeap) Push(x any)   { *h = append(*h, x.(*queueCursor)) }
func (h *headHeap) Pop() any {
	old := *h
	c := old[len(old)-1]
	*h = old[:len(old)-1]
	return c
}

// pendingAtLocked returns the pending transaction of sender with nonce. Called
// with p.mu held.
func (p *pool) pendingAtLocked(sender string, nonce uint64) *poolEntry {
	q := p.senders[sender]
	if q == nil {
		return nil
	}
	for _, e := range q.txs {
		if e.tx.Nonce == nonce {
			return e
		}
	}
	return nil
}
