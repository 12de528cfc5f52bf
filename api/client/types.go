package client

import "github.com/gossipchain/gossipchain/chain"

// This file holds the answers of the HTTP API. The server encodes these
// same types, so that a field changes in one place for the server, the
// command-line client, the benchmarks and the tests.

// Status is the answer of GET /status.
type Status struct {
	PeerID string   `json:"peer_id"`
	Addrs  []string `json:"addrs"`
	// BrowserAddrs are the addresses of Addrs a browser can dial:
	// WebTransport and WebRTC-direct, with their /certhash/ and /p2p/
	// components; empty when the browser transports are off. The
	// WebTransport certificate hashes rotate: read them before dialling.
	BrowserAddrs  []string        `json:"browser_addrs"`
	Network       string          `json:"network"`
	Genesis       chain.Hash      `json:"genesis"`
	Height        uint64          `json:"height"`
	Head          chain.Hash      `json:"head"`
	HeadTimestamp chain.Timestamp `json:"head_timestamp"`
	TotalWork     string          `json:"total_work"`
	Peers         int             `json:"peers"`
	KnownAddrs    int             `json:"known_addrs"` // peers in the address book
	Pending       int             `json:"pending"`
	Mining        bool            `json:"mining"`
	Difficulty    uint32          `json:"difficulty"` // leading zero bits of the next block's target
	Bits          chain.Compact   `json:"bits"`       // the next block's compact target
	// Params is zero in the status of a node of protocol 1, which has none.
	Params       NetworkParams `json:"params"`
	MinerAddress string        `json:"miner_address"`
	HashRate     float64       `json:"hash_rate"`
	Syncing      bool          `json:"syncing"`
	TargetHeight uint64        `json:"target_height"` // highest height a peer announced, at least height
	Version      string        `json:"version"`
	NAT          *NATStatus    `json:"nat,omitempty"` // reachability, announced and relayed addresses
	// Light is true on a light node (--light), which keeps headers only.
	Light bool `json:"light,omitempty"`
}

// NetworkParams are the consensus parameters in GET /status, so that a
// node refusing another can name the parameter in which they differ.
// Durations are whole microseconds, targets compact.
type NetworkParams struct {
	TargetBlockTimeUS int64         `json:"target_block_time_us"`
	HalfLifeUS        int64         `json:"half_life_us"`
	InitialBits       chain.Compact `json:"initial_bits"`
	MaxBits           chain.Compact `json:"max_bits"`
	FixedDifficulty   bool          `json:"fixed_difficulty"`
	Reward            uint64        `json:"reward"`
	MaxBlockSize      int           `json:"max_block_size"`
	MaxBlockTxs       int           `json:"max_block_txs"`
	Ledger            string        `json:"ledger"` // chain.LedgerOpen or chain.LedgerSigned
}

// NATStatus is what the node believes about its reachability, in GET
// /status as "nat".
type NATStatus struct {
	// Reachability is AutoNAT's verdict: "public", "private" or "unknown".
	Reachability string `json:"reachability"`
	// ReachableAddrs and UnreachableAddrs are the addresses AutoNAT v2
	// confirmed from other peers.
	ReachableAddrs   []string `json:"reachable_addrs"`
	UnreachableAddrs []string `json:"unreachable_addrs"`
	// AnnouncedAddrs are the addresses advertised to peers (the listen
	// addresses, or --announce, and the relayed addresses).
	AnnouncedAddrs []string `json:"announced_addrs"`
	// AnnouncedP2PAddrs are AnnouncedAddrs ending in /p2p/<peer id>: what
	// another node gives --bootstrap to reach this one.
	AnnouncedP2PAddrs []string `json:"announced_p2p_addrs"`
	// RelayAddrs are the relayed addresses: one per relay holding a
	// reservation for this node and per transport of that relay.
	RelayAddrs []string `json:"relay_addrs"`
	// RelayService: --relay-service was given; RelayServing: the service
	// runs (only while the node is publicly reachable).
	RelayService bool `json:"relay_service"`
	RelayServing bool `json:"relay_serving"`
	// PortMap: --nat-portmap was given.
	PortMap bool `json:"port_map"`
	// HolePunchesOK and HolePunchesFailed count the hole punches that
	// ended with a direct connection and those that did not.
	HolePunchesOK     int64 `json:"hole_punches_ok"`
	HolePunchesFailed int64 `json:"hole_punches_failed"`
}

