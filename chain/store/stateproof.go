package store

import (
	"fmt"

	"github.com/gossipchain/gossipchain/chain"
	"github.com/gossipchain/gossipchain/chain/proof"
	"github.com/gossipchain/gossipchain/chain/smt"
)

// AccountProof is the state of an account after a main-chain block and
// its proof against the block's state root (PROTOCOL.md 10.8).
type AccountProof struct {
	Address string
	// Balance and NextNonce are the account after the block; both are
	// zero for an account absent from the map.
	Balance, NextNonce uint64
	// Proof is the encoded smt proof of chain.AccountKey(Address) in the
	// map whose root is StateRoot: the inclusion of
	// chain.AccountValueHash(Balance, NextNonce), or the absence of the key
	// when both are zero. smt.Verify checks it.
	Proof []byte
	// Height and Hash name the block; Header is its header encoding,
	// which hashes to Hash and commits to StateRoot.
	Height    uint64
	Hash      chain.Hash
	Header    []byte
	StateRoot chain.Hash
}

// Binary returns p in the form of package chain/proof, which a node sends
// and proof.Account.Verify checks.
func (p AccountProof) Binary() proof.Account {
	return proof.Account{Header: p.Header, Address: p.Address, Balance: p.Balance, NextNonce: p.NextNonce, Map: p.Proof}
}

// AccountProof returns the account of addr after the main-chain block at
// (the head when at is zero), with its proof, read from the stored map
// without a replay: O(log n) node reads. On an open network it is
// ErrNotSigned; an addr that is not an address gives ErrNotAddress; a
// block not on the main chain, ErrNotFound.
func (c *Chain) AccountProof(addr string, at chain.Hash) (AccountProof, error) {
	if !c.params.Signed() {
		return AccountProof{}, chain.ErrNotSigned
	}
	if _, err := chain.PublicKeyOf(addr); err != nil {
		return AccountProof{}, err
	}
	if at.IsZero() {
		at = c.Head().Hash
	}
	out := AccountProof{Address: addr, Hash: at}
	err := c.readIndexed(func(v *view) (bool, error) {
		height, ok := v.mainHeight(at)
		if !ok {
			return false, nil
		}
		_, stub, err := v.mainStub(height)
		if err != nil {
			return true, err
		}
		out.Height, out.Header = height, append([]byte(nil), stubHeader(stub)...)
		if out.StateRoot, err = v.stateRootAt(height); err != nil {
			return true, err
		}
		nodes := &stateNodes{v: v}
		p, err := smt.Prove(nodes, smt.Hash(out.StateRoot), smt.Hash(chain.AccountKey(addr)))
		if err != nil {
			return true, err
		}
		if p.Kind == smt.Included {
			if len(nodes.last) != leafSize {
				return true, fmt.Errorf("the leaf of %s holds no account", addr)
			}
			a, err := decodeAcct(nodes.last[smt.NodeSize:])
			if err != nil {
				return true, err
			}
			out.Balance, out.NextNonce = a.balance, a.nonce
		}
		out.Proof, err = p.MarshalBinary()
		return true, err
	})
	if err != nil {
		return AccountProof{}, fmt.Errorf("account proof of %s at %s: %w", addr, at, err)
	}
	if out.Header == nil {
		return AccountProof{}, fmt.Errorf("account proof at %s: %w: not on the main chain", at, chain.ErrNotFound)
	}
	return out, nil
}
