package store

import (
	"fmt"

	"github.com/gossipchain/gossipchain/chain"
	"github.com/gossipchain/gossipchain/chain/merkle"
	"github.com/gossipchain/gossipchain/chain/proof"
)

// TxProof returns the proof that the transaction id is in its main-chain
// block (package chain/proof), read from one snapshot through the
// transaction index: ErrNotFound when id is not in the main chain (pending,
// unknown, or only in an abandoned branch).
func (c *Chain) TxProof(id chain.Hash) (proof.Tx, error) {
	var out proof.Tx
	err := c.readIndexed(func(v *view) (bool, error) {
		height, ok := v.txHeight(id)
		if !ok {
			return false, nil
		}
		b, err := c.recordBlock(v, height)
		if err != nil {
			return true, err
		}
		out, err = txProofIn(b, id)
		return true, err
	})
	if err != nil {
		return proof.Tx{}, fmt.Errorf("transaction proof of %s: %w", id, err)
	}
	if out.Header == nil {
		return proof.Tx{}, fmt.Errorf("transaction proof of %s: %w: not in the main chain", id, chain.ErrNotFound)
	}
	return out, nil
}

// txProofIn returns the proof of id in b.
func txProofIn(b *chain.Block, id chain.Hash) (proof.Tx, error) {
	ids := make([]merkle.Hash, len(b.Transactions))
	at := -1
	for i := range b.Transactions {
		ids[i] = merkle.Hash(b.Transactions[i].ID)
		if b.Transactions[i].ID == id {
			at = i
		}
	}
	if at < 0 {
		return proof.Tx{}, fmt.Errorf("transaction index names block %d, which lacks it", b.Index)
	}
	path, err := merkle.InclusionProof(at, ids)
	if err != nil {
		return proof.Tx{}, err
	}
	if len(path) > proof.MaxPathLen {
		return proof.Tx{}, fmt.Errorf("leaf %d of the %d of block %d has a path of %d hashes, longer than a proof carries", at, len(ids), b.Index, len(path))
	}
	h := b.Header()
	return proof.Tx{
		Header: h[:],
		Index:  uint32(at),
		Tx:     b.Transactions[at].AppendBinary(nil),
		Path:   path,
	}, nil
}
