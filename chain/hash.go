package chain

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	"github.com/gossipchain/gossipchain/chain/merkle"
)

// HashSize is the size of a block hash or transaction id in bytes.
const HashSize = sha256.Size

// Hash is a SHA-256 digest: a block hash, a transaction id or a commitment.
// It is written in JSON as 64 lower-case hex characters.
type Hash [HashSize]byte

// String returns the hash as lower-case hex.
func (h Hash) String() string { return hex.EncodeToString(h[:]) }

// IsZero reports whether every byte of h is zero.
func (h Hash) IsZero() bool { return h == Hash{} }

// MarshalText implements encoding.TextMarshaler.
func (h Hash) MarshalText() ([]byte, error) {
	out := make([]byte, 2*HashSize)
	hex.Encode(out, h[:])
	return out, nil
}

// UnmarshalText implements encoding.TextUnmarshaler; it accepts exactly 64
// hex characters.
func (h *Hash) UnmarshalText(text []byte) error {
	parsed, err := ParseHash(string(text))
	if err != nil {
		return err
	}
	*h = parsed
	return nil
}

// ParseHash parses 64 hex characters (either case) into a Hash.
func ParseHash(s string) (Hash, error) {
	var h Hash
	if len(s) != 2*HashSize {
		return h, fmt.Errorf("hash must be %d hex characters, got %d", 2*HashSize, len(s))
	}
	if _, err := hex.Decode(h[:], []byte(s)); err != nil {
		return h, fmt.Errorf("hash is not hex: %w", err)
	}
	return h, nil
}

// TxRoot is the commitment to a block's transaction list: the Merkle root
// (package chain/merkle, RFC 6962's tree hash) of the transaction ids as
// set, in block order. Validation computes it from the ids the
// transactions' encodings give, never from ids a JSON block states.
func TxRoot(txs []Transaction) Hash {
	var m merkle.Builder
	for i := range txs {
		m.Add(merkle.Hash(txs[i].ID))
	}
	return m.Root()
}

// LeadingZeroBits counts the leading zero bits of h.
func LeadingZeroBits(h Hash) int {
	n := 0
	for _, b := range h {
		if b == 0 {
			n += 8
			continue
		}
		for b&0x80 == 0 {
			n++
			b <<= 1
		}
		return n
	}
	return n
}
