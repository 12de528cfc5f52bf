package store

import (
	"container/list"
	"errors"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/gossipchain/gossipchain/chain"
)

// Pending-pool fairness. Every transaction added with AddTransactionFrom is
// counted against its origin: the peer that sent it, or "" for this node's
// own submissions. While the pool has room nothing changes; when it is full,
// a transaction from an origin evicts the newest transaction of the largest
// contributor (the origin, or the group of transactions of no known origin,
// holding the most), as long as that contributor holds more than the
// newcomer's origin. One peer flooding the pool therefore fills only the room
// nobody else uses: every other origin's transactions still get in, at the
// flood's expense, and equal contributors do not evict each other.
//
// On a signed network this is the second line: a full pool first evicts
// the lowest package fee rate for a newcomer that pays more (poolfee.go),
// and the quotas never evict a transaction that pays more than the
// newcomer.

// poolQuota tracks the origin of pending transactions. Guarded by pool.mu.
type poolQuota struct {
	byID     map[chain.Hash]*list.Element // of the origin's list, holding a quotaItem
	byOrigin map[string]*list.List        // transactions of each origin, oldest first
}

type quotaItem struct {
	id     chain.Hash
	origin string
}

func (q *poolQuota) init() {
	if q.byID == nil {
		q.byID = map[chain.Hash]*list.Element{}
		q.byOrigin = map[string]*list.List{}
	}
}

func (q *poolQuota) record(id chain.Hash, origin string) {
	q.init()
	if _, ok := q.byID[id]; ok {
		return
	}
	l := q.byOrigin[origin]
	if l == nil {
		l = list.New()
		q.byOrigin[origin] = l
	}
	q.byID[id] = l.PushBack(quotaItem{id, origin})
}

// forget drops id; called by pool.removeLocked.
func (q *poolQuota) forget(id chain.Hash) {
	el, ok := q.byID[id]
	if !ok {
		return
	}
	delete(q.byID, id)
	origin := el.Value.(quotaItem).origin
	if l := q.byOrigin[origin]; l != nil {
		if l.Remove(el); l.Len() == 0 {
			delete(q.byOrigin, origin)
		}
	}
}

func (q *poolQuota) count(origin string) int {
	if l := q.byOrigin[origin]; l != nil {
		return l.Len()
	}
	return 0
}

// evictForLocked removes from memory the newest transaction of the largest
// contributor if it holds more than origin and, on a signed network, pays
// no more than newcomer, and returns it; nil if none qualifies. Called
// with Chain.mu and p.mu held.
func (p *pool) evictForLocked(origin string, newcomer *chain.Transaction) *poolEntry {
	q := &p.quota
	q.init()
	mine := q.count(origin)
	var largest *list.List
	for _, l := range q.byOrigin {
		if largest == nil || l.Len() > largest.Len() {
			largest = l
		}
	}
	untracked := p.order.Len() - len(q.byID)
	var victim *poolEntry
	switch {
	case untracked > mine && (largest == nil || untracked >= largest.Len()):
		for el := p.order.Back(); el != nil; el = el.Prev() {
			e := el.Value.(*poolEntry)
			if _, ok := q.byID[e.tx.ID]; !ok {
				victim = e
				break
			}
		}
	case largest != nil && largest.Len() > mine:
		victim = p.byID[largest.Back().Value.(quotaItem).id].Value.(*poolEntry)
	}
	if victim == nil || !p.cheaperOrEqual(victim, newcomer) {
		return nil
	}
	p.removeLocked(victim.tx.ID)
	return victim
}

// evictAfterLocked removes from memory the pending transactions of the
// victim's sender with later nonces, and returns them. Called with
// Chain.mu and p.mu held.
func (p *pool) evictAfterLocked(victim *poolEntry) []*poolEntry {
	q := p.senders[victim.tx.Sender]
	if q == nil {
		return nil
	}
	var out []*poolEntry
	for _, e := range q.txs {
		if e.tx.Nonce > victim.tx.Nonce {
			out = append(out, e)
		}
	}
	for _, e := range out {
		p.removeLocked(e.tx.ID)
	}
	return out
}