// Peer describes one connected peer, an entry of GET /peers.
type Peer struct {
	ID string `json:"id"`
	// Addr is a dialable listen address of the peer, without /p2p/ (from
	// identify), or the remote address of an outbound connection while none
	// is known; never the ephemeral port of an inbound connection.
	Addr string `json:"addr"`
	// ConnAddr is the remote multiaddr of one connection, without /p2p/.
	ConnAddr    string   `json:"conn_addr"`
	ListenAddrs []string `json:"listen_addrs"` // the peer's dialable listen addresses
	Direction   string   `json:"direction"`    // "inbound" or "outbound"
	// Source says how the peer was found: mdns, bootstrap, register,
	// discovery, inbound, unknown.
	Source     string `json:"source"`
	InAddrBook bool   `json:"in_address_book"` // the peer is in the address book
	// LatencyMS is the moving average of the ping round trip in
	// milliseconds; 0 before the first ping.
	LatencyMS float64 `json:"latency_ms"`
	// Height, Head and TotalWork are those of the peer's last status; nil
	// or empty before the first status exchange.
	Height    *uint64 `json:"height"`
	Head      string  `json:"head,omitempty"`
	TotalWork string  `json:"total_work,omitempty"`
	// Limited: the peer is connected only through a relay; no gossip and
	// no chain exchange with it until a direct connection exists.
	Limited bool `json:"limited"`
	// BytesIn and BytesOut are the bytes of every stream (gossip, chain
	// exchange, status, identify, ...) received from and sent to the peer
	// since it connected, above the transport's encryption.
	BytesIn  uint64 `json:"bytes_in"`
	BytesOut uint64 `json:"bytes_out"`
}

// Chain is the answer of GET /chain: the whole main chain, or one page of
// it (?from=&limit=), in which Length is the height of the whole chain.
// The server streams it from the stored blocks.
type Chain struct {
	Chain  []*chain.Block `json:"chain"`
	Length uint64         `json:"length"`
}

// Resolved is the answer of GET /nodes/resolve: NewChain when the chain
// was replaced, Chain when it is authoritative.
type Resolved struct {
	Message  string         `json:"message"`
	Chain    []*chain.Block `json:"chain,omitempty"`
	NewChain []*chain.Block `json:"new_chain,omitempty"`
}

// Mined is the answer of GET /mine: the block mined.
type Mined struct {
	Message      string              `json:"message"`
	Index        uint64              `json:"index"`
	Transactions []chain.Transaction `json:"transactions"`
	Proof        uint64              `json:"proof"`
	PreviousHash chain.Hash          `json:"previous_hash"`
	Hash         chain.Hash          `json:"hash"`
}

// MinedBlocks is the answer of GET /mine?blocks=N.
type MinedBlocks struct {
	Message string       `json:"message"`
	Blocks  []MinedBlock `json:"blocks"`
	Height  uint64       `json:"height"`
	Head    chain.Hash   `json:"head"`
}

// MinedBlock is one block of MinedBlocks.
type MinedBlock struct {
	Index        uint64     `json:"index"`
	Hash         chain.Hash `json:"hash"`
	Transactions int        `json:"transactions"`
}

// TxAccepted is the answer of POST /transactions/new.
type TxAccepted struct {
	Message string     `json:"message"`
	ID      chain.Hash `json:"id"`
}

// SignedTxAccepted is the answer of POST /transactions (a signed ledger).
type SignedTxAccepted struct {
	Message string     `json:"message"`
	ID      chain.Hash `json:"id"`
	Nonce   uint64     `json:"nonce"`
}

// MaxBatch bounds the transactions of one POST /transactions/batch.
const MaxBatch = 1000

// Batch is the answer of POST /transactions/batch: how many transactions
// were accepted (pending and on disk), and one result per transaction of
// the request, in order.
type Batch struct {
	Accepted int           `json:"accepted"`
	Results  []BatchResult `json:"results"`
}

// BatchResult is the outcome of one transaction of POST
// /transactions/batch: the status and answer that the single endpoint
// (POST /transactions/new, or POST /transactions on a signed network)
// would have given it. Status 201: Message and ID (and Nonce on a signed
// network); otherwise Error, and Rule when a consensus rule is broken.
type BatchResult struct {
	Status  int        `json:"status"`
	Message string     `json:"message,omitempty"`
	ID      chain.Hash `json:"id,omitzero"`
	Nonce   *uint64    `json:"nonce,omitempty"`
	Error   string     `json:"error,omitempty"`
	Rule    string     `json:"rule,omitempty"`
}

