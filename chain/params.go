package chain

import (
	"fmt"
	"regexp"
	"time"
)

// Defaults of a network's parameters.
const (
	DefaultNetwork = "devnet"
	// DefaultDifficulty is the difficulty of the fixed networks that tools
	// and tests make (NewParams); a node's network is fixed only when
	// --difficulty is given, and retargets otherwise.
	DefaultDifficulty = 20
	// DefaultInitialBits is the leading zero bits of the initial (and
	// easiest) target of a retargeting network: about 4 million attempts,
	// a fifth of a second on one SHA-NI thread, so that on-demand mining
	// answers at once while several miners on one machine find their
	// first blocks tenths of a second apart, not milliseconds
	// (PROTOCOL.md 10.2).
	DefaultInitialBits = 22
	// DefaultTargetBlockTime is the block interval a retargeting network
	// steers toward.
	DefaultTargetBlockTime = 10 * time.Second
	// DefaultHalfLifeBlocks is the half-life in target block times: 4
	// blocks (40 s at the default block time), so that each bit the
	// target has to climb costs 4 fast blocks, and the climb from the
	// initial target is over within the first minute or two.
	DefaultHalfLifeBlocks = 4
	DefaultReward         = 1 // the tutorial's reward
	DefaultMaxBlockTxs    = 2000
	DefaultMaxBlockSize   = 1 << 20
	MaxDifficulty         = 64
	// GenesisTimestamp is 2024-01-01T00:00:00Z, the genesis time of every network.
	GenesisTimestamp Timestamp = 1704067200_000000
	// MedianTimeBlocks is how many recent blocks the median time covers.
	MedianTimeBlocks = 11
	// MaxFutureDrift is the largest future limit of any network (see
	// FutureLimit), the fixed limit of the first protocol version.
	MaxFutureDrift = 2 * time.Hour
)

