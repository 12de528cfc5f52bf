package store

import (
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/gossipchain/gossipchain/chain"
	"github.com/gossipchain/gossipchain/chain/smt"
)

// AddBlock validates b against every consensus rule and stores it. A block
// with more cumulative work than the head becomes the head, reorganising
// the main chain if it is on another branch; on a tie the head stays.
//
// Errors: ErrKnownBlock (already stored), ErrUnknownParent (an orphan; not
// stored), a *RuleError (invalid), or an internal fault. A nil error means
// the block is on disk.
func (c *Chain) AddBlock(b *chain.Block) (AddResult, error) {
	res, _, err := c.AddBlocks([]*chain.Block{b})
	return res, err
}

// AddBlocks adds blocks in order in one store transaction (one disk sync),
// which is how a node catching up should add them. Known blocks (the
// genesis included) are skipped. It stops at the first block that is an
// orphan or invalid and returns how many blocks were added before it
// together with that block's error; the blocks before it are kept. When
// every block is known the error is ErrKnownBlock. An internal fault (a
// store error) keeps nothing of the batch and returns 0 and the fault.
//
// The blocks must not be modified during the call.
func (c *Chain) AddBlocks(blocks []*chain.Block) (AddResult, int, error) {
	return c.addBlocks(blocks, addLocal, nil)
}

// AddBlockThen is AddBlock that calls valid once b has passed every rule,
// before it is written to disk; AddBlockThen returns once it is on disk (or
// with the error that kept it off). A node relays a gossiped block from
// valid, so that the disk is not on the path of relaying. valid runs with
// the chain's write lock held and must not call the Chain.
func (c *Chain) AddBlockThen(b *chain.Block, valid func()) (AddResult, error) {
	res, _, err := c.addBlocks([]*chain.Block{b}, addLocal, valid)
	return res, err
}

// addBlocks is AddBlocks; mode says how side blocks are treated (see
// sidebranch.go), and valid, if not nil, is called once every block has
// passed the rules, before the transaction commits.
func (c *Chain) addBlocks(blocks []*chain.Block, mode addMode, valid func()) (AddResult, int, error) {
	// The context-free checks need no lock: they run ahead of the adder.
	checks := c.startChecks(blocks, c.now())
	defer checks.stop()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.deferrable(blocks) {
		return c.addDeferred(blocks[0], checks, mode, valid)
	}
	// Anything else commits what the single blocks before it left pending
	// first.
	if err := c.flushPendingLocked(); err != nil {
		return AddResult{Head: c.Head()}, 0, fmt.Errorf("store blocks: %w", err)
	}
	return c.addBatchLocked(blocks, checks, mode, valid)
}

// addBatchLocked adds blocks in one store transaction. Called with c.mu
// held and nothing pending.
func (c *Chain) addBatchLocked(blocks []*chain.Block, checks *checker, mode addMode, valid func()) (AddResult, int, error) {
	var firstErr error
	w := &writer{c: c, oldHead: c.Head(), mode: mode}
	added := 0
	err := c.db.Update(func(tx *bolt.Tx) error {
		c.seg.rollback() // an earlier attempt of this function
		w.v = c.newWriteView(tx, blocks)
		w.reset()
		added = 0
		firstErr = nil
	loop:
		for i, b := range blocks {
			if err := checks.err(i); err != nil && !errors.Is(err, chain.ErrKnownBlock) {
				firstErr = err // keep the blocks before it
				break
			}
			err := w.add(b)
			switch {
			case err == nil:
				added++
			case errors.Is(err, chain.ErrKnownBlock):
			case chain.IsRuleError(err) || errors.Is(err, chain.ErrUnknownParent) || errors.Is(err, ErrSideBranchRefused):
				// Nothing of b was written: keep the blocks before it.
				firstErr = err
				break loop
			default:
				return err // a store fault: keep nothing
			}
		}
		if added == 0 {
			return errNothingAdded
		}
		if valid != nil {
			valid()
		}
		return w.finish()
	})
	if errors.Is(err, errNothingAdded) {
		err = nil
	}
	if err != nil || added == 0 {
		c.seg.rollback()
	} else {
		c.seg.commit()
	}
	if err != nil {
		return AddResult{Head: w.oldHead}, 0, fmt.Errorf("store blocks: %w", err)
	}
	if added == 0 {
		if firstErr == nil {
			firstErr = chain.ErrKnownBlock
		}
		return AddResult{Head: w.oldHead}, 0, firstErr
	}
	// Committed: publish the new state.
	w.commitMemory()
	return w.result(), added, firstErr
}

