package sim

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/gossipchain/gossipchain/chain"
)

// pollStep is how often, in virtual time, scenarios look at the nodes.
const pollStep = 10 * time.Millisecond

// waitUntil polls cond every step of virtual time until it holds or
// timeout passes; it reports whether it held.
func waitUntil(ctx context.Context, timeout, step time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for {
		if cond() {
			return true
		}
		if !time.Now().Before(deadline) || ctx.Err() != nil {
			return false
		}
		time.Sleep(step)
	}
}

// WaitReady waits until every running node has a mesh peer on the blocks
// topic, then until a probe block mined at node 0 is on every head.
func (n *Network) WaitReady(ctx context.Context, timeout time.Duration) error {
	nodes := n.Nodes()
	if !waitUntil(ctx, timeout, 100*time.Millisecond, func() bool {
		for _, nd := range nodes {
			if nd.MeshDegree() == 0 {
				return false
			}
		}
		return true
	}) {
		return fmt.Errorf("sim: some node has no mesh peer after %s", timeout)
	}
	b, err := nodes[0].Mine(ctx)
	if err != nil {
		return err
	}
	if !waitUntil(ctx, timeout, pollStep, func() bool { return allHave(nodes, b.Hash) }) {
		return fmt.Errorf("sim: the probe block did not reach every node within %s", timeout)
	}
	return nil
}

func allHave(nodes []*Node, h chain.Hash) bool {
	for _, nd := range nodes {
		if nd.Running() && !nd.Chain.HasBlock(h) {
			return false
		}
	}
	return true
}

// Percentiles of the nodes reached.
var reachLevels = []float64{0.50, 0.90, 0.99, 1.00}

// PropagationReport is the outcome of Propagate.
type PropagationReport struct {
	Nodes, Blocks int
	// Reach[i][k] is the virtual time block k took to be accepted by
	// reachLevels[i] of the nodes (the publisher included, at 0); -1 if it
	// did not within the timeout.
	Reach [][]time.Duration
	// Missing counts (block, node) pairs not accepted within the window;
	// Fetched those the node has, not through gossip but by chain exchange
	// (reached when sync reported the block added, or at the end of the
	// window when it was not the last of its batch). Missed describes
	// the nodes that missed a block (the last one each missed).
	Missing, Fetched int
	Missed           map[int]string
	// Copies is the mean number of copies of a block a node received
	// (1 + the duplicates its router dropped), over nodes and blocks;
	// CopiesMax the largest per-node mean.
	Copies, CopiesMax float64
	// BytesBlock is the mean bytes a node received in the Window after a
	// block; BytesIdle the same without blocks, at the mean rate of an idle
	// span (the quieter of one before the first block and one after the
	// last; the spans should cover several status intervals, 10 s).
	BytesBlock, BytesIdle float64
	Window                time.Duration
	// ByProtocol is the mean stream bytes a node received in the Window
	// after a block, less the idle span's, by protocol (p2p.TrafficStats).
	ByProtocol bytesSample
	// Mesh and Conns are the distributions of the blocks topic's mesh
	// degree and of connected peers at the end; Outbound and Inbound those
	// of the peer set's two sides (p2p.PeerSetStats); Shed the inbound
	// peers the nodes shed since they started.
	Mesh, Conns, Outbound, Inbound map[int]int
	Shed                           uint64
}

