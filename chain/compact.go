package chain

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/big"
	"sync/atomic"
)

// Compact is a 256-bit proof-of-work target in Bitcoin's compact form
// ("nBits"): the top byte is a size in bytes, the low 23 bits a mantissa
// and bit 23 a sign:
//
//	target = mantissa × 256^(size−3)   (mantissa >> 8·(3−size) when size < 3)
//
// gossipchain refuses the two forms Bitcoin decodes with a flag: a set
// sign bit with a non-zero mantissa (negative) and a value that does not
// fit 256 bits (overflow). See [Compact.Target] and [CompactOf].
type Compact uint32

// Errors of compact targets. Compare with errors.Is.
var (
	// ErrCompactNegative: the compact form has its sign bit set and a
	// non-zero mantissa; Bitcoin calls this a negative target.
	ErrCompactNegative = errors.New("compact target is negative")
	// ErrCompactOverflow: the compact form names a value of more than 256
	// bits.
	ErrCompactOverflow = errors.New("compact target overflows 256 bits")
	// ErrTargetRange: a target outside what the caller allows (zero,
	// negative, above a network's maximum target, or 2^256 and more).
	ErrTargetRange = errors.New("target out of range")
)

const (
	compactSignBit  = 0x00800000
	compactMantissa = 0x007fffff
)

var (
	// two256 is 2^256, the number of possible hashes.
	two256 = new(big.Int).Lsh(big.NewInt(1), 256)
	// maxUint256 is 2^256 − 1, the largest 256-bit value.
	maxUint256 = new(big.Int).Sub(two256, big.NewInt(1))
)

// String formats c as Bitcoin tools do: 0x and 8 hex digits.
func (c Compact) String() string { return fmt.Sprintf("0x%08x", uint32(c)) }

// Target decodes c with Bitcoin's rules (SetCompact). A negative or
// overflowing form is an error (ErrCompactNegative, ErrCompactOverflow);
// zero is a valid result of decoding, which [CheckTarget] then refuses.
// The result is always below 2^256.
func (c Compact) Target() (*big.Int, error) {
	size := uint(c >> 24)
	word := uint32(c) & compactMantissa
	if size <= 3 {
		// Bitcoin drops the bytes below the size before it looks at the
		// sign: 0x01803456 is zero, not negative.
		word >>= 8 * (3 - size)
	}
	if word != 0 && uint32(c)&compactSignBit != 0 {
		return nil, fmt.Errorf("%s: %w", c, ErrCompactNegative)
	}
	if word != 0 && (size > 34 || (word > 0xff && size > 33) || (word > 0xffff && size > 32)) {
		return nil, fmt.Errorf("%s: %w", c, ErrCompactOverflow)
	}
	t := new(big.Int).SetUint64(uint64(word))
	if size > 3 {
		t.Lsh(t, 8*(size-3))
	}
	return t, nil
}

// CompactOf encodes target with Bitcoin's rules (GetCompact): the three
// most significant bytes are kept and the rest is truncated, so the
// decoded value is at most target, and equal to it when target has no
// more than 23 significant bits below its top byte boundary. target must
// be in [0, 2^256), else ErrTargetRange.
func CompactOf(target *big.Int) (Compact, error) {
	if target.Sign() < 0 || target.Cmp(maxUint256) > 0 {
		return 0, fmt.Errorf("compact of %#x: %w", target, ErrTargetRange)
	}
	size := uint32((target.BitLen() + 7) / 8)
	var word uint32
	if size <= 3 {
		word = uint32(target.Uint64() << (8 * (3 - size)))
	} else {
		word = uint32(new(big.Int).Rsh(target, uint(8*(size-3))).Uint64())
	}
	// A mantissa with bit 23 set would read as negative: move one byte
	// into the size instead.
	if word&compactSignBit != 0 {
		word >>= 8
		size++
	}
	return Compact(size<<24 | word), nil
}

// MustCompact is CompactOf for targets known to be in range, such as
// constants; it panics otherwise.
func MustCompact(target *big.Int) Compact {
	c, err := CompactOf(target)
	if err != nil {
		panic(err)
	}
	return c
}

// CheckTarget reports whether target may be required of a block of a
// network whose easiest target is maxTarget: it must be in [1, maxTarget].
// The error wraps ErrTargetRange.
func CheckTarget(target, maxTarget *big.Int) error {
	if target.Sign() <= 0 || target.Cmp(maxTarget) > 0 {
		return fmt.Errorf("target %#x not in [1, %#x]: %w", target, maxTarget, ErrTargetRange)
	}
	return nil
}