// AddTransactionFrom is AddTransaction for a transaction from origin: the
// peer ID of the peer that sent it, or "" for this node's own submissions.
// When the pool is full it makes room by evicting the newest transaction of
// the largest contributor, if that contributor holds more than origin (see
// poolQuota); otherwise the error is ErrPoolFull.
func (c *Chain) AddTransactionFrom(tx chain.Transaction, origin string) error {
	durable, err := c.AddTransactionAsyncFrom(tx, origin)
	if err != nil {
		return err
	}
	return <-durable
}

// AddTransactionAsyncFrom is AddTransactionAsync with the fairness of
// AddTransactionFrom. A transaction that had to evict others to get in is
// written before the call returns, and its channel is ready at once.
func (c *Chain) AddTransactionAsyncFrom(tx chain.Transaction, origin string) (<-chan error, error) {
	durable, err := c.AddTransactionAsync(tx)
	if errors.Is(err, chain.ErrPoolFull) && !errors.Is(err, chain.ErrAccountFull) {
		// tx passed every check of AddTransactionAsync: evict and insert
		// under one lock, so that concurrent additions cannot take the room.
		if err = c.evictAndInsert(tx, origin); err == nil {
			durable = written()
		}
	}
	if err != nil {
		return nil, err
	}
	c.recordOrigin(tx.ID, origin)
	return durable, nil
}

// recordOrigin counts pending transaction id against origin's share of the
// pool, unless it has already left the pool.
func (c *Chain) recordOrigin(id chain.Hash, origin string) {
	c.pool.mu.Lock()
	defer c.pool.mu.Unlock()
	if _, ok := c.pool.byID[id]; ok {
		c.pool.quota.record(id, origin)
	}
}

// written returns the outcome channel of transactions already on disk.
func written() <-chan error {
	done := make(chan error, 1)
	done <- nil
	return done
}

// evictAndInsert makes room for tx in a full pool, at the expense of the
// lowest package fee rates (signed network, poolfee.go), then of the
// largest contributors, and stores the changes in one commit.
func (c *Chain) evictAndInsert(tx chain.Transaction, origin string) error {
	var victims []*poolEntry
	var e *poolEntry
	err := chain.ErrPoolFull
	c.mu.Lock()
	for errors.Is(err, chain.ErrPoolFull) {
		c.pool.mu.Lock()
		victim := c.pool.evictCheapestLocked(&tx)
		if victim == nil {
			victim = c.pool.evictForLocked(origin, &tx)
		}
		c.pool.mu.Unlock()
		if victim == nil {
			err = fmt.Errorf("%w (no larger contributor to evict)", chain.ErrPoolFull)
			break
		}
		victims = append(victims, victim)
		if c.pool.signed {
			// The victim's later nonces could no longer be mined.
			c.pool.mu.Lock()
			victims = append(victims, c.pool.evictAfterLocked(victim)...)
			c.pool.mu.Unlock()
			// The sender's pending transactions may have changed since
			// tx was checked (the victims, or a concurrent admission).
			if err = c.admitSpend(&tx); err != nil {
				break
			}
		}
		e, err = c.pool.insert(tx)
	}
	c.mu.Unlock()
	if len(victims) == 0 {
		return err
	}
	// Whatever left memory leaves the store, even if tx still did not fit.
	serr := c.db.Batch(func(btx *bolt.Tx) error {
		b := btx.Bucket(bucketPool)
		for _, v := range victims {
			if err := b.Delete(seqKey(v.seq)); err != nil {
				return err
			}
		}
		if e == nil {
			return nil
		}
		return b.Put(seqKey(e.seq), tx.AppendBinary(nil))
	})
	if serr != nil {
		if e != nil {
			c.mu.Lock()
			c.pool.remove(tx.ID)
			c.mu.Unlock()
		}
		return fmt.Errorf("store pending transaction: %w", serr)
	}
	return err
}

// PendingFrom returns how many pending transactions came from origin through
// AddTransactionFrom.
func (c *Chain) PendingFrom(origin string) int {
	c.pool.mu.Lock()
	defer c.pool.mu.Unlock()
	return c.pool.quota.count(origin)
}
