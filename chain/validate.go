package chain

import (
	"slices"
	"time"
)

// CheckBlockSanity checks every rule that needs neither the parent nor the
// chain: limits, difficulty, stated hash, proof of work, future timestamp,
// transaction commitment, transactions and reward. now is the local clock.
// The genesis block is not checked here: it is compared with the network's.
func (p *Params) CheckBlockSanity(b *Block, now time.Time) error {
	switch b.Index {
	case 0:
		return ruleErrorf(ErrBadIndex, "block index 0: the genesis has index 1")
	case 1:
		return ruleErrorf(ErrBadGenesis, "block index 1: only the network's genesis has index 1")
	}
	if n := len(b.Transactions); n > p.MaxBlockTxs {
		return ruleErrorf(ErrTooLarge, "block has %d transactions, more than %d", n, p.MaxBlockTxs)
	}
	if len(b.Transactions) == 0 {
		return ruleErrorf(ErrBadReward, "block has no transactions: the reward is missing")
	}
	if size := b.BinarySize(); size > p.MaxBlockSize {
		return ruleErrorf(ErrTooLarge, "block is %d bytes, more than %d", size, p.MaxBlockSize)
	}
	if b.Difficulty != p.Difficulty {
		return ruleErrorf(ErrBadDifficulty, "difficulty %d, network requires %d", b.Difficulty, p.Difficulty)
	}
	hash := b.ComputeHash()
	if hash != b.Hash {
		return ruleErrorf(ErrBadHash, "stated hash %s, computed %s", b.Hash, hash)
	}
	if zeros := LeadingZeroBits(hash); zeros < int(b.Difficulty) {
		return ruleErrorf(ErrBadProof, "hash %s has %d leading zero bits, %d required", hash, zeros, b.Difficulty)
	}
	if limit := TimestampOf(now.Add(MaxFutureDrift)); b.Timestamp > limit {
		return ruleErrorf(ErrTimeTooNew, "timestamp %s is more than %s ahead of the local clock", b.Timestamp, MaxFutureDrift)
	}
	if root := TxRoot(b.Transactions); root != b.TxRoot {
		return ruleErrorf(ErrBadTxRoot, "tx_root %s does not match the transactions (%s)", b.TxRoot, root)
	}
	last := len(b.Transactions) - 1
	seen := make(map[Hash]struct{}, len(b.Transactions))
	for i := range b.Transactions {
		tx := &b.Transactions[i]
		if err := tx.Check(); err != nil {
			return ruleErrorf(RuleCode(err), "transaction %d: %v", i, err)
		}
		if tx.IsReward() != (i == last) {
			if i == last {
				return ruleErrorf(ErrBadReward, "the last transaction must be the reward (sender %q)", RewardSender)
			}
			return ruleErrorf(ErrBadReward, "transaction %d has the reward sender %q but is not last", i, RewardSender)
		}
		if _, dup := seen[tx.ID]; dup {
			return ruleErrorf(ErrDuplicateTx, "transaction %s appears twice in the block", tx.ID)
		}
		seen[tx.ID] = struct{}{}
	}
	reward := &b.Transactions[last]
	if reward.Amount != p.Reward {
		return ruleErrorf(ErrBadReward, "reward is %d, the network pays %d", reward.Amount, p.Reward)
	}
	if reward.Nonce != b.Index {
		return ruleErrorf(ErrBadReward, "reward nonce is %d, must equal the block index %d", reward.Nonce, b.Index)
	}
	return nil
}

// CheckBlockContext checks the rules that need the parent: index, previous
// hash, and a timestamp not before median, the median time of the parent and
// its ancestors (see MedianTime).
func CheckBlockContext(b *Block, parentIndex uint64, parentHash Hash, median Timestamp) error {
	if b.PreviousHash != parentHash {
		return ruleErrorf(ErrBadPrevHash, "previous_hash %s is not the parent %s", b.PreviousHash, parentHash)
	}
	if b.Index != parentIndex+1 {
		return ruleErrorf(ErrBadIndex, "index %d, parent index is %d", b.Index, parentIndex)
	}
	if b.Timestamp < median {
		return ruleErrorf(ErrTimeTooOld, "timestamp %s is before the median %s of the last %d blocks", b.Timestamp, median, MedianTimeBlocks)
	}
	return nil
}

// MedianTime returns the median of up to MedianTimeBlocks timestamps (the
// parent's and its ancestors'). The slice is sorted in place.
func MedianTime(times []Timestamp) Timestamp {
	if len(times) == 0 {
		return 0
	}
	slices.Sort(times)
	return times[len(times)/2]
}
