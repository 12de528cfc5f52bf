package store

import (
	"cmp"
	"container/list"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"sync/atomic"

	bolt "go.etcd.io/bbolt"

	"github.com/gossipchain/gossipchain/chain"
)

// pool is the pending pool: transactions waiting for a block, deduplicated
// by id and bounded in count and bytes; first come first served on an open
// network, by fee rate on a signed one (see poolfee.go). Every
// entry is also in the store's pool bucket under its sequence number.
//
// Membership changes happen with Chain.mu held; p.mu guards the fields
// against concurrent readers.
type pool struct {
	mu       sync.Mutex
	maxCount int
	maxBytes int
	order    *list.List // of *poolEntry, oldest first
	byID     map[chain.Hash]*list.Element
	bytes    int
	front    int64 // next sequence number for the front (returned transactions)
	back     int64 // next sequence number for the back (new transactions)

	quota poolQuota // origins of the transactions, see poolquota.go

	// On a signed network: each sender's pending transactions, by nonce.
	signed        bool
	maxPerAccount int
	senders       map[string]*senderQueue
	tails         tailHeap // the senders by their last transaction's package rate
	minRelayRate  uint64   // fee per chain.FeeRateUnit bytes a transaction must pay
}

// senderQueue is one sender's pending transactions on a signed network,
// in nonce order (consecutive from the account's next nonce, which
// admission and revalidation keep so), and their total cost.
type senderQueue struct {
	txs    []*poolEntry
	spend  uint64
	heapIx int // position in pool.tails, -1 when empty
}

// track adds e to its sender's queue, in nonce order. Called with p.mu held.
func (p *pool) track(e *poolEntry) {
	if !p.signed {
		return
	}
	q := p.senders[e.tx.Sender]
	if q == nil {
		q = &senderQueue{heapIx: -1}
		p.senders[e.tx.Sender] = q
	}
	i, _ := slices.BinarySearchFunc(q.txs, e.tx.Nonce, func(x *poolEntry, n uint64) int { return cmp.Compare(x.tx.Nonce, n) })
	q.txs = slices.Insert(q.txs, i, e)
	q.spend += e.tx.Cost()
	q.rescore(i)
	p.requeue(q)
}

// untrack removes e from its sender's queue. Called with p.mu held.
func (p *pool) untrack(e *poolEntry) {
	if !p.signed {
		return
	}
	q := p.senders[e.tx.Sender]
	if q == nil {
		return
	}
	if i := slices.Index(q.txs, e); i >= 0 {
		q.txs = slices.Delete(q.txs, i, i+1)
		q.spend -= e.tx.Cost()
		q.rescore(i)
		p.requeue(q)
	}
	if len(q.txs) == 0 {
		delete(p.senders, e.tx.Sender)
	}
}

type poolEntry struct {
	tx   chain.Transaction
	seq  int64
	size int
	// score is the package rate on a signed network (poolfee.go).
	score feeRate
	// replaces is the sequence number of the pending transaction this one
	// replaced (same sender and nonce), deleted from the store in the
	// commit that writes this one; valid when replacing is set.
	replaces  int64
	replacing bool
}

type poolStage struct {
	drop map[chain.Hash]struct{}
	back []*poolEntry // returned transactions, oldest first
	// unfit: on a signed network, the transactions that left (or did not
	// return to) the pool because an earlier nonce of their sender did
	// not fit in it.
	unfit []chain.Transaction
}

func newPool(maxCount, maxBytes int) *pool {
	return &pool{maxCount: maxCount, maxBytes: maxBytes, order: list.New(), byID: map[chain.Hash]*list.Element{}, front: -1, senders: map[string]*senderQueue{}}
}

// seqKey maps a signed sequence number to an order-preserving key.
func seqKey(seq int64) []byte { return binary.BigEndian.AppendUint64(nil, uint64(seq)^1<<63) }

func keySeq(k []byte) int64 { return int64(binary.BigEndian.Uint64(k) ^ 1<<63) }

