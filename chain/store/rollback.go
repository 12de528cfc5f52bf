package store

import (
	"encoding/binary"
	"errors"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/gossipchain/gossipchain/chain"
)

// A bbolt file has two meta pages, and each commit writes the one the
// commit before did not. When the newer page is damaged bbolt opens the
// file at the older one without a word: the store is back where it was one
// commit before, and what that commit wrote, blocks and pending
// transactions that were acknowledged, is gone. A page that is merely
// stale (an older copy, valid but not the transaction before the other's)
// does the same.
//
// The meta pages alone cannot say which of the two was the newer, but the
// block files can: every commit that adds blocks appends their bodies and
// records the end ("segend"), so whole records past the end the surviving
// page's commit knows of were written for a later batch. With a meta page
// passed over, such records mean that the commit that wrote them was lost
// (a crash before the commit leaves both pages sound; so do single blocks
// waiting for their commit, deferred.go), or may have been, and Open
// refuses the store unless Config.AcceptRollback accepts the rollback,
// after which the records that extend the older head are replayed
// (replay.go); without
// them, nothing the store held is known to be lost, and Open goes on with
// a warning. bbolt writes the passed-over page at its next commit, so that
// this is seen only at the first open after the damage, before which Open
// writes nothing.

// ErrRolledBack says that the store lost its last commit: a meta page of
// the bbolt file is damaged or stale, and the block files hold blocks
// written after the commit bbolt would open at. The error names the file,
// the bbolt transaction, the height it would start at and the heights of
// the blocks lost. Config.AcceptRollback accepts it.
var ErrRolledBack = errors.New("the store lost its last commit")

// lostBlocks sums up the whole block records found past the end of the
// block files that the store's commit recorded.
type lostBlocks struct {
	count     int
	low, high uint64     // the lowest and highest height among them
	last      chain.Hash // the last one's hash
	file      string     // the block file where they start
	offset    uint32     // and the offset
}

func (l lostBlocks) String() string {
	return fmt.Sprintf("%d blocks at heights %d-%d (the last %s), in %s from offset %d", l.count, l.low, l.high, l.last, l.file, l.offset)
}

// checkRollback looks, before anything is written, for a commit that the
// store lost: unused is the meta page bbolt passed over, if any. It
// returns an error wrapping ErrRolledBack when one was lost, unless
// cfg.AcceptRollback is set; then, and when nothing is known to be lost,
// it logs what it found. An accepted rollback is committed at once, so
// that the passed-over page is rewritten.
func (c *Chain) checkRollback(cfg Config, unused *unusedMeta) error {
	if unused == nil {
		return nil // records past the end, if any, are replayed (replay.go)
	}
	var end segPos
	var hasEnd bool
	var height uint64
	var head chain.Hash
	if err := c.db.View(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		if meta == nil {
			return nil
		}
		end, hasEnd = parseSegPos(meta.Get(metaSegEnd))
		copy(head[:], meta.Get(metaHead))
		if b := tx.Bucket(bucketChain); b != nil {
			if k, _ := b.Cursor().Last(); len(k) == 8 {
				height = binary.BigEndian.Uint64(k)
			}
		}
		return nil
	}); err != nil {
		return fmt.Errorf("open store %s: read the last commit: %w", cfg.Path, err)
	}
	var lost lostBlocks
	if hasEnd {
		lost = blocksPastEnd(segmentDir(cfg.Path), end)
	}
	if lost.count == 0 {
		c.log.Warn("a meta page of the store is damaged or stale; nothing written after the other page's commit was found, so the store opens at it",
			"path", cfg.Path, "page", unused.page, "page_state", unused.reason, "bbolt_txid", unused.txid, "height", height)
		return nil
	}
	if !cfg.AcceptRollback {
		return fmt.Errorf("open store %s: %w: meta page %d of the bbolt file is %s, so bbolt would open it at transaction %d, height %d (head %s), "+
			"but the block files hold %s, written by a later commit, which is lost with them and with any pending transactions it admitted; "+
			"restore the file from a backup, or accept the rollback, after which the blocks that extend the older head are added again from the block files and the rest fetched from peers",
			cfg.Path, ErrRolledBack, unused.page, unused.reason, unused.txid, height, head, lost)
	}
	c.log.Warn("accepting a store that lost its last commit: it starts at the older head, adds again the blocks of the block files that extend it, and fetches the rest from peers",
		"path", cfg.Path, "page", unused.page, "page_state", unused.reason, "bbolt_txid", unused.txid, "height", height, "lost", lost.String())
	if err := c.db.Update(func(*bolt.Tx) error { return nil }); err != nil {
		return fmt.Errorf("open store %s: commit the accepted rollback: %w", cfg.Path, err)
	}
	return nil
}

// blocksPastEnd sums up the whole records of the store's block files from
// end on, read as Open's replay reads them (scanTail): each checked against
// its checksum and decoded, up to the first that is not whole, since a
// record a crash tore is no evidence.
func blocksPastEnd(dir string, end segPos) lostBlocks {
	s := &segments{dir: dir}
	lost := lostBlocks{file: s.path(end.seg), offset: end.off}
	_, _ = s.scanTail(end) // what an unreadable file hides is no evidence either
	for _, r := range s.replay {
		if lost.count == 0 || r.block.Index < lost.low {
			lost.low = r.block.Index
		}
		lost.high = max(lost.high, r.block.Index)
		lost.last = r.block.Hash
		lost.count++
	}
	return lost
}
