package chain

import (
	"fmt"
	"math/big"
	"slices"
	"sync/atomic"
	"time"

	"github.com/gossipchain/gossipchain/chain/merkle"
)

// CheckBlockSanity checks every rule that needs neither the parent nor the
// chain: limits, compact target within the network's range, stated hash,
// proof of work against the full 256-bit target, future timestamp (at most
// FutureLimit ahead of now),
// transaction count and commitment, transactions and reward. now is the local clock.
// The genesis block is not checked here: it is compared with the network's.
func (p *Params) CheckBlockSanity(b *Block, now time.Time) error {
	if err := checkIndex(b); err != nil {
		return err
	}
	if n := len(b.Transactions); n > p.MaxBlockTxs {
		return RuleErrorf(ErrTooLarge, "block has %d transactions, more than %d", n, p.MaxBlockTxs)
	}
	if len(b.Transactions) == 0 {
		return RuleErrorf(ErrBadReward, "block has no transactions: the reward is missing")
	}
	if size := b.BinarySize(); size > p.MaxBlockSize {
		return RuleErrorf(ErrTooLarge, "block is %d bytes, more than %d", size, p.MaxBlockSize)
	}
	if err := p.checkHeaderWork(b, now); err != nil {
		return err
	}
	if b.TxCount != uint64(len(b.Transactions)) {
		return RuleErrorf(ErrBadTxCount, "tx_count %d, the block has %d transactions", b.TxCount, len(b.Transactions))
	}
	// The root is that of the ids the encodings give, not of the ids a JSON
	// block states, so that the JSON and binary forms of one block break
	// the same rule; a stated id is checked against its encoding after it.
	ids := make([]Hash, len(b.Transactions))
	var root merkle.Builder
	for i := range b.Transactions {
		ids[i] = b.Transactions[i].ComputeID()
		root.Add(merkle.Hash(ids[i]))
	}
	if got := Hash(root.Root()); got != b.TxRoot {
		return RuleErrorf(ErrBadTxRoot, "tx_root %s does not match the transactions (%s)", b.TxRoot, got)
	}
	last := len(b.Transactions) - 1
	seen := make(map[Hash]struct{}, len(b.Transactions))
	for i := range b.Transactions {
		tx := &b.Transactions[i]
		if err := tx.CheckFields(); err != nil {
			return RuleErrorf(RuleCode(err), "transaction %d: %v", i, err)
		}
		if tx.ID != ids[i] {
			return RuleErrorf(ErrBadTransaction, "transaction %d: id %s does not match its contents (want %s)", i, tx.ID, ids[i])
		}
		if err := p.CheckLedgerFields(tx); err != nil {
			return RuleErrorf(RuleCode(err), "transaction %d: %v", i, err)
		}
		if tx.IsReward() != (i == last) {
			if i == last {
				return RuleErrorf(ErrBadReward, "the last transaction must be the reward (sender %q)", RewardSender)
			}
			return RuleErrorf(ErrBadReward, "transaction %d has the reward sender %q but is not last", i, RewardSender)
		}
		if _, dup := seen[tx.ID]; dup {
			return RuleErrorf(ErrDuplicateTx, "transaction %s appears twice in the block", tx.ID)
		}
		seen[tx.ID] = struct{}{}
	}
	reward := &b.Transactions[last]
	if fees := BlockFees(b.Transactions); reward.Amount != p.Reward+fees {
		return RuleErrorf(ErrBadReward, "reward is %d, the network pays %d plus the block's fees %d", reward.Amount, p.Reward, fees)
	}
	if reward.Nonce != b.Index {
		return RuleErrorf(ErrBadReward, "reward nonce is %d, must equal the block index %d", reward.Nonce, b.Index)
	}
	return nil
}

// CheckHeaderSanity checks the rules of CheckBlockSanity that a header
// alone can be checked against: index, compact target within the
// network's range, stated hash, proof of work and future timestamp. A
// header chain checks exactly these, then CheckBlockContext.
func (p *Params) CheckHeaderSanity(b *Block, now time.Time) error {
	if err := checkIndex(b); err != nil {
		return err
	}
	return p.checkHeaderWork(b, now)
}

// checkIndex refuses the indexes no block from the network may have.
func checkIndex(b *Block) error {
	switch b.Index {
	case 0:
		return RuleErrorf(ErrBadIndex, "block index 0: the genesis has index 1")
	case 1:
		return RuleErrorf(ErrBadGenesis, "block index 1: only the network's genesis has index 1")
	}
	return nil
}

// checkHeaderWork checks the compact target's range, the stated hash, the
// proof of work and the future limit.
func (p *Params) checkHeaderWork(b *Block, now time.Time) error {
	ht, err := p.headerTarget(b.Bits)
	if err != nil {
		return err
	}
	hash := b.ComputeHash()
	if hash != b.Hash {
		return RuleErrorf(ErrBadHash, "stated hash %s, computed %s", b.Hash, hash)
	}
	if !ht.pow.Met(hash) {
		return RuleErrorf(ErrBadProof, "hash %s is above the target %s of bits %s", hash, paddedTarget(ht.target), b.Bits)
	}
	if limit := p.FutureLimit(); b.Timestamp > TimestampOf(now.Add(limit)) {
		return RuleErrorf(ErrTimeTooNew, "timestamp %s is more than %s ahead of the local clock", b.Timestamp, limit)
	}
	return nil
}

