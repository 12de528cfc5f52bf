package store

import (
	"bytes"
	"fmt"
	"maps"
	"slices"
	"sync"

	bolt "go.etcd.io/bbolt"

	"github.com/gossipchain/gossipchain/chain"
	"github.com/gossipchain/gossipchain/chain/smt"
)

// The account-state map of a signed network (chain/state.go, PROTOCOL.md
// 10.8) is kept in two buckets:
//
//	smt    node hash (32) → the node's encoding (65 bytes); a leaf is
//	       followed by the balance (8) and next nonce (8) its value hash
//	       commits to, so that a proof at any height reads the account
//	       it proves
//	roots  height (8) → the state root after the main-chain block at
//	       height (the genesis, whose root is the empty map's, has none)
//
// Each block that joins the main chain updates the map with the accounts
// it touched (those its undo data names), O(touched × log n), and writes
// the nodes it created and its root in the same commit as its undo data,
// or with its pending record (deferred.go). Nodes are content-addressed
// and never rewritten; none is deleted: rolling a block back deletes its
// root, and the parent's recorded root is the state again.
//
// Every root of the main chain stays provable, as the undo data keeps
// every block reversible. What it costs (BenchmarkStateDisk,
// BenchmarkStateCommitment): a block of one payment among ten accounts
// adds about 1.0 kB of nodes (2.4 kB of bbolt pages) to a 357-byte body; the
// widest block (1,999 payments, 3,999 accounts touched) about 1.0 MB among
// 4,000 accounts, and about 4 MB at a million (41,750 nodes). Pruning
// needs to know which nodes later roots still share, and a node that a
// later block creates again must not go with an old root: a stale-node
// index (height at which a node left the map, cleared when a block
// creates it again) or a mark-and-sweep from the roots kept would do it.
var (
	bucketStateNodes = []byte("smt")
	bucketStateRoots = []byte("roots")
)

// leafSize is the stored size of a leaf: its encoding, then the account
// its value hash commits to.
const leafSize = smt.NodeSize + acctSize

// nodeLog holds the nodes of the blocks acknowledged since the last
// commit. It is shared by every pending of one commit interval and only
// grows: a reader holding an older pending may see nodes of later blocks,
// which changes nothing, as nodes are content-addressed.
type nodeLog struct {
	mu    sync.RWMutex
	nodes map[smt.Hash][]byte
}

func (l *nodeLog) get(h smt.Hash) ([]byte, bool) {
	if l == nil {
		return nil, false
	}
	l.mu.RLock()
	defer l.mu.RUnlock()
	data, ok := l.nodes[h]
	return data, ok
}

// stateNodes reads the map's nodes in a view: those staged by its writer,
// then the pending ones, then bbolt's. It is the smt.NodeReader of Update
// and Prove.
type stateNodes struct {
	v      *view
	base   *stateNodes         // the writer's nodes under a trial's, or nil
	staged map[smt.Hash][]byte // created in this store transaction
	last   []byte              // the last leaf read, with its account
}

// Get implements smt.NodeReader.
func (s *stateNodes) Get(h smt.Hash) ([]byte, error) {
	data, err := s.full(h)
	if err != nil {
		return nil, err
	}
	if data[0] == 0x00 {
		s.last = data
	}
	return data[:smt.NodeSize], nil
}

// full returns the stored form of node h, a leaf with its account.
func (s *stateNodes) full(h smt.Hash) ([]byte, error) {
	for n := s; n != nil; n = n.base {
		if data, ok := n.staged[h]; ok {
			return data, nil
		}
	}
	data, ok := s.v.pend.nodeLog().get(h)
	if !ok {
		if b := s.v.tx.Bucket(bucketStateNodes); b != nil {
			data = b.Get(h[:])
		}
	}
	switch {
	case data == nil:
		return nil, smt.ErrMissingNode
	case len(data) != smt.NodeSize && (len(data) != leafSize || data[0] != 0x00):
		return nil, fmt.Errorf("stored node %x is corrupt (%d bytes)", h, len(data))
	}
	return data, nil
}

// trial returns nodes over s whose staged nodes reach s only by merge.
func (s *stateNodes) trial() *stateNodes {
	return &stateNodes{v: s.v, base: s, staged: map[smt.Hash][]byte{}}
}

// merge moves a trial's staged nodes into its base.
func (s *stateNodes) merge() {
	maps.Copy(s.base.staged, s.staged)
	s.staged = map[smt.Hash][]byte{}
}

