package chain

import (
	"crypto/sha256"
	"encoding/binary"

	"github.com/gossipchain/gossipchain/chain/smt"
)

// The account-state commitment of a signed network (PROTOCOL.md 10.8): the
// header's state_root is the root of a sparse Merkle map (package
// chain/smt) from AccountKey(address) to AccountValueHash(balance, next
// nonce), holding every account that is not zero, after the block's
// transactions are applied. An open network has no accounts: its
// state_root is the empty map's root, 32 zero bytes. The genesis changes
// no account (ledger.go), so its state_root is the empty map's root on
// every network.

// AccountKey returns the key of addr in the account-state map: SHA-256 of
// the address's bytes, the peer-ID text as transactions carry it.
func AccountKey(addr string) Hash {
	return sha256.Sum256([]byte(addr))
}

// AccountValueHash returns the value hash of an account in the
// account-state map: SHA-256 of balance (8) || next nonce (8), both
// big-endian.
func AccountValueHash(balance, nonce uint64) Hash {
	var v [16]byte
	binary.BigEndian.PutUint64(v[:8], balance)
	binary.BigEndian.PutUint64(v[8:], nonce)
	return sha256.Sum256(v[:])
}

// StateChange returns the change of the account-state map that sets addr's
// account to balance and nonce: a removal when both are zero, since a zero
// account is absent from the map.
func StateChange(addr string, balance, nonce uint64) smt.Change {
	c := smt.Change{Key: smt.Hash(AccountKey(addr))}
	if balance == 0 && nonce == 0 {
		c.Delete = true
	} else {
		c.Value = smt.Hash(AccountValueHash(balance, nonce))
	}
	return c
}

// CheckStateRoot is the state_root rule: on a signed network b.StateRoot
// must be root, the root of the account-state map after b (which the
// caller computed); on an open network it must be 32 zero bytes.
func (p *Params) CheckStateRoot(b *Block, root Hash) error {
	if !p.Signed() {
		root = Hash{}
	}
	if b.StateRoot != root {
		return RuleErrorf(ErrBadStateRoot, "state_root %s does not match the accounts after the block (%s)", b.StateRoot, root)
	}
	return nil
}