// headerTarget is a header's bits checked against a network's range:
// the target, and the same prepared for the proof-of-work check.
type headerTarget struct {
	bits, max Compact
	target    *big.Int // never modified
	pow       PowTarget
}

// lastHeaderTarget is the last headerTarget checkHeaderWork computed: a
// chain's bits change seldom, so that most headers are checked without
// decoding them into big integers again.
var lastHeaderTarget atomic.Pointer[headerTarget]

// headerTarget decodes bits and checks that the target is in [1, the
// network's maximum].
func (p *Params) headerTarget(bits Compact) (*headerTarget, error) {
	if ht := lastHeaderTarget.Load(); ht != nil && ht.bits == bits && ht.max == p.MaxTarget {
		return ht, nil
	}
	target, err := bits.Target()
	if err != nil {
		return nil, RuleErrorf(ErrBadDifficulty, "bits %s: %v", bits, err)
	}
	maxTarget, _ := p.MaxTarget.Target() // valid: Validate checked it
	if target.Sign() <= 0 || target.Cmp(maxTarget) > 0 {
		return nil, RuleErrorf(ErrBadDifficulty, "bits %s: target outside [1, the network's maximum %s]", bits, p.MaxTarget)
	}
	pow, err := NewPowTarget(target)
	if err != nil { // not reached: Target is below 2^256
		return nil, RuleErrorf(ErrBadDifficulty, "bits %s: %v", bits, err)
	}
	ht := &headerTarget{bits: bits, max: p.MaxTarget, target: target, pow: pow}
	lastHeaderTarget.Store(ht)
	return ht, nil
}

// Parent is what validating a block needs of its parent: the parent's
// header fields, its time mark (TimeMark) and its own parent's, and the
// cumulative work of the chain ending at it. The store keeps the marks and
// the work of every block.
type Parent struct {
	Index     uint64
	Hash      Hash
	Bits      Compact
	Timestamp Timestamp
	Mark      Timestamp // the parent's time mark
	PrevMark  Timestamp // the time mark of the parent's parent (the genesis: its own)
	Work      *big.Int  // cumulative work up to and including the parent
}

// ParentOf returns the Parent entry of b given that of b's parent (nil for
// the genesis): the next block's view of b.
func (p *Params) ParentOf(b *Block, parent *Parent) (*Parent, error) {
	e := &Parent{Index: b.Index, Hash: b.Hash, Bits: b.Bits, Timestamp: b.Timestamp, Mark: b.Timestamp, PrevMark: b.Timestamp}
	total := new(big.Int)
	if parent != nil {
		e.PrevMark = parent.Mark
		e.Mark = TimeMark(parent.Mark, b.Timestamp)
		total.Set(parent.Work)
	}
	var err error
	if e.Work, err = AddWork(total, b.Bits); err != nil {
		return nil, RuleErrorf(ErrBadDifficulty, "bits %s: %v", b.Bits, err)
	}
	return e, nil
}

// NextBits returns the compact target a child of parent must carry
// (NetParams.NextTarget).
func (p *Params) NextBits(parent *Parent) (Compact, error) {
	np := p.Net()
	return np.NextTarget(parent.Index, parent.Bits, parent.Timestamp, parent.PrevMark)
}

// CheckBlockContext checks the rules that need the parent: previous hash,
// index, bits equal to the target the retargeting rule requires
// (NextBits), and a timestamp not before median, the median time of the
// parent and its ancestors (see MedianTime).
func (p *Params) CheckBlockContext(b *Block, parent *Parent, median Timestamp) error {
	if b.PreviousHash != parent.Hash {
		return RuleErrorf(ErrBadPrevHash, "previous_hash %s is not the parent %s", b.PreviousHash, parent.Hash)
	}
	if b.Index != parent.Index+1 {
		return RuleErrorf(ErrBadIndex, "index %d, parent index is %d", b.Index, parent.Index)
	}
	want, err := p.NextBits(parent)
	if err != nil {
		return fmt.Errorf("required target of block %d: %w", b.Index, err)
	}
	if b.Bits != want {
		return RuleErrorf(ErrBadDifficulty, "bits %s, the retargeting rule requires %s", b.Bits, want)
	}
	if b.Timestamp < median {
		return RuleErrorf(ErrTimeTooOld, "timestamp %s is before the median %s of the last %d blocks", b.Timestamp, median, MedianTimeBlocks)
	}
	return nil
}

// FutureLimit returns how far ahead of the local clock a block may be
// (see the function FutureLimit).
func (p *Params) FutureLimit() time.Duration { return FutureLimit(p.TargetBlockTime) }

// paddedTarget formats a target as 64 hex digits.
func paddedTarget(t *big.Int) string { return fmt.Sprintf("%064x", t) }

// MedianTime returns the median of up to MedianTimeBlocks timestamps (the
// parent's and its ancestors'). The slice is sorted in place.
func MedianTime(times []Timestamp) Timestamp {
	if len(times) == 0 {
		return 0
	}
	slices.Sort(times)
	return times[len(times)/2]
}