// update applies to the map whose root is root the accounts that b
// touched, which undo names and led holds after b, and stages the new
// nodes, each leaf with its account (a leaf's stored form). It returns
// the new root, and a *RuleError if b states another.
func (s *stateNodes) update(p *chain.Params, b *chain.Block, root chain.Hash, undo []undoEntry, led *ledgerState) (chain.Hash, error) {
	after := make([]undoEntry, len(undo))
	for i, u := range undo {
		a, err := led.get(u.addr)
		if err != nil {
			return root, err
		}
		after[i] = undoEntry{u.addr, a}
	}
	next, err := s.updateAccounts(root, after)
	if err != nil {
		return root, fmt.Errorf("account state after block %d: %w", b.Index, err)
	}
	if err := p.CheckStateRoot(b, next); err != nil {
		return root, err
	}
	return next, nil
}

// updateAccounts sets, in the map whose root is root, each account of
// accts (an address and its new state), stages the new nodes and returns
// the new root.
func (s *stateNodes) updateAccounts(root chain.Hash, accts []undoEntry) (chain.Hash, error) {
	changes := make([]smt.Change, len(accts))
	byKey := make(map[smt.Hash]acct, len(accts))
	for i, u := range accts {
		changes[i] = chain.StateChange(u.addr, u.prior.balance, u.prior.nonce)
		byKey[changes[i].Key] = u.prior
	}
	next, nodes, err := smt.Update(s, smt.Hash(root), changes)
	if err != nil {
		return root, err
	}
	for i := range nodes {
		n := &nodes[i]
		data := n.Data[:]
		if data[0] == 0x00 {
			data = appendAcct(slices.Clip(data), byKey[smt.Hash(data[1:1+smt.HashSize])])
		} else {
			data = slices.Clone(data)
		}
		s.staged[n.Hash] = data
	}
	return chain.Hash(next), nil
}

// flush writes the staged nodes: into the bucket, in key order, or, for a
// deferred block, into the pending nodes.
func (s *stateNodes) flush() error {
	if len(s.staged) == 0 {
		return nil
	}
	if s.v.deferred {
		s.v.pend.addNodes(s.staged)
	} else if err := putNodes(s.v.tx, s.staged); err != nil {
		return err
	}
	s.staged = map[smt.Hash][]byte{}
	return nil
}

func putNodes(tx *bolt.Tx, nodes map[smt.Hash][]byte) error {
	b := tx.Bucket(bucketStateNodes)
	for _, h := range slices.SortedFunc(maps.Keys(nodes), func(a, b smt.Hash) int { return bytes.Compare(a[:], b[:]) }) {
		if err := b.Put(h[:], nodes[h]); err != nil {
			return fmt.Errorf("write account-state node %x: %w", h, err)
		}
	}
	return nil
}

// nodeLog returns the pending nodes, or nil.
func (p *pending) nodeLog() *nodeLog {
	if p == nil {
		return nil
	}
	return p.nodes
}

// addNodes adds nodes to p's log, which p, not yet published, shares with
// the pendings before it since the last commit.
func (p *pending) addNodes(nodes map[smt.Hash][]byte) {
	if p.nodes == nil {
		p.nodes = &nodeLog{nodes: make(map[smt.Hash][]byte, len(nodes))}
	}
	p.nodes.mu.Lock()
	maps.Copy(p.nodes.nodes, nodes)
	p.nodes.mu.Unlock()
}

// rootAt returns the pending root at height, if any.
func (p *pending) rootAt(height uint64) ([]byte, bool) {
	if p == nil || height <= p.base || height-p.base > uint64(len(p.roots)) {
		return nil, false
	}
	return p.roots[height-p.base-1], true
}

// putRoots writes the pending roots and nodes.
func (p *pending) putRoots(tx *bolt.Tx) error {
	if len(p.roots) == 0 {
		return nil
	}
	b := tx.Bucket(bucketStateRoots)
	b.FillPercent = 1 // appends
	for i, r := range p.roots {
		if err := b.Put(heightKey(p.base+1+uint64(i)), r); err != nil {
			return err
		}
	}
	if p.nodes == nil {
		return nil
	}
	return putNodes(tx, p.nodes.nodes)
}

