package chain

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"time"
)

// This file holds the difficulty rule of protocol 2 (PROTOCOL.md 10.3 and
// 10.4): the aserti3-2d formula of Bitcoin Cash in integer arithmetic
// ([ASERT]), applied from each block's parent with a bounded step
// ([NetParams.NextTarget]), and the timestamp rules that go with a short
// block time ([NetParams.FutureLimit], [NetParams.CheckTimestamp]). The
// rule itself is specified there; what follows is why it is this one.
//
// Why ASERT, and why from the parent. Bitcoin retargets every 2016 blocks
// by the ratio of the window's time span to two weeks, clamped to 4×.
// After a 10× rise in hash rate its next retarget comes 10× early and
// corrects 4×, the one after 2.5×: about 1,000 block times at the wrong
// rate. After a 10× drop the first retarget waits 2016 slow blocks, about
// 20,000 block times. LWMA (a linearly weighted moving average of the last
// N solve times) follows in about N blocks but weighs each timestamp by
// its position in the window and must clamp solve times, which opens
// exploits, and it needs N past timestamps. ASERT needs the parent alone
// and is exact: a timestamp acts only through how far the chain's time is
// ahead of or behind the schedule. With H = 60·T, the simulation in the
// tests settles a 10× rise in 2 half-lives (120 block times; the mean
// over 20 seeds of log2(target / equilibrium) within log2(4/3) from then
// on) and a 10× drop in 7.2 half-lives (432 block times). A drop cannot be
// much faster under any rule with this half-life: a target rises at most
// 2× per half-life that blocks run late, so log2(10) = 3.3 half-lives at
// the least; the cap on solve times (a 10·T block counts as 6·T) slows it
// to 7. That is the price of the anchoring below.
//
// The anchor. BCH anchors its schedule at a fixed block whose timestamp
// was buried under years of work. Here every genesis has the timestamp
// 2024-01-01, so a schedule anchored there would let a fresh network mine
// at the easiest target until it had caught up with the years since; one
// anchored at an early block would let that block's miner choose an old
// timestamp (the rules allow any time after the genesis) with the same
// effect. Applied from each parent with the 6·T cap, the jump from old
// early timestamps to the clock counts as at most 6·T: a fresh network
// starts at the initial target however old its genesis, and old early
// timestamps put the chain about 6 blocks ahead of the schedule at most
// (TestRetargetFreshNetworkStartsAtInitialTarget,
// TestRetargetOldTimestampsAtTheStart).
//
// Choosing the half-life. The target moves one bit for every H/T blocks
// the chain runs ahead of or behind its schedule, so a 10× rise in hash
// rate is paid for with log2(10)·H/T extra blocks (199 at H = 60·T,
// measured 198) before the target has caught up, and a 10× drop with at
// least as many missing (measured 308 with the cap). At a steady hash
// rate the target's noise is about 0.83/√(H/T) bits (0.107 at H = 60·T)
// and the mean interval is within 0.1% of T. A shorter half-life follows
// faster and costs fewer blocks, and is noisier.
//
// The default network's start. A fresh network starts at its initial
// target and climbs one bit for every H/T blocks that come faster than T;
// those fast blocks are what makes stale blocks. With 16 bits and H =
// 60·T three miners on one machine made 521 blocks in the first 30 s. The
// default is 22 bits (a fifth of a second on one SHA-NI thread, still an
// instant answer to on-demand mining) and H = 4·T (4 fast blocks a bit, so
// the climb is over within a minute or two); the model in calm_test.go
// runs this rule with several miners and propagation delays, from one
// thread to a thousand machines (PROTOCOL.md 10.2). The rule itself did
// not change: only the parameters.
//
// Timestamp attacks. A timestamp before the chain's time mark counts as
// an instant block (the target gets harder), and the next block counts
// from the mark, not from the old timestamp, so old timestamps never make
// a block easier and, unlike with signed solve times, cannot drag the
// count back either. A timestamp in the future advances the mark once;
// the blocks after it count nothing until the clock has caught up, so the
// most a miner gains is the future limit, once: FutureLimitBlocks = 5
// blocks (TestRetargetFutureTimestamps; measured 3.7). Bitcoin's timewarp
// (a majority stamps blocks at the median time so that the retarget sees
// a long window, then jumps to the future) gains nothing: the old stamps
// count as instant blocks, the jump as at most the future limit
// (TestRetargetTimewarp: no lead at all; a third of the blocks leave the
// mean interval within 5% of the target, two thirds can only slow the
// chain, by 12%). The future limit is 5 target block times, at least 2 s
// (for unsynchronised clocks), at most protocol 1's 2 hours, which would
// be 7,200 blocks of lead at a 1 s block time.

