package chain

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math/big"
	"time"
)

// The ledger modes. LedgerOpen is the tutorial's: free-form senders,
// amounts checked against nothing. LedgerSigned has accounts: every
// transaction is signed by its sender's Ed25519 key (its address is the
// key's peer ID), carries the sender's account sequence as its nonce, and
// spends at most the sender's balance, which the mining reward credits
// (see ledger.go). The mode is committed to by the genesis, so nodes of
// different modes never connect.
const (
	LedgerOpen   = "open"
	LedgerSigned = "signed"
)

// NetParamsVersion is the version byte that starts the canonical encoding
// of NetParams.
const NetParamsVersion = 1

// netParamsMagic starts the canonical encoding, so that the commitment of
// a parameter set can never be mistaken for another hash of the protocol.
const netParamsMagic = "gossipchain/netparams"

// Bounds of NetParams.
const (
	MinTargetBlockTime = time.Millisecond
	MaxTargetBlockTime = time.Hour
	// MinHalfLifeBlocks and MaxHalfLifeBlocks bound the half-life in
	// target block times. Below 2 the rule overshoots (one block's luck
	// moves the target by more than 40%); a short half-life holds the
	// block rate to its schedule most tightly over tens of blocks (about 3
	// to 6 target block times: the mean interval of 60 blocks then has a
	// standard deviation near 5%), a long one gives a steadier target.
	// Above a million it no longer follows the hash rate.
	MinHalfLifeBlocks = 2
	MaxHalfLifeBlocks = 1_000_000
	// MinNetworkTarget is the smallest initial or maximum target a network
	// may have, 2^32: the rule multiplies the parent's target by factors
	// near 1, and a target of fewer bits could not take steps of 1%. (The
	// hardest target the rule can reach is still MinTarget, at 2^224
	// hashes a block.)
	MinNetworkTarget = 1 << 32
	// maxLedgerLen bounds the ledger mode's name in the encoding.
	maxLedgerLen = 16
)

// NetParams is the consensus parameter set of protocol 2:
// everything two nodes must agree on, committed to by the genesis
// through [NetParams.Commitment], so that nodes differing in any field
// never share a genesis and never connect. [Params] holds the same set in
// the form the chain uses; [Params.Net] converts.
type NetParams struct {
	// Name is the network name: 1-32 of a-z 0-9 _ -, starting with a
	// letter or digit.
	Name string
	// TargetBlockTime is the block interval the difficulty steers
	// toward; whole microseconds, MinTargetBlockTime..MaxTargetBlockTime.
	TargetBlockTime time.Duration
	// HalfLife is the retargeting half-life: blocks that run one half-life
	// behind schedule double the target, one ahead halve it. Whole
	// microseconds, MinHalfLifeBlocks..MaxHalfLifeBlocks target block
	// times.
	HalfLife time.Duration
	// InitialTarget is the genesis's target and its child's.
	InitialTarget Compact
	// MaxTarget is the easiest target any block may have: the minimum
	// difficulty (Bitcoin's proof-of-work limit). At least InitialTarget.
	MaxTarget Compact
	// FixedDifficulty makes every block require InitialTarget, as the
	// networks of protocol 1 did (a difficulty d is the compact of
	// ZeroBitsTarget(d)); TargetBlockTime then only sets the future
	// limit, and HalfLife is unused but still committed to.
	FixedDifficulty bool
	// Reward is the amount of every block's reward, 1..MaxAmount.
	Reward uint64
	// MaxBlockSize bounds a block's binary encoding in bytes.
	MaxBlockSize uint32
	// MaxBlockTxs bounds a block's transactions, the reward included.
	MaxBlockTxs uint32
	// Ledger is the ledger mode: LedgerOpen or LedgerSigned.
	Ledger string
}

// ProposedNetParams returns a parameter set for the network called name
// with the values of the default devnet ([DefaultParams]): a 10 s block
// time, a half-life of DefaultHalfLifeBlocks block times (40 s), an
// initial and maximum target of DefaultInitialBits leading zero bits
// (about 4 million attempts: a fresh chain's GET /mine takes a fifth of a
// second on one SHA-NI thread), the default reward and limits, and the
// open ledger. Why these values keep three miners on one machine calm
// from the first minute: PROTOCOL.md 10.2.
func ProposedNetParams(name string) NetParams {
	initial := MustCompact(ZeroBitsTarget(DefaultInitialBits))
	return NetParams{
		Name:            name,
		TargetBlockTime: DefaultTargetBlockTime,
		HalfLife:        DefaultHalfLifeBlocks * DefaultTargetBlockTime,
		InitialTarget:   initial,
		MaxTarget:       initial,
		Reward:          DefaultReward,
		MaxBlockSize:    DefaultMaxBlockSize,
		MaxBlockTxs:     DefaultMaxBlockTxs,
		Ledger:          LedgerOpen,
	}
}