// load reads the pool bucket and returns the keys of entries that are
// corrupt, duplicated or already in the main chain, which the caller
// deletes.
func (p *pool) load(v *view) (stale [][]byte, err error) {
	// Entries a crash left behind after their block was written are
	// confirmed against it: its ids are computed once, not once per entry.
	v.held = make(map[uint64]map[chain.Hash]struct{})
	defer func() { v.held = nil }()
	cur := v.tx.Bucket(bucketPool).Cursor()
	for k, val := cur.First(); k != nil; k, val = cur.Next() {
		if len(k) != 8 {
			stale = append(stale, append([]byte(nil), k...))
			continue
		}
		t, err := chain.DecodeTransaction(val)
		if err != nil {
			stale = append(stale, append([]byte(nil), k...))
			continue
		}
		_, inChain := v.txHeight(t.ID)
		_, dup := p.byID[t.ID]
		if inChain || dup || t.CheckFields() != nil || t.IsReward() || t.IsSigned() != p.signed {
			stale = append(stale, append([]byte(nil), k...))
			continue
		}
		seq := keySeq(k)
		e := &poolEntry{tx: t, seq: seq, size: len(val)}
		p.byID[t.ID] = p.order.PushBack(e)
		p.track(e)
		p.bytes += len(val)
		p.front = min(p.front, seq-1)
		p.back = max(p.back, seq+1)
	}
	if p.signed {
		// Signatures verified at admission; the accounts may have moved
		// since (a crash between a block and the pool's clean-up cannot
		// happen, both are one commit, but a store of another version
		// could hold anything): keep what continues each account.
		for _, s := range slices.Sorted(maps.Keys(p.senders)) {
			q := p.senders[s]
			st, err := v.storedAcct(s)
			if err != nil {
				return nil, err
			}
			var bad []*poolEntry
			broken := false
			for _, e := range q.txs {
				if e.tx.Nonce < st.nonce {
					// A nonce the chain (or an entry before) used: a
					// replaced transaction whose block took the other
					// one may be left on disk. It goes alone.
					bad = append(bad, e)
					continue
				}
				if broken || checkSpend(&e.tx, st) != nil {
					broken = true
					bad = append(bad, e)
					continue
				}
				st.nonce++
				st.balance -= e.tx.Cost()
			}
			for _, e := range bad {
				stale = append(stale, seqKey(e.seq))
				p.removeLocked(e.tx.ID)
			}
		}
	}
	return stale, nil
}

func (p *pool) has(id chain.Hash) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	_, ok := p.byID[id]
	return ok
}

// insert adds t at the back if the bounds allow. Called with Chain.mu held.
func (p *pool) insert(t chain.Transaction) (*poolEntry, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.byID[t.ID]; ok {
		return nil, chain.ErrKnownTransaction
	}
	if p.order.Len() >= p.maxCount || p.bytes+t.EncodedSize() > p.maxBytes {
		return nil, fmt.Errorf("%w (%d transactions, %d bytes)", chain.ErrPoolFull, p.order.Len(), p.bytes)
	}
	return p.pushLocked(t), nil
}

// pushLocked adds t at the back. Called with p.mu held.
func (p *pool) pushLocked(t chain.Transaction) *poolEntry {
	size := t.EncodedSize()
	e := &poolEntry{tx: t, seq: p.back, size: size}
	p.back++
	p.byID[t.ID] = p.order.PushBack(e)
	p.track(e)
	p.bytes += size
	return e
}

// remove takes id out of memory. Called with Chain.mu held.
func (p *pool) remove(id chain.Hash) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.removeLocked(id)
}

func (p *pool) removeLocked(id chain.Hash) {
	p.quota.forget(id)
	if el, ok := p.byID[id]; ok {
		e := el.Value.(*poolEntry)
		p.bytes -= e.size
		p.untrack(e)
		p.order.Remove(el)
		delete(p.byID, id)
	}
}