// Propagate mines blocks at random running nodes, one per window, and
// measures when every node accepted each (from its sync seen log). The idle
// byte rate is measured over idle before the first block and after the
// last (not at all when idle is 0).
func (n *Network) Propagate(ctx context.Context, blocks int, window, idle time.Duration) (PropagationReport, error) {
	nodes := n.Nodes()
	r := PropagationReport{Nodes: len(nodes), Blocks: blocks, Window: window, Reach: make([][]time.Duration, len(reachLevels))}
	perNode := 1 / float64(len(nodes))
	// The idle rate is measured over several status intervals (10 s, each
	// node's from a random phase), so that it holds a share of every
	// node's periodic exchanges.
	idleRate := func() bytesSample {
		if idle <= 0 {
			return bytesSample{}
		}
		b0 := sampleBytes(nodes)
		time.Sleep(idle)
		return sampleBytes(nodes).since(b0, perNode*float64(window)/float64(idle))
	}
	idle0 := idleRate()

	dup0 := make([]int64, len(nodes))
	for i, nd := range nodes {
		dup0[i] = nd.Duplicates()
	}
	var bytesSum bytesSample
	for range blocks {
		o := nodes[n.rng.IntN(len(nodes))]
		before := sampleBytes(nodes)
		b, err := o.Mine(ctx)
		if err != nil {
			return r, err
		}
		t0 := time.Now()
		time.Sleep(window)
		bytesSum = bytesSum.plus(sampleBytes(nodes).since(before, perNode))
		delays := make([]time.Duration, 0, len(nodes))
		for _, nd := range nodes {
			switch s, ok := nd.Sync.Seen(b.Hash); {
			case ok && !s.Accepted.IsZero():
				delays = append(delays, max(0, s.Accepted.Sub(t0)))
			case nd.Chain.HasBlock(b.Hash):
				// Not through gossip: fetched by chain exchange (after an
				// orphan or a status), when sync reported it added or, if
				// it came inside a batch, at the end of the window.
				r.Fetched++
				d := window
				if at, ok := nd.Added(b.Hash); ok {
					d = max(0, at.Sub(t0))
				}
				delays = append(delays, d)
			default:
				r.Missing++
				if r.Missed == nil {
					r.Missed = make(map[int]string)
				}
				r.Missed[nd.Index] = fmt.Sprintf("node %d (region %d): %d connections, mesh %d, head %d (block %d)",
					nd.Index, nd.Region, len(nd.P2P.Host().Network().Peers()), nd.MeshDegree(), nd.Chain.Head().Height, b.Index)
			}
		}
		slices.Sort(delays)
		for i, lv := range reachLevels {
			k := int(math.Ceil(lv*float64(len(nodes)))) - 1
			if k < len(delays) {
				r.Reach[i] = append(r.Reach[i], delays[k])
			} else {
				r.Reach[i] = append(r.Reach[i], -1)
			}
		}
	}
	perBlock := bytesSum.since(bytesSample{}, 1/float64(blocks))
	// The idle span before the blocks may still carry the start's traffic
	// (discovery, pool exchange): take the quieter of it and one after.
	idleBytes := idle0
	if idle1 := idleRate(); idle1.udp < idle0.udp {
		idleBytes = idle1
	}
	r.BytesBlock, r.BytesIdle = perBlock.udp, idleBytes.udp
	r.ByProtocol = perBlock.minus(idleBytes)
	var sum float64
	for i, nd := range nodes {
		c := 1 + float64(nd.Duplicates()-dup0[i])/float64(blocks)
		sum += c
		r.CopiesMax = max(r.CopiesMax, c)
	}
	r.Copies = sum / float64(len(nodes))
	r.Mesh, r.Conns, r.Outbound, r.Inbound = make(map[int]int), make(map[int]int), make(map[int]int), make(map[int]int)
	for _, nd := range nodes {
		r.Mesh[nd.MeshDegree()]++
		r.Conns[len(nd.P2P.Host().Network().Peers())]++
		ps := nd.P2P.PeerSetStats()
		r.Outbound[ps.Outbound]++
		r.Inbound[ps.Inbound]++
		r.Shed += ps.Shed
	}
	return r, nil
}

// ReachMedian returns the median over blocks of the time to reach level i
// of reachLevels, and the worst block's; -1 when a block never did.
func (r PropagationReport) ReachMedian(i int) (median, worst time.Duration) {
	ds := slices.Clone(r.Reach[i])
	if len(ds) == 0 {
		return -1, -1
	}
	never := time.Duration(math.MaxInt64)
	for k, d := range ds {
		if d < 0 {
			ds[k] = never
		}
	}
	slices.Sort(ds)
	median, worst = ds[len(ds)/2], ds[len(ds)-1]
	if median == never {
		median = -1
	}
	if worst == never {
		worst = -1
	}
	return median, worst
}

func (r PropagationReport) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "propagation: %d nodes, %d blocks\n", r.Nodes, r.Blocks)
	for i, lv := range reachLevels {
		m, w := r.ReachMedian(i)
		fmt.Fprintf(&b, "  reach %3.0f%%: median %s, worst block %s\n", lv*100, fmtD(m), fmtD(w))
	}
	for k := range r.Reach[0] {
		fmt.Fprintf(&b, "    block %2d: 99%% %s, 100%% %s\n", k+1, fmtD(r.Reach[2][k]), fmtD(r.Reach[3][k]))
	}
	fmt.Fprintf(&b, "  (block, node) pairs missing after %s: %d; fetched by chain exchange rather than gossip: %d\n", r.Window, r.Missing, r.Fetched)
	keys := slices.Sorted(maps.Keys(r.Missed))
	for _, k := range keys[:min(len(keys), 8)] {
		fmt.Fprintf(&b, "    missed by %s\n", r.Missed[k])
	}
	fmt.Fprintf(&b, "  copies of a block received per node: mean %.2f, worst node %.2f\n", r.Copies, r.CopiesMax)
	fmt.Fprintf(&b, "  bytes received per node per block (UDP payload read by its simulated endpoint, QUIC included): "+
		"%.0f in the %s after a block (the same span idle: %.0f; the block's share %.0f)\n",
		r.BytesBlock, r.Window, r.BytesIdle, r.BytesBlock-r.BytesIdle)
	fmt.Fprintf(&b, "  stream bytes received per node per block, beyond the idle span's, by protocol: %.0f (%s)\n",
		r.ByProtocol.streams(), r.ByProtocol)
	fmt.Fprintf(&b, "  mesh degree (blocks topic): %s\n", fmtHist(r.Mesh))
	fmt.Fprintf(&b, "  connections: %s\n", fmtHist(r.Conns))
	fmt.Fprintf(&b, "    outbound peers: %s\n    inbound peers: %s\n    inbound peers shed since the start: %d\n",
		fmtHist(r.Outbound), fmtHist(r.Inbound), r.Shed)
	return b.String()
}

