package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/gossipchain/gossipchain/chain"
	"github.com/gossipchain/gossipchain/p2p"
)

// propagationGoal is item 4's goal: our delays at most this many times the
// floor's: bare pubsub hosts with an accept-all validator, registered the
// way nodes register theirs, connected in the nodes' graph.
const propagationGoal = 1.3

// propConfig holds the parameters of one propagation measurement.
type propConfig struct {
	blocks, txs int
	interval    time.Duration // pause between two blocks or transactions
	degree      int           // earlier nodes each node bootstraps to
	warmup      int           // blocks or messages sent before measuring
	settle      time.Duration // wait after the topology is connected
	runs        int           // runs per network size; rows give their medians
}

// topology returns, for each of n nodes, the earlier nodes it connects to:
// up to degree distinct random ones.
func topology(n, degree int, rng *mrand.Rand) [][]int {
	out := make([][]int, n)
	for i := 1; i < n; i++ {
		perm := rng.Perm(i)
		out[i] = perm[:min(degree, i)]
	}
	return out
}

// degrees returns every node's number of neighbours in the topology.
func degrees(topo [][]int) []int {
	d := make([]int, len(topo))
	for i, ns := range topo {
		for _, j := range ns {
			d[i]++
			d[j]++
		}
	}
	return d
}

// propResult is what one propagation run measured on one network.
type propResult struct {
	blocks, txs       []time.Duration // per message: delay to the last node
	blockMissing      int             // blocks some node did not add through gossip
	txMissing         int             // transactions some node did not get in time
	blockEach, txEach []time.Duration // per delivery to one node
	blockSize, txSize int             // gossip message sizes
	// graph is the network's connections among its members when the
	// measurement started (nodes: as they connected; floor: the nodes'
	// graph); degree and degreeEnd each member's count of them then and at
	// the end.
	graph             [][]int
	degree, degreeEnd []int
}

// propRun is one run at one network size: the nodes, then the floor and
// the bare hosts on the graph the nodes formed.
type propRun struct {
	ours, floor, bare propResult
	load              string // load averages before the run
}