// ZeroBitsTarget returns the target equivalent to a difficulty of d
// leading zero bits: 2^(256−d) − 1, the largest hash with d leading zero
// bits, so that a hash meets it exactly when LeadingZeroBits(hash) >= d.
// d must be at most 256. Its work is exactly Work(d) = 2^d. Its compact
// form (CompactOf) is slightly smaller (a 23-bit mantissa cannot hold
// 256−d one bits), so a network converted to compact targets uses the
// compact of this value, which is at most 2^−15 harder.
func ZeroBitsTarget(d uint32) *big.Int {
	if d > 256 {
		d = 256
	}
	t := new(big.Int).Lsh(big.NewInt(1), uint(256-d))
	return t.Sub(t, big.NewInt(1))
}

// TargetWork returns the work of a block with the given target: the
// expected number of hashes to find one at most target,
// floor(2^256 ÷ (target + 1)). target must be in [0, 2^256); the work of
// target 0 is 2^256. Work(d) of a leading-zero difficulty d equals
// TargetWork(ZeroBitsTarget(d)).
func TargetWork(target *big.Int) *big.Int {
	d := new(big.Int).Add(target, big.NewInt(1))
	return d.Quo(two256, d)
}

// Work returns the work of a block whose header carries c (see
// TargetWork).
func (c Compact) Work() (*big.Int, error) {
	t, err := c.Target()
	if err != nil {
		return nil, err
	}
	return TargetWork(t), nil
}

// AddWork adds the work of a block with compact target c to total, a
// chain's cumulative work, and returns total: the cumulative work of a
// chain is the sum of its blocks' work, and fork choice prefers the chain
// with the most.
func AddWork(total *big.Int, c Compact) (*big.Int, error) {
	if lw := lastWork.Load(); lw != nil && lw.c == c {
		return total.Add(total, lw.w), nil
	}
	w, err := c.Work()
	if err != nil {
		return total, err
	}
	lastWork.Store(&compactWork{c, w})
	return total.Add(total, w), nil
}

// compactWork is the work of a compact target. AddWork keeps the last one
// it computed: a chain's target moves seldom (never at a fixed
// difficulty), so that most blocks add their work without a division.
type compactWork struct {
	c Compact
	w *big.Int // never modified
}

var lastWork atomic.Pointer[compactWork]

// PowTarget is a target prepared for the proof-of-work check: its 256
// bits as 32 big-endian bytes, the layout of a Hash, so that a miner
// compares each attempt without big-integer arithmetic.
type PowTarget [HashSize]byte

// NewPowTarget prepares target, which must be in [0, 2^256).
func NewPowTarget(target *big.Int) (PowTarget, error) {
	var pt PowTarget
	if target.Sign() < 0 || target.Cmp(maxUint256) > 0 {
		return pt, fmt.Errorf("pow target %#x: %w", target, ErrTargetRange)
	}
	target.FillBytes(pt[:])
	return pt, nil
}

// PowTarget decodes c (see Target) and prepares it for the
// proof-of-work check.
func (c Compact) PowTarget() (PowTarget, error) {
	t, err := c.Target()
	if err != nil {
		return PowTarget{}, err
	}
	return NewPowTarget(t)
}

// Met reports whether h, read as a 256-bit big-endian integer, is at most
// the target: every bit of the hash counts, not only the first word.
func (pt *PowTarget) Met(h Hash) bool {
	for i := 0; i < HashSize; i += 8 {
		a := binary.BigEndian.Uint64(h[i:])
		b := binary.BigEndian.Uint64(pt[i:])
		if a != b {
			return a < b
		}
	}
	return true
}

// MetWords is Met for a hash given as the eight big-endian 32-bit words
// of a SHA-256 state, as the miner's search produces them.
func (pt *PowTarget) MetWords(h *[8]uint32) bool {
	for i, w := range h {
		t := binary.BigEndian.Uint32(pt[4*i:])
		if w != t {
			return w < t
		}
	}
	return true
}

// HashMeetsTarget reports whether h, read as a 256-bit big-endian
// integer, is at most target. A negative target is met by no hash.
func HashMeetsTarget(h Hash, target *big.Int) bool {
	if target.Sign() < 0 {
		return false
	}
	return new(big.Int).SetBytes(h[:]).Cmp(target) <= 0
}
