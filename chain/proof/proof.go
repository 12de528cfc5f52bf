package proof

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"

	"github.com/gossipchain/gossipchain/chain"
	"github.com/gossipchain/gossipchain/chain/merkle"
	"github.com/gossipchain/gossipchain/chain/smt"
)

// The type bytes that open the two proof forms.
const (
	TypeTx      byte = 0x01
	TypeAccount byte = 0x02
)

// Limits of the proof forms (see the package doc).
const (
	// MaxTxLen is the longest transaction encoding a proof carries
	// (chain.MaxTxSize).
	MaxTxLen = chain.MaxTxSize
	// MaxPathLen is the longest inclusion path: that of a block of 2,048
	// transactions.
	MaxPathLen = 11
	// MinMapLen and MaxMapLen bound the account-state map proof.
	MinMapLen = 3
	MaxMapLen = smt.MaxProofSize
	// MaxTxProofSize and MaxAccountProofSize are the sizes of the largest
	// proofs: no valid proof is longer, so a reader can stop there.
	MaxTxProofSize      = txFixed + MaxTxLen + 1 + MaxPathLen*merkle.HashSize
	MaxAccountProofSize = accountFixed + MaxMapLen

	txFixed      = 1 + chain.HeaderSize + 4 + 2
	accountFixed = 1 + chain.HeaderSize + chain.AddressLen + 8 + 8 + 2
)

// ErrBadProof is wrapped by every error of the decoders and of the Verify
// methods: the proof is malformed or does not prove what it claims.
var ErrBadProof = errors.New("proof: bad proof")

// Tx proves that a transaction is at position Index of the block whose
// header is Header.
type Tx struct {
	Header []byte // the block header, chain.HeaderSize bytes
	Index  uint32 // the transaction's position in the block
	Tx     []byte // the transaction's canonical encoding
	// Path is the RFC 6962 inclusion path of the transaction's id, leaf's
	// sibling first (merkle.InclusionProof).
	Path []merkle.Hash
}

// Account proves the account of Address after the block whose header is
// Header: Balance and NextNonce with their inclusion in the header's
// account-state map, or, when both are zero, the address's absence.
type Account struct {
	Header             []byte // the block header, chain.HeaderSize bytes
	Address            string // chain.AddressLen characters
	Balance, NextNonce uint64
	Map                []byte // the encoded smt proof (PROTOCOL.md 10.8)
}

// bad returns an error wrapping ErrBadProof.
func bad(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrBadProof}, args...)...)
}

// PathLen returns the length of the RFC 6962 inclusion path of leaf m in a
// tree of n leaves, m < n.
func PathLen(m, n uint64) int {
	inner := bits.Len64(m ^ (n - 1))
	return inner + bits.OnesCount64(m>>inner)
}

// MarshalBinary returns the binary form of p, or an error if a field is
// out of its range.
func (p Tx) MarshalBinary() ([]byte, error) {
	switch {
	case len(p.Header) != chain.HeaderSize:
		return nil, fmt.Errorf("transaction proof: header of %d bytes, want %d", len(p.Header), chain.HeaderSize)
	case len(p.Tx) < 1 || len(p.Tx) > MaxTxLen:
		return nil, fmt.Errorf("transaction proof: transaction of %d bytes, want 1..%d", len(p.Tx), MaxTxLen)
	case len(p.Path) > MaxPathLen:
		return nil, fmt.Errorf("transaction proof: path of %d hashes, at most %d", len(p.Path), MaxPathLen)
	}
	b := make([]byte, 0, txFixed+len(p.Tx)+1+len(p.Path)*merkle.HashSize)
	b = append(b, TypeTx)
	b = append(b, p.Header...)
	b = binary.BigEndian.AppendUint32(b, p.Index)
	b = binary.BigEndian.AppendUint16(b, uint16(len(p.Tx)))
	b = append(b, p.Tx...)
	b = append(b, byte(len(p.Path)))
	for i := range p.Path {
		b = append(b, p.Path[i][:]...)
	}
	return b, nil
}

