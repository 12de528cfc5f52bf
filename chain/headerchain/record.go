package headerchain

import (
	"encoding/binary"
	"fmt"
	"math/big"

	"github.com/gossipchain/gossipchain/chain"
)

// maxRecordSize is the size of the largest stored header record: the
// header, the two time marks and 32 bytes of work.
const maxRecordSize = chain.HeaderSize + 8 + 8 + 32

func heightKey(h uint64) []byte { return binary.BigEndian.AppendUint64(nil, h) }

// appendRecord appends the record of b, whose entry is e: the header, its
// time mark and its parent's, and the cumulative work in as few big-endian
// bytes as it takes (at most 32).
func appendRecord(dst []byte, b *chain.Block, e *chain.Parent) []byte {
	h := b.Header()
	dst = append(dst, h[:]...)
	dst = binary.BigEndian.AppendUint64(dst, uint64(e.Mark))
	dst = binary.BigEndian.AppendUint64(dst, uint64(e.PrevMark))
	var w [32]byte
	e.Work.FillBytes(w[:])
	i := 0
	for i < len(w)-1 && w[i] == 0 {
		i++
	}
	return append(dst, w[i:]...)
}

// parseRecord returns the header and the entry of a record.
func parseRecord(rec []byte) (chain.Block, *chain.Parent, error) {
	if len(rec) <= chain.HeaderSize+16 || len(rec) > maxRecordSize {
		return chain.Block{}, nil, fmt.Errorf("header record of %d bytes, want %d..%d", len(rec), chain.HeaderSize+17, maxRecordSize)
	}
	b, err := chain.DecodeHeader(rec[:chain.HeaderSize])
	if err != nil {
		return chain.Block{}, nil, fmt.Errorf("stored header: %w", err)
	}
	tail := rec[chain.HeaderSize:]
	e := &chain.Parent{
		Index:     b.Index,
		Hash:      b.Hash,
		Bits:      b.Bits,
		Timestamp: b.Timestamp,
		Mark:      chain.Timestamp(binary.BigEndian.Uint64(tail[0:8])),
		PrevMark:  chain.Timestamp(binary.BigEndian.Uint64(tail[8:16])),
		Work:      new(big.Int).SetBytes(tail[16:]),
	}
	return b, e, nil
}