// runPropagate measures item 4.
func runPropagate(ctx context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("propagate", flag.ContinueOnError)
	sizes := intList{10, 25}
	fs.Var(&sizes, "nodes", "network `sizes`, comma-separated")
	var cfg propConfig
	fs.IntVar(&cfg.blocks, "blocks", 100, "blocks measured per network")
	fs.IntVar(&cfg.txs, "txs", 100, "transactions measured per network")
	fs.DurationVar(&cfg.interval, "interval", 200*time.Millisecond, "pause between two blocks or transactions")
	fs.IntVar(&cfg.degree, "degree", 2, "earlier nodes each node bootstraps to")
	fs.IntVar(&cfg.runs, "runs", 3, "runs per network size (each on its own random topology); the rows give their medians")
	seed := fs.Uint64("seed", 1, "random `seed` of the topology and of the choice of nodes (run r uses seed+r)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg.warmup = 3
	cfg.settle = 2 * time.Second
	if cfg.blocks < 1 || cfg.txs < 1 || cfg.runs < 1 {
		return fmt.Errorf("want --blocks, --txs and --runs >= 1")
	}

	fsync, err := fsyncLatency(e.workDir, 50)
	if err != nil {
		return err
	}
	for i, n := range sizes {
		var runs []propRun
		for r := range cfg.runs {
			run, err := propagateOnce(ctx, e, n, cfg, mrand.New(mrand.NewPCG(*seed+uint64(r), uint64(n))))
			if err != nil {
				return err
			}
			e.logf("propagate: %d nodes, run %d: nodes' degree %s, floor's %s", n, r+1, degreeStats(run.ours.degree), degreeStats(run.floor.degree))
			runs = append(runs, run)
		}
		var blockEach, floorBlockEach, bareBlocks, txEach, floorTxEach, bareTxs []time.Duration
		for _, r := range runs {
			blockEach, floorBlockEach = append(blockEach, r.ours.blockEach...), append(floorBlockEach, r.floor.blockEach...)
			txEach, floorTxEach = append(txEach, r.ours.txEach...), append(floorTxEach, r.floor.txEach...)
			bareBlocks, bareTxs = append(bareBlocks, r.bare.blocks...), append(bareTxs, r.bare.txs...)
		}
		blocks := func(p propResult) ([]time.Duration, int) { return p.blocks, p.blockMissing }
		txs := func(p propResult) ([]time.Duration, int) { return p.txs, p.txMissing }
		e.sink.add(propRow(fmt.Sprintf("4%c", 'a'+2*i), n, cfg, "block", "from the publish at the miner (the block mined and stored, just before Publish) to its acceptance (valid, relayed) by every other node",
			runs, blocks, runs[0].ours.blockSize, e.command,
			fmt.Sprintf("%d nodes, blocks, every run: per delivery to one node %s; floor %s. Bare hosts without a validator on the same graph: to every host %s. Times are each node's own, in ns, from GET /debug/gossip/{id} of its --pprof listener; a node relays a block once it is valid and stores it meanwhile (one 4 kB write and fsync on this disk: %s, median of 50)",
				n, summarizeDurations(blockEach), summarizeDurations(floorBlockEach), summarizeDurations(bareBlocks), fmtDur(fsync))))
		txNote := fmt.Sprintf("%d nodes, transactions, every run: per delivery to one node %s; floor %s. Bare hosts without a validator on the same graph: to every host %s. Times as for blocks",
			n, summarizeDurations(txEach), summarizeDurations(floorTxEach), summarizeDurations(bareTxs))
		e.sink.add(propRow(fmt.Sprintf("4%c", 'a'+2*i+1), n, cfg, "transaction", "from the publish at the node it was POSTed to (admitted to its pool, just before Publish) to its acceptance by every other node",
			runs, txs, runs[0].ours.txSize, e.command, txNote))
	}
	return nil
}

// propagateOnce runs the nodes on a random topology, then the floor and the
// bare hosts on the graph the nodes formed.
func propagateOnce(ctx context.Context, e *env, n int, cfg propConfig, rng *mrand.Rand) (propRun, error) {
	run := propRun{load: loadAverage()}
	topo := topology(n, cfg.degree, rng)
	e.logf("propagate: %d node processes", n)
	var err error
	if run.ours, err = measureNodes(ctx, e, n, topo, cfg, rng); err != nil {
		return run, err
	}
	e.logf("propagate: %d bare pubsub hosts on the nodes' graph", n)
	if run.bare, err = measureFloor(ctx, e, n, run.ours.graph, cfg, run.ours.blockSize, run.ours.txSize, rng, false); err != nil {
		return run, err
	}
	e.logf("propagate: %d bare pubsub hosts with an accept-all validator on the nodes' graph", n)
	run.floor, err = measureFloor(ctx, e, n, run.ours.graph, cfg, run.ours.blockSize, run.ours.txSize, rng, true)
	return run, err
}

// propRow builds the row of one kind of message for one network size from
// its runs: the medians over the runs of our figures, the floor's and the
// ratios; pick selects the kind's delays and missing count.
func propRow(id string, n int, cfg propConfig, kind, span string, runs []propRun, pick func(propResult) ([]time.Duration, int), size int, command, note string) Row {
	var o50, o99, oMax, f50, f99, fMax, r50, r99 []float64
	var count int
	notes := []string{note}
	for k, r := range runs {
		ours, missing := pick(r.ours)
		floor, floorMissing := pick(r.floor)
		o, f := summarizeDurations(ours), summarizeDurations(floor)
		count += o.N
		o50, o99, oMax = append(o50, float64(o.P50)), append(o99, float64(o.P99)), append(oMax, float64(o.Max))
		f50, f99, fMax = append(f50, float64(f.P50)), append(f99, float64(f.P99)), append(fMax, float64(f.Max))
		r50, r99 = append(r50, float64(o.P50)/float64(f.P50)), append(r99, float64(o.P99)/float64(f.P99))
		notes = append(notes, fmt.Sprintf("%d nodes, %ss, run %d (load %s): ours %s, floor %s; ratio p50 %s, p99 %s; "+
			"degree among the nodes at the start %s, at the end %s; the floor's at the start %s, at the end %s",
			n, kind, k+1, r.load, o, f, fmtRatio(r50[k]), fmtRatio(r99[k]),
			degreeStats(r.ours.degree), degreeStats(r.ours.degreeEnd), degreeStats(r.floor.degree), degreeStats(r.floor.degreeEnd)))
		if missing > 0 {
			notes = append(notes, fmt.Sprintf("%d nodes, run %d: %d %ss were not accepted through gossip by every node within %s and are left out",
				n, k+1, missing, kind, seenTimeout))
		}
		if floorMissing > 0 {
			notes = append(notes, fmt.Sprintf("%d bare hosts, run %d: %d %s-sized messages did not reach every host and are left out", n, k+1, floorMissing, kind))
		}
	}
	med := func(xs []float64) time.Duration { return time.Duration(median(xs)) }
	ratios := func(xs []float64) string {
		parts := make([]string, len(xs))
		for i, x := range xs {
			parts[i] = fmtRatio(x)
		}
		return strings.Join(parts, ", ")
	}
	m50, m99 := median(r50), median(r99)
	ours := latencies{P50: med(o50), P99: med(o99), Max: med(oMax)}
	floor := latencies{P50: med(f50), P99: med(f99), Max: med(fMax)}
	notes = append(notes, fmt.Sprintf("%d nodes, %ss: CPU %s", n, kind, cpuModel()))
	return Row{
		ID:   id,
		Item: "Propagation",
		What: fmt.Sprintf("%d node processes, each bootstrapped to %d random earlier nodes, then connecting as nodes do (mean degree %s, median of the runs); the floor on the same graph: %s delay, %s, over %d %ss of %d-byte gossip messages in %d runs",
			n, cfg.degree, sig3(medianDegree(runs)), kind, span, count, kind, size, len(runs)),
		Figure:  fmt.Sprintf("%s (medians of %d runs)", ours, len(runs)),
		Ratio:   fmt.Sprintf("floor (bare pubsub hosts, accept-all validator, the nodes' graph) %s; ratio p50 %s, p99 %s (medians; runs p50 %s, p99 %s)", floor, fmtRatio(m50), fmtRatio(m99), ratios(r50), ratios(r99)),
		Goal:    fmt.Sprintf("≤ %.1f× floor", propagationGoal),
		Verdict: verdict(m50 <= propagationGoal && m99 <= propagationGoal),
		Command: command,
		Notes:   notes,
	}
}

// medianDegree returns the median over runs of the nodes' mean degree at
// the start of the measurement.
func medianDegree(runs []propRun) float64 {
	var means []float64
	for _, r := range runs {
		sum := 0
		for _, d := range r.ours.degree {
			sum += d
		}
		means = append(means, float64(sum)/float64(max(1, len(r.ours.degree))))
	}
	return median(means)
}

// measureNodes starts n nodes in the topology, mines and submits, and
// measures the delays.
func measureNodes(ctx context.Context, e *env, n int, topo [][]int, cfg propConfig, rng *mrand.Rand) (propResult, error) {
	var res propResult
	dir := filepath.Join(e.workDir, fmt.Sprintf("net-%d", n))
	nodes := make([]*node, n)
	defer func() {
		for _, nd := range nodes {
			if nd != nil {
				e.procs.stop(nd)
			}
		}
	}()
	for i := range n {
		var boot []string
		for _, j := range topo[i] {
			boot = append(boot, nodes[j].addr)
		}
		nd, err := e.startNode(ctx, nodeOpts{
			name: fmt.Sprintf("node-%d", i), dataDir: filepath.Join(dir, fmt.Sprintf("node-%d", i)),
			bootstrap: boot, debug: true,
		})
		if err != nil {
			return res, err
		}
		nodes[i] = nd
	}
	deg := degrees(topo)
	for i, nd := range nodes {
		if err := waitFor(ctx, 50*time.Millisecond, time.Minute, func() (bool, error) {
			st, err := nd.Client().Status(ctx)
			return err == nil && st.Peers >= deg[i], nil
		}); err != nil {
			return res, fmt.Errorf("%s did not reach %d peers: %w", nd.Name(), deg[i], err)
		}
	}
	if err := sleepCtx(ctx, cfg.settle); err != nil {
		return res, err
	}
	graph, err := stableGraph(ctx, nodes, graphStable, graphWait)
	if err != nil {
		return res, err
	}
	res.graph, res.degree = graph, degrees(graph)

	// Warm-up blocks, then the measured ones.
	height := uint64(1)
	for range cfg.warmup {
		if _, err := nodes[rng.IntN(n)].Client().Mine(ctx); err != nil {
			return res, err
		}
		height++
		if err := waitAllHeight(ctx, nodes, height); err != nil {
			return res, err
		}
	}
	type mined struct {
		hash   chain.Hash
		origin int
	}
	var blocks []mined
	for range cfg.blocks {
		o := rng.IntN(n)
		// Mine on the head every node has, so that no block forks.
		if _, err := nodes[o].waitHeight(ctx, height, 2*time.Millisecond, time.Minute); err != nil {
			return res, err
		}
		mr, err := nodes[o].Client().Mine(ctx)
		if err != nil {
			return res, err
		}
		blocks = append(blocks, mined{mr.Hash, o})
		height++
		if err := sleepCtx(ctx, cfg.interval); err != nil {
			return res, err
		}
	}
	if err := waitAllHeight(ctx, nodes, height); err != nil {
		return res, err
	}
	var sizes []float64
	for _, b := range blocks {
		blk, err := nodes[b.origin].Client().Block(ctx, b.hash.String())
		if err != nil {
			return res, err
		}
		sizes = append(sizes, float64(p2p.ContentIDSize+blk.BinarySize()))
		each, complete, err := seenDelays(ctx, nodes, b.origin, b.hash)
		if err != nil {
			return res, err
		}
		res.blockEach = append(res.blockEach, each...)
		if complete {
			res.blocks = append(res.blocks, slices.Max(each))
		} else {
			res.blockMissing++
		}
	}
	res.blockSize = int(median(sizes))

	// Transactions.
	for k := range cfg.txs {
		o := rng.IntN(n)
		sender, recipient := fmt.Sprintf("bench-sender-%04d", k), "bench-recipient"
		res.txSize = p2p.ContentIDSize + 2 + len(sender) + 2 + len(recipient) + 16
		tx, err := nodes[o].Client().NewTransaction(ctx, sender, recipient, uint64(k+1))
		if err != nil {
			return res, err
		}
		each, complete, err := seenDelays(ctx, nodes, o, tx.ID)
		if err != nil {
			return res, err
		}
		res.txEach = append(res.txEach, each...)
		if complete {
			res.txs = append(res.txs, slices.Max(each))
		} else {
			res.txMissing++
		}
		if err := sleepCtx(ctx, cfg.interval); err != nil {
			return res, err
		}
	}
	end, err := peerGraph(ctx, nodes)
	if err != nil {
		return res, err
	}
	res.degreeEnd = degrees(end)
	return res, nil
}

// seenTimeout bounds the wait for one block or transaction to be accepted
// by every node.
const seenTimeout = 10 * time.Second

// seenDelays waits until every node has accepted id, and returns each
// node's delay after the origin o accepted it, from the times the nodes
// recorded (the waiting here does not change them). complete is false if
// some node did not accept it within seenTimeout; its delay is left out.
func seenDelays(ctx context.Context, nodes []*node, o int, id chain.Hash) (each []time.Duration, complete bool, err error) {
	start, ok, err := nodes[o].seen(ctx, id)
	if err != nil {
		return nil, false, err
	}
	if !ok {
		return nil, false, fmt.Errorf("%s did not record its own %s", nodes[o].Name(), id)
	}
	deadline := time.Now().Add(seenTimeout)
	complete = true
	for i, nd := range nodes {
		if i == o {
			continue
		}
		var t time.Time
		err := waitFor(ctx, 5*time.Millisecond, time.Until(deadline), func() (ok bool, err error) {
			t, ok, err = nd.seen(ctx, id)
			return ok, err
		})
		switch {
		case err == nil:
			each = append(each, t.Sub(start))
		case errors.Is(err, errNotWithin):
			complete = false
		default:
			return nil, false, err
		}
	}
	return each, complete, nil
}

// waitAllHeight waits until every node's height is at least h.
func waitAllHeight(ctx context.Context, nodes []*node, h uint64) error {
	for _, nd := range nodes {
		if _, err := nd.waitHeight(ctx, h, 20*time.Millisecond, time.Minute); err != nil {
			return err
		}
	}
	return nil
}

// measureFloor runs bare pubsub hosts connected as topo (host i dials
// topo[i]) and sends messages of the given sizes.
func measureFloor(ctx context.Context, e *env, n int, topo [][]int, cfg propConfig, blockSize, txSize int, rng *mrand.Rand, validate bool) (propResult, error) {
	var res propResult
	fn, err := e.startFloor(ctx, n, chain.DefaultMaxBlockSize+64<<10, validate)
	if err != nil {
		return res, err
	}
	defer fn.close(e)
	for i, ns := range topo {
		if len(ns) == 0 {
			continue
		}
		var addrs []string
		for _, j := range ns {
			addrs = append(addrs, fn.hosts[j].addr)
		}
		if _, err := fn.hosts[i].request(ctx, "connect "+strings.Join(addrs, " ")); err != nil {
			return res, err
		}
	}
	deg := degrees(topo)
	for i, h := range fn.hosts {
		if err := waitFor(ctx, 50*time.Millisecond, time.Minute, func() (bool, error) {
			conns, topicPeers, err := h.peers(ctx)
			return conns >= deg[i] && topicPeers >= deg[i], err
		}); err != nil {
			return res, fmt.Errorf("pubsub-host %d did not reach %d topic peers: %w", i, deg[i], err)
		}
	}
	if err := sleepCtx(ctx, cfg.settle); err != nil {
		return res, err
	}
	res.graph = topo
	if res.degree, err = fn.degrees(ctx); err != nil {
		return res, err
	}

	type sentMsg struct {
		id     string
		origin int
		at     time.Time
	}
	send := func(topic, size int) (sentMsg, error) {
		var id [p2p.ContentIDSize]byte
		rand.Read(id[:])
		o := rng.IntN(n)
		hexID := hex.EncodeToString(id[:])
		r, err := fn.hosts[o].request(ctx, fmt.Sprintf("publish %d %s %d", topic, hexID, size))
		if err != nil {
			return sentMsg{}, err
		}
		var gotID string
		var ns int64
		if _, err := fmt.Sscanf(r, "published %s %d", &gotID, &ns); err != nil || gotID != hexID {
			return sentMsg{}, fmt.Errorf("pubsub-host %d: bad reply %q", o, r)
		}
		return sentMsg{hexID, o, time.Unix(0, ns)}, nil
	}
	for range cfg.warmup {
		if _, err := send(0, blockSize); err != nil {
			return res, err
		}
		if err := sleepCtx(ctx, cfg.interval); err != nil {
			return res, err
		}
	}
	var blocks, txs []sentMsg
	for range cfg.blocks {
		m, err := send(0, blockSize)
		if err != nil {
			return res, err
		}
		blocks = append(blocks, m)
		if err := sleepCtx(ctx, cfg.interval); err != nil {
			return res, err
		}
	}
	for range cfg.txs {
		m, err := send(1, txSize)
		if err != nil {
			return res, err
		}
		txs = append(txs, m)
		if err := sleepCtx(ctx, cfg.interval); err != nil {
			return res, err
		}
	}
	if err := sleepCtx(ctx, time.Second); err != nil { // stragglers
		return res, err
	}
	if res.degreeEnd, err = fn.degrees(ctx); err != nil {
		return res, err
	}
	collect := func(msgs []sentMsg) (per, each []time.Duration, missing int) {
		for _, m := range msgs {
			got := fn.deliveries(m.id)
			var last time.Duration
			complete := true
			for i := range n {
				if i == m.origin {
					continue
				}
				t, ok := got[i]
				if !ok {
					complete = false
					continue
				}
				d := t.Sub(m.at)
				each = append(each, d)
				last = max(last, d)
			}
			if complete {
				per = append(per, last)
			} else {
				missing++
			}
		}
		return per, each, missing
	}
	res.blocks, res.blockEach, res.blockMissing = collect(blocks)
	res.txs, res.txEach, res.txMissing = collect(txs)
	res.blockSize, res.txSize = blockSize, txSize
	return res, nil
}

// fsyncLatency returns the median time of writing 4 kB to a file in dir and
// syncing it, over n tries.
func fsyncLatency(dir string, n int) (time.Duration, error) {
	f, err := os.CreateTemp(dir, "fsync-")
	if err != nil {
		return 0, err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	buf := make([]byte, 4096)
	var ds []time.Duration
	for i := range n {
		buf[0] = byte(i)
		start := time.Now()
		if _, err := f.WriteAt(buf, 0); err != nil {
			return 0, err
		}
		if err := f.Sync(); err != nil {
			return 0, err
		}
		ds = append(ds, time.Since(start))
	}
	return summarizeDurations(ds).P50, nil
}