// Validate checks every field against its bounds; compact targets must be
// canonical (the form CompactOf produces), at least MinNetworkTarget, and
// InitialTarget <= MaxTarget.
func (np *NetParams) Validate() error {
	switch {
	case !networkNameRE.MatchString(np.Name):
		return fmt.Errorf("network name %q: want 1-32 of a-z 0-9 _ - starting with a letter or digit", np.Name)
	case np.TargetBlockTime < MinTargetBlockTime || np.TargetBlockTime > MaxTargetBlockTime || np.TargetBlockTime%time.Microsecond != 0:
		return fmt.Errorf("target block time %s: want whole microseconds in %s..%s", np.TargetBlockTime, MinTargetBlockTime, MaxTargetBlockTime)
	case np.HalfLife < MinHalfLifeBlocks*np.TargetBlockTime || np.HalfLife > MaxHalfLifeBlocks*np.TargetBlockTime || np.HalfLife%time.Microsecond != 0:
		return fmt.Errorf("half-life %s: want whole microseconds, %d..%d target block times", np.HalfLife, MinHalfLifeBlocks, MaxHalfLifeBlocks)
	case np.Reward == 0 || np.Reward > MaxAmount:
		return fmt.Errorf("reward %d: want 1..%d", np.Reward, uint64(MaxAmount))
	case np.MaxBlockTxs < 1 || np.MaxBlockTxs > MaxTxsLimit:
		return fmt.Errorf("max block transactions %d: want 1..%d", np.MaxBlockTxs, MaxTxsLimit)
	case np.MaxBlockSize < HeaderSize+4+txWireMin || np.MaxBlockSize > 64<<20:
		return fmt.Errorf("max block size %d: want %d..%d", np.MaxBlockSize, HeaderSize+4+txWireMin, 64<<20)
	case np.Ledger != LedgerOpen && np.Ledger != LedgerSigned:
		return fmt.Errorf("ledger mode %q: want %q or %q", np.Ledger, LedgerOpen, LedgerSigned)
	}
	initial, err := canonicalTarget("initial target", np.InitialTarget)
	if err != nil {
		return err
	}
	maxTarget, err := canonicalTarget("maximum target", np.MaxTarget)
	if err != nil {
		return err
	}
	if initial.Cmp(maxTarget) > 0 {
		return fmt.Errorf("initial target %s is easier than the maximum target %s", np.InitialTarget, np.MaxTarget)
	}
	return nil
}

// canonicalTarget decodes c and checks that it is canonical and at least
// MinNetworkTarget.
func canonicalTarget(what string, c Compact) (*big.Int, error) {
	t, err := c.Target()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	if t.Cmp(big.NewInt(MinNetworkTarget)) < 0 {
		return nil, fmt.Errorf("%s %s: %w: below 2^32", what, c, ErrTargetRange)
	}
	if again, _ := CompactOf(t); again != c {
		return nil, fmt.Errorf("%s %s is not canonical: it is written %s", what, c, again)
	}
	return t, nil
}

// AppendBinary appends the canonical encoding of np (it must be valid):
//
//	size  field
//	21    "gossipchain/netparams", ASCII
//	1     version, NetParamsVersion = 1
//	1     n = byte length of the name
//	n     name, ASCII
//	8     target block time, uint64 microseconds
//	8     half-life, uint64 microseconds
//	4     initial target, compact
//	4     maximum target, compact
//	1     difficulty mode: 0 retargeting (aserti3-2d), 1 fixed
//	8     reward, uint64
//	4     maximum block size, uint32 bytes
//	4     maximum block transactions, uint32
//	1     m = byte length of the ledger mode
//	m     ledger mode, ASCII ("open" or "signed")
//
// All integers are big-endian.
func (np *NetParams) AppendBinary(b []byte) ([]byte, error) {
	if err := np.Validate(); err != nil {
		return b, fmt.Errorf("encode network parameters: %w", err)
	}
	return np.appendBinary(b), nil
}

