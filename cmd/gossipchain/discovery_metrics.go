package main

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/gossipchain/gossipchain/p2p"
	gsync "github.com/gossipchain/gossipchain/sync"
)

// discoveryCollectors are the /metrics of peer discovery, the address book
// and pool exchange, read at every scrape.
func discoveryCollectors(node *p2p.Node, svc *gsync.Service) []prometheus.Collector {
	disc := func(f func(p2p.DiscoveryStats) float64) func() float64 {
		return func() float64 { return f(node.DiscoveryStats()) }
	}
	pool := func(f func(gsync.PoolStats) float64) func() float64 {
		return func() float64 { return f(svc.PoolStats()) }
	}
	return []prometheus.Collector{
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "p2p_known_addrs", Help: "Peers in the address book."},
			disc(func(s p2p.DiscoveryStats) float64 { return float64(s.KnownAddrs) })),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "p2p_discovery_served_total", Help: "Discovery requests answered."},
			disc(func(s p2p.DiscoveryStats) float64 { return float64(s.Served) })),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "p2p_discovery_requests_total", Help: "Discovery requests made."},
			disc(func(s p2p.DiscoveryStats) float64 { return float64(s.Requested) })),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "p2p_discovery_learned_total", Help: "Peers new to the address book."},
			disc(func(s p2p.DiscoveryStats) float64 { return float64(s.Learned) })),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "p2p_addrbook_dials_total", Help: "Successful dials of peers from the address book."},
			disc(func(s p2p.DiscoveryStats) float64 { return float64(s.Redialled) })),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "sync_pool_served_total", Help: "Pool-exchange requests answered."},
			pool(func(s gsync.PoolStats) float64 { return float64(s.Served) })),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "sync_pool_fetched_total", Help: "Transactions added to the pool by pool exchange."},
			pool(func(s gsync.PoolStats) float64 { return float64(s.Fetched) })),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "sync_pool_announced_total", Help: "Pool announcements sent."},
			pool(func(s gsync.PoolStats) float64 { return float64(s.Announced) })),
	}
}
