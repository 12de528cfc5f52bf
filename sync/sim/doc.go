// Package sim runs complete gossipchain nodes (chain on a bbolt store, p2p
// with discovery, gossip and chain exchange; no HTTP API) on go-libp2p's
// simulated network (github.com/marcopolo/simnet), in the virtual time of
// testing/synctest, so that a thousand nodes fit on one machine.
//
// The nodes are built by the same constructors, in the same order, as
// cmd/gossipchain: store.Open, p2p.New, sync.New, then sync's Start before
// p2p's. What differs is injected through the configuration: the host's
// transport is QUIC over a simnet endpoint (p2p.Config.HostOptions), a
// pubsub tracer counts duplicates and the mesh (p2p.Config.PubsubOptions),
// and the cost of validating and storing a block, which virtual time does
// not see, is charged as virtual time by a wrapper of the node's chain
// (costChain, with Config.ValidateCost and StoreCost measured on this
// machine by MeasureCost); the node itself is assembled by sync.NewNode,
// as cmd/gossipchain assembles it.
//
// The network has regions: a packet between two nodes of one region takes
// Config.Inside one way, between regions Config.Latency[a][b]; every node
// has Config.Bandwidth up and down. A partition blackholes every packet
// between a region and the others until it heals.
//
// synctest needs a *testing.T, so the simulations are tests: a small one
// runs in the suite, the large ones are gated by a flag (see sim_test.go)
// and driven by scripts/bench.sh.
package sim