func fmtD(d time.Duration) string {
	if d < 0 {
		return "never"
	}
	if d < time.Millisecond {
		return d.Round(time.Microsecond).String()
	}
	return d.Round(100 * time.Microsecond).String()
}

func fmtHist(h map[int]int) string {
	keys := make([]int, 0, len(h))
	var n, sum int
	for k, c := range h {
		keys = append(keys, k)
		n += c
		sum += k * c
	}
	slices.Sort(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%d:%d", k, h[k])
	}
	mean := 0.0
	if n > 0 {
		mean = float64(sum) / float64(n)
	}
	if n == 0 {
		return "none"
	}
	return fmt.Sprintf("mean %.1f, min %d, max %d [degree:nodes %s]", mean, keys[0], keys[len(keys)-1], strings.Join(parts, " "))
}

// PartitionReport is the outcome of PartitionHeal.
type PartitionReport struct {
	Region, Cut, Nodes int
	Duration           time.Duration
	// Converged is the virtual time from the heal until every node's head
	// was the heaviest; -1 if not within the timeout.
	Converged time.Duration
	// Returned counts the transactions of the abandoned branch; Back those
	// pending again at every node of the cut region within the timeout
	// after the heal.
	Returned, Back int
}

func (r PartitionReport) String() string {
	return fmt.Sprintf("partition: region %d (%d of %d nodes) cut off for %s; every node on the heaviest head %s after the heal; "+
		"transactions of the abandoned branch back in the pools of every node of the region: %d of %d\n",
		r.Region, r.Cut, r.Nodes, r.Duration, fmtD(r.Converged), r.Back, r.Returned)
}

// PartitionHeal cuts region off for d; meanwhile the region mines one block
// holding a transaction submitted there, and the rest mines two. It heals
// and measures the time until every node is on the rest's (heavier) head.
func (n *Network) PartitionHeal(ctx context.Context, region int, d, timeout time.Duration) (PartitionReport, error) {
	nodes := n.Nodes()
	var in, out []*Node
	for _, nd := range nodes {
		if nd.Region == region {
			in = append(in, nd)
		} else {
			out = append(out, nd)
		}
	}
	r := PartitionReport{Region: region, Cut: len(in), Nodes: len(nodes), Duration: d, Converged: -1}
	if len(in) == 0 || len(out) == 0 {
		return r, errors.New("sim: partition needs nodes on both sides")
	}
	n.Partition(region)
	start := time.Now()
	time.Sleep(d / 10) // the cut is noticed
	tx, err := chain.NewTransaction(fmt.Sprintf("sim-partition-%d", n.rng.Uint64()), "sim-recipient", 1)
	if err != nil {
		return r, err
	}
	miner := in[n.rng.IntN(len(in))]
	if err := miner.Sync.SubmitTransaction(ctx, tx); err != nil {
		return r, fmt.Errorf("submit transaction: %w", err)
	}
	minority, err := miner.Mine(ctx)
	if err != nil {
		return r, err
	}
	if !slices.ContainsFunc(minority.Transactions, func(t chain.Transaction) bool { return t.ID == tx.ID }) {
		return r, errors.New("sim: the region's block does not hold the transaction")
	}
	r.Returned = 1
	var heavy *chain.Block
	for range 2 {
		o := out[n.rng.IntN(len(out))]
		if !waitUntil(ctx, d, pollStep, func() bool { return heavy == nil || o.Chain.HasBlock(heavy.Hash) }) {
			return r, errors.New("sim: the majority did not agree on its own block during the partition")
		}
		if heavy, err = o.Mine(ctx); err != nil {
			return r, err
		}
	}
	time.Sleep(time.Until(start.Add(d)))
	n.Heal()
	healed := time.Now()
	if waitUntil(ctx, timeout, pollStep, func() bool {
		for _, nd := range nodes {
			if nd.Chain.Head().Hash != heavy.Hash {
				return false
			}
		}
		return true
	}) {
		r.Converged = time.Since(healed)
	}
	// A node of the region that held the region's block has the
	// transaction back when it reorganises; one whose peers were all
	// outside the region during the cut gets it by pool exchange after
	// the heal.
	if waitUntil(ctx, timeout, pollStep, func() bool {
		for _, nd := range in {
			if loc, err := nd.Chain.FindTransaction(tx.ID); err != nil || !loc.Pending {
				return false
			}
		}
		return true
	}) {
		r.Back = 1
	}
	return r, nil
}
