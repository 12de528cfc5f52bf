package store

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gossipchain/gossipchain/chain"
)

// checkChunk is how many consecutive blocks one checking goroutine takes
// at a time; a batch of at most this many is checked by the adder itself.
const checkChunk = 32

// checker runs the context-free checks of a batch (decoding was done by
// the caller; ids, sanity, proof of work, signatures) ahead of the serial
// adder, on up to GOMAXPROCS goroutines that it owns: chunks are taken in
// order, so the adder rarely waits. stop ends them and waits for them.
type checker struct {
	c      *Chain
	blocks []*chain.Block
	now    time.Time
	errs   []error
	done   []chan struct{} // done[k] is closed once chunk k is checked
	next   atomic.Int64    // the next chunk to take
	quit   atomic.Bool
	wg     sync.WaitGroup
}

func (c *Chain) startChecks(blocks []*chain.Block, now time.Time) *checker {
	k := &checker{c: c, blocks: blocks, now: now}
	if len(blocks) <= checkChunk {
		return k
	}
	k.errs = make([]error, len(blocks))
	chunks := (len(blocks) + checkChunk - 1) / checkChunk
	k.done = make([]chan struct{}, chunks)
	for i := range k.done {
		k.done[i] = make(chan struct{})
	}
	workers := min(runtime.GOMAXPROCS(0), chunks)
	k.wg.Add(workers)
	for range workers {
		go k.work()
	}
	return k
}

func (k *checker) work() {
	defer k.wg.Done()
	for !k.quit.Load() {
		n := int(k.next.Add(1) - 1)
		if n >= len(k.done) {
			return
		}
		for i := n * checkChunk; i < min((n+1)*checkChunk, len(k.blocks)); i++ {
			k.errs[i] = k.c.checkSanity(k.blocks[i], k.now)
		}
		close(k.done[n])
	}
}

// err returns the result of the checks of block i, waiting for them.
func (k *checker) err(i int) error {
	if k.done == nil {
		return k.c.checkSanity(k.blocks[i], k.now)
	}
	<-k.done[i/checkChunk]
	return k.errs[i]
}

// stop ends the checking goroutines and waits for them.
func (k *checker) stop() {
	k.quit.Store(true)
	k.wg.Wait()
}
