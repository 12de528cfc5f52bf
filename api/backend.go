package api

import (
	"context"

	"github.com/multiformats/go-multiaddr"

	"github.com/gossipchain/gossipchain/api/client"
	"github.com/gossipchain/gossipchain/chain"
	"github.com/gossipchain/gossipchain/chain/store"
)

// Chain is what the API reads from the node's chain. *store.Chain implements
// it.
type Chain interface {
	Params() chain.Params
	Genesis() *chain.Block
	Head() store.Head
	BlockByHeight(height uint64) (*chain.Block, error)
	BlockByHash(h chain.Hash) (*chain.Block, error)
	MainChain(from uint64, limit int, fn func(*chain.Block) error) error
	// MainChainJSON reads the stored JSON encodings of a range of the main
	// chain, with each block's hash and previous hash.
	MainChainJSON(from uint64, limit int, fn func(hash, prev chain.Hash, js []byte) error) error
	Pending(limit int) []chain.Transaction
	PendingCount() int
	FindTransaction(id chain.Hash) (store.TxLocation, error)

	// Ledger is the network's ledger mode, chain.LedgerOpen or
	// chain.LedgerSigned. Account and AccountTransactions read the
	// accounts of a signed ledger (chain.ErrNotSigned on an open one).
	Ledger() string
	Account(addr string) (chain.Account, error)
	AccountPending(addr string) []chain.Transaction
	AccountTransactions(addr, cursor string, limit int) (store.AccountPage, error)
	// FeeEstimates estimates the fee rates of a signed ledger (GET /fees).
	FeeEstimates() chain.FeeEstimates
}

// Network is the node's side of the peer-to-peer network: submitting and
// publishing, chain resolution against peers, and the peer set.
type Network interface {
	// ID returns this node's peer ID.
	ID() string
	// Addrs returns this node's full multiaddrs, each ending in /p2p/<ID>.
	Addrs() []string
	// Peers returns the connected peers.
	Peers() []PeerInfo
	// Connect dials the peer named by addr, a multiaddr ending in /p2p/<id>.
	Connect(ctx context.Context, addr multiaddr.Multiaddr) error

	// SubmitTransaction adds tx to the pending pool and publishes it.
	SubmitTransaction(ctx context.Context, tx chain.Transaction) error
	// SubmitTransactions adds up to client.MaxBatch transactions as
	// SubmitTransaction does each, with one outcome per transaction, and
	// returns once the accepted ones are on disk, written in one commit.
	SubmitTransactions(ctx context.Context, txs []chain.Transaction) []error
	// SubmitBlock validates and adds b exactly as a gossiped block, and
	// publishes it when it is accepted.
	SubmitBlock(ctx context.Context, b *chain.Block) (store.AddResult, error)
	// PublishBlock announces a block already added to the chain (one mined
	// here).
	PublishBlock(ctx context.Context, b *chain.Block) error
	// Resolve asks every connected peer for its chain and adopts a heavier
	// valid one; replaced reports whether the main chain changed.
	Resolve(ctx context.Context) (replaced bool, err error)
}

// Miner mines blocks on top of the chain's head. *miner.Miner implements it.
type Miner interface {
	// MineBlock mines one block from the pending pool and adds it to the
	// chain. Concurrent calls are serialised.
	MineBlock(ctx context.Context) (*chain.Block, store.AddResult, error)
	// HashRate is the number of attempts per second of the last search.
	HashRate() float64
	// Address receives the mining rewards.
	Address() string
}

// PeerInfo describes one connected peer, an entry of GET /peers.
type PeerInfo = client.Peer
