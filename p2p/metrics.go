package p2p

import (
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
)

// DiscoveryStats are the counters of peer discovery and the address book.
type DiscoveryStats struct {
	KnownAddrs int    // peers in the address book
	Served     uint64 // discovery requests answered
	Requested  uint64 // discovery requests made
	Learned    uint64 // peers new to the address book
	Redialled  uint64 // successful dials from the address book
}

// discoveryCounters count the discovery protocol's exchanges.
type discoveryCounters struct {
	served, requested, learned, redialled atomic.Uint64

	table StatTable[DiscoveryStats] // set by init
}

// init declares every series of DiscoveryStats, with its name on /metrics.
func (c *discoveryCounters) init() {
	c.table = StatTable[DiscoveryStats]{
		GaugeStat("p2p_known_addrs", "Peers in the address book.",
			func(s *DiscoveryStats) float64 { return float64(s.KnownAddrs) }),
		CounterStat("p2p_discovery_served_total", "Discovery requests answered.",
			&c.served, func(s *DiscoveryStats) *uint64 { return &s.Served }),
		CounterStat("p2p_discovery_requests_total", "Discovery requests made.",
			&c.requested, func(s *DiscoveryStats) *uint64 { return &s.Requested }),
		CounterStat("p2p_discovery_learned_total", "Peers new to the address book.",
			&c.learned, func(s *DiscoveryStats) *uint64 { return &s.Learned }),
		CounterStat("p2p_addrbook_dials_total", "Successful dials of peers from the address book.",
			&c.redialled, func(s *DiscoveryStats) *uint64 { return &s.Redialled }),
	}
}

// DiscoveryStats returns the counters of peer discovery.
func (n *Node) DiscoveryStats() DiscoveryStats {
	st := DiscoveryStats{KnownAddrs: n.book.len()}
	n.discStats.table.Snapshot(&st)
	return st
}

// trafficTable declares the series of TrafficStats.
var trafficTable = StatTable[TrafficStats]{
	LabeledStat("p2p_received_bytes_total", "Bytes received on streams, by protocol ID; gossip by topic name, and gossip-control for the rest of gossip.",
		"protocol", func(s *TrafficStats) map[string]uint64 { return s.Received }),
	LabeledStat("p2p_sent_bytes_total", "Bytes sent on streams, by protocol ID; gossip by topic name, and gossip-control for the rest of gossip.",
		"protocol", func(s *TrafficStats) map[string]uint64 { return s.Sent }),
}

// Traffic returns the bytes this node's streams carried since it started,
// by protocol (see TrafficStats).
func (n *Node) Traffic() TrafficStats { return n.traffic.stats() }

// BytesReceived is the total of the bytes received on every stream since
// the node started: Traffic().TotalReceived(), cheaper. The simulator of
// package sync/sim divides its growth by the blocks mined meanwhile.
func (n *Node) BytesReceived() uint64 { return n.traffic.protocols.totalIn() }

// Collectors returns the node's series on /metrics (DiscoveryStats,
// PeerSetStats and TrafficStats), read at each scrape.
func (n *Node) Collectors() []prometheus.Collector {
	return []prometheus.Collector{
		n.discStats.table.Collector(n.DiscoveryStats),
		n.peerSetCollector(),
		trafficTable.Collector(n.Traffic),
	}
}
