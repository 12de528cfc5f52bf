package sync

import (
	"context"
	"errors"
	"fmt"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gossipchain/gossipchain/chain"
	"github.com/gossipchain/gossipchain/chain/proof"
)

// fetchAccountAnswer asks p for the proof of addr's account after block at
// and returns what it proves, checked against the proof's own header.
func fetchAccountAnswer(ctx context.Context, h host.Host, p peer.ID, addr string, at chain.Hash) (VerifiedAccount, error) {
	pr, err := FetchAccountProof(ctx, h, p, addr, at)
	if err != nil {
		return VerifiedAccount{}, err
	}
	hdr, err := pr.Verify(addr)
	if err != nil {
		return VerifiedAccount{}, err
	}
	return VerifiedAccount{Address: pr.Address, Balance: pr.Balance, NextNonce: pr.NextNonce, Block: hdr}, nil
}

// fetchTxAnswer asks p for the proof of transaction id and returns what it
// proves, checked against the proof's own header.
func fetchTxAnswer(ctx context.Context, h host.Host, p peer.ID, id chain.Hash) (VerifiedTx, error) {
	pr, err := FetchTxProof(ctx, h, p, id)
	if err != nil {
		return VerifiedTx{}, err
	}
	hdr, err := pr.Verify(id)
	if err != nil {
		return VerifiedTx{}, err
	}
	tx, err := chain.DecodeTransaction(pr.Tx)
	if err != nil {
		return VerifiedTx{}, fmt.Errorf("%w: transaction: %w", proof.ErrBadProof, err)
	}
	return VerifiedTx{Tx: tx, Index: pr.Index, Block: hdr}, nil
}

// isBadProof reports whether err is a proof that does not verify.
func isBadProof(err error) bool { return errors.Is(err, proof.ErrBadProof) }
