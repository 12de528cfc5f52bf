package sim

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	mrand "math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/marcopolo/simnet"

	"github.com/gossipchain/gossipchain/chain"
)

// blackhole is the latency of a packet across a partition: it is never
// delivered while the simulation runs, so the sender sees a lost packet.
const blackhole = 1000 * time.Hour

// Defaults of the optional Config fields.
const (
	DefaultDegree    = 2
	DefaultBandwidth = 100_000_000 // bits per second, each way
	// DefaultDifficulty keeps proof of work (real CPU, no virtual time)
	// short: the simulation measures the network, not the miner.
	DefaultDifficulty = 8
)

// ThreeRegions is the latency model of the issue: three regions, 1 ms one
// way inside a region, 10, 40 and 120 ms one way between them.
func ThreeRegions() ([][]time.Duration, time.Duration) {
	ms := time.Millisecond
	return [][]time.Duration{
		{0, 10 * ms, 40 * ms},
		{10 * ms, 0, 120 * ms},
		{40 * ms, 120 * ms, 0},
	}, ms
}

// Config configures a simulated network.
type Config struct {
	// Params are the network's parameters; a fixed-difficulty network
	// "sim" of DefaultDifficulty when zero.
	Params chain.Params
	// Dir holds the nodes' data directories (a temporary directory when
	// empty, removed by Close).
	Dir string
	// Latency[a][b] is the one-way latency from region a to region b
	// (the diagonal is ignored); Inside the one-way latency inside a
	// region. One region without latency when nil.
	Latency [][]time.Duration
	Inside  time.Duration
	// Bandwidth is every node's uplink and downlink in bits per second
	// (DefaultBandwidth when zero).
	Bandwidth int
	// Degree is how many random earlier nodes each node has as bootstrap
	// peers (DefaultDegree when zero), as in gcbench propagate; discovery
	// finds the others.
	Degree int
	// TargetPeers is each node's connection target (p2p's default when
	// zero).
	TargetPeers int
	// ValidateCost and StoreCost are charged per block as virtual time
	// (see costChain); MeasureCost measures them.
	ValidateCost, StoreCost time.Duration
	// Seed makes the topology, the regions and the identities reproducible.
	Seed uint64
	// Logger receives the nodes' logs (discarded when nil).
	Logger *slog.Logger
	// SeedChain, when not empty, is the path of a store (see PrepareChain)
	// that every node added by AddNode starts with a copy of, as in a
	// network with a long history.
	SeedChain string
}

// Network is a simulated network of gossipchain nodes. Create it, add
// nodes and run scenarios inside one synctest bubble.
type Network struct {
	cfg    Config
	sn     *simnet.Simnet
	rng    *mrand.Rand
	start  time.Time // virtual time at creation
	ownDir bool

	mu       sync.Mutex
	nodes    []*Node        // every node ever added, by Index
	regionOf map[string]int // IP → region
	cut      map[int]bool   // partitioned regions
	next     int            // next node index
}

// NewNetwork creates the simulated network and starts its router. It must
// be called inside a synctest bubble.
func NewNetwork(cfg Config) (*Network, error) {
	if cfg.Params.Name == "" {
		p, err := chain.NewParams("sim", DefaultDifficulty)
		if err != nil {
			return nil, err
		}
		cfg.Params = p
	}
	if cfg.Bandwidth <= 0 {
		cfg.Bandwidth = DefaultBandwidth
	}
	if cfg.Degree <= 0 {
		cfg.Degree = DefaultDegree
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	for i, row := range cfg.Latency {
		if len(row) != len(cfg.Latency) {
			return nil, fmt.Errorf("sim: latency matrix row %d has %d entries, want %d", i, len(row), len(cfg.Latency))
		}
	}
	n := &Network{cfg: cfg, rng: mrand.New(mrand.NewPCG(cfg.Seed, 0x5eed)), start: time.Now(),
		regionOf: make(map[string]int), cut: make(map[int]bool)}
	if n.cfg.Dir == "" {
		dir, err := os.MkdirTemp(tmpRoot(), "gcsim-")
		if err != nil {
			return nil, fmt.Errorf("sim: create data directory: %w", err)
		}
		n.cfg.Dir, n.ownDir = dir, true
	}
	n.sn = &simnet.Simnet{LatencyFunc: n.latency, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	n.sn.Start()
	return n, nil
}

// tmpRoot is where the nodes' stores go: memory (/dev/shm) when there is
// one, since the disk's cost is charged as StoreCost rather than paid.
func tmpRoot() string {
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
		return "/dev/shm"
	}
	return os.TempDir()
}

// Regions returns the number of regions (at least 1).
func (n *Network) Regions() int { return max(1, len(n.cfg.Latency)) }

// latency is the simnet router's latency of one packet.
func (n *Network) latency(p *simnet.Packet) time.Duration {
	from, to := ipOf(p.From), ipOf(p.To)
	n.mu.Lock()
	a, aok := n.regionOf[from]
	b, bok := n.regionOf[to]
	cut := n.cut[a] != n.cut[b]
	n.mu.Unlock()
	switch {
	case !aok || !bok:
		return 0
	case cut:
		return blackhole
	case a == b || len(n.cfg.Latency) == 0:
		return n.cfg.Inside
	}
	return n.cfg.Latency[a][b]
}

func ipOf(a net.Addr) string {
	if u, ok := a.(*net.UDPAddr); ok {
		return u.IP.String()
	}
	return a.String()
}

// Partition cuts region r off from the others: every packet between them is
// lost until Heal.
func (n *Network) Partition(r int) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.cut[r] = true
}

