package sim

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/gossipchain/gossipchain/chain"
	"github.com/gossipchain/gossipchain/chain/miner"
	"github.com/gossipchain/gossipchain/chain/store"
	"github.com/gossipchain/gossipchain/p2p"
)

// Cost is the measured cost of one hop: what a node spends on a gossiped
// block that virtual time does not count.
type Cost struct {
	// Validate is decoding the gossip message and checking every rule, up
	// to the moment the block may be relayed (median).
	Validate time.Duration
	// Store is writing the valid block to the store, fsync included
	// (median); it is off the path of relaying.
	Store time.Duration
	// Blocks is the number of blocks measured, Size their gossip message
	// size in bytes.
	Blocks, Size int
}

func (c Cost) String() string {
	return fmt.Sprintf("validate %s, store %s (medians over %d blocks of %d bytes)", c.Validate, c.Store, c.Blocks, c.Size)
}

// MeasureCost measures, in real time outside any bubble, the cost of
// validating and storing blocks of params with the real chain code, on a
// store in dir (use the disk the nodes would run on): blocks are mined on
// one chain, then each is decoded from its gossip encoding and added to a
// second chain as sync adds a gossiped block.
func MeasureCost(ctx context.Context, params chain.Params, dir string, blocks int) (Cost, error) {
	clock := func() time.Time { return chain.GenesisTimestamp.Time().Add(24 * time.Hour) }
	src, err := store.Open(store.Config{Params: params, Path: filepath.Join(dir, "cost-src.db"), Now: clock})
	if err != nil {
		return Cost{}, fmt.Errorf("open source chain: %w", err)
	}
	defer src.Close()
	dst, err := store.Open(store.Config{Params: params, Path: filepath.Join(dir, "cost-dst.db"), Now: clock})
	if err != nil {
		return Cost{}, fmt.Errorf("open measured chain: %w", err)
	}
	defer dst.Close()
	miner, err := miner.New(src, miner.Config{Address: "sim-cost", Threads: 1})
	if err != nil {
		return Cost{}, err
	}
	var msgs [][]byte
	for range blocks {
		b, _, err := miner.MineBlock(ctx)
		if err != nil {
			return Cost{}, fmt.Errorf("mine: %w", err)
		}
		msgs = append(msgs, b.AppendBinary(append(make([]byte, 0, p2p.ContentIDSize+b.BinarySize()), b.Hash[:]...)))
	}
	var validate, store []time.Duration
	for _, msg := range msgs {
		start := time.Now()
		_, payload, err := p2p.Unframe(msg)
		if err != nil {
			return Cost{}, err
		}
		b, err := chain.DecodeBlock(payload, params.MaxBlockTxs)
		if err != nil {
			return Cost{}, fmt.Errorf("decode: %w", err)
		}
		var valid time.Time
		if _, err := dst.AddUnrequestedBlockThen(b, func() { valid = time.Now() }); err != nil {
			return Cost{}, fmt.Errorf("add: %w", err)
		}
		end := time.Now()
		validate = append(validate, valid.Sub(start))
		store = append(store, end.Sub(valid))
	}
	return Cost{Validate: median(validate), Store: median(store), Blocks: blocks, Size: len(msgs[0])}, nil
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

// PrepareChain writes to path a store holding a chain of length blocks of
// params (the genesis included), for Config.SeedChain: every node then
// starts with it, as a network with a long history. The blocks are
// timestamped before any simulated node's clock.
func PrepareChain(ctx context.Context, params chain.Params, path string, length int) error {
	clock := func() time.Time { return chain.GenesisTimestamp.Time().Add(12 * time.Hour) }
	_ = os.Remove(path)
	c, err := store.Open(store.Config{Params: params, Path: path, Now: clock})
	if err != nil {
		return fmt.Errorf("open seed chain: %w", err)
	}
	miner, err := miner.New(c, miner.Config{Address: "sim-history", Threads: 1})
	if err != nil {
		c.Close()
		return err
	}
	for c.Head().Height < uint64(length) {
		if _, _, err := miner.MineBlock(ctx); err != nil {
			c.Close()
			return fmt.Errorf("mine the seed chain: %w", err)
		}
	}
	return c.Close()
}
