package chain

import "encoding/binary"

// DecodeHeader decodes exactly HeaderSize bytes of a canonical header (see
// Block.Header) into a Block with the header's fields, no transactions and
// its computed Hash. An unknown version or another length is an
// ErrMalformed rule error.
func DecodeHeader(h []byte) (Block, error) {
	if len(h) != HeaderSize {
		return Block{}, RuleErrorf(ErrMalformed, "header is %d bytes, want %d", len(h), HeaderSize)
	}
	if v := binary.BigEndian.Uint32(h[64:68]); v != HeaderVersion {
		return Block{}, RuleErrorf(ErrMalformed, "unknown header version %d", v)
	}
	b := Block{
		PreviousHash: Hash(h[0:32]),
		TxRoot:       Hash(h[32:64]),
		Index:        binary.BigEndian.Uint64(h[68:76]),
		Timestamp:    Timestamp(binary.BigEndian.Uint64(h[76:84])),
		Bits:         Compact(binary.BigEndian.Uint32(h[84:88])),
		Proof:        binary.BigEndian.Uint64(h[88:96]),
	}
	b.Hash = b.ComputeHash()
	return b, nil
}
