package sim

import (
	"context"
	"time"

	"github.com/gossipchain/gossipchain/chain"
	"github.com/gossipchain/gossipchain/chain/store"
	gsync "github.com/gossipchain/gossipchain/sync"
)

// costChain is a simulated node's chain as its sync service sees it: it
// charges as virtual time what checking and writing the blocks that come
// from the network cost on real hardware, since the simulation's clock
// counts neither CPU nor disk time (Config.ValidateCost, StoreCost;
// MeasureCost). A gossiped block waits validate before it is checked (on
// the path of relaying) and store once stored, before it is reported
// stored; a batch of n fetched blocks waits n·validate + store before it is
// added. The waits hold no lock: under testing/synctest a goroutine waiting
// for a mutex would stop virtual time.
type costChain struct {
	*store.Chain
	ctx             context.Context // the node's life: a wait ends when it is done
	validate, store time.Duration
}

var _ gsync.Chain = (*costChain)(nil)

// AddUnrequestedBlockThen charges a gossiped block's validation, adds it,
// and charges its write.
func (c *costChain) AddUnrequestedBlockThen(b *chain.Block, valid func()) (store.AddResult, error) {
	c.wait(c.validate)
	res, err := c.Chain.AddUnrequestedBlockThen(b, valid)
	if err == nil && valid != nil {
		c.wait(c.store)
	}
	return res, err
}

// AddFetchedBlocks charges the validation of blocks and one write, then
// adds them.
func (c *costChain) AddFetchedBlocks(blocks []*chain.Block) (store.AddResult, int, error) {
	c.wait(time.Duration(len(blocks))*c.validate + c.store)
	return c.Chain.AddFetchedBlocks(blocks)
}

// wait waits d of (virtual) time, or until the node's context is done.
func (c *costChain) wait(d time.Duration) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-c.ctx.Done():
	}
}