// DecodeTx decodes the binary form of a transaction proof, refusing every
// other input: a wrong type byte, a header chain.DecodeHeader refuses, an
// index outside the block, a transaction length outside 1..MaxTxLen, a
// path whose length is not that of the index in the block, and a short or
// long input. The slices of the result alias b.
func DecodeTx(b []byte) (Tx, error) {
	if len(b) < txFixed {
		return Tx{}, bad("transaction proof of %d bytes, shorter than %d", len(b), txFixed)
	}
	if b[0] != TypeTx {
		return Tx{}, bad("type %#02x, want %#02x", b[0], TypeTx)
	}
	hdr, err := header(b[1 : 1+chain.HeaderSize])
	if err != nil {
		return Tx{}, err
	}
	p := Tx{Header: b[1 : 1+chain.HeaderSize]}
	b = b[1+chain.HeaderSize:]
	p.Index = binary.BigEndian.Uint32(b)
	if uint64(p.Index) >= hdr.TxCount {
		return Tx{}, bad("index %d in a block of %d transactions", p.Index, hdr.TxCount)
	}
	n := int(binary.BigEndian.Uint16(b[4:]))
	if n < 1 || n > MaxTxLen {
		return Tx{}, bad("transaction of %d bytes, want 1..%d", n, MaxTxLen)
	}
	b = b[6:]
	if len(b) < n+1 {
		return Tx{}, bad("transaction cut short")
	}
	p.Tx, b = b[:n], b[n:]
	k := int(b[0])
	if want := PathLen(uint64(p.Index), hdr.TxCount); k != want || k > MaxPathLen {
		return Tx{}, bad("path of %d hashes; leaf %d of %d has %d, at most %d", k, p.Index, hdr.TxCount, want, MaxPathLen)
	}
	b = b[1:]
	if len(b) != k*merkle.HashSize {
		return Tx{}, bad("%d bytes for a path of %d hashes", len(b), k)
	}
	p.Path = make([]merkle.Hash, k)
	for i := range p.Path {
		p.Path[i] = merkle.Hash(b[i*merkle.HashSize:])
	}
	return p, nil
}

// Verify checks that p proves the transaction id: SHA-256 of p.Tx is id,
// p.Tx decodes as a canonical transaction, and the path leads from id at
// p.Index to the header's tx_root in a tree of the header's tx_count
// leaves. It returns the header as a block without transactions; the
// caller then checks that the block is on a header chain it trusts.
func (p Tx) Verify(id chain.Hash) (chain.Block, error) {
	hdr, err := header(p.Header)
	if err != nil {
		return chain.Block{}, err
	}
	if got := chain.Hash(sha256.Sum256(p.Tx)); got != id {
		return chain.Block{}, bad("the transaction is %s, not %s", got, id)
	}
	tx, err := chain.DecodeTransaction(p.Tx)
	if err != nil {
		return chain.Block{}, bad("transaction %s: %w", id, err)
	}
	if tx.ID != id {
		return chain.Block{}, bad("transaction %s is not in its canonical encoding", id)
	}
	if len(p.Path) > MaxPathLen {
		return chain.Block{}, bad("path of %d hashes, at most %d", len(p.Path), MaxPathLen)
	}
	if err := merkle.VerifyInclusion(merkle.Hash(hdr.TxRoot), uint64(p.Index), hdr.TxCount, merkle.Hash(id), p.Path); err != nil {
		return chain.Block{}, bad("transaction %s in block %s: %w", id, hdr.Hash, err)
	}
	return hdr, nil
}

// MarshalBinary returns the binary form of p, or an error if a field is
// out of its range.
func (p Account) MarshalBinary() ([]byte, error) {
	switch {
	case len(p.Header) != chain.HeaderSize:
		return nil, fmt.Errorf("account proof: header of %d bytes, want %d", len(p.Header), chain.HeaderSize)
	case len(p.Address) != chain.AddressLen:
		return nil, fmt.Errorf("account proof: address of %d bytes, want %d", len(p.Address), chain.AddressLen)
	case len(p.Map) < MinMapLen || len(p.Map) > MaxMapLen:
		return nil, fmt.Errorf("account proof: map proof of %d bytes, want %d..%d", len(p.Map), MinMapLen, MaxMapLen)
	}
	b := make([]byte, 0, accountFixed+len(p.Map))
	b = append(b, TypeAccount)
	b = append(b, p.Header...)
	b = append(b, p.Address...)
	b = binary.BigEndian.AppendUint64(b, p.Balance)
	b = binary.BigEndian.AppendUint64(b, p.NextNonce)
	b = binary.BigEndian.AppendUint16(b, uint16(len(p.Map)))
	return append(b, p.Map...), nil
}

