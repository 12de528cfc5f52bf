package sync

import (
	"maps"
	gosync "sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gossipchain/gossipchain/p2p"
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
	// FirstSyncStart is when the first sync session since Start began;
	// zero before any.
	FirstSyncStart time.Time
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

	table p2p.StatTable[Stats] // set by init
}

// init declares every series of Stats, with its name on /metrics.
func (c *counters) init() {
	c.blocksRejected = make(map[string]uint64)
	c.txsRejected = make(map[string]uint64)
	const prefix = "gossipchain_sync_"
	counter := func(name, help string, count *atomic.Uint64, field func(*Stats) *uint64) p2p.Stat[Stats] {
		return p2p.CounterStat(prefix+name, help, count, field)
	}
	c.table = p2p.StatTable[Stats]{
		counter("blocks_accepted_total", "Gossiped or submitted blocks added to the chain.",
			&c.blocksAccepted, func(s *Stats) *uint64 { return &s.BlocksAccepted }),
		counter("blocks_ignored_total", "Gossiped blocks already known, stale or orphaned.",
			&c.blocksIgnored, func(s *Stats) *uint64 { return &s.BlocksIgnored }),
		p2p.LabeledStat(prefix+"blocks_rejected_total", "Invalid gossiped or submitted blocks, by the rule broken.", "reason",
			func(s *Stats) map[string]uint64 { return s.BlocksRejected }),
		counter("orphans_added_total", "Blocks put in the orphan pool.",
			&c.orphansAdded, func(s *Stats) *uint64 { return &s.OrphansAdded }),
		counter("orphans_connected_total", "Orphans added to the chain once their parent arrived.",
			&c.orphansConnected, func(s *Stats) *uint64 { return &s.OrphansConnected }),
		p2p.GaugeStat(prefix+"orphans", "Blocks in the orphan pool.",
			func(s *Stats) float64 { return float64(s.Orphans) }),
		counter("transactions_accepted_total", "Gossiped or submitted transactions added to the pending pool.",
			&c.txsAccepted, func(s *Stats) *uint64 { return &s.TxsAccepted }),
		counter("transactions_ignored_total", "Transactions already known or refused by a full pool.",
			&c.txsIgnored, func(s *Stats) *uint64 { return &s.TxsIgnored }),
		p2p.LabeledStat(prefix+"transactions_rejected_total", "Invalid gossiped or submitted transactions, by the rule broken.", "reason",
			func(s *Stats) map[string]uint64 { return s.TxsRejected }),
		counter("status_exchanges_total", "Status exchanges completed, either side.",
			&c.statusExchanges, func(s *Stats) *uint64 { return &s.StatusExchanges }),
		counter("requests_served_total", "Chain-exchange requests answered.",
			&c.requestsServed, func(s *Stats) *uint64 { return &s.RequestsServed }),
		counter("blocks_served_total", "Blocks sent in chain-exchange answers.",
			&c.blocksServed, func(s *Stats) *uint64 { return &s.BlocksServed }),
		counter("requests_made_total", "Chain-exchange requests sent.",
			&c.requestsMade, func(s *Stats) *uint64 { return &s.RequestsMade }),
		counter("blocks_synced_total", "Blocks added to the chain from chain-exchange replies.",
			&c.blocksSynced, func(s *Stats) *uint64 { return &s.BlocksSynced }),
		counter("syncs_completed_total", "Sync sessions that ended without error.",
			&c.syncsCompleted, func(s *Stats) *uint64 { return &s.SyncsCompleted }),
		counter("syncs_failed_total", "Sync sessions that ended with an error.",
			&c.syncsFailed, func(s *Stats) *uint64 { return &s.SyncsFailed }),
		counter("peers_penalized_total", "Peers banned for breaking a stream protocol.",
			&c.peersPenalized, func(s *Stats) *uint64 { return &s.PeersPenalized }),
		counter("peers_wrong_network_total", "Peers disconnected for having another genesis.",
			&c.peersWrongNetwork, func(s *Stats) *uint64 { return &s.PeersWrongNetwork }),
		p2p.GaugeStat(prefix+"peers", "Connected peers of this network whose status is known.",
			func(s *Stats) float64 { return float64(s.Peers) }),
		p2p.GaugeStat(prefix+"first_session_start_seconds", "Unix time at which the first sync session since start-up began, 0 before any.",
			func(s *Stats) float64 { return unixSeconds(s.FirstSyncStart) }),
	}
}

// unixSeconds is t in seconds since the Unix epoch, 0 for the zero time.
func unixSeconds(t time.Time) float64 {
	if t.IsZero() {
		return 0
	}
	return float64(t.UnixNano()) / 1e9
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

// snapshot is Stats without the orphans and peers, which Service.Stats adds.
func (c *counters) snapshot() Stats {
	var st Stats
	c.table.Snapshot(&st)
	c.mu.Lock()
	st.BlocksRejected = maps.Clone(c.blocksRejected)
	st.TxsRejected = maps.Clone(c.txsRejected)
	c.mu.Unlock()
	return st
}

// Collectors returns the service's series on /metrics (Stats and
// PoolStats), read at each scrape.
func (s *Service) Collectors() []prometheus.Collector {
	return []prometheus.Collector{s.stats.table.Collector(s.Stats), s.poolx.table.Collector(s.PoolStats)}
}

// StatsCollector returns the collector of the series of Stats that
// Collectors returns, reading them at each scrape from read instead of from
// a running service (for instance statistics recorded elsewhere).
func StatsCollector(read func() Stats) prometheus.Collector {
	var c counters
	c.init()
	return c.table.Collector(read)
}