// TxStatus is the answer of GET /transactions/{id}.
type TxStatus struct {
	Transaction   chain.Transaction `json:"transaction"`
	Status        string            `json:"status"` // "pending" or "confirmed"
	BlockIndex    uint64            `json:"block_index,omitempty"`
	BlockHash     *chain.Hash       `json:"block_hash,omitempty"`
	Confirmations uint64            `json:"confirmations,omitempty"`
	// Verified is true when a light node checked the transaction by proof
	// in a block of its header chain; a full node holds it itself.
	Verified bool `json:"verified,omitempty"`
}

// Pending is the answer of GET /transactions/pending, oldest first.
type Pending struct {
	Transactions []chain.Transaction `json:"transactions"`
	Total        int                 `json:"total"` // all pending transactions, even past limit
}

// BlockSubmitted is the answer of POST /blocks.
type BlockSubmitted struct {
	Message string     `json:"message"`
	Status  string     `json:"status"` // extended, reorganized, side_branch, known, orphan
	Index   uint64     `json:"index"`
	Hash    chain.Hash `json:"hash"`
	Height  uint64     `json:"height"` // the main chain's height after the call
	Head    chain.Hash `json:"head"`
}

// Registered is the answer of POST /nodes/register.
type Registered struct {
	Message    string   `json:"message"`
	TotalNodes []string `json:"total_nodes"`
}

// Account is the answer of GET /accounts/{address}: the account (balance
// and next nonce on the main chain, the pending transactions from it and
// the nonce of the next one) at the head height.
type Account struct {
	chain.Account
	// PendingTransactions are the pending transactions sent by the
	// address, in nonce order (at most the pool's per-account bound).
	PendingTransactions []chain.Transaction `json:"pending_transactions"`
	Height              uint64              `json:"height"`
	Head                chain.Hash          `json:"head"`
	// Verified is true when a light node checked the account by proof
	// against the header Height, Head; a full node holds it itself.
	Verified bool `json:"verified,omitempty"`
}

// AccountHistory is the answer of GET /accounts/{address}/transactions.
type AccountHistory struct {
	Address      string      `json:"address"`
	Transactions []AccountTx `json:"transactions"` // newest first
	// NextCursor, when not empty, is the ?cursor= of the next page.
	NextCursor string `json:"next_cursor"`
}

// AccountTx is one transaction of AccountHistory.
type AccountTx struct {
	Direction   string            `json:"direction"` // in, out, self or reward
	BlockIndex  uint64            `json:"block_index"`
	BlockHash   chain.Hash        `json:"block_hash"`
	Transaction chain.Transaction `json:"transaction"`
	// Fees is, for a reward, the fees of its block that it collects (its
	// amount less the network's reward).
	Fees uint64 `json:"fees,omitempty"`
}

// AddressActivity is the answer of GET /addresses/{address}: the
// transactions that send to or from an address, pending ones first, then
// those of the most recent main-chain blocks searched, newest first.
type AddressActivity struct {
	Address      string         `json:"address"`
	Transactions []AddressEntry `json:"transactions"` // pending first, then newest block first
	Received     uint64         `json:"received"`     // in the blocks searched, rewards included
	Sent         uint64         `json:"sent"`
	ScannedFrom  uint64         `json:"scanned_from"` // lowest block index searched
	ScannedTo    uint64         `json:"scanned_to"`   // the head when the search started
	Complete     bool           `json:"complete"`     // the whole chain was searched
	Truncated    bool           `json:"truncated"`    // more entries than limit
	// Balance and NextNonce are the address's account on a signed network
	// (as GET /accounts/{address} gives them); absent on the open ledger.
	Balance   *uint64 `json:"balance,omitempty"`
	NextNonce *uint64 `json:"next_nonce,omitempty"`
}

// AddressEntry is one transaction of AddressActivity.
type AddressEntry struct {
	Direction   string            `json:"direction"` // in, out, self or reward
	BlockIndex  uint64            `json:"block_index,omitempty"`
	BlockHash   *chain.Hash       `json:"block_hash,omitempty"`
	Pending     bool              `json:"pending,omitempty"`
	Transaction chain.Transaction `json:"transaction"`
}

// ErrorBody is the body of every error answer.
type ErrorBody struct {
	Error string `json:"error"`
	// Rule names the consensus rule a submitted block or transaction broke.
	Rule string `json:"rule,omitempty"`
}

// FeeEstimates is the answer of GET /fees on a signed network.
type FeeEstimates = chain.FeeEstimates
