package sync

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/gossipchain/gossipchain/chain"
	"github.com/gossipchain/gossipchain/chain/headerchain"
	"github.com/gossipchain/gossipchain/chain/miner"
	"github.com/gossipchain/gossipchain/chain/store"
	"github.com/gossipchain/gossipchain/p2p"
)

// ChainFile is the name of the chain store in a node's data directory.
const ChainFile = "chain.db"

// NodeConfig configures NewNode: the one assembly of a node, used by
// cmd/gossipchain, the simulator (sync/sim) and the in-process tests.
type NodeConfig struct {
	// Params are the network's parameters. Required.
	Params chain.Params
	// DataDir holds the chain store (ChainFile), the identity key and the
	// address book. Required.
	DataDir string
	// Logger is every component's logger; default slog.Default().
	Logger *slog.Logger

	// AcceptRollback opens a chain store that lost its last commit at the
	// commit before, instead of refusing it (store.ErrRolledBack).
	AcceptRollback bool
	// Store, if not nil, adjusts the chain store's configuration (pool
	// bounds, clock) before it is opened, after NewNode has set Params,
	// Path, Logger, RefuseNew and AcceptRollback.
	Store func(*store.Config)
	// P2P is the p2p host's configuration; DataDir, Network, Logger and
	// MaxMessageSize are set by NewNode.
	P2P p2p.Config
	// Sync is the sync service's configuration; Chain, Node and Logger are
	// set by NewNode.
	Sync Config
	// WrapChain, if not nil, wraps the chain the sync service uses (a
	// simulation charges the time its checks would take).
	WrapChain func(*store.Chain) Chain

	// Light makes a light node: a header chain (HeadersFile) instead of
	// the chain store, a Light service instead of the sync service and
	// the miner; Store, Sync, WrapChain and the miner fields are unused.
	Light bool
	// Checkpoint, for a light node, is a block the heaviest chain must
	// hold (headerchain.ErrCheckpointConflict otherwise).
	Checkpoint *headerchain.Checkpoint
	// LightSync adjusts a light node's Light service; Headers, Node and
	// Logger are set by NewNode.
	LightSync LightConfig

	// MinerAddress receives the rewards of the blocks the node mines;
	// default the node's peer ID.
	MinerAddress string
	// MinerThreads is the proof-search threads; default every CPU.
	MinerThreads int
}

// Node is one assembled gossipchain node: its chain store, p2p host, sync
// service and miner; or, for a light node, its header chain, p2p host and
// light service (Chain, Sync and Miner nil). NewNode opens them in that
// order, Start starts sync and then the p2p host (so that no peer arrives
// before sync listens), and Close closes sync, p2p and the chain, in that
// order.
type Node struct {
	Chain *store.Chain
	P2P   *p2p.Node
	Sync  *Service
	Miner *miner.Miner

	Headers *headerchain.Chain // a light node's
	Light   *Light             // a light node's
}

// NewNode opens the chain store in cfg.DataDir and builds the p2p host, the
// sync service and the miner on it, started by Start; with cfg.Light, it
// opens the header chain instead and builds the p2p host and the light
// service on it. A data directory that
// holds an identity key has run a node before: an empty chain store beside
// it is a lost chain, and NewNode refuses to start a new one.
func NewNode(ctx context.Context, cfg NodeConfig) (_ *Node, err error) {
	if cfg.DataDir == "" {
		return nil, errors.New("node: no data directory")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	_, idErr := os.Stat(filepath.Join(cfg.DataDir, p2p.IdentityFile))
	scfg := store.Config{Params: cfg.Params, Path: filepath.Join(cfg.DataDir, ChainFile), Logger: cfg.Logger, RefuseNew: idErr == nil,
		AcceptRollback: cfg.AcceptRollback}
	if cfg.Store != nil {
		cfg.Store(&scfg)
	}
	n := &Node{}
	defer func() {
		if err != nil {
			n.Close() // what was built before the failure
		}
	}()
	if cfg.Light {
		hcfg := headerchain.Config{Params: cfg.Params, Path: filepath.Join(cfg.DataDir, HeadersFile), Checkpoint: cfg.Checkpoint, Logger: cfg.Logger}
		if n.Headers, err = headerchain.Open(hcfg); err != nil {
			return nil, fmt.Errorf("open header chain: %w", err)
		}
	} else if n.Chain, err = store.Open(scfg); err != nil {
		return nil, fmt.Errorf("open chain: %w", err)
	}

	pcfg := cfg.P2P
	pcfg.DataDir, pcfg.Network, pcfg.Logger = cfg.DataDir, cfg.Params.Name, cfg.Logger
	pcfg.MaxMessageSize = MaxMessageSize(cfg.Params)
	if n.P2P, err = p2p.New(ctx, pcfg); err != nil {
		return nil, fmt.Errorf("start p2p node: %w", err)
	}
	if cfg.Light {
		lcfg := cfg.LightSync
		lcfg.Headers, lcfg.Node, lcfg.Logger = n.Headers, n.P2P, cfg.Logger
		if n.Light, err = NewLight(lcfg); err != nil {
			return nil, fmt.Errorf("create light service: %w", err)
		}
		return n, nil
	}

	ycfg := cfg.Sync
	ycfg.Chain, ycfg.Node, ycfg.Logger = n.Chain, n.P2P, cfg.Logger
	if cfg.WrapChain != nil {
		ycfg.Chain = cfg.WrapChain(n.Chain)
	}
	if n.Sync, err = New(ycfg); err != nil {
		return nil, fmt.Errorf("create sync service: %w", err)
	}

	address := cfg.MinerAddress
	if address == "" {
		address = n.P2P.ID().String()
	}
	if n.Miner, err = miner.New(n.Chain, miner.Config{Address: address, Threads: cfg.MinerThreads}); err != nil {
		return nil, fmt.Errorf("create miner: %w", err)
	}
	return n, nil
}

// Start starts the sync service, then the p2p host: discovery, bootstrap
// dials and the address book.
func (n *Node) Start(ctx context.Context) error {
	if n.Light != nil {
		if err := n.Light.Start(ctx); err != nil {
			return fmt.Errorf("start light service: %w", err)
		}
	} else if err := n.Sync.Start(ctx); err != nil {
		return fmt.Errorf("start sync service: %w", err)
	}
	if err := n.P2P.Start(ctx); err != nil {
		return fmt.Errorf("start p2p node: %w", err)
	}
	return nil
}

// Close closes the sync service, the p2p host and the chain, in that order,
// and returns their errors joined, each naming its component. It closes
// what NewNode built of a node that failed half-way.
func (n *Node) Close() error {
	var errs []error
	closeOne := func(what string, closeFn func() error) {
		if err := closeFn(); err != nil {
			errs = append(errs, fmt.Errorf("close %s: %w", what, err))
		}
	}
	if n.Sync != nil {
		closeOne("sync service", n.Sync.Close)
	}
	if n.Light != nil {
		closeOne("light service", n.Light.Close)
	}
	if n.P2P != nil {
		closeOne("p2p node", n.P2P.Close)
	}
	if n.Chain != nil {
		closeOne("chain", n.Chain.Close)
	}
	if n.Headers != nil {
		closeOne("header chain", n.Headers.Close)
	}
	return errors.Join(errs...)
}
