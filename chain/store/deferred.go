package store

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/gossipchain/gossipchain/chain"
)

// A single block that extends the head (a mined or gossiped block) is
// acknowledged once its segment record is fsynced: the segment record is
// the log. Its bbolt changes (the main-chain record, the head, "verified",
// "segend" and the pool's removals) wait in memory, in a pending, and are
// written by one ordinary commit every deferBlocks blocks or deferAge,
// before any batch, side block or reorganisation touches the store, and on
// Close. Opening replays the whole records past "segend" through the add
// path, so that a kill between the fsync and the commit loses nothing.
//
// deferBlocks bounds what opening replays (a few milliseconds) and the
// records kept in memory; it spreads the commit's ten or so copy-on-write
// pages over 64 blocks. deferAge bounds how long the pool's bucket keeps
// the transactions of acknowledged blocks on a network whose blocks come
// slowly.
//
// On a signed network the accounts a block changes and its undo data wait
// with it; a reorganisation, which reads undo data, commits them first.
const (
	deferBlocks = 64
	deferAge    = 10 * time.Minute
)

// pending holds the bbolt changes of the blocks acknowledged since the
// last commit that wrote the main chain; readers consult it before bbolt
// (view.mainRecord, view.storedAcct). It is never changed once
// published: adding a block makes a new one (sharing the records, which
// are only appended to).
type pending struct {
	base uint64   // the height of the last main-chain record in bbolt
	recs [][]byte // the records (hash || stub) of the heights above base
	pool [][]byte // the keys of the pool entries these blocks took
	end  segPos   // the end of the segments after these blocks' records
	// On a signed network: each block's undo data, beside its record, and
	// the accounts each changed, oldest first (nil: back at zero, deleted).
	undos [][]byte
	accts []map[string][]byte
	// On a signed network: each block's state root, beside its record,
	// and the account-state nodes they created (state.go).
	roots [][]byte
	nodes *nodeLog
	first time.Time
}

// record returns the pending record at height, or nil.
func (p *pending) record(height uint64) []byte {
	if p == nil || height <= p.base || height-p.base > uint64(len(p.recs)) {
		return nil
	}
	return p.recs[height-p.base-1]
}

// top returns the height of the last pending record, or 0.
func (p *pending) top() uint64 {
	if p == nil {
		return 0
	}
	return p.base + uint64(len(p.recs))
}

// plus returns p with the record and undo data (nil on an open network)
// of the main-chain block at height.
func (p *pending) plus(height uint64, rec, undo []byte) *pending {
	q := &pending{base: height - 1, first: time.Now()}
	if p != nil {
		*q = *p
	}
	q.recs = append(q.recs, rec)
	q.undos = append(q.undos, undo)
	return q
}

// addAccounts adds the accounts the last block changed to p, which is not
// yet published.
func (p *pending) addAccounts(changed map[string]acct) {
	m := make(map[string][]byte, len(changed))
	for addr, a := range changed {
		if a.isZero() {
			m[addr] = nil
		} else {
			m[addr] = appendAcct(make([]byte, 0, acctSize), a)
		}
	}
	p.accts = append(p.accts[:len(p.accts):len(p.accts)], m)
}

// account returns the stored form of addr's account as the last pending
// block that changed it left it (nil: deleted), and whether one did.
func (p *pending) account(addr string) ([]byte, bool) {
	if p == nil {
		return nil, false
	}
	for i := len(p.accts) - 1; i >= 0; i-- {
		if raw, ok := p.accts[i][addr]; ok {
			return raw, true
		}
	}
	return nil, false
}

// deferrer runs the periodic commit of the pending changes.
type deferrer struct {
	mu   sync.RWMutex // held to pair a read snapshot with c.pend; see view
	kick chan struct{}
	quit chan struct{}
	wg   sync.WaitGroup
}

// startFlusher starts the goroutine that commits the pending changes once
// there are deferBlocks of them or the oldest is deferAge old. Close stops
// it.
func (c *Chain) startFlusher() {
	c.defers.kick = make(chan struct{}, 1)
	c.defers.quit = make(chan struct{})
	c.defers.wg.Add(1)
	go func() {
		defer c.defers.wg.Done()
		tick := time.NewTicker(deferAge / 10)
		defer tick.Stop()
		for {
			select {
			case <-c.defers.quit:
				return
			case <-c.defers.kick:
			case <-tick.C:
			}
			c.mu.Lock()
			if p := c.pend; p != nil && (len(p.recs) >= deferBlocks || time.Since(p.first) >= deferAge) {
				if err := c.flushPendingLocked(); err != nil {
					c.log.Error("committing the blocks added since the last commit failed; they stay in the block files", "err", err)
				}
			}
			c.mu.Unlock()
		}
	}()
}

// stopFlusher stops the goroutine of startFlusher and waits for it.
func (c *Chain) stopFlusher() {
	if c.defers.quit != nil {
		close(c.defers.quit)
		c.defers.wg.Wait()
		c.defers.quit = nil
	}
}