var errNothingAdded = errors.New("nothing added")

// checkSanity runs the context-free checks; the network's own genesis is
// ErrKnownBlock.
func (c *Chain) checkSanity(b *chain.Block, now time.Time) error {
	if b.Index == 1 {
		if b.Hash == c.genesis.Hash && b.ComputeHash() == c.genesis.Hash {
			return chain.ErrKnownBlock
		}
		return chain.RuleErrorf(chain.ErrBadGenesis, "block %s claims index 1 but is not this network's genesis %s", b.Hash, c.genesis.Hash)
	}
	if err := c.params.CheckBlockSanity(b, now); err != nil {
		return err
	}
	if c.params.Signed() {
		return c.checkSignatures(b, c.sigs)
	}
	return c.params.CheckStateRoot(b, chain.Hash{})
}

// writer applies blocks inside one store transaction and remembers what the
// in-memory state must learn once it commits.
type writer struct {
	c       *Chain
	v       *view
	oldHead Head
	flushed bool   // the index tails went into runs in this transaction
	lowest  uint64 // the lowest height connected to the main chain

	head      *chain.Block  // the head as of the blocks written so far
	tip       *chain.Parent // the head's entry, as of the blocks written so far
	recent    []chain.Timestamp
	reorged   bool
	extended  bool
	abandoned []*chain.Block // main-chain blocks rolled back, in any order
	poolDrop  map[chain.Hash]struct{}
	pool      *poolStage // the pool changes, once finish has run
	// side is the side branch the last block stored joined, so that a side
	// branch arriving in order is not walked back to the main chain for
	// every block. Valid until the main chain changes branch.
	side *branch

	mode      addMode     // how side blocks are treated, see sidebranch.go
	sideAdded []sideBlock // side blocks written

	// On a signed network: the account state as of the blocks written so
	// far, the blocks connected to the main chain, and the pending
	// transactions the new state made invalid.
	led       *ledgerState
	nodes     *stateNodes // the account-state map's new nodes (state.go)
	root      chain.Hash  // the state root as of the blocks written so far
	rootErr   error       // reading the head's state root failed
	connected []*chain.Block
	dropped   []DroppedTx
}

// DroppedTx is a pending transaction that a change of the main chain made
// invalid (its nonce was used, or its sender's balance no longer covers
// it), and why.
type DroppedTx struct {
	Tx     chain.Transaction
	Reason string
}

// branch is a chain of stored blocks above a main-chain block.
type branch struct {
	fork   uint64                  // height of the main-chain block it grows from
	blocks []*chain.Block          // the blocks above the fork, lowest first
	ids    map[chain.Hash]struct{} // the transaction ids of blocks
}

// tip returns the hash of the branch's highest block, or the zero hash.
func (br *branch) tip() chain.Hash {
	if len(br.blocks) == 0 {
		return chain.Hash{}
	}
	return br.blocks[len(br.blocks)-1].Hash
}

func (br *branch) push(b *chain.Block) {
	br.blocks = append(br.blocks, b)
	for i := range b.Transactions {
		br.ids[b.Transactions[i].ID] = struct{}{}
	}
}

func (w *writer) reset() {
	w.head = nil
	w.tip = w.c.tip
	w.recent = append([]chain.Timestamp(nil), w.c.recent...)
	w.reorged, w.extended = false, false
	w.abandoned = nil
	w.poolDrop = map[chain.Hash]struct{}{}
	w.pool = nil
	w.side = nil
	w.flushed = false
	w.lowest = 0
	w.sideAdded = nil
	w.led, w.nodes = nil, nil
	if w.c.params.Signed() {
		w.led = newLedgerState(w.v)
		w.nodes = &stateNodes{v: w.v, staged: map[smt.Hash][]byte{}}
		w.root, w.rootErr = w.v.stateRootAt(w.oldHead.Height)
	}
	w.connected = nil
	w.dropped = nil
}

func (w *writer) headHash() chain.Hash {
	if w.head != nil {
		return w.head.Hash
	}
	return w.oldHead.Hash
}

func (w *writer) headHeight() uint64 {
	if w.head != nil {
		return w.head.Index
	}
	return w.oldHead.Height
}

