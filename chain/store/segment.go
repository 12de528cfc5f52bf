package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"github.com/gossipchain/gossipchain/chain"
)

// Block bodies live in segment files beside the bbolt file: append-only,
// written once and in order, each block in its binary encoding. A segment
// is <store path>.blocks/<number>.seg, a run of records
//
//	length (4) || CRC-32C of the body (4) || body (length bytes)
//
// and a new segment starts once one would grow past segmentMax. The bbolt
// index names a record by its location: segment (4) || offset (4) ||
// length (4). The segments are fsynced before the bbolt commit that
// refers to them, which also records the end of what it committed (meta
// "segend"). Past it are the records of single blocks acknowledged before
// their commit (deferred.go): opening adds their blocks again and cuts the
// segments at the first record that is torn or does not extend them
// (replay.go).
const (
	segmentMax    = 64 << 20
	segHeaderSize = 8
	locSize       = 12
	// segBufferMax bounds the records a batch keeps in memory before it
	// writes them out.
	segBufferMax = 1 << 20
)

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// segPos is a position in the segments: the end of what is written.
type segPos struct{ seg, off uint32 }

func (p segPos) append(dst []byte) []byte {
	dst = binary.BigEndian.AppendUint32(dst, p.seg)
	return binary.BigEndian.AppendUint32(dst, p.off)
}

func parseSegPos(b []byte) (segPos, bool) {
	if len(b) != 8 {
		return segPos{}, false
	}
	return segPos{binary.BigEndian.Uint32(b), binary.BigEndian.Uint32(b[4:])}, true
}

// segments are the block files of one store. Readers take mu for the file
// table; the writer's state (tail, buf, dirty) is guarded by Chain.mu.
type segments struct {
	dir string

	mu    sync.RWMutex
	files map[uint32]*os.File

	committed segPos // the end the last commit recorded
	tail      segPos // the end of what this batch appended
	// buf holds the records appended since bufAt and not yet written.
	buf   []byte
	bufAt segPos
	dirty map[uint32]bool // segments written since the last sync
	// replay: the whole records found past the last commit on open, in
	// order, until Open has added their blocks again; appending one of
	// them returns its location (replay.go).
	replay   []replayRecord
	replayAt map[chain.Hash]int // the index in replay of a block's record
	// newDir: a segment was created since the last sync, so the directory
	// is synced too.
	newDir bool
	// syncs and written count the fsyncs and the bytes written, for the
	// tests and benchmarks of the write path.
	syncs, written int64
}

func segmentDir(storePath string) string { return storePath + ".blocks" }

func (s *segments) path(seg uint32) string {
	return filepath.Join(s.dir, fmt.Sprintf("%08d.seg", seg))
}

// openSegmentsReplay opens the segments of the store at storePath whose
// last commit ended at end: a segment past it is removed, the last one
// truncated to it; a segment shorter than end is damage. If replay, it
// keeps the whole records past end (blocks acknowledged after the last
// commit, see deferred.go) in s.replay and cuts the segments after the
// last of them instead: a torn or invalid record and what follows it go.
func openSegmentsReplay(storePath string, end segPos, replay bool) (*segments, error) {
	s := &segments{dir: segmentDir(storePath), files: map[uint32]*os.File{}, dirty: map[uint32]bool{}}
	if err := os.MkdirAll(s.dir, 0o700); err != nil {
		return nil, fmt.Errorf("create block directory: %w", err)
	}
	if replay && end.off > 0 {
		if err := s.checkEnd(end); err != nil {
			return nil, err
		}
		var err error
		if end, err = s.scanTail(end); err != nil {
			s.close()
			return nil, err
		}
	}
	names, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, fmt.Errorf("read block directory: %w", err)
	}
	for _, e := range names {
		num, ok := strings.CutSuffix(e.Name(), ".seg")
		n, err := strconv.ParseUint(num, 10, 32)
		if !ok || err != nil {
			continue
		}
		if uint32(n) > end.seg || (uint32(n) == end.seg && end.off == 0) {
			if err := os.Remove(s.path(uint32(n))); err != nil {
				return nil, fmt.Errorf("remove uncommitted block file: %w", err)
			}
		}
	}
	if end.off > 0 {
		f, err := s.file(end.seg)
		if err != nil {
			return nil, err
		}
		st, err := f.Stat()
		if err != nil {
			return nil, fmt.Errorf("block file %s: %w", f.Name(), err)
		}
		if st.Size() < int64(end.off) {
			s.close()
			return nil, fmt.Errorf("block file %s is damaged: %d bytes, the store refers to %d", f.Name(), st.Size(), end.off)
		}
		if st.Size() > int64(end.off) {
			// A record torn by a crash, or written by a batch that never
			// committed.
			if err := f.Truncate(int64(end.off)); err != nil {
				s.close()
				return nil, fmt.Errorf("repair block file %s: %w", f.Name(), err)
			}
			if err := f.Sync(); err != nil {
				s.close()
				return nil, fmt.Errorf("repair block file %s: %w", f.Name(), err)
			}
		}
	}
	s.committed, s.tail, s.bufAt = end, end, end
	return s, nil
}

