package store

import (
	"fmt"

	"github.com/gossipchain/gossipchain/chain"
)

// Fee policy of the pending pool on a signed network (PROTOCOL.md 10.7):
// the minimum relay fee rate, and the replacement of a pending transaction
// by one of the same sender and nonce that pays enough more
// (chain.ReplacementFee). Neither is a consensus rule: a block may hold a
// transaction of any fee.

// DefaultMinRelayFeeRate is the default minimum relay fee rate, in fee per
// chain.FeeRateUnit bytes: 0, so that a node relays transactions of every
// fee and the pool orders them by what they pay. The network's reward is 1
// a block; a minimum of 1 per 1,000 bytes would price the smallest
// transfer at a whole block's reward. An operator raises it with
// Config.MinRelayFeeRate (gossipchain's --min-relay-fee).
const DefaultMinRelayFeeRate = 0

// MinRelayFeeRate returns the pool's minimum fee rate, in fee per
// chain.FeeRateUnit bytes (0 on an open network, which has no fees).
func (c *Chain) MinRelayFeeRate() uint64 { return c.pool.minRelayRate }

// checkRelayFee refuses a transaction of a signed network whose fee is
// below the minimum relay fee of its size.
func (c *Chain) checkRelayFee(tx *chain.Transaction) error {
	size := tx.EncodedSize()
	if want := chain.FeeForRate(c.pool.minRelayRate, size); tx.Fee < want {
		return fmt.Errorf("%w: a fee of %d for %d bytes; this node relays %d per %d bytes, a fee of at least %d", chain.ErrFeeTooLow, tx.Fee, size, c.pool.minRelayRate, chain.FeeRateUnit, want)
	}
	return nil
}

// replacementRefusal is the outcome of tx, whose nonce is that of old,
// pending from the same sender: nil if tx pays enough to replace it.
// Called with p.mu held.
func (p *pool) replacementRefusal(tx *chain.Transaction, old *poolEntry) error {
	if old.tx.ID == tx.ID {
		return fmt.Errorf("%w: %s is pending", chain.ErrKnownTransaction, tx.ID)
	}
	if want := chain.ReplacementFee(old.tx.Fee, p.minRelayRate, tx.EncodedSize()); tx.Fee < want {
		return chain.RuleErrorf(chain.ErrBadNonce, "nonce %d of %s is pending already (transaction %s, fee %d): a replacement must pay a fee of at least %d (10%% more, and at least the minimum relay fee more), not %d", tx.Nonce, tx.Sender, old.tx.ID, old.tx.Fee, want, tx.Fee)
	}
	return nil
}

// replacementCheck is the check before the signature of tx, whose nonce
// is pending from its sender (or taken by an earlier transaction of its
// batch): nil if tx may replace it (admission decides
// under Chain.mu, replaceLocked), the refusal otherwise.
func (c *Chain) replacementCheck(tx *chain.Transaction) error {
	c.pool.mu.Lock()
	defer c.pool.mu.Unlock()
	old := c.pool.pendingAtLocked(tx.Sender, tx.Nonce)
	if old == nil {
		// An earlier transaction of the same batch has the nonce.
		return chain.RuleErrorf(chain.ErrBadNonce, "nonce %d of %s is taken by an earlier transaction of the batch", tx.Nonce, tx.Sender)
	}
	return c.pool.replacementRefusal(tx, old)
}

// replaceLocked puts tx in the place of old, the pending transaction of
// the same sender and nonce, if it pays enough more and the sender's
// balance covers its pending transactions with tx instead of old. The
// entry returned deletes old from the store in the commit that writes it,
// so that a crash keeps exactly one of them. A replacement takes old's
// room: it is not refused by a full pool. Called with Chain.mu held.
func (c *Chain) replaceLocked(tx chain.Transaction, old *poolEntry) (*poolEntry, error) {
	from, err := c.storedAccount(tx.Sender)
	if err != nil {
		return nil, err
	}
	p := c.pool
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.replacementRefusal(&tx, old); err != nil {
		return nil, err
	}
	if spend := p.senders[tx.Sender].spend - old.tx.Cost() + tx.Cost(); spend > from.balance {
		return nil, chain.RuleErrorf(chain.ErrInsufficientBalance, "%s has %d, less than its pending transactions with %s in the place of %s (%d)", tx.Sender, from.balance, tx.ID, old.tx.ID, spend)
	}
	p.removeLocked(old.tx.ID)
	e := p.pushLocked(tx)
	e.replaces, e.replacing = old.seq, true
	return e, nil
}
