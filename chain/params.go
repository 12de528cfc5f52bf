package chain

import (
	"fmt"
	"regexp"
	"time"
)

// Defaults of a network's parameters.
const (
	DefaultNetwork      = "devnet"
	DefaultDifficulty   = 20 // about a million attempts: well under a second on a laptop
	DefaultReward       = 1  // the tutorial's reward
	DefaultMaxBlockTxs  = 2000
	DefaultMaxBlockSize = 1 << 20
	MaxDifficulty       = 64
	// GenesisTimestamp is 2024-01-01T00:00:00Z, the genesis time of every network.
	GenesisTimestamp Timestamp = 1704067200_000000
	// MedianTimeBlocks is how many recent blocks the median time covers.
	MedianTimeBlocks = 11
	// MaxFutureDrift is how far ahead of the local clock a block may be.
	MaxFutureDrift = 2 * time.Hour
)

// networkNameRE is the rule for network names: they appear in topic names
// and the mDNS service name, so they stay short and plain.
var networkNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,31}$`)

// Params are the fixed parameters of one network. Two nodes with equal
// Params compute the same genesis block; nodes whose genesis differs never
// exchange blocks.
type Params struct {
	Name         string // network name: lower-case letters, digits, '_', '-'; at most 32
	Difficulty   uint32 // leading zero bits every block hash needs, 0..64
	Reward       uint64 // amount of the reward transaction of every block
	MaxBlockTxs  int    // transactions per block, the reward included
	MaxBlockSize int    // bytes of a block's binary encoding
}

// NewParams returns the parameters of the network called name with the
// given difficulty and the default reward and limits.
func NewParams(name string, difficulty uint32) (Params, error) {
	p := Params{Name: name, Difficulty: difficulty, Reward: DefaultReward, MaxBlockTxs: DefaultMaxBlockTxs, MaxBlockSize: DefaultMaxBlockSize}
	return p, p.Validate()
}

// Validate checks that the parameters are usable.
func (p *Params) Validate() error {
	switch {
	case !networkNameRE.MatchString(p.Name):
		return fmt.Errorf("network name %q: want 1-32 of a-z 0-9 _ - starting with a letter or digit", p.Name)
	case p.Difficulty > MaxDifficulty:
		return fmt.Errorf("difficulty %d: at most %d", p.Difficulty, MaxDifficulty)
	case p.Reward == 0 || p.Reward > MaxAmount:
		return fmt.Errorf("reward %d: want 1..%d", p.Reward, uint64(MaxAmount))
	case p.MaxBlockTxs < 1 || p.MaxBlockTxs > MaxTxsLimit:
		return fmt.Errorf("max block transactions %d: want 1..%d", p.MaxBlockTxs, MaxTxsLimit)
	case p.MaxBlockSize < HeaderSize+4+txWireMin || p.MaxBlockSize > 64<<20:
		return fmt.Errorf("max block size %d: want %d..%d", p.MaxBlockSize, HeaderSize+4+txWireMin, 64<<20)
	}
	return nil
}

// GenesisRecipient is the recipient of the genesis reward; it carries the
// network name, so that different names give different genesis hashes.
func (p *Params) GenesisRecipient() string { return "gossipchain:" + p.Name }

// Genesis returns the network's genesis block: index 1, GenesisTimestamp,
// one reward transaction to GenesisRecipient, a zero previous hash and
// proof 0. It is fixed by the parameters and is not required to meet the
// proof of work.
func (p *Params) Genesis() *Block {
	b := &Block{
		Index:        1,
		Timestamp:    GenesisTimestamp,
		Transactions: []Transaction{NewRewardTransaction(p.GenesisRecipient(), p.Reward, 1)},
		Difficulty:   p.Difficulty,
	}
	b.TxRoot = TxRoot(b.Transactions)
	b.Hash = b.ComputeHash()
	return b
}
