package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"

	"github.com/gossipchain/gossipchain/chain"
)

// replayRecord is a whole record found past the last commit on open.
type replayRecord struct {
	loc   [locSize]byte
	body  []byte
	block *chain.Block
}

// pos is where the record starts.
func (r *replayRecord) pos() segPos {
	return segPos{binary.BigEndian.Uint32(r.loc[0:]), binary.BigEndian.Uint32(r.loc[4:])}
}

// cutTo cuts the segments, as opened, back to end, which is past the last
// commit's end.
func (s *segments) cutTo(end segPos) error {
	if end.off == 0 && end.seg > 0 {
		// The start of a segment: it goes, and the end is that of the one
		// before, so that appending starts it again.
		st, err := os.Stat(s.path(end.seg - 1))
		if err != nil {
			return fmt.Errorf("block file %s: %w", s.path(end.seg-1), err)
		}
		end = segPos{end.seg - 1, uint32(st.Size())}
	}
	for seg := end.seg + 1; ; seg++ {
		err := os.Remove(s.path(seg))
		if errors.Is(err, os.ErrNotExist) {
			break
		}
		if err != nil {
			return fmt.Errorf("remove uncommitted block file: %w", err)
		}
	}
	f, err := s.file(end.seg)
	if err != nil {
		return err
	}
	if err := f.Truncate(int64(end.off)); err != nil {
		return fmt.Errorf("repair block file %s: %w", f.Name(), err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("repair block file %s: %w", f.Name(), err)
	}
	s.committed, s.tail, s.bufAt = end, end, end
	return nil
}

// checkEnd checks that the segment of end holds at least end: a shorter
// one is damage.
func (s *segments) checkEnd(end segPos) error {
	st, err := os.Stat(s.path(end.seg))
	if err != nil {
		return fmt.Errorf("block file %s is damaged: %w", s.path(end.seg), err)
	}
	if st.Size() < int64(end.off) {
		return fmt.Errorf("block file %s is damaged: %d bytes, the store refers to %d", s.path(end.seg), st.Size(), end.off)
	}
	return nil
}

// scanTail reads the records from end on, through the segments that follow,
// into s.replay, and returns the end of the last whole record whose
// checksum matches and whose body decodes. Each record's length is checked
// against what its file holds before it is read.
func (s *segments) scanTail(end segPos) (segPos, error) {
	last := end
	for pos := end; ; pos = (segPos{pos.seg + 1, 0}) {
		f, err := os.Open(s.path(pos.seg))
		if errors.Is(err, os.ErrNotExist) && pos != end {
			return last, nil
		}
		if err != nil {
			return last, fmt.Errorf("read block file: %w", err)
		}
		whole, err := s.scanFile(f, pos, &last)
		f.Close()
		if err != nil || !whole {
			return last, err
		}
	}
}

// scanFile reads the records of f from pos on, moving last past each whole
// one, and reports whether it reached the end of the file on a record
// boundary.
func (s *segments) scanFile(f *os.File, pos segPos, last *segPos) (bool, error) {
	st, err := f.Stat()
	if err != nil {
		return false, fmt.Errorf("block file %s: %w", f.Name(), err)
	}
	size := st.Size()
	var hdr [segHeaderSize]byte
	for off := int64(pos.off); off < size; {
		if size-off < segHeaderSize {
			return false, nil // torn
		}
		if _, err := f.ReadAt(hdr[:], off); err != nil {
			return false, fmt.Errorf("block file %s: %w", f.Name(), err)
		}
		n := int64(binary.BigEndian.Uint32(hdr[:]))
		if n == 0 || n > size-off-segHeaderSize {
			return false, nil // torn
		}
		body := make([]byte, n)
		if _, err := f.ReadAt(body, off+segHeaderSize); err != nil {
			return false, fmt.Errorf("block file %s: %w", f.Name(), err)
		}
		if binary.BigEndian.Uint32(hdr[4:]) != crc32.Checksum(body, crcTable) {
			return false, nil
		}
		b, err := chain.DecodeBlock(body, chain.MaxTxsLimit)
		if err != nil {
			return false, nil
		}
		r := replayRecord{body: body, block: b}
		binary.BigEndian.PutUint32(r.loc[0:], pos.seg)
		binary.BigEndian.PutUint32(r.loc[4:], uint32(off))
		binary.BigEndian.PutUint32(r.loc[8:], uint32(n))
		if s.replayAt == nil {
			s.replayAt = map[chain.Hash]int{}
		}
		s.replayAt[b.Hash] = len(s.replay)
		s.replay = append(s.replay, r)
		off += segHeaderSize + n
		*last = segPos{pos.seg, uint32(off)}
	}
	return true, nil
}

// replayed returns the record of b found on open, if Open is adding it
// again.
func (s *segments) replayed(b *chain.Block) *replayRecord {
	if i, ok := s.replayAt[b.Hash]; ok {
		return &s.replay[i]
	}
	return nil
}

// replay adds again, through the add path and in one commit, the blocks
// whose records follow the last commit and extend the head one after
// another: blocks acknowledged once their record was fsynced
// (deferred.go), or a batch on the head whose commit a crash cut off.
// Their bodies stay where they are. From the first record that does not
// extend them (a side block or a reorganisation whose commit a crash cut
// off, which the store never acknowledged) the segments are cut. It runs
// before the pool is loaded: extending the head returns nothing to it. A
// block that no longer fits (invalid) is logged and left as dead space.
func (c *Chain) replay() error {
	recs := c.seg.replay
	defer func() { c.seg.replay, c.seg.replayAt = nil, nil }()
	head := c.Head().Hash
	for i := range recs {
		if recs[i].block.PreviousHash != head {
			if err := c.seg.cutTo(recs[i].pos()); err != nil {
				return err
			}
			recs = recs[:i]
			break
		}
		head = recs[i].block.Hash
	}
	if len(recs) == 0 {
		return nil
	}
	blocks := make([]*chain.Block, len(recs))
	for i := range recs {
		blocks[i] = recs[i].block
	}
	checks := c.startChecks(blocks, c.now())
	defer checks.stop()
	c.mu.Lock()
	res, n, err := c.addBatchLocked(blocks, checks, addLocal, nil)
	c.mu.Unlock()
	switch {
	case err == nil || chain.IsRuleError(err) || errors.Is(err, chain.ErrKnownBlock) || errors.Is(err, chain.ErrUnknownParent):
		c.log.Info("blocks written after the last commit replayed", "records", len(recs), "added", n, "height", res.Head.Height, "head", res.Head.Hash, "refused", err)
		return nil
	default:
		return fmt.Errorf("replay the blocks written after the last commit: %w", err)
	}
}