// Constants of the retargeting rule.
const (
	// MinTarget is the hardest target a block may be required to meet;
	// 0 is not a valid target (aserti3-2d turns it into 1).
	MinTarget = 1
	// MaxSolveTimeBlocks caps the solve time that one block contributes to
	// the retarget at MaxSolveTimeBlocks target block times, so that a
	// single timestamp (one after old early blocks, or after a long
	// silence) eases the next target by at most 2^(5·T/H).
	MaxSolveTimeBlocks = 6
	// FutureLimitBlocks is the future limit in target block times: a block
	// may be at most this many block times ahead of the local clock.
	FutureLimitBlocks = 5
	// MinFutureLimit is the smallest future limit whatever the block time,
	// a margin for the clocks of machines without time synchronisation.
	MinFutureLimit = 2 * time.Second
)

// aserti3-2d fixed-point constants: the exponent has 16 fractional bits,
// and 2^x on [0, 1) is approximated by the cubic
// 1 + 0.695502049·x + 0.2262698·x² + 0.0782318·x³ (error under 0.013%).
// With frac = x·2^16 the coefficients are 0.695502049·2^48,
// 0.2262698·2^32 and 0.0782318·2^16, so that the sum is
// (2^x − 1)·2^64; adding 2^47 rounds its shift by 48 to the nearest.
const (
	asertRadix  = 16
	asertOne    = 1 << asertRadix
	asertCoef1  = 195766423245049
	asertCoef2  = 971821376
	asertCoef3  = 5127
	asertRound  = 1 << 47
	asertShift  = 48
	asertMaxExp = 260 << asertRadix  // beyond: at least 2^260, above any target
	asertMinExp = -300 << asertRadix // below: shifted to 0
)

// ErrRetarget reports inputs the retargeting rule cannot use (a parent
// target outside the network's range, a non-positive block time or
// half-life). On a validated chain it means corrupt data.
var ErrRetarget = errors.New("retarget")