// file returns segment seg, opened (and created) for reading and writing.
func (s *segments) file(seg uint32) (*os.File, error) {
	s.mu.RLock()
	f := s.files[seg]
	s.mu.RUnlock()
	if f != nil {
		return f, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if f = s.files[seg]; f != nil {
		return f, nil
	}
	f, err := os.OpenFile(s.path(seg), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open block file: %w", err)
	}
	s.files[seg] = f
	return f, nil
}

// appendBlock adds the binary encoding of b as a record, encoded in place,
// and returns its location and the encoding, valid until the next append.
// The record is on disk once sync has returned.
func (s *segments) appendBlock(b *chain.Block) ([locSize]byte, []byte, error) {
	if r := s.replayed(b); r != nil {
		return r.loc, r.body, nil
	}
	size := b.BinarySize()
	loc, err := s.reserve(size)
	if err != nil {
		return loc, nil, err
	}
	start := len(s.buf)
	s.buf = binary.BigEndian.AppendUint32(s.buf, uint32(size))
	s.buf = append(s.buf, 0, 0, 0, 0) // the checksum, below
	s.buf = b.AppendBinary(s.buf)
	body := s.buf[start+segHeaderSize:]
	if len(body) != size {
		return loc, nil, fmt.Errorf("block %s encodes to %d bytes, not its size %d", b.Hash, len(body), size)
	}
	binary.BigEndian.PutUint32(s.buf[start+4:], crc32.Checksum(body, crcTable))
	return loc, body, s.flushFull()
}

// flushFull writes the buffered records out once they fill the buffer.
func (s *segments) flushFull() error {
	if len(s.buf) >= segBufferMax {
		return s.writeOut()
	}
	return nil
}

// reserve returns the location of a record of a body of size bytes,
// appended next to the buffer, and moves the tail past it, starting a new
// segment if it would not fit the current one.
func (s *segments) reserve(size int) ([locSize]byte, error) {
	var loc [locSize]byte
	n := segHeaderSize + size
	if s.tail.off > 0 && int64(s.tail.off)+int64(n) > segmentMax {
		if err := s.writeOut(); err != nil {
			return loc, err
		}
		s.tail = segPos{s.tail.seg + 1, 0}
		s.bufAt = s.tail
		s.newDir = true
	}
	if int64(n) > int64(^uint32(0)-s.tail.off) {
		return loc, fmt.Errorf("block of %d bytes does not fit a block file", size)
	}
	binary.BigEndian.PutUint32(loc[0:], s.tail.seg)
	binary.BigEndian.PutUint32(loc[4:], s.tail.off)
	binary.BigEndian.PutUint32(loc[8:], uint32(size))
	s.tail.off += uint32(n)
	return loc, nil
}

// writeOut writes the buffered records to their segment.
func (s *segments) writeOut() error {
	if len(s.buf) == 0 {
		return nil
	}
	f, err := s.file(s.bufAt.seg)
	if err != nil {
		return err
	}
	if _, err := f.WriteAt(s.buf, int64(s.bufAt.off)); err != nil {
		return fmt.Errorf("write block file %s: %w", f.Name(), err)
	}
	s.written += int64(len(s.buf))
	s.dirty[s.bufAt.seg] = true
	s.bufAt = s.tail
	s.buf = s.buf[:0]
	return nil
}

// sync writes out and fsyncs what this batch appended, and returns the end
// the commit records.
func (s *segments) sync() (segPos, error) {
	if err := s.writeOut(); err != nil {
		return s.tail, err
	}
	for seg := range s.dirty {
		f, err := s.file(seg)
		if err != nil {
			return s.tail, err
		}
		if err := f.Sync(); err != nil {
			return s.tail, fmt.Errorf("sync block file %s: %w", f.Name(), err)
		}
		s.syncs++
		delete(s.dirty, seg)
	}
	if s.newDir {
		if d, err := os.Open(s.dir); err == nil {
			err = d.Sync()
			d.Close()
			s.syncs++
			if err != nil {
				return s.tail, fmt.Errorf("sync block directory: %w", err)
			}
		}
		s.newDir = false
	}
	return s.tail, nil
}

// commit records that the bbolt commit of the batch succeeded.
func (s *segments) commit() { s.committed = s.tail }

// rollback forgets what the batch appended: its bbolt transaction did not
// commit.
func (s *segments) rollback() {
	s.buf = s.buf[:0]
	clear(s.dirty)
	if s.tail == s.committed {
		return
	}
	s.mu.Lock()
	for seg, f := range s.files {
		if seg > s.committed.seg {
			f.Close()
			os.Remove(f.Name())
			delete(s.files, seg)
		}
	}
	s.mu.Unlock()
	if f, err := s.file(s.committed.seg); err == nil {
		_ = f.Truncate(int64(s.committed.off))
	}
	s.tail, s.bufAt = s.committed, s.committed
}

// readInto returns the body of the record at loc, checked against its
// checksum, read into *scratch (grown as needed; nil: a new buffer). Only
// the writer, with Chain.mu held, may read what its batch appended
// (pending).
func (s *segments) readInto(scratch *[]byte, loc []byte, pending bool) ([]byte, error) {
	if len(loc) != locSize {
		return nil, fmt.Errorf("block location of %d bytes", len(loc))
	}
	seg, off, n := binary.BigEndian.Uint32(loc), binary.BigEndian.Uint32(loc[4:]), binary.BigEndian.Uint32(loc[8:])
	need := segHeaderSize + int(n)
	var buf []byte
	if scratch != nil && cap(*scratch) >= need {
		buf = (*scratch)[:need]
	} else {
		buf = make([]byte, need)
		if scratch != nil {
			*scratch = buf
		}
	}
	if pending && seg == s.bufAt.seg && off >= s.bufAt.off && len(s.buf) > 0 {
		// Appended by the running batch (only its writer reads there).
		start := int(off - s.bufAt.off)
		if start+need > len(s.buf) {
			return nil, fmt.Errorf("block location %d:%d past the end of the blocks written", seg, off)
		}
		copy(buf, s.buf[start:start+need])
	} else {
		f, err := s.file(seg)
		if err != nil {
			return nil, err
		}
		if _, err := f.ReadAt(buf, int64(off)); err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return nil, fmt.Errorf("block file %s is damaged: record at %d: %w", f.Name(), off, err)
		}
	}
	body := buf[segHeaderSize:]
	if binary.BigEndian.Uint32(buf) != n || binary.BigEndian.Uint32(buf[4:]) != crc32.Checksum(body, crcTable) {
		return nil, fmt.Errorf("block file %s is damaged: the record at %d does not match its length or checksum", s.path(seg), off)
	}
	return body, nil
}

func (s *segments) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for seg, f := range s.files {
		f.Close()
		delete(s.files, seg)
	}
}
