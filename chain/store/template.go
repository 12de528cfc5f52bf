package store

import (
	"github.com/gossipchain/gossipchain/chain"
)

// BlockTemplate assembles the next block on the head: pending transactions
// within the limits (on an open network first come first served, on a
// signed one by fee rate, see pool.byFeeRate), then the reward, which
// collects their fees, and on a signed network the state root after them.
// Proof and hash are left to the miner. The head, its median time and the pool are
// read under the writers' lock, so that the template is valid on its
// parent: the pool never holds a transaction of the main chain.
func (c *Chain) BlockTemplate(address string) *chain.Block {
	c.mu.Lock()
	defer c.mu.Unlock()
	head := *c.head.Load()
	median := chain.MedianTime(append([]chain.Timestamp(nil), c.recent...))

	index := head.Height + 1
	reward := chain.NewRewardTransaction(address, c.params.Reward, index)
	size := chain.HeaderSize + 4 + reward.EncodedSize()
	var txs []chain.Transaction
	if c.params.Signed() {
		txs = c.signedTemplateTxs(size)
	} else {
		for _, t := range c.Pending(c.params.MaxBlockTxs - 1) {
			if size+t.EncodedSize() > c.params.MaxBlockSize {
				break
			}
			size += t.EncodedSize()
			txs = append(txs, t)
		}
	}
	// The reward collects the fees (signed ledger; the template keeps
	// their sum within MaxAmount).
	reward.Amount += chain.BlockFees(txs)
	reward.ID = reward.ComputeID()
	txs = append(txs, reward)
	// The clock, but never before the median nor past the future limit
	// (only a chain whose median is ahead of this clock gets there, and
	// then no valid block exists until the clock catches up).
	ts := min(max(chain.TimestampOf(c.now()), median), chain.TimestampOf(c.now().Add(c.params.FutureLimit())))
	b := &chain.Block{Index: index, Timestamp: ts, Transactions: txs, PreviousHash: head.Hash, Bits: head.NextBits}
	b.CommitTransactions()
	if c.params.Signed() {
		root, err := c.stateRootAfter(index, txs)
		if err != nil {
			c.log.Error("state root of the next block", "err", err)
		}
		b.StateRoot = root
	}
	return b
}