// ASERT is aserti3-2d, the absolutely scheduled exponentially rising
// target of Bitcoin Cash (BCHN's CalculateASERT): the target of a block
// heightDiff+1 blocks after an anchor block whose target is anchorTarget,
// where timeDiff is the time from the anchor's parent to the new block's
// parent, spacing the target block time and halfLife the half-life, all
// three in the same unit:
//
//	exponent = ((timeDiff − spacing·(heightDiff+1)) · 2^16) / halfLife   (truncated toward zero)
//	target   = anchorTarget · 2^(exponent / 2^16)
//
// in integer arithmetic only: the integer part of the exponent is a
// shift (floored), the fractional part frac in [0, 2^16) a factor
// 2^16 + ((195766423245049·frac + 971821376·frac² + 5127·frac³ + 2^47) >> 48)
// (unsigned 64-bit arithmetic, which cannot overflow), applied as
// (anchorTarget · factor) >> (16 − shift), or << (shift − 16). The result
// is clamped to [MinTarget, maxTarget].
//
// BCHN computes in 256 bits and requires maxTarget < 2^224; here the
// product is exact (math/big), which gives the same results there and
// extends the formula to any maxTarget below 2^256, and every input is
// valid: exponents beyond the range where the result is decided by the
// clamp are clamped first, so no input allocates more than a few words.
func ASERT(anchorTarget *big.Int, timeDiff, heightDiff, spacing, halfLife int64, maxTarget *big.Int) (*big.Int, error) {
	switch {
	case maxTarget.Sign() <= 0 || maxTarget.Cmp(maxUint256) > 0:
		return nil, fmt.Errorf("%w: maximum target %#x not in [1, 2^256)", ErrRetarget, maxTarget)
	case anchorTarget.Sign() <= 0 || anchorTarget.Cmp(maxTarget) > 0:
		return nil, fmt.Errorf("%w: anchor target %#x not in [1, %#x]", ErrRetarget, anchorTarget, maxTarget)
	case heightDiff < 0:
		return nil, fmt.Errorf("%w: negative height difference %d", ErrRetarget, heightDiff)
	case spacing <= 0 || halfLife <= 0:
		return nil, fmt.Errorf("%w: spacing %d and half-life %d must be positive", ErrRetarget, spacing, halfLife)
	}
	// exponent = (timeDiff - spacing*(heightDiff+1)) * 2^16 / halfLife,
	// exactly: the operands are int64, their combination may not be.
	e := new(big.Int).Mul(big.NewInt(spacing), new(big.Int).Add(big.NewInt(heightDiff), big.NewInt(1)))
	e.Sub(big.NewInt(timeDiff), e)
	e.Lsh(e, asertRadix)
	e.Quo(e, big.NewInt(halfLife)) // Quo truncates toward zero, as C++ division does
	switch {
	case e.Cmp(big.NewInt(asertMaxExp)) > 0:
		return new(big.Int).Set(maxTarget), nil
	case e.Cmp(big.NewInt(asertMinExp)) < 0:
		return big.NewInt(MinTarget), nil
	}
	exponent := e.Int64()
	shifts := exponent >> asertRadix // arithmetic shift: floored
	frac := uint64(uint16(exponent))
	factor := asertOne + ((asertCoef1*frac + asertCoef2*frac*frac + asertCoef3*frac*frac*frac + asertRound) >> asertShift)
	next := new(big.Int).Mul(anchorTarget, new(big.Int).SetUint64(factor))
	shifts -= asertRadix
	if shifts <= 0 {
		next.Rsh(next, uint(-shifts))
	} else {
		next.Lsh(next, uint(shifts))
	}
	if next.Sign() == 0 {
		next.SetInt64(MinTarget)
	} else if next.Cmp(maxTarget) > 0 {
		next.Set(maxTarget)
	}
	return next, nil
}

// NextTarget returns the compact target required of a block whose parent
// has index parentIndex (the genesis is 1), compact target parentBits and
// timestamp parentTime, and whose grandparent has the time mark
// grandparentMark (see [TimeMark]; unused when the parent is the genesis
// or its child).
//
// With FixedDifficulty every block requires InitialTarget. Otherwise the
// rule is aserti3-2d applied from the parent: the parent is the anchor
// (height difference 0) and the grandparent's mark stands for the
// anchor's parent's time:
//
//   - the child of the genesis requires InitialTarget (the genesis
//     carries it);
//   - every later block requires ASERT(target(parent), solve, 0, T, H,
//     MaxTarget) rounded down to its compact form, where T is
//     TargetBlockTime, H HalfLife, both in microseconds like timestamps,
//     and the parent's solve time counts as
//     solve = min(max(parentTime − grandparentMark, 0), MaxSolveTimeBlocks·T):
//     the time by which the parent advanced the latest timestamp of the
//     chain, at most 6 block times; when the grandparent is the genesis,
//     solve = T, so that the genesis's timestamp, fixed in the past, never
//     counts.
//
// So the target of block n+1 is target(n) · 2^((solve(n) − T)/H): over a
// run of blocks the solve times add up to the advance of the latest
// timestamp, and the target follows 2^((mark − t_anchor − T·blocks)/H),
// the aserti3-2d schedule, except that no block advances the schedule by
// more than 5·T. A timestamp before the mark counts as an instant block
// (the target gets harder), and the next block counts from the mark, so
// old timestamps never make the next block easier; a timestamp in the
// future advances the mark once, and the blocks after it count nothing
// until the clock has caught up. The result is in [MinTarget, MaxTarget].
func (np *NetParams) NextTarget(parentIndex uint64, parentBits Compact, parentTime, grandparentMark Timestamp) (Compact, error) {
	if np.FixedDifficulty || parentIndex == 1 {
		return np.InitialTarget, nil
	}
	if parentIndex == 0 {
		return 0, fmt.Errorf("%w: parent index 0", ErrRetarget)
	}
	maxTarget, err := np.MaxTarget.Target()
	if err != nil {
		return 0, fmt.Errorf("%w: maximum target: %w", ErrRetarget, err)
	}
	parent, err := parentBits.Target()
	if err != nil {
		return 0, fmt.Errorf("%w: parent target: %w", ErrRetarget, err)
	}
	spacing, halfLife := np.TargetBlockTime.Microseconds(), np.HalfLife.Microseconds()
	solve := spacing
	if parentIndex > 2 {
		solve = min(max(subSaturating(int64(parentTime), int64(grandparentMark)), 0), MaxSolveTimeBlocks*spacing)
	}
	next, err := ASERT(parent, solve, 0, spacing, halfLife, maxTarget)
	if err != nil {
		return 0, err
	}
	return CompactOf(next)
}

