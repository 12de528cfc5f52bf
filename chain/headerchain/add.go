package headerchain

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	bolt "go.etcd.io/bbolt"

	"github.com/gossipchain/gossipchain/chain"
)

// AddResult is what Add did.
type AddResult struct {
	Head      Head // the head after the call
	Added     int  // headers stored, on the main chain or a side branch
	Abandoned int  // main-chain headers a reorganisation moved to a side branch
}

// Add checks headers in order and stores the valid ones in one bbolt
// transaction (one disk sync); a header with more cumulative work than the
// head becomes the head, reorganising the main chain if it is on another
// branch. Known headers (the genesis included) are skipped. Add stops at
// the first header that is invalid (a *chain.RuleError) or whose parent is
// unknown (chain.ErrUnknownParent) and returns that error with the result
// of the headers before it, which are kept. The headers' Hash must be
// computed (chain.DecodeHeader does); they carry no transactions.
//
// When the heaviest chain no longer holds the checkpoint, the headers are
// kept and the error wraps ErrCheckpointConflict.
func (c *Chain) Add(headers []chain.Block) (AddResult, error) {
	now := c.now()
	// The checks without the parent need no lock.
	sane := len(headers)
	var firstErr error
	for i := range headers {
		b := &headers[i]
		if b.Index == 1 && b.Hash == c.genesis.Hash && b.ComputeHash() == c.genesis.Hash {
			continue
		}
		if err := c.params.CheckHeaderSanity(b, now); err != nil {
			sane, firstErr = i, fmt.Errorf("header %d %s: %w", b.Index, b.Hash, err)
			break
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if sane == 0 { // nothing to write
		return AddResult{Head: c.headLocked()}, firstErr
	}
	var w *writer
	err := c.db.Update(func(tx *bolt.Tx) error {
		w = &writer{view: view{tx: tx}, main: tx.Bucket(bucketMain), side: tx.Bucket(bucketSide),
			tip: c.tip, recent: slices.Clone(c.recent), genesis: c.genesis.Hash, params: &c.params, cp: c.checkpoint}
		w.main.FillPercent = 1 // heights are appended in order
		for i := range headers[:sane] {
			err := w.add(&headers[i])
			switch {
			case err == nil:
				w.added++
			case errors.Is(err, chain.ErrKnownBlock):
			case chain.IsRuleError(err) || errors.Is(err, chain.ErrUnknownParent):
				firstErr = fmt.Errorf("header %d %s: %w", headers[i].Index, headers[i].Hash, err)
				return w.finish()
			default:
				return err
			}
		}
		return w.finish()
	})
	if err != nil {
		return AddResult{Head: c.headLocked()}, fmt.Errorf("store headers: %w", err)
	}
	c.tip, c.recent = w.tip, w.recent
	res := AddResult{Head: c.headLocked(), Added: w.added, Abandoned: w.abandoned}
	if w.cpErr != nil {
		c.log.Error("checkpoint conflict", "err", w.cpErr)
		return res, w.cpErr
	}
	return res, firstErr
}

func (c *Chain) headLocked() Head {
	return Head{Hash: c.tip.Hash, Height: c.tip.Index, Work: c.tip.Work}
}

// writer adds headers in one bbolt transaction.
type writer struct {
	view
	main, side *bolt.Bucket
	params     *chain.Params
	genesis    chain.Hash
	cp         *Checkpoint

	tip       *chain.Parent     // the head as of the headers written so far
	recent    []chain.Timestamp // its and its ancestors' timestamps
	added     int
	abandoned int
	cpErr     error  // the checkpoint conflict finish found
	arena     []byte // the keys and records of extend
}

// add checks b in context and stores it, moving the head if it wins.
func (w *writer) add(b *chain.Block) error {
	if b.Index == 1 && b.Hash == w.genesis {
		return chain.ErrKnownBlock
	}
	if b.PreviousHash == w.tip.Hash {
		return w.extend(b)
	}
	if _, _, _, err := w.entryOf(b.Hash, b.Index); err == nil {
		return chain.ErrKnownBlock
	}
	_, parent, _, err := w.entryOf(b.PreviousHash, b.Index-1)
	if errors.Is(err, chain.ErrNotFound) {
		return fmt.Errorf("%w (previous_hash %s)", chain.ErrUnknownParent, b.PreviousHash)
	}
	if err != nil {
		return err
	}
	times, err := w.ancestorTimes(parent.Hash, parent.Index, chain.MedianTimeBlocks)
	if err != nil {
		return err
	}
	e, err := w.checked(b, parent, times)
	if err != nil {
		return err
	}
	if e.Work.Cmp(w.tip.Work) <= 0 { // a tie: the head seen first stays
		return w.side.Put(b.Hash[:], appendRecord(nil, b, e))
	}
	return w.reorganize(b, e)
}

// checked checks b against its parent and the parent's recent timestamps
// and returns b's entry.
func (w *writer) checked(b *chain.Block, parent *chain.Parent, times []chain.Timestamp) (*chain.Parent, error) {
	if err := w.params.CheckBlockContext(b, parent, chain.MedianTime(times)); err != nil {
		return nil, err
	}
	return w.params.ParentOf(b, parent)
}

// extend checks b, whose parent is the head, and makes it the head.
func (w *writer) extend(b *chain.Block) error {
	var times [chain.MedianTimeBlocks]chain.Timestamp
	e, err := w.checked(b, w.tip, times[:copy(times[:], w.recent)])
	if err != nil {
		return err
	}
	// bbolt keeps the key and value until the commit: both are cut from
	// one arena.
	if len(w.arena)+8+maxRecordSize > cap(w.arena) {
		w.arena = make([]byte, 0, 512*(8+maxRecordSize))
	}
	n := len(w.arena)
	w.arena = appendRecord(binary.BigEndian.AppendUint64(w.arena, b.Index), b, e)
	if err := w.main.Put(w.arena[n:n+8:n+8], w.arena[n+8:len(w.arena):len(w.arena)]); err != nil {
		return err
	}
	w.tip = e
	w.recent = append(w.recent, b.Timestamp)
	if len(w.recent) > chain.MedianTimeBlocks {
		w.recent = append(w.recent[:0], w.recent[1:]...)
	}
	return nil
}

// reorganize makes b, heavier than the head and on a side branch, the head:
// the main-chain headers above the fork move to the side bucket, the
// branch's to the main bucket.
func (w *writer) reorganize(b *chain.Block, e *chain.Parent) error {
	branch := [][]byte{appendRecord(nil, b, e)}
	hash, height := b.PreviousHash, b.Index-1
	for {
		h, _, onMain, err := w.entryOf(hash, height)
		if err != nil {
			return err
		}
		if onMain {
			break
		}
		rec := slices.Clone(w.side.Get(hash[:]))
		if err := w.side.Delete(hash[:]); err != nil {
			return err
		}
		branch = append(branch, rec)
		hash, height = h.PreviousHash, h.Index-1
	}
	for h := w.tip.Index; h > height; h-- {
		rec := slices.Clone(w.main.Get(heightKey(h)))
		old, _, err := parseRecord(rec)
		if err != nil {
			return err
		}
		if err := w.main.Delete(heightKey(h)); err != nil {
			return err
		}
		if err := w.side.Put(old.Hash[:], rec); err != nil {
			return err
		}
		w.abandoned++
	}
	for i := len(branch) - 1; i >= 0; i-- {
		if err := w.main.Put(heightKey(height+uint64(len(branch)-i)), branch[i]); err != nil {
			return err
		}
	}
	times, err := w.ancestorTimes(b.Hash, b.Index, chain.MedianTimeBlocks)
	if err != nil {
		return err
	}
	w.tip, w.recent = e, times
	return nil
}

// finish writes the head and checks the checkpoint.
func (w *writer) finish() error {
	w.cpErr = w.checkCheckpoint(w.cp)
	if w.cpErr != nil && !errors.Is(w.cpErr, ErrCheckpointConflict) {
		return w.cpErr
	}
	return w.tx.Bucket(bucketMeta).Put(keyHead, w.tip.Hash[:])
}
