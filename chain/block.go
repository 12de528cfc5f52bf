package chain

import (
	"crypto/sha256"
	"encoding/binary"
	"math/big"
)

// HeaderVersion is the version of the header encoding; it is hashed.
const HeaderVersion = 2

// HeaderSize is the size of the canonical header encoding in bytes.
const HeaderSize = 96

// Block is one block of the chain, with the tutorial's JSON fields (index,
// timestamp, transactions, proof, previous_hash) plus what the header
// commits to: the compact target, the transaction root and the block's own
// hash.
type Block struct {
	Index        uint64        `json:"index"`
	Timestamp    Timestamp     `json:"timestamp"`
	Transactions []Transaction `json:"transactions"`
	Proof        uint64        `json:"proof"`
	PreviousHash Hash          `json:"previous_hash"`
	Bits         Compact       `json:"bits"`
	TxRoot       Hash          `json:"tx_root"`
	StateRoot    Hash          `json:"state_root"`
	// Hash is the block hash as stated by whoever produced the block.
	// Validation checks it against ComputeHash; after a block is accepted
	// it is the block's key.
	Hash Hash `json:"hash"`
}

// Header returns the canonical header encoding that the block hash covers:
//
//	offset size field
//	0      32   previous_hash
//	32     32   tx_root
//	64     4    version (2), big-endian
//	68     8    index, big-endian
//	76     8    timestamp in Unix microseconds, big-endian two's complement
//	84     4    bits: the compact target (see Compact), big-endian
//	88     8    proof, big-endian
//
// The first 64 bytes do not change while a miner searches proofs, and the
// proof sits in the final SHA-256 block.
func (b *Block) Header() [HeaderSize]byte {
	var h [HeaderSize]byte
	copy(h[0:32], b.PreviousHash[:])
	copy(h[32:64], b.TxRoot[:])
	binary.BigEndian.PutUint32(h[64:68], HeaderVersion)
	binary.BigEndian.PutUint64(h[68:76], b.Index)
	binary.BigEndian.PutUint64(h[76:84], uint64(b.Timestamp))
	binary.BigEndian.PutUint32(h[84:88], uint32(b.Bits))
	binary.BigEndian.PutUint64(h[88:96], b.Proof)
	return h
}

// ComputeHash returns SHA-256 of the block's header.
func (b *Block) ComputeHash() Hash {
	h := b.Header()
	return sha256.Sum256(h[:])
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