// add validates b in context and stores it, moving the head if it wins.
// It writes nothing unless b is valid.
func (w *writer) add(b *chain.Block) error {
	v := w.v
	// The hash commits to the index, so a stored b is the main-chain
	// block at b.Index or a side block.
	if v.isMain(b.Hash, b.Index) || v.tx.Bucket(bucketSide).Get(b.Hash[:]) != nil {
		return chain.ErrKnownBlock
	}
	if b.PreviousHash == w.headHash() {
		return w.extend(b)
	}
	parent, err := v.entryOf(b.PreviousHash)
	if errors.Is(err, chain.ErrNotFound) {
		return fmt.Errorf("block %d %s: %w (previous_hash %s)", b.Index, b.Hash, chain.ErrUnknownParent, b.PreviousHash)
	}
	if err != nil {
		return err
	}
	parentIndex := parent.Index
	times, err := ancestorTimes(v, b.PreviousHash, chain.MedianTimeBlocks)
	if err != nil {
		return err
	}
	if err := w.c.params.CheckBlockContext(b, parent, chain.MedianTime(times)); err != nil {
		return err
	}
	e, err := w.c.params.ParentOf(b, parent)
	if err != nil {
		return err
	}
	// Transaction ids must be new along b's ancestry: the branch blocks
	// back to the main chain, then the main chain up to the fork.
	br := w.side
	if br == nil || br.tip() != b.PreviousHash {
		if br, err = w.branchOf(b.PreviousHash, parentIndex); err != nil {
			return err
		}
	}
	for i := range b.Transactions {
		if b.Transactions[i].IsReward() {
			continue // unique by construction, see extend
		}
		id := b.Transactions[i].ID
		if _, dup := br.ids[id]; dup {
			return chain.RuleErrorf(chain.ErrDuplicateTx, "transaction %s already in an ancestor block", id)
		}
		if h, ok := w.txHeight(id); ok && h <= br.fork {
			return chain.RuleErrorf(chain.ErrDuplicateTx, "transaction %s already in block %d", id, h)
		}
	}
	if e.Work.Cmp(w.tip.Work) <= 0 {
		if err := w.admitSide(b, br); err != nil {
			return err
		}
		if err := v.putSide(b, e); err != nil {
			return err
		}
		// A side branch with no more work: first seen stays.
		br.push(b)
		w.side = br
		return nil
	}
	return w.reorganize(b, e, br)
}

// extend validates b, whose parent is the head, and makes it the head.
func (w *writer) extend(b *chain.Block) error {
	times := append(make([]chain.Timestamp, 0, chain.MedianTimeBlocks), w.recent...)
	if err := w.c.params.CheckBlockContext(b, w.tip, chain.MedianTime(times)); err != nil {
		return err
	}
	e, err := w.c.params.ParentOf(b, w.tip)
	if err != nil {
		return err
	}
	// On the main chain, the transaction index holds exactly the ancestry.
	// A reward needs no look-up: sanity checks made it the only reward of
	// b, with nonce b.Index, and a reward's id commits to its nonce, so it
	// can only equal the reward of another block at the same height, which
	// is never an ancestor.
	for i := range b.Transactions {
		if b.Transactions[i].IsReward() {
			continue
		}
		id := b.Transactions[i].ID
		if h, ok := w.txHeight(id); ok {
			return chain.RuleErrorf(chain.ErrDuplicateTx, "transaction %s already in block %d", id, h)
		}
	}
	var undo []undoEntry
	root := w.root
	if w.led != nil {
		if w.rootErr != nil {
			return w.rootErr
		}
		if undo, err = w.led.applyBlock(b); err != nil {
			return err
		}
		if root, err = w.nodes.update(&w.c.params, b, w.root, undo, w.led); err != nil {
			w.led.undoBlock(undo)
			return err
		}
	}
	if err := w.connect(b, e, undo, root); err != nil {
		return err
	}
	w.root = root
	w.dropFromPool(b)
	w.head, w.tip = b, e
	w.recent = appendRecent(w.recent, b.Timestamp)
	w.extended = true
	return nil
}

// txHeight is the view's txHeight for the duplicate check: an id that is
// neither connected by this batch nor in the duplicate filter is not on
// the main chain, which the filter says without reading the index.
func (w *writer) txHeight(id chain.Hash) (uint64, bool) {
	if _, ok := w.v.txs[id]; !ok && !w.c.dups.mayHold(id) {
		return 0, false
	}
	return w.v.txHeight(id)
}

// branchOf walks back from hash (at index) to the main chain and returns
// the branch above it. For a block on the main chain the branch is empty.
func (w *writer) branchOf(hash chain.Hash, index uint64) (*branch, error) {
	var blocks []*chain.Block
	br := &branch{ids: map[chain.Hash]struct{}{}}
	for !w.v.isMain(hash, index) {
		bb, err := w.v.fetchBlock(hash)
		if err != nil {
			return nil, fmt.Errorf("walk side branch: %w", err)
		}
		blocks = append(blocks, bb)
		hash, index = bb.PreviousHash, bb.Index-1
		if index < 1 {
			return nil, errors.New("side branch does not reach the genesis")
		}
	}
	br.fork = index
	for i := len(blocks) - 1; i >= 0; i-- {
		br.push(blocks[i])
	}
	return br, nil
}

