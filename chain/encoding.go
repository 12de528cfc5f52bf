package chain

import (
	"encoding/binary"
	"fmt"
)

// MaxTxsLimit bounds the transaction count of any block a decoder will
// allocate for, whatever the network parameters say.
const MaxTxsLimit = 1 << 16

// txWireMin is the smallest binary transaction: two 1-byte addresses.
const txWireMin = 2 + 1 + 2 + 1 + 8 + 8

// AppendBinary appends the binary encoding of b: the header (HeaderSize
// bytes), a big-endian uint32 transaction count, then each transaction's
// canonical encoding. The hash is not encoded: it is computed from the
// header. The count is the number of transactions that follow, whatever
// the header's tx_count says: a decoder reads the transactions without
// trusting the header, and validation refuses a block whose two counts
// differ (ErrBadTxCount), as it refuses the JSON form of the same block.
func (b *Block) AppendBinary(dst []byte) []byte {
	h := b.Header()
	dst = append(dst, h[:]...)
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(b.Transactions)))
	for i := range b.Transactions {
		dst = b.Transactions[i].appendCanonical(dst)
	}
	return dst
}

// MarshalBinary implements encoding.BinaryMarshaler.
func (b *Block) MarshalBinary() ([]byte, error) {
	return b.AppendBinary(make([]byte, 0, b.BinarySize())), nil
}

// BinarySize is the length of the binary encoding of b.
func (b *Block) BinarySize() int {
	n := HeaderSize + 4
	for i := range b.Transactions {
		n += b.Transactions[i].EncodedSize()
	}
	return n
}

// DecodeBlock decodes the binary encoding of a block, allowing at most
// maxTxs transactions (capped at MaxTxsLimit). Its header is read by
// DecodeHeader, which sets Hash to the computed hash; each transaction's ID
// is its computed id. Trailing bytes are an error.
func DecodeBlock(data []byte, maxTxs int) (*Block, error) {
	if maxTxs <= 0 || maxTxs > MaxTxsLimit {
		maxTxs = MaxTxsLimit
	}
	if len(data) < HeaderSize+4 {
		return nil, RuleErrorf(ErrMalformed, "block encoding is %d bytes, shorter than a header", len(data))
	}
	hdr, err := DecodeHeader(data[:HeaderSize])
	if err != nil {
		return nil, err
	}
	b := &hdr
	n := binary.BigEndian.Uint32(data[HeaderSize:])
	rest := data[HeaderSize+4:]
	if int64(n) > int64(maxTxs) {
		return nil, RuleErrorf(ErrTooLarge, "block has %d transactions, more than %d", n, maxTxs)
	}
	if int64(n)*txWireMin > int64(len(rest)) {
		return nil, RuleErrorf(ErrMalformed, "block claims %d transactions in %d bytes", n, len(rest))
	}
	b.Transactions = make([]Transaction, n)
	for i := range b.Transactions {
		rest, err = decodeTx(rest, &b.Transactions[i])
		if err != nil {
			return nil, fmt.Errorf("transaction %d: %w", i, err)
		}
	}
	if len(rest) != 0 {
		return nil, RuleErrorf(ErrMalformed, "%d trailing bytes after block", len(rest))
	}
	return b, nil
}

// AppendBinary appends the canonical encoding of tx (its id is not encoded).
func (tx *Transaction) AppendBinary(dst []byte) []byte { return tx.appendCanonical(dst) }

// DecodeTransaction decodes one canonical transaction encoding and computes
// its id. Trailing bytes are an error.
func DecodeTransaction(data []byte) (Transaction, error) {
	var tx Transaction
	rest, err := decodeTx(data, &tx)
	if err != nil {
		return Transaction{}, err
	}
	if len(rest) != 0 {
		return Transaction{}, RuleErrorf(ErrMalformed, "%d trailing bytes after transaction", len(rest))
	}
	return tx, nil
}

func decodeTx(data []byte, tx *Transaction) ([]byte, error) {
	var err error
	signed := len(data) >= 2 && data[0]&(signedFlag>>8) != 0
	if tx.Sender, data, err = decodeAddress(data, "sender", signedFlag); err != nil {
		return nil, err
	}
	if tx.Recipient, data, err = decodeAddress(data, "recipient", 0); err != nil {
		return nil, err
	}
	if len(data) < 16 {
		return nil, RuleErrorf(ErrMalformed, "transaction truncated")
	}
	tx.Amount = binary.BigEndian.Uint64(data)
	tx.Nonce = binary.BigEndian.Uint64(data[8:])
	data = data[16:]
	tx.Signature = Signature{}
	tx.Fee = 0
	if signed {
		if len(data) < 8+SignatureSize {
			return nil, RuleErrorf(ErrMalformed, "fee and signature truncated")
		}
		tx.Fee = binary.BigEndian.Uint64(data)
		data = data[8:]
		copy(tx.Signature[:], data)
		if tx.Signature.IsZero() {
			return nil, RuleErrorf(ErrMalformed, "signed transaction with an all-zero signature")
		}
		data = data[SignatureSize:]
	}
	tx.ID = tx.ComputeID()
	return data, nil
}

// decodeAddress decodes a length-prefixed address; flags are bits of the
// length that are not part of it.
func decodeAddress(data []byte, field string, flags uint16) (string, []byte, error) {
	if len(data) < 2 {
		return "", nil, RuleErrorf(ErrMalformed, "%s truncated", field)
	}
	n := int(binary.BigEndian.Uint16(data) &^ flags)
	if n > MaxAddressLen {
		return "", nil, RuleErrorf(ErrTooLarge, "%s is %d bytes, more than %d", field, n, MaxAddressLen)
	}
	if len(data) < 2+n {
		return "", nil, RuleErrorf(ErrMalformed, "%s truncated", field)
	}
	return string(data[2 : 2+n]), data[2+n:], nil
}
