package sync

import (
	"maps"
	gosync "sync"
	"sync/atomic"
)

// Stats are the service's counters since Start. Rejection reasons are
// chain.ErrorCode names (e.g. "bad_proof") or "id_mismatch" for a gossip
// message whose content id is not its content's hash.
type Stats struct {
	BlocksAccepted   uint64            // gossiped or submitted blocks added to the chain
	BlocksIgnored    uint64            // gossiped blocks already known, stale, orphaned or not checkable
	BlocksRejected   map[string]uint64 // invalid gossiped or submitted blocks, by reason
	OrphansAdded     uint64            // blocks put in the orphan pool
	OrphansConnected uint64            // orphans added to the chain once their parent arrived
	Orphans          int               // blocks in the orphan pool now

	TxsAccepted uint64            // gossiped or submitted transactions added to the pending pool
	TxsIgnored  uint64            // already known, or pool full
	TxsRejected map[string]uint64 // invalid transactions, by reason

	StatusExchanges   uint64 // status exchanges completed, either side
	RequestsServed    uint64 // chain-exchange requests answered
	BlocksServed      uint64 // blocks sent in those answers
	RequestsMade      uint64 // chain-exchange requests sent
	BlocksSynced      uint64 // blocks added to the chain from chain-exchange replies
	SyncsCompleted    uint64 // sync sessions that ended without error
	SyncsFailed       uint64 // sync sessions that ended with an error
	PeersPenalized    uint64 // peers banned for breaking a stream protocol
	PeersWrongNetwork uint64 // peers disconnected for another genesis
	Peers             int    // connected peers of our network with a known status
}

// counters holds the live values behind Stats.
type counters struct {
	blocksAccepted, blocksIgnored, orphansAdded, orphansConnected atomic.Uint64
	txsAccepted, txsIgnored                                       atomic.Uint64
	statusExchanges, requestsServed, blocksServed, requestsMade   atomic.Uint64
	blocksSynced, syncsCompleted, syncsFailed                     atomic.Uint64
	peersPenalized, peersWrongNetwork                             atomic.Uint64

	mu             gosync.Mutex
	blocksRejected map[string]uint64
	txsRejected    map[string]uint64
}

func (c *counters) init() {
	c.blocksRejected = make(map[string]uint64)
	c.txsRejected = make(map[string]uint64)
}

func (c *counters) rejectBlock(reason string) {
	c.mu.Lock()
	c.blocksRejected[reason]++
	c.mu.Unlock()
}

func (c *counters) rejectTx(reason string) {
	c.mu.Lock()
	c.txsRejected[reason]++
	c.mu.Unlock()
}

func (c *counters) snapshot() Stats {
	st := Stats{
		BlocksAccepted:    c.blocksAccepted.Load(),
		BlocksIgnored:     c.blocksIgnored.Load(),
		OrphansAdded:      c.orphansAdded.Load(),
		OrphansConnected:  c.orphansConnected.Load(),
		TxsAccepted:       c.txsAccepted.Load(),
		TxsIgnored:        c.txsIgnored.Load(),
		StatusExchanges:   c.statusExchanges.Load(),
		RequestsServed:    c.requestsServed.Load(),
		BlocksServed:      c.blocksServed.Load(),
		RequestsMade:      c.requestsMade.Load(),
		BlocksSynced:      c.blocksSynced.Load(),
		SyncsCompleted:    c.syncsCompleted.Load(),
		SyncsFailed:       c.syncsFailed.Load(),
		PeersPenalized:    c.peersPenalized.Load(),
		PeersWrongNetwork: c.peersWrongNetwork.Load(),
	}
	c.mu.Lock()
	st.BlocksRejected = maps.Clone(c.blocksRejected)
	st.TxsRejected = maps.Clone(c.txsRejected)
	c.mu.Unlock()
	return st
}
