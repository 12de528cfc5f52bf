package chain

import (
	"crypto/sha256"
	"encoding/binary"
	"math/big"
)

// HeaderVersion is the version of the header encoding; it is hashed.
const HeaderVersion = 3

// HeaderSize is the size of the canonical header encoding in bytes.
const HeaderSize = 136

// The offsets of the header fields (PROTOCOL.md 2.2).
const (
	offTxRoot    = 32
	offStateRoot = 64
	offVersion   = 96
	offIndex     = 100
	offTimestamp = 108
	offBits      = 116
	offTxCount   = 120
	offProof     = 128
)

// Block is one block of the chain, with the tutorial's JSON fields (index,
// timestamp, transactions, proof, previous_hash) plus what the header
// commits to: the compact target, the transaction root and count, the
// state root and the block's own hash.
type Block struct {
	Index        uint64        `json:"index"`
	Timestamp    Timestamp     `json:"timestamp"`
	Transactions []Transaction `json:"transactions"`
	Proof        uint64        `json:"proof"`
	PreviousHash Hash          `json:"previous_hash"`
	Bits         Compact       `json:"bits"`
	// TxRoot is the Merkle root of the transaction ids (see TxRoot).
	TxRoot Hash `json:"tx_root"`
	// StateRoot is the root of the account-state map after the block on a
	// signed network, and 32 zero bytes on an open one.
	StateRoot Hash `json:"state_root"`
	// TxCount is the number of transactions: a header without its
	// transactions still says how many leaves its TxRoot has. For a full
	// block it must equal len(Transactions).
	TxCount uint64 `json:"tx_count"`
	// Hash is the block hash as stated by whoever produced the block.
	// Validation checks it against ComputeHash; after a block is accepted
	// it is the block's key.
	Hash Hash `json:"hash"`
}

// Header returns the canonical header encoding that the block hash covers:
//
//	offset size field
//	0      32   previous_hash
//	32     32   tx_root: the Merkle root of the transaction ids (TxRoot)
//	64     32   state_root
//	96     4    version (3), big-endian
//	100    8    index, big-endian
//	108    8    timestamp in Unix microseconds, big-endian two's complement
//	116    4    bits: the compact target (see Compact), big-endian
//	120    8    tx_count, big-endian
//	128    8    proof, big-endian
//
// The first 128 bytes (two SHA-256 blocks) do not change while a miner
// searches proofs, and the proof sits in the third and final SHA-256 block.
func (b *Block) Header() [HeaderSize]byte {
	var h [HeaderSize]byte
	copy(h[:offTxRoot], b.PreviousHash[:])
	copy(h[offTxRoot:offStateRoot], b.TxRoot[:])
	copy(h[offStateRoot:offVersion], b.StateRoot[:])
	binary.BigEndian.PutUint32(h[offVersion:], HeaderVersion)
	binary.BigEndian.PutUint64(h[offIndex:], b.Index)
	binary.BigEndian.PutUint64(h[offTimestamp:], uint64(b.Timestamp))
	binary.BigEndian.PutUint32(h[offBits:], uint32(b.Bits))
	binary.BigEndian.PutUint64(h[offTxCount:], b.TxCount)
	binary.BigEndian.PutUint64(h[offProof:], b.Proof)
	return h
}

// DecodeHeader decodes a header of exactly HeaderSize bytes into a Block
// with the header's fields, no transactions and Hash set to the computed
// hash. A header of another version is ErrMalformed. The block decoder
// reads its header with it, so that a header-only protocol and a full
// node share one parser.
func DecodeHeader(h []byte) (Block, error) {
	if len(h) != HeaderSize {
		return Block{}, RuleErrorf(ErrMalformed, "header is %d bytes, want %d", len(h), HeaderSize)
	}
	if v := binary.BigEndian.Uint32(h[offVersion:]); v != HeaderVersion {
		return Block{}, RuleErrorf(ErrMalformed, "unknown header version %d", v)
	}
	var b Block
	copy(b.PreviousHash[:], h[:offTxRoot])
	copy(b.TxRoot[:], h[offTxRoot:offStateRoot])
	copy(b.StateRoot[:], h[offStateRoot:offVersion])
	b.Index, b.Timestamp, b.Bits = HeaderFields(h)
	b.TxCount = binary.BigEndian.Uint64(h[offTxCount:])
	b.Proof = binary.BigEndian.Uint64(h[offProof:])
	b.Hash = sha256.Sum256(h)
	return b, nil
}

// HeaderFields reads the index, timestamp and bits of an encoded header of
// HeaderSize bytes without checking or hashing it, for a reader of headers
// that were checked when they were stored.
func HeaderFields(h []byte) (index uint64, ts Timestamp, bits Compact) {
	_ = h[HeaderSize-1]
	return binary.BigEndian.Uint64(h[offIndex:]), Timestamp(binary.BigEndian.Uint64(h[offTimestamp:])),
		Compact(binary.BigEndian.Uint32(h[offBits:]))
}

// ComputeHash returns SHA-256 of the block's header.
func (b *Block) ComputeHash() Hash {
	h := b.Header()
	return sha256.Sum256(h[:])
}

// CommitTransactions sets TxCount and TxRoot from the block's
// transactions (their ids as set). Every builder of a block calls it once
// its transactions are final, before the proof is searched.
func (b *Block) CommitTransactions() {
	b.TxCount = uint64(len(b.Transactions))
	b.TxRoot = TxRoot(b.Transactions)
}

// Work returns the work that a block of d leading zero bits represents:
// 2^d expected hash attempts (TargetWork(ZeroBitsTarget(d))).
func Work(d uint32) *big.Int { return new(big.Int).Lsh(big.NewInt(1), uint(d)) }

// Reward returns the block's reward transaction (the last one), or nil.
func (b *Block) Reward() *Transaction {
	if len(b.Transactions) == 0 {
		return nil
	}
	tx := &b.Transactions[len(b.Transactions)-1]
	if !tx.IsReward() {
		return nil
	}
	return tx
}

// MeetsTarget reports whether the stated hash of b meets the target of its
// own bits (false when the bits do not decode). It checks nothing else.
func (b *Block) MeetsTarget() bool {
	pt, err := b.Bits.PowTarget()
	return err == nil && pt.Met(b.Hash)
}
