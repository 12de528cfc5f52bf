package store

import (
	"crypto/sha256"
	"encoding/binary"
	"math"
	"slices"
	"sync"

	bolt "go.etcd.io/bbolt"

	"github.com/gossipchain/gossipchain/chain"
)

// The address index of a signed network: for each address, the heights of
// the main-chain blocks that hold a transaction sent or received by it (the
// reward included), for Chain.AccountTransactions. Addresses are random, so
// it is kept like the block-hash and transaction-id indexes (hashindex.go):
// a tail in memory of the entries above the height metaIndexed, rebuilt
// from those blocks when the store opens, and sorted runs of (8-byte
// prefix of SHA-256(address), 4-byte height) written when the tails are
// full, in the same commits and with the same tiered merging. A block adds
// one entry per address it involves, however many of its transactions do;
// no commit writes a random key per transaction. Entries are hints: a
// look-up reads each named block and keeps the transactions that involve
// the address, so a shared prefix or a block a reorganisation removed
// costs a read, never a wrong answer.

// addrIndex is the address index. The tail changes only once a store
// transaction has committed (with Chain.mu held); readers take mu.
type addrIndex struct {
	mu   sync.RWMutex
	tail map[chain.Hash][]uint64 // SHA-256(address) → heights
	n    int                     // entries in tail
	dir  []dirRun
}

func newAddrIndex() *addrIndex { return &addrIndex{tail: map[chain.Hash][]uint64{}} }

// addrKey is the index key of an address.
func addrKey(addr string) chain.Hash { return sha256.Sum256([]byte(addr)) }

// noteBlock adds the entries of b to m: one per address b involves.
func noteAddrs(m map[chain.Hash][]uint64, b *chain.Block) int {
	added := 0
	seen := map[string]bool{}
	note := func(a string) {
		if seen[a] {
			return
		}
		seen[a] = true
		k := addrKey(a)
		m[k] = append(m[k], b.Index)
		added++
	}
	for i := range b.Transactions {
		t := &b.Transactions[i]
		if !t.IsReward() {
			note(t.Sender)
		}
		note(t.Recipient)
	}
	return added
}

func (a *addrIndex) add(m map[chain.Hash][]uint64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for k, hs := range m {
		a.tail[k] = append(a.tail[k], hs...)
		a.n += len(hs)
	}
}

func (a *addrIndex) reset(dir []dirRun) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.tail = map[chain.Hash][]uint64{}
	a.n = 0
	a.dir = dir
}

func (a *addrIndex) setDir(dir []dirRun) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.dir = dir
}

func (a *addrIndex) directory() []dirRun {
	a.mu.RLock()
	defer a.mu.RUnlock()
	return a.dir
}

func (a *addrIndex) tailLen() int {
	a.mu.RLock()
	defer a.mu.RUnlock()
	return a.n
}

// makeAddrRun encodes the entries of the tail and of added in prefix
// order.
func (a *addrIndex) makeRun(added map[chain.Hash][]uint64) ([]byte, error) {
	a.mu.RLock()
	es := make([]runEntry, 0, a.n)
	var err error
	for _, m := range []map[chain.Hash][]uint64{a.tail, added} {
		for k, hs := range m {
			for _, h := range hs {
				if h > math.MaxUint32 {
					err = errHeightRange(h)
				}
				es = append(es, runEntry{binary.BigEndian.Uint64(k[:8]), uint32(h)})
			}
		}
	}
	a.mu.RUnlock()
	if err != nil {
		return nil, err
	}
	return encodeRun(es), nil
}

// heights returns the heights the index names for addr (possibly stale or
// shared with another address), highest first, without repeats.
func (a *addrIndex) heights(v *view, addr string) []uint64 {
	k := addrKey(addr)
	prefix := binary.BigEndian.Uint64(k[:8])
	a.mu.RLock()
	out := append([]uint64(nil), a.tail[k]...)
	dir := a.dir
	a.mu.RUnlock()
	collect := func(h uint64) bool { out = append(out, h); return false }
	b := v.tx.Bucket(bucketAddrIx)
	stale := false
	for _, d := range dir {
		if !(storedRun{bloom: d.bloom}).mayHold(prefix) {
			continue
		}
		sub := b.Bucket(heightKey(d.num))
		if sub == nil {
			stale = true
			break
		}
		searchRun(sub.Get(runKey), prefix, collect)
	}
	if stale {
		// Runs merged since the directory was read: the snapshot's own.
		out = append(out[:0], a.tailCopy(k)...)
		for _, sr := range loadRuns(b) {
			searchRun(sr.entries, prefix, collect)
		}
	}
	slices.Sort(out)
	out = slices.Compact(out)
	slices.Reverse(out)
	return out
}

func (a *addrIndex) tailCopy(k chain.Hash) []uint64 {
	a.mu.RLock()
	defer a.mu.RUnlock()
	return append([]uint64(nil), a.tail[k]...)
}

// flushAddrs writes the address tail and added as a new run.
func (ix *indexes) flushAddrs(tx *bolt.Tx, added map[chain.Hash][]uint64) error {
	if ix.addrs == nil {
		return nil
	}
	run, err := ix.addrs.makeRun(added)
	if err != nil {
		return err
	}
	return writeRun(tx.Bucket(bucketAddrIx), run)
}