// stateRootAt returns the state root after the main-chain block at height.
func (v *view) stateRootAt(height uint64) (chain.Hash, error) {
	raw, ok := v.pend.rootAt(height)
	if !ok {
		if b := v.tx.Bucket(bucketStateRoots); b != nil {
			raw = b.Get(heightKey(height))
		}
	}
	switch {
	case raw == nil && height == 1:
		return chain.Hash{}, nil // the genesis changes no account
	case raw == nil:
		return chain.Hash{}, fmt.Errorf("no state root for height %d", height)
	case len(raw) != chain.HashSize:
		return chain.Hash{}, fmt.Errorf("state root of height %d is corrupt (%d bytes)", height, len(raw))
	}
	return chain.Hash(raw), nil
}

// putStateRoot records root as the state after the main-chain block at
// height.
func (v *view) putStateRoot(height uint64, root chain.Hash) error {
	if v.deferred {
		v.pend.roots = append(v.pend.roots[:len(v.pend.roots):len(v.pend.roots)], root[:])
		return nil
	}
	b := v.tx.Bucket(bucketStateRoots)
	b.FillPercent = 1 // appends
	return b.Put(heightKey(height), root[:])
}

// deleteStateRoot deletes the root of a block leaving the main chain.
func (v *view) deleteStateRoot(height uint64) error {
	return v.tx.Bucket(bucketStateRoots).Delete(heightKey(height))
}

// ensureState creates the account-state buckets of a store written before
// they existed and, on a signed network, builds the map of the head's
// accounts and, going down the undo data, the root of every main-chain
// block, so that every block is checked and provable. Called by Open,
// before the replay.
func (c *Chain) ensureState() error {
	have := false
	if err := c.db.View(func(tx *bolt.Tx) error {
		have = tx.Bucket(bucketStateNodes) != nil && tx.Bucket(bucketStateRoots) != nil
		return nil
	}); err != nil || have {
		return err
	}
	head := c.Head()
	n := 0
	err := c.db.Update(func(tx *bolt.Tx) error {
		for _, name := range [][]byte{bucketStateNodes, bucketStateRoots} {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return fmt.Errorf("create bucket %s: %w", name, err)
			}
		}
		if !c.params.Signed() || head.Height <= 1 {
			return nil
		}
		return buildState(c.newView(tx), head.Height, &n)
	})
	if err != nil {
		return fmt.Errorf("build the account-state map: %w", err)
	}
	c.log.Info("built the account-state map from the accounts and undo data", "height", head.Height, "accounts", n)
	return nil
}

// stateRootAfter returns the state root after txs, the transactions of a
// block at index on the head: what the block must state. Called with c.mu
// held.
func (c *Chain) stateRootAfter(index uint64, txs []chain.Transaction) (chain.Hash, error) {
	var root chain.Hash
	err := c.read(func(v *view) error {
		parent, err := v.stateRootAt(index - 1)
		if err != nil {
			return err
		}
		led := newLedgerState(v)
		undo, err := led.applyTxs(index, txs)
		if err != nil {
			return err
		}
		for i := range undo {
			if undo[i].prior, err = led.get(undo[i].addr); err != nil {
				return err
			}
		}
		nodes := &stateNodes{v: v, staged: map[smt.Hash][]byte{}}
		root, err = nodes.updateAccounts(parent, undo)
		return err
	})
	return root, err
}

// buildState builds the map of the accounts bucket as the root of the
// main-chain block at head, then each root below it from the undo data,
// and counts the accounts in n.
func buildState(v *view, head uint64, n *int) error {
	var accts []undoEntry
	err := v.tx.Bucket(bucketAccounts).ForEach(func(k, raw []byte) error {
		a, err := decodeAcct(raw)
		if err != nil {
			return fmt.Errorf("account %s: %w", k, err)
		}
		accts = append(accts, undoEntry{string(k), a})
		return nil
	})
	if err != nil {
		return err
	}
	*n = len(accts)
	nodes := &stateNodes{v: v, staged: map[smt.Hash][]byte{}}
	var root chain.Hash
	for h := head; h > 1; h-- {
		if root, err = nodes.updateAccounts(root, accts); err != nil {
			return err
		}
		if err := nodes.flush(); err != nil {
			return err
		}
		if err := v.putStateRoot(h, root); err != nil {
			return err
		}
		// The accounts before block h are its undo data.
		if accts, err = v.undoAt(h); err != nil {
			return err
		}
	}
	return nil
}
