package store

import (
	"encoding/binary"
	"sync"

	bolt "go.etcd.io/bbolt"

	"github.com/gossipchain/gossipchain/chain"
)

// The duplicate-transaction check asks, for every transaction of every new
// block, whether its id is already on the main chain. Almost always it is
// not, and the transaction index can only say so after probing the filter
// of each of its runs, whose number grows with the chain. The dupFilter
// answers that common case in one cache line at any chain length: one
// blocked Bloom filter (the runs' shape, see bloomPlace) of every id the
// index holds. It only ever says "not there" or "maybe"; a maybe goes to
// the index, which confirms every hit in the block.
//
// The filter is built from the committed runs and tails by a goroutine the
// Chain owns, at open and again each time it fills up (at twice the size),
// so that neither opening nor a batch waits for a pass over every id. Until
// the first build is installed every check goes to the index; during a
// rebuild the old filter keeps answering, and ids committed meanwhile go
// into both.
//
// Memory: dupFilterBits bits per id at capacity, twice that right after a
// build: 1.25 to 2.5 bytes per transaction.

// dupFilterBits is the filter's size in bits per id at its capacity (about
// 1% false positives there, far fewer right after a build); a filter has
// room for at least dupFilterMin ids.
const (
	dupFilterBits = 10
	dupFilterMin  = 4096
)

// dupFilter guards the filter with Chain.mu: it is read by the writer and
// changed once a store transaction has committed, both with Chain.mu held,
// and by the goroutine that builds it, which takes Chain.mu.
type dupFilter struct {
	bits     []byte // nil until the first build is installed
	n, limit int    // ids put in; the capacity, past which it is rebuilt

	building bool
	pending  []uint64 // prefixes committed while a build runs
	closed   bool
	quit     chan struct{}
	wg       sync.WaitGroup
}

func idPrefix(id chain.Hash) uint64 { return binary.BigEndian.Uint64(id[:8]) }

// mayHold reports whether id may be in the transaction index. Called with
// Chain.mu held.
func (d *dupFilter) mayHold(id chain.Hash) bool {
	return d.bits == nil || (storedRun{bloom: d.bits}).mayHold(idPrefix(id))
}

// noteTxs puts the ids of a committed transaction into the filter, and starts
// a rebuild once it holds more than its capacity. Called with Chain.mu
// held.
func (c *Chain) noteTxs(ids map[chain.Hash]uint64) {
	d := &c.dups
	for id := range ids {
		p := idPrefix(id)
		if d.bits != nil {
			bloomSet(d.bits, p)
			d.n++
		}
		if d.building {
			d.pending = append(d.pending, p)
		}
	}
	if d.bits != nil && d.n > d.limit {
		c.startDupFilterLocked()
	}
}

// startDupFilterLocked starts a build of the filter unless one runs or the
// chain is closing. Called with Chain.mu held.
func (c *Chain) startDupFilterLocked() {
	d := &c.dups
	if d.building || d.closed {
		return
	}
	if d.quit == nil {
		d.quit = make(chan struct{})
	}
	d.building = true
	d.pending = nil
	d.wg.Add(1)
	go c.buildDupFilter()
}

// stopDupFilter ends a running build and waits for it. Called without
// Chain.mu held, before the store closes.
func (c *Chain) stopDupFilter() {
	c.mu.Lock()
	d := &c.dups
	if d.quit != nil && !d.closed {
		close(d.quit)
	}
	d.closed = true
	c.mu.Unlock()
	d.wg.Wait()
}

// buildDupFilter builds a filter of every id in the transaction index as
// committed when it starts, adds the ids committed since, and installs it.
func (c *Chain) buildDupFilter() {
	d := &c.dups
	defer d.wg.Done()
	abandon := func() {
		c.mu.Lock()
		d.building, d.pending = false, nil
		c.mu.Unlock()
	}
	// The runs and the tail as of one commit: no writer runs while
	// Chain.mu is held, and ids committed from here on go to pending.
	c.mu.Lock()
	tx, err := c.db.Begin(false)
	if err != nil {
		c.mu.Unlock()
		c.log.Error("building the duplicate-transaction filter failed", "err", err)
		abandon()
		return
	}
	r := c.ix.txs
	r.mu.RLock()
	tail := make([]uint64, 0, len(r.tail))
	for id := range r.tail {
		tail = append(tail, idPrefix(id))
	}
	r.mu.RUnlock()
	c.mu.Unlock()
	// The read transaction ends before Chain.mu is taken again: a writer
	// holding Chain.mu may wait for every reader to end to grow the map
	// of the file.
	bits, n, ok := buildFilterBits(tx.Bucket(r.bucket), tail, d.quit)
	_ = tx.Rollback()
	if !ok {
		abandon()
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, p := range d.pending {
		bloomSet(bits, p)
	}
	d.bits, d.n, d.limit = bits, n+len(d.pending), len(bits)*8/dupFilterBits
	d.building, d.pending = false, nil
}

// buildFilterBits returns a filter with room for twice the ids of the
// index bucket b's runs and of tail (their prefixes), holding them, and
// their number; not ok if quit closed first.
func buildFilterBits(b *bolt.Bucket, tail []uint64, quit <-chan struct{}) (bits []byte, n int, ok bool) {
	runs := loadRuns(b)
	n = len(tail)
	for _, run := range runs {
		n += len(run.entries) / runEntrySize
	}
	limit := max(2*n, dupFilterMin)
	bits = make([]byte, max(1, (limit*dupFilterBits+bloomBlockBytes*8-1)/(bloomBlockBytes*8))*bloomBlockBytes)
	for _, p := range tail {
		bloomSet(bits, p)
	}
	for _, run := range runs {
		for i := 0; i+runEntrySize <= len(run.entries); i += runEntrySize {
			if i%((1<<16)*runEntrySize) == 0 { // now and then: is the chain closing?
				select {
				case <-quit:
					return nil, 0, false
				default:
				}
			}
			bloomSet(bits, binary.BigEndian.Uint64(run.entries[i:]))
		}
	}
	return bits, n, true
}

// dupFilterBytes returns the size of the installed filter and the ids it
// holds; 0, 0 before the first build.
func (c *Chain) dupFilterBytes() (size, ids int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.dups.bits), c.dups.n
}
