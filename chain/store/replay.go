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
// whose records follow the last commit: blocks acknowledged once their
// record was fsynced (deferred.go), or a batch whose commit a crash cut
// off. Their bodies stay where they are. A block that no longer fits
// (invalid, or without its parent) is logged and left as dead space.
func (c *Chain) replay() error {
	recs := c.seg.replay
	defer func() { c.seg.replay, c.seg.replayAt = nil, nil }()
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
		return fmt.Errorf("open store %s: replay the blocks written after the last commit: %w", c.db.Path(), err)
	}
}