// reorganize makes b (whose entry is e), which grows br, the head: roll
// the main chain back to the fork, then apply the branch and b.
func (w *writer) reorganize(b *chain.Block, e *chain.Parent, br *branch) error {
	// On a signed network the branch is applied to the accounts first, on
	// a copy, so that a branch that breaks the ledger's rules is refused
	// before anything is written.
	undos := make([][]undoEntry, len(br.blocks)+1)
	roots := make([]chain.Hash, len(br.blocks)+1)
	if w.led != nil {
		trial, nodes := w.led.clone(), w.nodes.trial()
		root, err := w.v.stateRootAt(br.fork)
		if err != nil {
			return err
		}
		for h := w.headHeight(); h > br.fork; h-- {
			undo, err := w.v.undoAt(h)
			if err != nil {
				return err
			}
			trial.undoBlock(undo)
		}
		for i, bb := range append(br.blocks[:len(br.blocks):len(br.blocks)], b) {
			undo, err := trial.applyBlock(bb)
			if err != nil {
				return err
			}
			if root, err = nodes.update(&w.c.params, bb, root, undo, trial); err != nil {
				return err
			}
			undos[i], roots[i] = undo, root
		}
		w.led = trial
		nodes.merge()
		w.root = root
	}
	for h := w.headHeight(); h > br.fork; h-- {
		old, err := w.c.recordBlock(w.v, h)
		if err != nil {
			return err
		}
		if err := w.v.disconnectMain(old); err != nil {
			return err
		}
		if w.led != nil {
			if err := w.v.deleteUndo(h); err != nil {
				return err
			}
			if err := w.v.deleteStateRoot(h); err != nil {
				return err
			}
		}
		w.abandoned = append(w.abandoned, old)
	}
	for i, bb := range br.blocks {
		if err := w.connect(bb, nil, undos[i], roots[i]); err != nil {
			return err
		}
		w.dropFromPool(bb)
	}
	if err := w.connect(b, e, undos[len(br.blocks)], roots[len(br.blocks)]); err != nil {
		return err
	}
	w.dropFromPool(b)
	w.head, w.tip = b, e
	w.reorged = true
	w.side = nil // the main chain changed under it
	times, err := ancestorTimes(w.v, b.Hash, chain.MedianTimeBlocks)
	if err != nil {
		return err
	}
	w.recent = times
	return nil
}

// connect puts b on the main chain; e is its entry, or nil for a stored
// side block, whose entry is read. On a signed network undo is its undo
// data and root the state root after it, which it writes.
func (w *writer) connect(b *chain.Block, e *chain.Parent, undo []undoEntry, root chain.Hash) error {
	if w.lowest == 0 || b.Index < w.lowest {
		w.lowest = b.Index
	}
	if e == nil {
		var err error
		if e, err = w.v.entryOf(b.Hash); err != nil {
			return err
		}
	}
	if w.led != nil {
		if err := w.v.putUndo(b.Index, undo); err != nil {
			return err
		}
		w.connected = append(w.connected, b)
	}
	if err := w.v.connectMain(b, e); err != nil {
		return err
	}
	if w.led != nil {
		return w.v.putStateRoot(b.Index, root)
	}
	return nil
}

// dropFromPool notes the pending transactions that b holds.
func (w *writer) dropFromPool(b *chain.Block) {
	for i := range b.Transactions {
		t := &b.Transactions[i]
		if !t.IsReward() && w.c.pool.has(t.ID) {
			w.poolDrop[t.ID] = struct{}{}
		}
	}
}

func appendRecent(times []chain.Timestamp, ts chain.Timestamp) []chain.Timestamp {
	times = append(times, ts)
	if len(times) > chain.MedianTimeBlocks {
		times = append(times[:0], times[len(times)-chain.MedianTimeBlocks:]...)
	}
	return times
}

