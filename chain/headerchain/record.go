package headerchain

import (
	"encoding/binary"
	"fmt"
	"math/big"

	"github.com/gossipchain/gossipchain/chain"
)

// recordSize is the size of a stored header record.
const recordSize = chain.HeaderSize + 32 + 8 + 8

func heightKey(h uint64) []byte { return binary.BigEndian.AppendUint64(nil, h) }

// appendRecord appends the record of b, whose entry is e.
func appendRecord(dst []byte, b *chain.Block, e *chain.Parent) []byte {
	h := b.Header()
	dst = append(dst, h[:]...)
	var w [32]byte
	e.Work.FillBytes(w[:])
	dst = append(dst, w[:]...)
	dst = binary.BigEndian.AppendUint64(dst, uint64(e.Mark))
	return binary.BigEndian.AppendUint64(dst, uint64(e.PrevMark))
}

// parseRecord returns the header and the entry of a record.
func parseRecord(rec []byte) (chain.Block, *chain.Parent, error) {
	if len(rec) != recordSize {
		return chain.Block{}, nil, fmt.Errorf("header record of %d bytes, want %d", len(rec), recordSize)
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
		Work:      new(big.Int).SetBytes(tail[:32]),
		Mark:      chain.Timestamp(binary.BigEndian.Uint64(tail[32:40])),
		PrevMark:  chain.Timestamp(binary.BigEndian.Uint64(tail[40:48])),
	}
	return b, e, nil
}