// DecodeAccount decodes the binary form of an account proof, refusing
// every other input: a wrong type byte, a header chain.DecodeHeader
// refuses, a map proof length outside MinMapLen..MaxMapLen, and a short or
// long input. The slices of the result alias b.
func DecodeAccount(b []byte) (Account, error) {
	if len(b) < accountFixed {
		return Account{}, bad("account proof of %d bytes, shorter than %d", len(b), accountFixed)
	}
	if b[0] != TypeAccount {
		return Account{}, bad("type %#02x, want %#02x", b[0], TypeAccount)
	}
	if _, err := header(b[1 : 1+chain.HeaderSize]); err != nil {
		return Account{}, err
	}
	p := Account{Header: b[1 : 1+chain.HeaderSize]}
	b = b[1+chain.HeaderSize:]
	p.Address, b = string(b[:chain.AddressLen]), b[chain.AddressLen:]
	p.Balance = binary.BigEndian.Uint64(b)
	p.NextNonce = binary.BigEndian.Uint64(b[8:])
	n := int(binary.BigEndian.Uint16(b[16:]))
	if n < MinMapLen || n > MaxMapLen {
		return Account{}, bad("map proof of %d bytes, want %d..%d", n, MinMapLen, MaxMapLen)
	}
	b = b[18:]
	if len(b) != n {
		return Account{}, bad("%d bytes for a map proof of %d", len(b), n)
	}
	p.Map = b
	return p, nil
}

// Verify checks that p proves the account of addr: p.Address is addr and
// an address, and p.Map proves, against the header's state_root, the
// inclusion of chain.AccountValueHash(p.Balance, p.NextNonce) under
// chain.AccountKey(addr), or the absence of the key when both are zero. It
// returns the header as a block without transactions; the caller then
// checks that the block is on a header chain it trusts.
func (p Account) Verify(addr string) (chain.Block, error) {
	hdr, err := header(p.Header)
	if err != nil {
		return chain.Block{}, err
	}
	if p.Address != addr {
		return chain.Block{}, bad("the proof is of %q, not %q", p.Address, addr)
	}
	if _, err := chain.PublicKeyOf(addr); err != nil {
		return chain.Block{}, bad("%q: %w", addr, err)
	}
	var value *smt.Hash
	if p.Balance != 0 || p.NextNonce != 0 {
		v := smt.Hash(chain.AccountValueHash(p.Balance, p.NextNonce))
		value = &v
	}
	if err := smt.Verify(smt.Hash(hdr.StateRoot), smt.Hash(chain.AccountKey(addr)), value, p.Map); err != nil {
		return chain.Block{}, bad("account %s in block %s: %w", addr, hdr.Hash, err)
	}
	return hdr, nil
}

// Decode decodes either proof form by its type byte: it returns a Tx or an
// Account.
func Decode(b []byte) (any, error) {
	if len(b) == 0 {
		return nil, bad("empty proof")
	}
	var p any
	var err error
	switch b[0] {
	case TypeTx:
		p, err = DecodeTx(b)
	case TypeAccount:
		p, err = DecodeAccount(b)
	default:
		return nil, bad("unknown type %#02x", b[0])
	}
	if err != nil {
		return nil, err
	}
	return p, nil
}

// header decodes a header of chain.HeaderSize bytes.
func header(b []byte) (chain.Block, error) {
	hdr, err := chain.DecodeHeader(b)
	if err != nil {
		return chain.Block{}, bad("header: %w", err)
	}
	return hdr, nil
}