// flushPendingLocked writes the pending changes in one commit. Readers
// begin no snapshot while it commits, so that none pairs a snapshot with
// the pending changes of another. Called with c.mu held.
func (c *Chain) flushPendingLocked() error {
	p := c.pend
	if p == nil {
		return nil
	}
	c.defers.mu.Lock()
	defer c.defers.mu.Unlock()
	err := c.db.Update(func(tx *bolt.Tx) error {
		bkt := tx.Bucket(bucketChain)
		bkt.FillPercent = 1 // appends
		for i, rec := range p.recs {
			if err := bkt.Put(heightKey(p.base+1+uint64(i)), rec); err != nil {
				return err
			}
		}
		if err := p.putLedger(tx); err != nil {
			return err
		}
		if err := p.putRoots(tx); err != nil {
			return err
		}
		pool := tx.Bucket(bucketPool)
		for _, k := range p.pool {
			if err := pool.Delete(k); err != nil {
				return err
			}
		}
		last := p.recs[len(p.recs)-1]
		meta := tx.Bucket(bucketMeta)
		if err := meta.Put(metaHead, last[:chain.HashSize]); err != nil {
			return err
		}
		if err := meta.Put(metaVerified, append(heightKey(p.top()), last[:chain.HashSize]...)); err != nil {
			return err
		}
		return meta.Put(metaSegEnd, p.end.append(nil))
	})
	if err != nil {
		return fmt.Errorf("commit the blocks added since the last commit: %w", err)
	}
	c.pend = nil
	return nil
}

// putLedger writes the pending undo data and accounts, each account as the
// last block left it, in key order.
func (p *pending) putLedger(tx *bolt.Tx) error {
	undo := tx.Bucket(bucketUndo)
	undo.FillPercent = 1 // appends
	for i, u := range p.undos {
		if u == nil {
			continue
		}
		if err := undo.Put(heightKey(p.base+1+uint64(i)), u); err != nil {
			return err
		}
	}
	if len(p.accts) == 0 {
		return nil
	}
	last := map[string][]byte{}
	for _, m := range p.accts {
		maps.Copy(last, m)
	}
	accts := tx.Bucket(bucketAccounts)
	for _, addr := range slices.Sorted(maps.Keys(last)) {
		var err error
		if raw := last[addr]; raw == nil {
			err = accts.Delete([]byte(addr))
		} else {
			err = accts.Put([]byte(addr), raw)
		}
		if err != nil {
			return fmt.Errorf("write account %s: %w", addr, err)
		}
	}
	return nil
}

// view runs fn in a read transaction whose view sees the pending changes
// that go with its snapshot.
func (c *Chain) view(fn func(v *view) error) error {
	c.defers.mu.RLock()
	tx, err := c.db.Begin(false)
	p := c.pend
	c.defers.mu.RUnlock()
	if err != nil {
		return err
	}
	defer tx.Rollback()
	v := c.newView(tx)
	v.pend = p
	return fn(v)
}

// deferrable reports whether blocks is one block that extends the head
// and can be acknowledged once its record is fsynced. Called with c.mu
// held.
func (c *Chain) deferrable(blocks []*chain.Block) bool {
	if len(blocks) != 1 {
		return false
	}
	b := blocks[0]
	// The index tails must not need a flush into runs: an entry for the
	// block, one per transaction and up to two addresses per transaction.
	return b.PreviousHash == c.tip.Hash && c.ix.tailLen()+1+3*len(b.Transactions) < flushEntries
}

// addDeferred adds b, which extends the head, with one fsync: its record
// is appended to the segments and fsynced, its bbolt changes join
// c.pend. Called with c.mu held.
func (c *Chain) addDeferred(b *chain.Block, checks *checker, mode addMode, valid func()) (AddResult, int, error) {
	if p := c.pend; p != nil && len(p.recs) >= deferBlocks {
		// The periodic commit is late: make room.
		if err := c.flushPendingLocked(); err != nil {
			return AddResult{Head: c.Head()}, 0, fmt.Errorf("store blocks: %w", err)
		}
	}
	w := &writer{c: c, oldHead: c.Head(), mode: mode}
	var next *pending
	err := c.db.View(func(tx *bolt.Tx) error {
		w.v = c.newWriteView(tx, []*chain.Block{b})
		w.v.pend, w.v.deferred = c.pend, true
		w.reset()
		if err := checks.err(0); err != nil && !errors.Is(err, chain.ErrKnownBlock) {
			return err
		}
		if err := w.add(b); err != nil {
			return err
		}
		if valid != nil {
			valid()
		}
		if w.led != nil {
			// The pending transactions the new accounts make invalid leave
			// the pool too.
			w.revalidatePool(nil)
			if err := w.led.flush(); err != nil {
				return err
			}
			if err := w.nodes.flush(); err != nil {
				return err
			}
		}
		next = w.v.pend
		next.pool = append(next.pool[:len(next.pool):len(next.pool)], c.pool.keysOf(w.poolDrop)...)
		w.pool = &poolStage{drop: w.poolDrop}
		end, err := c.seg.sync()
		next.end = end
		return err
	})
	if err != nil {
		c.seg.rollback()
		if chain.IsRuleError(err) || errors.Is(err, chain.ErrKnownBlock) || errors.Is(err, chain.ErrUnknownParent) || errors.Is(err, ErrSideBranchRefused) {
			return AddResult{Head: w.oldHead}, 0, err
		}
		return AddResult{Head: w.oldHead}, 0, fmt.Errorf("store blocks: %w", err)
	}
	c.seg.commit()
	c.defers.mu.Lock()
	c.pend = next
	c.defers.mu.Unlock()
	w.commitMemory()
	if len(next.recs) >= deferBlocks {
		select {
		case c.defers.kick <- struct{}{}:
		default:
		}
	}
	return w.result(), 1, nil
}

// keysOf returns the store keys of the pending transactions ids. Called
// with Chain.mu held.
func (p *pool) keysOf(ids map[chain.Hash]struct{}) [][]byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	var keys [][]byte
	for id := range ids {
		if el, ok := p.byID[id]; ok {
			keys = append(keys, seqKey(el.Value.(*poolEntry).seq))
		}
	}
	return keys
}
