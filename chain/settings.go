package chain

import (
	"crypto/sha256"
	"fmt"
	"strings"
	"time"
)

// This file names parameter sets as a node's operator sets them: by the
// flags of the gossipchain command (--network, --ledger, --difficulty,
// --initial-difficulty, --target-block-time, --half-life), so that a
// refusal between two networks says what to type, never an encoded value.

// Settings describes how two parameter sets differ: for each parameter in
// which they differ, its setting in a and in b, such as "--ledger open" and
// "--ledger signed", or "--difficulty 12" and "no --difficulty (it
// retargets from 22 bits)"; several differences are joined with " and ".
// Both are empty when a and b are equal.
func Settings(a, b NetParams) (as, bs string) {
	var sa, sb []string
	add := func(x, y string) {
		if x != y {
			sa, sb = append(sa, x), append(sb, y)
		}
	}
	add("--network "+a.Name, "--network "+b.Name)
	add("--ledger "+a.Ledger, "--ledger "+b.Ledger)
	if !a.FixedDifficulty && !b.FixedDifficulty && zeroBits(a.InitialTarget) >= 0 && zeroBits(b.InitialTarget) >= 0 {
		add(fmt.Sprintf("--initial-difficulty %d", zeroBits(a.InitialTarget)), fmt.Sprintf("--initial-difficulty %d", zeroBits(b.InitialTarget)))
	} else {
		add(difficultySetting(a), difficultySetting(b))
	}
	// The flags make the maximum target the initial one.
	if a.MaxTarget != b.MaxTarget && (a.MaxTarget != a.InitialTarget || b.MaxTarget != b.InitialTarget) {
		add("maximum target "+a.MaxTarget.String()+" (set by no flag)", "maximum target "+b.MaxTarget.String()+" (set by no flag)")
	}
	add("--target-block-time "+a.TargetBlockTime.String(), "--target-block-time "+b.TargetBlockTime.String())
	// A half-life left at its default follows the block time, which was
	// named already.
	if a.TargetBlockTime == b.TargetBlockTime || a.HalfLife != DefaultHalfLifeBlocks*a.TargetBlockTime ||
		b.HalfLife != DefaultHalfLifeBlocks*b.TargetBlockTime {
		add("--half-life "+a.HalfLife.String(), "--half-life "+b.HalfLife.String())
	}
	add(fmt.Sprintf("reward %d (set by no flag)", a.Reward), fmt.Sprintf("reward %d (set by no flag)", b.Reward))
	add(fmt.Sprintf("max block size %d (set by no flag)", a.MaxBlockSize), fmt.Sprintf("max block size %d (set by no flag)", b.MaxBlockSize))
	add(fmt.Sprintf("max block transactions %d (set by no flag)", a.MaxBlockTxs), fmt.Sprintf("max block transactions %d (set by no flag)", b.MaxBlockTxs))
	return strings.Join(sa, " and "), strings.Join(sb, " and ")
}

// difficultySetting describes the difficulty of np as it is set:
// "--difficulty 12" for a fixed network, "no --difficulty (it retargets
// from 22 bits)" for a retargeting one of the default initial difficulty,
// "--initial-difficulty 18 (it retargets)" for another.
func difficultySetting(np NetParams) string {
	d := zeroBits(np.InitialTarget)
	switch {
	case np.FixedDifficulty && d >= 0:
		return fmt.Sprintf("--difficulty %d", d)
	case np.FixedDifficulty:
		return "a fixed target " + np.InitialTarget.String() + " (set by no flag)"
	case d == DefaultInitialBits:
		return fmt.Sprintf("no --difficulty (it retargets from %d bits)", d)
	case d >= 0:
		return fmt.Sprintf("--initial-difficulty %d (it retargets)", d)
	default:
		return "an initial target " + np.InitialTarget.String() + " (set by no flag; it retargets)"
	}
}

// zeroBits returns d when c is the compact of ZeroBitsTarget(d), d <=
// MaxDifficulty, as the difficulty flags make it; else -1.
func zeroBits(c Compact) int {
	d := TargetZeroBits(c)
	if d > MaxDifficulty || MustCompact(ZeroBitsTarget(d)) != c {
		return -1
	}
	return int(d)
}

// guessBlockTimes are the target block times GuessNetParams tries beside
// its reference's.
var guessBlockTimes = []time.Duration{
	100 * time.Millisecond, 200 * time.Millisecond, 250 * time.Millisecond, 500 * time.Millisecond,
	time.Second, 2 * time.Second, 3 * time.Second, 5 * time.Second, DefaultTargetBlockTime,
	15 * time.Second, 20 * time.Second, 30 * time.Second, time.Minute, 2 * time.Minute, 10 * time.Minute,
}

// GuessNetParams searches for the parameter set whose genesis hash is
// genesis among those a node's operator could have set differently from
// like (which must be valid): the network name among names (like's when
// names is empty), the ledger mode, the difficulty (fixed or retargeting,
// 0 to MaxDifficulty bits), the target block time (like's or a usual
// value) and the half-life (like's or its default for the block time); the
// reward and block limits are like's. It reports whether one matched. A
// store or a peer of another network names its parameters only by that
// hash, from which nothing else can be read. A search tries about 8,000
// sets per name, in some milliseconds.
func GuessNetParams(genesis Hash, like NetParams, names ...string) (NetParams, bool) {
	if len(names) == 0 {
		names = []string{like.Name}
	}
	times := append([]time.Duration{like.TargetBlockTime}, guessBlockTimes...)
	var targets [MaxDifficulty + 1]Compact
	for d := range targets {
		targets[d] = MustCompact(ZeroBitsTarget(uint32(d)))
	}
	var buf []byte
	for _, name := range names {
		np := like
		np.Name = name
		if np.Validate() != nil {
			continue
		}
		// The genesis of a set differs from another's of the same name and
		// reward only in its previous hash (the commitment) and bits.
		g := (&Params{Name: name, Reward: like.Reward}).genesisTemplate()
		for _, ledger := range []string{like.Ledger, otherLedger(like.Ledger)} {
			for _, t := range times {
				for _, half := range []time.Duration{like.HalfLife, DefaultHalfLifeBlocks * t} {
					for _, target := range targets {
						for _, fixed := range []bool{like.FixedDifficulty, !like.FixedDifficulty} {
							np.Ledger, np.TargetBlockTime, np.HalfLife = ledger, t, half
							np.InitialTarget, np.MaxTarget, np.FixedDifficulty = target, target, fixed
							buf = np.appendBinary(buf[:0])
							g.PreviousHash, g.Bits = sha256.Sum256(buf), target
							if g.ComputeHash() == genesis && np.Validate() == nil {
								return np, true
							}
						}
					}
				}
			}
		}
	}
	return NetParams{}, false
}

func otherLedger(l string) string {
	if l == LedgerSigned {
		return LedgerOpen
	}
	return LedgerSigned
}