// Heal ends every partition.
func (n *Network) Heal() {
	n.mu.Lock()
	defer n.mu.Unlock()
	clear(n.cut)
}

// Since returns the virtual time elapsed since the network was created.
func (n *Network) Since() time.Duration { return time.Since(n.start) }

// chainNow is every node's chain clock: virtual time moved to a day after
// the genesis, so that the blocks' timestamps are valid.
func (n *Network) chainNow() time.Time {
	return chain.GenesisTimestamp.Time().Add(24 * time.Hour).Add(time.Since(n.start))
}

// Nodes returns the running nodes, by index.
func (n *Network) Nodes() []*Node {
	n.mu.Lock()
	defer n.mu.Unlock()
	return slices.DeleteFunc(slices.Clone(n.nodes), func(nd *Node) bool { return nd.closed.Load() })
}

// Node returns the node of index i (running or not).
func (n *Network) Node(i int) *Node {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.nodes[i]
}

// AddNodes adds count nodes, each in a region drawn at random, each with
// Config.Degree random running nodes added before it as bootstrap peers.
func (n *Network) AddNodes(ctx context.Context, count int) error {
	for range count {
		if _, err := n.AddNode(ctx, -1, nil); err != nil {
			return err
		}
	}
	return nil
}

// AddNode adds one node in region (random when < 0) with an empty chain
// (or the seed chain), bootstrapped to boot or, when nil, to Config.Degree
// random running nodes.
func (n *Network) AddNode(ctx context.Context, region int, boot []*Node) (*Node, error) {
	return n.addNode(ctx, region, boot, n.cfg.SeedChain)
}

// AddEmptyNode is AddNode with an empty chain (the genesis only), even when
// the network has a seed chain.
func (n *Network) AddEmptyNode(ctx context.Context, region int, boot []*Node) (*Node, error) {
	return n.addNode(ctx, region, boot, "")
}

func (n *Network) addNode(ctx context.Context, region int, boot []*Node, seedChain string) (*Node, error) {
	running := n.Nodes()
	n.mu.Lock()
	idx := n.next
	n.next++
	if region < 0 {
		region = n.rng.IntN(n.Regions())
	}
	if boot == nil {
		perm := n.rng.Perm(len(running))
		for _, j := range perm[:min(n.cfg.Degree, len(perm))] {
			boot = append(boot, running[j])
		}
	}
	seed := n.rng.Uint64()
	ip := simnet.IntToPublicIPv4(idx)
	n.regionOf[ip.String()] = region
	n.mu.Unlock()

	nd, err := startNode(ctx, n, idx, region, ip, boot, seed, seedChain)
	if err != nil {
		return nil, fmt.Errorf("sim: node %d: %w", idx, err)
	}
	n.mu.Lock()
	n.nodes = append(n.nodes, nd)
	n.mu.Unlock()
	return nd, nil
}

// Close stops every node, then the simulated network, and removes the data
// directory it created.
func (n *Network) Close() error {
	var errs []error
	for _, nd := range n.Nodes() {
		errs = append(errs, nd.Close())
	}
	n.sn.Close()
	if n.ownDir {
		errs = append(errs, os.RemoveAll(n.cfg.Dir))
	}
	return errors.Join(errs...)
}

func (n *Network) nodeDir(idx int) string {
	return filepath.Join(n.cfg.Dir, fmt.Sprintf("node-%04d", idx))
}