// finish writes the head and the pool changes.
func (w *writer) finish() error {
	if w.head == nil {
		return w.v.syncSegments() // side blocks only
	}
	tx := w.v.tx
	if err := dbPutHead(tx, w.head); err != nil {
		return err
	}
	// The index tails become a run when they are full, or when blocks
	// joined the main chain at or below the indexed height (a
	// reorganisation): the tails must only hold what lies above it, since
	// that is what opening rebuilds them from.
	indexed, err := metaHeight(tx, metaIndexed)
	if err != nil {
		return err
	}
	if w.lowest <= indexed || w.c.ix.tailLen()+len(w.v.blk)+len(w.v.txs)+w.v.addrN >= flushEntries {
		if err := w.c.ix.flush(w.v, w.head.Index); err != nil {
			return err
		}
		w.flushed = true
		w.v.runCache = nil // the runs changed
	}
	// Transactions of abandoned blocks go back to the pool unless the new
	// main chain holds them. A block may have been abandoned twice in one
	// batch: each transaction goes back once.
	var back []chain.Transaction
	seen := map[chain.Hash]struct{}{}
	for _, old := range w.abandoned {
		for i := range old.Transactions {
			t := old.Transactions[i]
			if t.IsReward() {
				continue
			}
			if _, dup := seen[t.ID]; dup {
				continue
			}
			seen[t.ID] = struct{}{}
			if _, ok := w.v.txHeight(t.ID); ok {
				continue
			}
			back = append(back, t)
		}
	}
	// Only what the main chain now holds leaves the pool.
	for id := range w.poolDrop {
		if _, ok := w.v.txHeight(id); !ok {
			delete(w.poolDrop, id)
		}
	}
	if w.led != nil {
		// And what the new accounts make invalid.
		back = w.revalidatePool(back)
		if err := w.led.flush(); err != nil {
			return err
		}
		if err := w.nodes.flush(); err != nil {
			return err
		}
	}
	st, err := w.c.pool.stage(tx, w.poolDrop, back)
	if err != nil {
		return err
	}
	for _, t := range st.unfit {
		w.dropped = append(w.dropped, DroppedTx{Tx: t, Reason: "an earlier nonce of the same sender did not fit in the full pool"})
	}
	w.pool = st
	// The bodies go to disk before the commit that refers to them.
	return w.v.syncSegments()
}

// commitMemory publishes the committed state. Called with c.mu held.
func (w *writer) commitMemory() {
	if w.flushed {
		// The runs changed: their directory, read from the committed
		// store, replaces the tails' entries in one step per index.
		var blkDir, txDir, addrDir []dirRun
		if err := w.c.db.View(func(tx *bolt.Tx) error {
			blkDir = loadDir(tx.Bucket(bucketHashIx), w.c.ix.blocks.directory())
			txDir = loadDir(tx.Bucket(bucketTxIx), w.c.ix.txs.directory())
			if w.c.ix.addrs != nil {
				addrDir = loadDir(tx.Bucket(bucketAddrIx), w.c.ix.addrs.directory())
			}
			return nil
		}); err != nil {
			w.c.log.Error("reading the index directory failed", "err", err)
		}
		w.c.ix.blocks.reset(blkDir)
		w.c.ix.txs.reset(txDir)
		if w.c.ix.addrs != nil {
			w.c.ix.addrs.reset(addrDir)
		}
		w.c.ix.gen.Add(1)
	} else {
		w.c.ix.blocks.add(w.v.blk)
		w.c.ix.txs.add(w.v.txs)
		if w.c.ix.addrs != nil {
			w.c.ix.addrs.add(w.v.addrs)
		}
	}
	w.c.noteTxs(w.v.txs)
	w.commitSide()
	if w.pool != nil {
		w.c.pool.commit(w.pool)
	}
	if w.head != nil {
		w.c.recent = w.recent
		w.c.tip = w.tip
		w.c.setHead(w.head, w.tip)
		if w.reorged {
			w.c.log.Info("chain reorganised", "height", w.head.Index, "head", w.head.Hash, "abandoned", len(w.abandoned), "returned_txs", len(w.returned()))
		}
		for _, d := range w.dropped {
			w.c.log.Info("pending transaction dropped", "tx", d.Tx.ID, "sender", d.Tx.Sender, "nonce", d.Tx.Nonce, "reason", d.Reason)
		}
	}
}

// returned lists the transactions that went back to the pool.
func (w *writer) returned() []chain.Transaction {
	if w.pool == nil {
		return nil
	}
	out := make([]chain.Transaction, len(w.pool.back))
	for i, e := range w.pool.back {
		out[i] = e.tx
	}
	return out
}

func (w *writer) result() AddResult {
	res := AddResult{Status: SideBranch, Head: w.c.Head(), Abandoned: len(w.abandoned), Dropped: w.dropped}
	switch {
	case w.reorged:
		res.Status = Reorganized
		res.Returned = w.returned()
	case w.extended:
		res.Status = Extended
	}
	return res
}