// stage writes, inside a block's store transaction, the removal of drop
// and the return of back (oldest first) to the front of the pool, within
// the pool's bounds. commit applies the result to memory once the
// transaction has committed; if it does not commit, the result is simply
// dropped. Called with Chain.mu held.
func (p *pool) stage(tx *bolt.Tx, drop map[chain.Hash]struct{}, back []chain.Transaction) (*poolStage, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	b := tx.Bucket(bucketPool)
	st := &poolStage{drop: drop}
	count, bytes := p.order.Len(), p.bytes
	for id := range drop {
		if el, ok := p.byID[id]; ok {
			e := el.Value.(*poolEntry)
			if err := b.Delete(seqKey(e.seq)); err != nil {
				return nil, err
			}
			count--
			bytes -= e.size
		}
	}
	seq := p.front - int64(len(back))
	// On a signed network, the first nonce of each sender that did not
	// fit: its later nonces cannot be mined either.
	var unfit map[string]uint64
	for _, t := range back {
		seq++
		if _, ok := p.byID[t.ID]; ok {
			continue // already pending
		}
		if n, ok := unfit[t.Sender]; ok && t.Nonce > n {
			st.unfit = append(st.unfit, t)
			continue
		}
		size := t.EncodedSize()
		if count >= p.maxCount || bytes+size > p.maxBytes {
			// The bound wins; the pool is full of newer work.
			if p.signed {
				if unfit == nil {
					unfit = map[string]uint64{}
				}
				if n, ok := unfit[t.Sender]; !ok || t.Nonce < n {
					unfit[t.Sender] = t.Nonce
				}
			}
			continue
		}
		e := &poolEntry{tx: t, seq: seq, size: size}
		if err := b.Put(seqKey(seq), t.AppendBinary(nil)); err != nil {
			return nil, err
		}
		st.back = append(st.back, e)
		count++
		bytes += size
	}
	for sender, n := range unfit {
		// Later nonces of the sender, pending or just returned, go.
		kept := st.back[:0]
		for _, e := range st.back {
			if e.tx.Sender == sender && e.tx.Nonce > n {
				if err := b.Delete(seqKey(e.seq)); err != nil {
					return nil, err
				}
				st.unfit = append(st.unfit, e.tx)
				continue
			}
			kept = append(kept, e)
		}
		st.back = kept
		if q := p.senders[sender]; q != nil {
			for _, e := range q.txs {
				if _, gone := drop[e.tx.ID]; gone || e.tx.Nonce <= n {
					continue
				}
				if err := b.Delete(seqKey(e.seq)); err != nil {
					return nil, err
				}
				drop[e.tx.ID] = struct{}{}
				st.unfit = append(st.unfit, e.tx)
			}
		}
	}
	return st, nil
}

// commit applies staged changes to memory. Called with Chain.mu held.
func (p *pool) commit(st *poolStage) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for id := range st.drop {
		p.removeLocked(id)
	}
	for i := len(st.back) - 1; i >= 0; i-- {
		e := st.back[i]
		p.byID[e.tx.ID] = p.order.PushFront(e)
		p.track(e)
		p.bytes += e.size
		p.front = min(p.front, e.seq-1)
	}
}

// pending returns up to limit transactions in order (limit <= 0: all).
func (p *pool) pending(limit int) []chain.Transaction {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := p.order.Len()
	if limit > 0 && limit < n {
		n = limit
	}
	out := make([]chain.Transaction, 0, n)
	for el := p.order.Front(); el != nil && len(out) < n; el = el.Next() {
		out = append(out, el.Value.(*poolEntry).tx)
	}
	return out
}

func (p *pool) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.order.Len()
}

func (p *pool) get(id chain.Hash) (chain.Transaction, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	el, ok := p.byID[id]
	if !ok {
		return chain.Transaction{}, false
	}
	return el.Value.(*poolEntry).tx, true
}

// AddTransaction validates tx and adds it to the pending pool. When it
// returns nil the transaction is on disk. Errors: a *RuleError (invalid;
// on a signed network also the codes ErrSignatureRequired,
// ErrBadSignature, ErrBadNonce and ErrInsufficientBalance: the rules of
// the pool in PROTOCOL.md 10.7), ErrKnownTransaction (pending or in the main chain
// already), ErrPoolFull (with ErrAccountFull when the sender has as many
// pending transactions as one account may). Concurrent calls share a disk
// sync (group commit).
func (c *Chain) AddTransaction(tx chain.Transaction) error {
	durable, err := c.AddTransactionAsync(tx)
	if err != nil {
		return err
	}
	return <-durable
}

