package store

import (
	"strings"

	"github.com/gossipchain/gossipchain/chain"
)

// FeeTargets are the inclusion targets, in blocks, that FeeEstimates
// answers for.
var FeeTargets = []int{1, 3, 10}

// typicalTransferSize is the encoded size of a signed transfer between
// two addresses (peer IDs of Ed25519 keys, 52 characters each).
var typicalTransferSize = func() int {
	addr := strings.Repeat("1", 52)
	tx := chain.Transaction{Sender: addr, Recipient: addr, Signature: chain.Signature{1}}
	return tx.EncodedSize()
}()

// FeeEstimates estimates, on a signed network, the fee rate for inclusion
// within each of FeeTargets blocks. For N blocks it is the highest of:
//
//   - the minimum relay fee rate;
//   - the pool: its transactions are laid out in blocks as templates take
//     them (pool.byFeeRate, within the count and size limits); if they
//     overflow N blocks, one unit above the package rate of the first
//     transaction left out, so that a newcomer is taken before it;
//   - recent blocks: the lowest of the clearing rates of the last N blocks
//     of the main chain (at most 10), where a block's clearing rate is the
//     lowest fee rate it took if it was full (its transaction count or its
//     size left no room for a typical transfer), and 0 if it had room: a
//     rate that at least one of them would have taken.
//
// On an empty pool and chain every estimate is the minimum relay fee rate.
func (c *Chain) FeeEstimates() chain.FeeEstimates {
	out := chain.FeeEstimates{Unit: chain.FeeRateUnit, MinRelayFeeRate: c.pool.minRelayRate, TypicalSize: typicalTransferSize}
	maxCount, _ := c.blockRoom()
	pending, scores := c.pool.ranked(FeeTargets[len(FeeTargets)-1]*maxCount + 1)
	out.Pending = c.pool.count()
	boundary := c.poolBoundaries(pending, scores)
	clearing := c.clearingRates(FeeTargets[len(FeeTargets)-1])
	out.RecentBlocks = len(clearing)
	for i, n := range FeeTargets {
		rate := max(out.MinRelayFeeRate, boundary[i])
		if len(clearing) > 0 {
			floor := clearing[0]
			for _, r := range clearing[:min(n, len(clearing))] {
				floor = min(floor, r)
			}
			rate = max(rate, floor)
		}
		out.Estimates = append(out.Estimates, chain.FeeEstimate{Blocks: n, FeeRate: rate, Fee: chain.FeeForRate(rate, typicalTransferSize)})
	}
	return out
}

// blockRoom is the room of a block for other transactions than the reward:
// their count and their bytes.
func (c *Chain) blockRoom() (count, bytes int) {
	reward := chain.NewRewardTransaction(strings.Repeat("1", 52), chain.MaxAmount, 1<<62)
	return c.params.MaxBlockTxs - 1, c.params.MaxBlockSize - chain.HeaderSize - 4 - reward.EncodedSize()
}

// poolBoundaries returns, for each of FeeTargets, the rate that beats the
// first of pending (in block order, with their package rates scores) that
// does not fit in that many blocks, or 0 if all of them fit.
func (c *Chain) poolBoundaries(pending []chain.Transaction, scores []feeRate) []uint64 {
	out := make([]uint64, len(FeeTargets))
	maxCount, maxBytes := c.blockRoom()
	blocks, count, bytes := 1, 0, 0
	t := 0 // the next target to settle
	for i := range pending {
		size := pending[i].EncodedSize()
		if count == maxCount || bytes+size > maxBytes {
			blocks, count, bytes = blocks+1, 0, 0
		}
		for t < len(FeeTargets) && blocks > FeeTargets[t] {
			out[t] = scores[i].perUnit() + 1
			t++
		}
		if t == len(FeeTargets) {
			break
		}
		count++
		bytes += size
	}
	return out
}

// clearingRates returns the clearing rates of up to n blocks of the main
// chain from the head back (see FeeEstimates); the genesis is not counted.
func (c *Chain) clearingRates(n int) []uint64 {
	maxCount, maxBytes := c.blockRoom()
	var out []uint64
	for h := c.Head().Height; h > 1 && len(out) < n; h-- {
		b, err := c.BlockByHeight(h)
		if err != nil {
			c.log.Warn("read a block to estimate fees", "height", h, "err", err)
			break
		}
		txs := b.Transactions[:len(b.Transactions)-1] // the reward is last
		bytes := 0
		lowest := uint64(0)
		for i := range txs {
			bytes += txs[i].EncodedSize()
			if r := txs[i].FeeRate(); i == 0 || r < lowest {
				lowest = r
			}
		}
		if len(txs) < maxCount && bytes+typicalTransferSize <= maxBytes {
			lowest = 0 // it had room
		}
		out = append(out, lowest)
	}
	return out
}
