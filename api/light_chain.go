package api

import (
	"context"
	"errors"
	"fmt"

	"github.com/gossipchain/gossipchain/chain"
	"github.com/gossipchain/gossipchain/chain/headerchain"
	"github.com/gossipchain/gossipchain/chain/store"
)

// maxHashLookback bounds how far below the head a light node looks for a
// header by hash (its header chain is indexed by height).
const maxHashLookback = 4096

// lightChain is the Chain of a light node's API: blocks are headers, with
// no transactions (their tx_count and roots say what they commit to);
// there is no pool, and what needs the ledger's state or indexes is
// errNeedsFullNode (the light routes answer accounts and transactions by
// proof instead).
type lightChain struct{ h *headerchain.Chain }

// withLight completes the configuration of a light node's API: its Chain
// is the header chain and its Miner mines nothing.
func (cfg Config) withLight() Config {
	if cfg.Light != nil {
		if cfg.Chain == nil {
			cfg.Chain = lightChain{cfg.Light.Headers()}
		}
		if cfg.Miner == nil {
			cfg.Miner = noMiner{}
		}
	}
	return cfg
}

func (c lightChain) Params() chain.Params  { return c.h.Params() }
func (c lightChain) Genesis() *chain.Block { return c.h.Genesis() }

func (c lightChain) Head() store.Head {
	head := c.h.Head()
	out := store.Head{Hash: head.Hash, Height: head.Height, Work: head.Work}
	if b, err := c.h.HeaderAt(head.Height); err == nil && b.Hash == head.Hash {
		out.Timestamp, out.Bits = b.Timestamp, b.Bits
	}
	out.NextBits, _ = c.h.NextBits()
	return out
}

func (c lightChain) BlockByHeight(height uint64) (*chain.Block, error) {
	b, err := c.h.HeaderAt(height)
	if err != nil {
		return nil, err
	}
	return &b, nil
}

// BlockByHash finds a main-chain header among the maxHashLookback below
// the head.
func (c lightChain) BlockByHash(h chain.Hash) (*chain.Block, error) {
	head := c.h.Head().Height
	for height := head; height >= 1 && height+maxHashLookback > head; height-- {
		b, err := c.h.HeaderAt(height)
		if err != nil {
			return nil, err
		}
		if b.Hash == h {
			return &b, nil
		}
	}
	return nil, fmt.Errorf("header %s among the last %d: %w", h, maxHashLookback, chain.ErrNotFound)
}

func (c lightChain) MainChain(from uint64, limit int, fn func(*chain.Block) error) error {
	for height := from; height < from+uint64(limit); height++ {
		b, err := c.h.HeaderAt(height)
		if errors.Is(err, chain.ErrNotFound) {
			return nil // past the head
		}
		if err != nil {
			return err
		}
		if err := fn(&b); err != nil {
			return err
		}
	}
	return nil
}

func (c lightChain) MainChainJSON(from uint64, limit int, fn func(hash, prev chain.Hash, js []byte) error) error {
	return c.MainChain(from, limit, func(b *chain.Block) error { return fn(b.Hash, b.PreviousHash, b.AppendJSON(nil)) })
}

func (lightChain) Pending(int) []chain.Transaction { return nil }
func (lightChain) PendingCount() int               { return 0 }
func (lightChain) FindTransaction(chain.Hash) (store.TxLocation, error) {
	return store.TxLocation{}, errNeedsFullNode
}
func (c lightChain) Ledger() string {
	params := c.h.Params()
	return params.LedgerMode()
}
func (lightChain) Account(string) (chain.Account, error)     { return chain.Account{}, errNeedsFullNode }
func (lightChain) AccountPending(string) []chain.Transaction { return nil }
func (lightChain) FeeEstimates() chain.FeeEstimates          { return chain.FeeEstimates{} }
func (lightChain) AccountTransactions(string, string, int) (store.AccountPage, error) {
	return store.AccountPage{}, errNeedsFullNode
}

// noMiner is the Miner of a light node, which does not mine.
type noMiner struct{}

func (noMiner) MineBlock(context.Context) (*chain.Block, store.AddResult, error) {
	return nil, store.AddResult{}, errNeedsFullNode
}
func (noMiner) HashRate() float64 { return 0 }
func (noMiner) Address() string   { return "" }
