package main

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"

	"github.com/gossipchain/gossipchain/chain"
)

// A block file holds the binary encodings of consecutive blocks, each after
// its length in 4 bytes, big-endian: the bytes a syncing node receives,
// without the protocol's framing. gcbench sync writes one while it makes the
// source chain, and its references read the same bytes back from it.

// maxRecord is the largest record a block file may hold: the largest block
// of the default parameters.
const maxRecord = chain.DefaultMaxBlockSize

// blockFileWriter appends blocks to a block file.
type blockFileWriter struct {
	f     *os.File
	w     *bufio.Writer
	buf   []byte
	bytes int64 // bytes of block encodings written, lengths left out
}

// createBlockFile creates (or truncates) the block file at path.
func createBlockFile(path string) (*blockFileWriter, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	return &blockFileWriter{f: f, w: bufio.NewWriterSize(f, 1<<20)}, nil
}

// add appends the encodings of blocks.
func (bw *blockFileWriter) add(blocks []*chain.Block) error {
	for _, b := range blocks {
		bw.buf = b.AppendBinary(binary.BigEndian.AppendUint32(bw.buf[:0], 0))
		binary.BigEndian.PutUint32(bw.buf, uint32(len(bw.buf)-4))
		if _, err := bw.w.Write(bw.buf); err != nil {
			return fmt.Errorf("%s: %w", bw.f.Name(), err)
		}
		bw.bytes += int64(len(bw.buf) - 4)
	}
	return nil
}

// close flushes and closes the file.
func (bw *blockFileWriter) close() error {
	err := bw.w.Flush()
	if cerr := bw.f.Close(); err == nil {
		err = cerr
	}
	return err
}

// readBlockFile calls fn with the records (block encodings) of the first n
// blocks of the block file at path, batch at a time. The records are valid
// until fn returns.
func readBlockFile(path string, n, batch int, fn func(recs [][]byte) error) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 1<<20)
	recs := make([][]byte, 0, batch)
	var arena []byte
	for read := 0; read < n; {
		recs, arena = recs[:0], arena[:0]
		var ends []int
		for ; len(ends) < batch && read < n; read++ {
			if arena, err = readRecord(r, arena); err != nil {
				return fmt.Errorf("%s: record %d: %w", path, read+1, err)
			}
			ends = append(ends, len(arena))
		}
		// The arena may have moved while it grew: slice it once it is whole.
		start := 0
		for _, end := range ends {
			recs = append(recs, arena[start:end:end])
			start = end
		}
		if err := fn(recs); err != nil {
			return err
		}
	}
	return nil
}

// readRecord appends the next record of r to dst: its length, checked
// against maxRecord, then its bytes.
func readRecord(r io.Reader, dst []byte) ([]byte, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return dst, err
	}
	size := binary.BigEndian.Uint32(hdr[:])
	if size == 0 || size > maxRecord {
		return dst, fmt.Errorf("record of %d bytes (at most %d)", size, maxRecord)
	}
	start := len(dst)
	dst = slices.Grow(dst, int(size))[:start+int(size)]
	if _, err := io.ReadFull(r, dst[start:]); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return dst[:start], err
	}
	return dst, nil
}