// appendBinary is AppendBinary without the check.
func (np *NetParams) appendBinary(b []byte) []byte {
	b = append(b, netParamsMagic...)
	b = append(b, NetParamsVersion, byte(len(np.Name)))
	b = append(b, np.Name...)
	b = binary.BigEndian.AppendUint64(b, uint64(np.TargetBlockTime.Microseconds()))
	b = binary.BigEndian.AppendUint64(b, uint64(np.HalfLife.Microseconds()))
	b = binary.BigEndian.AppendUint32(b, uint32(np.InitialTarget))
	b = binary.BigEndian.AppendUint32(b, uint32(np.MaxTarget))
	mode := byte(0)
	if np.FixedDifficulty {
		mode = 1
	}
	b = append(b, mode)
	b = binary.BigEndian.AppendUint64(b, np.Reward)
	b = binary.BigEndian.AppendUint32(b, np.MaxBlockSize)
	b = binary.BigEndian.AppendUint32(b, np.MaxBlockTxs)
	b = append(b, byte(len(np.Ledger)))
	return append(b, np.Ledger...)
}

// DecodeNetParams decodes the canonical encoding. It is strict: the magic,
// the version, every length and every field must be exactly as
// AppendBinary writes them, the result must be valid, and nothing may
// follow; so the encoding is a bijection and two encodings are equal
// exactly when the parameters are.
func DecodeNetParams(data []byte) (NetParams, error) {
	var np NetParams
	r := paramsReader{data: data}
	if string(r.bytes(len(netParamsMagic))) != netParamsMagic {
		return np, fmt.Errorf("network parameters: not a gossipchain parameter set")
	}
	if v := r.byte(); v != NetParamsVersion {
		return np, fmt.Errorf("network parameters: version %d, want %d", v, NetParamsVersion)
	}
	np.Name = string(r.bytes(int(r.byte())))
	block, half := r.uint64(), r.uint64()
	if block > uint64(MaxTargetBlockTime.Microseconds()) || half > uint64(MaxHalfLifeBlocks*MaxTargetBlockTime.Microseconds()) {
		return np, fmt.Errorf("network parameters: block time %d µs or half-life %d µs out of range", block, half)
	}
	np.TargetBlockTime = time.Duration(block) * time.Microsecond
	np.HalfLife = time.Duration(half) * time.Microsecond
	np.InitialTarget = Compact(r.uint32())
	np.MaxTarget = Compact(r.uint32())
	switch r.byte() {
	case 0:
	case 1:
		np.FixedDifficulty = true
	default:
		return np, fmt.Errorf("network parameters: difficulty mode is neither 0 nor 1")
	}
	np.Reward = r.uint64()
	np.MaxBlockSize = r.uint32()
	np.MaxBlockTxs = r.uint32()
	n := int(r.byte())
	if n > maxLedgerLen {
		return np, fmt.Errorf("network parameters: ledger mode of %d bytes, at most %d", n, maxLedgerLen)
	}
	np.Ledger = string(r.bytes(n))
	switch {
	case r.short:
		return np, fmt.Errorf("network parameters: truncated")
	case r.off != len(data):
		return np, fmt.Errorf("network parameters: %d trailing bytes", len(data)-r.off)
	}
	if err := np.Validate(); err != nil {
		return np, fmt.Errorf("network parameters: %w", err)
	}
	return np, nil
}

// Commitment returns SHA-256 of the canonical encoding: the value a
// genesis block commits to, so that the genesis hash changes with any
// parameter. np must be valid.
func (np *NetParams) Commitment() (Hash, error) {
	b, err := np.AppendBinary(nil)
	if err != nil {
		return Hash{}, err
	}
	return sha256.Sum256(b), nil
}

// paramsReader reads the canonical encoding; a read past the end sets
// short and returns zeros.
type paramsReader struct {
	data  []byte
	off   int
	short bool
}

func (r *paramsReader) bytes(n int) []byte {
	if r.short || len(r.data)-r.off < n {
		r.short = true
		return nil
	}
	b := r.data[r.off : r.off+n]
	r.off += n
	return b
}

func (r *paramsReader) byte() byte {
	if b := r.bytes(1); b != nil {
		return b[0]
	}
	return 0
}

func (r *paramsReader) uint32() uint32 {
	if b := r.bytes(4); b != nil {
		return binary.BigEndian.Uint32(b)
	}
	return 0
}

func (r *paramsReader) uint64() uint64 {
	if b := r.bytes(8); b != nil {
		return binary.BigEndian.Uint64(b)
	}
	return 0
}