// AddTransactionAsync validates tx and adds it to the pending pool in
// memory, and returns a channel that receives the outcome of writing it to
// disk: nil once it is durable. A node relays a gossiped transaction as
// soon as it is valid, and acknowledges a submitted one once it is
// durable. If the write fails, the transaction leaves the pool again.
func (c *Chain) AddTransactionAsync(tx chain.Transaction) (<-chan error, error) {
	txs, errs := []chain.Transaction{tx}, []error{nil}
	if c.checkAll(txs, errs); errs[0] != nil {
		return nil, errs[0]
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, err := c.admitLocked(tx, c.chainedLocked(txs, errs)[0])
	if err != nil {
		return nil, err
	}
	return c.commits.submit([]*poolEntry{e}), nil
}

// chainedAt says whether a transaction is in the main chain, and in which
// block.
type chainedAt struct {
	height uint64
	in     bool
}

// chainedLocked says where each of txs whose errs entry is nil is in the
// main chain. The duplicate filter answers first: only an id it may hold
// is looked up in the transaction index, so that a new transaction (almost
// every one) costs no read of the index runs. Called with Chain.mu held,
// under which the filter holds every committed id.
func (c *Chain) chainedLocked(txs []chain.Transaction, errs []error) []chainedAt {
	at := make([]chainedAt, len(txs))
	var maybe []int
	for i := range txs {
		if errs[i] == nil && c.dups.mayHold(txs[i].ID) {
			maybe = append(maybe, i)
		}
	}
	if len(maybe) == 0 {
		return at
	}
	_ = c.read(func(v *view) error {
		for _, i := range maybe {
			at[i].height, at[i].in = v.txHeight(txs[i].ID)
		}
		return nil
	})
	return at
}

// checkTransaction runs the checks of pool admission that need neither the
// chain nor the pool: the transaction's own rules, and on a signed network
// the minimum relay fee and whether it is pending already (its signature
// is then not verified again).
func (c *Chain) checkTransaction(tx *chain.Transaction) error {
	if err := tx.Check(); err != nil {
		return err
	}
	if tx.IsReward() {
		return chain.RuleErrorf(chain.ErrBadTransaction, "sender %q is reserved for mining rewards", chain.RewardSender)
	}
	if err := c.params.CheckLedgerFields(tx); err != nil {
		return err
	}
	if !c.params.Signed() {
		return nil
	}
	if err := c.checkRelayFee(tx); err != nil {
		return err
	}
	if c.pool.has(tx.ID) {
		return fmt.Errorf("%w: %s is pending", chain.ErrKnownTransaction, tx.ID)
	}
	return nil
}

// admitLocked adds tx, which passed checkAll and is where at says
// in the main chain (read with Chain.mu held), to the pool in memory if it
// is new to the chain and to the pool, and its sender can pay on a signed
// network, where it replaces a pending transaction of the same sender and
// nonce if it pays enough more (replaceLocked). Called with Chain.mu held
// and no store transaction open; the caller submits the entry to the
// committer.
func (c *Chain) admitLocked(tx chain.Transaction, at chainedAt) (*poolEntry, error) {
	if c.pool.has(tx.ID) {
		return nil, fmt.Errorf("%w: %s is pending", chain.ErrKnownTransaction, tx.ID)
	}
	if at.in {
		return nil, fmt.Errorf("%w: %s is in block %d", chain.ErrKnownTransaction, tx.ID, at.height)
	}
	if c.params.Signed() {
		c.pool.mu.Lock()
		old := c.pool.pendingAtLocked(tx.Sender, tx.Nonce)
		c.pool.mu.Unlock()
		if old != nil {
			return c.replaceLocked(tx, old)
		}
		if err := c.admitSpend(&tx); err != nil {
			return nil, err
		}
	}
	return c.pool.insert(tx)
}

// committer writes pending transactions in group commits: a submission
// that arrives while a commit runs joins the next one, which starts as
// soon as the running one ends. There is no waiting window, and all the
// submissions of one commit share its disk sync.
type committer struct {
	c       *Chain
	mu      sync.Mutex
	queue   []*poolWrite
	running bool
	closed  bool
	wg      sync.WaitGroup
	commits atomic.Int64 // store transactions committed
	written atomic.Int64 // pending transactions they wrote
}

// poolWrite is one submission: its entries go into the same commit.
type poolWrite struct {
	es   []*poolEntry
	done chan error
}

// errStoreClosed is the outcome of a pending write after Close.
var errStoreClosed = errors.New("store closed")

func newCommitter(c *Chain) *committer { return &committer{c: c} }

// submit queues es, which go into one commit, and returns the channel
// that receives its outcome; called with Chain.mu held, so that entries
// are queued in pool order.
func (cm *committer) submit(es []*poolEntry) <-chan error {
	w := &poolWrite{es: es, done: make(chan error, 1)}
	cm.mu.Lock()
	defer cm.mu.Unlock()
	if cm.closed {
		w.done <- errStoreClosed
		return w.done
	}
	cm.queue = append(cm.queue, w)
	if !cm.running {
		cm.running = true
		cm.wg.Add(1)
		go cm.run()
	}
	return w.done
}

// run commits what is queued until the queue is empty.
func (cm *committer) run() {
	defer cm.wg.Done()
	for {
		cm.mu.Lock()
		batch := cm.queue
		cm.queue = nil
		if len(batch) == 0 {
			cm.running = false
			cm.mu.Unlock()
			return
		}
		cm.mu.Unlock()
		n := 0
		for _, w := range batch {
			n += len(w.es)
		}
		cm.commits.Add(1)
		cm.written.Add(int64(n))
		err := cm.c.db.Update(func(btx *bolt.Tx) error {
			b := btx.Bucket(bucketPool)
			buf := make([]byte, 0, 64*n)
			for _, w := range batch {
				for _, e := range w.es {
					if e.replacing {
						if err := b.Delete(seqKey(e.replaces)); err != nil {
							return err
						}
					}
					start := len(buf)
					buf = e.tx.AppendBinary(buf)
					if err := b.Put(seqKey(e.seq), buf[start:len(buf):len(buf)]); err != nil {
						return err
					}
				}
			}
			return nil
		})
		if err != nil {
			err = fmt.Errorf("store pending transaction: %w", err)
			cm.c.log.Warn("writing pending transactions failed; they leave the pool", "count", n, "err", err)
			cm.c.mu.Lock()
			for _, w := range batch {
				for _, e := range w.es {
					if cm.c.pool.signed {
						// Later nonces of the sender could not be mined.
						cm.c.pool.mu.Lock()
						cm.c.pool.evictAfterLocked(e)
						cm.c.pool.mu.Unlock()
					}
					cm.c.pool.remove(e.tx.ID)
				}
			}
			cm.c.mu.Unlock()
		}
		for _, w := range batch {
			w.done <- err
		}
	}
}

// close waits for the running commits; later submissions fail.
func (cm *committer) close() {
	cm.mu.Lock()
	cm.closed = true
	cm.mu.Unlock()
	cm.wg.Wait()
}

// Pending returns up to limit pending transactions, oldest first (limit
// <= 0: all).
func (c *Chain) Pending(limit int) []chain.Transaction { return c.pool.pending(limit) }

// PendingCount returns the number of pending transactions.
func (c *Chain) PendingCount() int { return c.pool.count() }

// TxLocation says where a transaction is.
type TxLocation struct {
	Tx        chain.Transaction
	Pending   bool   // in the pending pool
	Height    uint64 // otherwise: the main-chain block holding it
	BlockHash chain.Hash
}

// FindTransaction looks a transaction up in the pool, then the main chain;
// ErrNotFound if it is in neither.
func (c *Chain) FindTransaction(id chain.Hash) (TxLocation, error) {
	if t, ok := c.pool.get(id); ok {
		return TxLocation{Tx: t, Pending: true}, nil
	}
	loc, err := c.findConfirmed(id)
	if errors.Is(err, chain.ErrNotFound) {
		// A reorganisation may have returned it to the pool meanwhile.
		if t, ok := c.pool.get(id); ok {
			return TxLocation{Tx: t, Pending: true}, nil
		}
	}
	return loc, err
}

func (c *Chain) findConfirmed(id chain.Hash) (TxLocation, error) {
	var loc TxLocation
	found := false
	err := c.readIndexed(func(v *view) (bool, error) {
		height, ok := v.txHeight(id)
		if !ok {
			return false, nil
		}
		found = true
		b, err := c.recordBlock(v, height)
		if err != nil {
			return true, err
		}
		for _, t := range b.Transactions {
			if t.ID == id {
				loc = TxLocation{Tx: t, Height: height, BlockHash: b.Hash}
				return true, nil
			}
		}
		return true, fmt.Errorf("transaction index names block %d, which lacks %s", height, id)
	})
	if err == nil && !found {
		err = chain.ErrNotFound
	}
	return loc, err
}