// networkNameRE is the rule for network names: they appear in topic names
// and the mDNS service name, so they stay short and plain.
var networkNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,31}$`)

// Params are the consensus parameters of one network, every one committed
// to by the genesis (through [NetParams.Commitment]): two nodes with equal
// Params compute the same genesis block; nodes whose genesis differs never
// exchange blocks. [Params.Net] is the same set as a NetParams.
type Params struct {
	Name string // network name: lower-case letters, digits, '_', '-'; at most 32
	// TargetBlockTime is the block interval the difficulty steers toward
	// (and, on a fixed network, what scales the future limit).
	TargetBlockTime time.Duration
	// HalfLife is the retargeting half-life (see NetParams.HalfLife).
	HalfLife time.Duration
	// InitialTarget is the genesis's target and its child's; MaxTarget the
	// easiest target any block may have.
	InitialTarget, MaxTarget Compact
	// FixedDifficulty makes every block require InitialTarget.
	FixedDifficulty bool
	Reward          uint64 // amount of the reward transaction of every block
	MaxBlockTxs     int    // transactions per block, the reward included
	MaxBlockSize    int    // bytes of a block's binary encoding
	// Ledger is the ledger mode, LedgerOpen or LedgerSigned; "" is
	// LedgerOpen.
	Ledger string
}

// LedgerMode returns the ledger mode, LedgerOpen when Ledger is empty.
func (p *Params) LedgerMode() string {
	if p.Ledger == "" {
		return LedgerOpen
	}
	return p.Ledger
}

// Signed reports whether the network has the signed ledger.
func (p *Params) Signed() bool { return p.Ledger == LedgerSigned }

// NewParams returns the parameters of the fixed-difficulty network called
// name whose blocks need difficulty leading zero bits (the target is the
// compact form of ZeroBitsTarget(difficulty)), with the default block
// time, half-life, reward and limits.
func NewParams(name string, difficulty uint32) (Params, error) {
	if difficulty > MaxDifficulty {
		return Params{}, fmt.Errorf("difficulty %d: at most %d", difficulty, MaxDifficulty)
	}
	p := retargetParams(name, DefaultTargetBlockTime, DefaultInitialBits)
	p.InitialTarget = MustCompact(ZeroBitsTarget(difficulty))
	p.MaxTarget = p.InitialTarget
	p.FixedDifficulty = true
	return p, p.Validate()
}

// NewRetargetParams returns the parameters of the retargeting network
// called name with target block time T: half-life DefaultHalfLifeBlocks·T,
// an initial and easiest target of DefaultInitialBits leading zero bits,
// and the default reward and limits. NewRetargetParams(DefaultNetwork,
// DefaultTargetBlockTime) is the default network.
func NewRetargetParams(name string, targetBlockTime time.Duration) (Params, error) {
	p := retargetParams(name, targetBlockTime, DefaultInitialBits)
	return p, p.Validate()
}

// DefaultParams returns the parameters of the default network, devnet:
// NewRetargetParams(DefaultNetwork, DefaultTargetBlockTime).
func DefaultParams() Params {
	p, _ := NewRetargetParams(DefaultNetwork, DefaultTargetBlockTime)
	return p
}

func retargetParams(name string, t time.Duration, bits uint32) Params {
	initial := MustCompact(ZeroBitsTarget(bits))
	return Params{
		Name: name, TargetBlockTime: t, HalfLife: DefaultHalfLifeBlocks * t,
		InitialTarget: initial, MaxTarget: initial,
		Reward: DefaultReward, MaxBlockTxs: DefaultMaxBlockTxs, MaxBlockSize: DefaultMaxBlockSize,
	}
}

// Net returns the parameters as a NetParams, the form that is encoded and
// committed to.
func (p *Params) Net() NetParams {
	return NetParams{
		Name: p.Name, TargetBlockTime: p.TargetBlockTime, HalfLife: p.HalfLife,
		InitialTarget: p.InitialTarget, MaxTarget: p.MaxTarget, FixedDifficulty: p.FixedDifficulty,
		Reward: p.Reward, MaxBlockSize: uint32(p.MaxBlockSize), MaxBlockTxs: uint32(p.MaxBlockTxs),
		Ledger: p.LedgerMode(),
	}
}

// Params returns np as Params: the inverse of [Params.Net].
func (np *NetParams) Params() Params {
	return Params{
		Name: np.Name, TargetBlockTime: np.TargetBlockTime, HalfLife: np.HalfLife,
		InitialTarget: np.InitialTarget, MaxTarget: np.MaxTarget, FixedDifficulty: np.FixedDifficulty,
		Reward: np.Reward, MaxBlockSize: int(np.MaxBlockSize), MaxBlockTxs: int(np.MaxBlockTxs),
		Ledger: np.Ledger,
	}
}

// Difficulty returns the leading zero bits of the initial target: the d of
// a fixed network made by NewParams(name, d).
func (p Params) Difficulty() uint32 { return TargetZeroBits(p.InitialTarget) }

// TargetZeroBits returns how many leading zero bits every hash meeting c
// has: 256 minus the bit length of its target (0 for an invalid c).
func TargetZeroBits(c Compact) uint32 {
	t, err := c.Target()
	if err != nil {
		return 0
	}
	return uint32(256 - t.BitLen())
}

// Validate checks that the parameters are usable.
func (p *Params) Validate() error {
	if p.MaxBlockSize < 0 || p.MaxBlockTxs < 0 || p.MaxBlockSize > 64<<20 || p.MaxBlockTxs > MaxTxsLimit {
		return fmt.Errorf("max block size %d or transactions %d out of range", p.MaxBlockSize, p.MaxBlockTxs)
	}
	np := p.Net()
	return np.Validate()
}

// GenesisRecipient is the recipient of the genesis reward; it carries the
// network name, so that different names give different genesis hashes.
func (p *Params) GenesisRecipient() string { return "gossipchain:" + p.Name }

// Genesis returns the network's genesis block: index 1, GenesisTimestamp,
// one reward transaction to GenesisRecipient, the parameters' commitment
// (NetParams.Commitment) as previous hash, InitialTarget as bits and
// proof 0. It is fixed by the parameters, which must be valid, and is not
// required to meet the proof of work.
func (p *Params) Genesis() *Block {
	np := p.Net()
	commit, err := np.Commitment()
	if err != nil {
		panic(fmt.Sprintf("genesis of invalid parameters: %v", err))
	}
	b := p.genesisTemplate()
	b.PreviousHash, b.Bits = commit, p.InitialTarget
	b.Hash = b.ComputeHash()
	return b
}

// genesisTemplate returns the genesis without its previous hash, bits and
// hash: what the name and the reward fix.
func (p *Params) genesisTemplate() *Block {
	b := &Block{
		Index:        1,
		Timestamp:    GenesisTimestamp,
		Transactions: []Transaction{NewRewardTransaction(p.GenesisRecipient(), p.Reward, 1)},
	}
	b.CommitTransactions()
	return b
}