// TimeMark returns the time mark of a block with timestamp ts whose
// parent's time mark is parentMark: the latest timestamp of the block and
// its ancestors, max(parentMark, ts). The genesis's time mark is its
// timestamp. Like cumulative work, it is derived block by block and kept
// with each block's index entry.
func TimeMark(parentMark, ts Timestamp) Timestamp { return max(parentMark, ts) }

// subSaturating returns a − b, saturated to the int64 range.
func subSaturating(a, b int64) int64 {
	d := a - b
	if (b < 0 && d < a) || (b > 0 && d > a) {
		if b < 0 {
			return math.MaxInt64
		}
		return math.MinInt64
	}
	return d
}

// FutureLimit returns how far ahead of the local clock a block's
// timestamp may be on a network whose target block time is T:
// FutureLimitBlocks·T, at least MinFutureLimit and at most MaxFutureDrift
// (protocol 1's fixed limit). A timestamp in the future pretends that time has
// passed and so eases the targets that follow; with this limit a miner
// gains at most about FutureLimitBlocks blocks on the schedule, once (the
// next honest timestamp takes it back), where two hours would be 7,200
// blocks at a 1 s block time.
func FutureLimit(targetBlockTime time.Duration) time.Duration {
	return min(max(FutureLimitBlocks*targetBlockTime, MinFutureLimit), MaxFutureDrift)
}

// FutureLimit is FutureLimit(np.TargetBlockTime).
func (np *NetParams) FutureLimit() time.Duration { return FutureLimit(np.TargetBlockTime) }

// CheckTimestamp applies the timestamp rules of protocol 2
// to a block with timestamp ts: not before median, the MedianTime of the
// timestamps of its parent and ancestors (MedianTimeBlocks = 11 blocks,
// fewer near the genesis) → ErrTimeTooOld; at most np.FutureLimit() ahead
// of now, the local clock → ErrTimeTooNew. The median closes the
// rewinding of time (a timewarp needs timestamps that go back without
// limit, and each block's time only has to beat the median, which moves
// forward with the honest majority); the future limit bounds how far a
// timestamp can run ahead of time.
func (np *NetParams) CheckTimestamp(ts, median Timestamp, now time.Time) error {
	if ts < median {
		return RuleErrorf(ErrTimeTooOld, "timestamp %s is before the median %s of the last %d blocks", ts, median, MedianTimeBlocks)
	}
	limit := np.FutureLimit()
	if ts > TimestampOf(now.Add(limit)) {
		return RuleErrorf(ErrTimeTooNew, "timestamp %s is more than %s ahead of the local clock", ts, limit)
	}
	return nil
}
