package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"sync"
	"time"

	"github.com/gossipchain/gossipchain/api/client"
)

// discoveryTarget is the node's connection target D (p2p.DefaultTargetPeers).
const discoveryTarget = 8

// runDiscovery measures peer discovery across node processes (item 8):
//
//   - a network of --nodes processes, each bootstrapped to the first only;
//   - a fresh process bootstrapped to one random peer of it: the time from
//     exec until it has D peers, against the time until its first peer (the
//     bootstrap dial) in the same run;
//   - the most connected node killed (SIGKILL) and a block mined at once on
//     another: the time until every remaining node has that block as head,
//     against the time blocks mined with every node up took to reach all of
//     them in the same run (median of 3), and the time until every node is
//     back at D peers.
func runDiscovery(ctx context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("discovery", flag.ContinueOnError)
	count := fs.Int("nodes", 25, "`number` of node processes in the network")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *count < discoveryTarget+2 {
		return fmt.Errorf("--nodes %d: at least %d", *count, discoveryTarget+2)
	}
	timeout := 3 * time.Minute

	first, err := e.startNode(ctx, nodeOpts{name: "d0", dataDir: filepath.Join(e.workDir, "d0")})
	if err != nil {
		return err
	}
	nodes := make([]*node, *count)
	nodes[0] = first
	var wg sync.WaitGroup
	errs := make([]error, *count)
	sem := make(chan struct{}, 4) // start a few at a time on a small machine
	for i := 1; i < *count; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			name := fmt.Sprintf("d%d", i)
			nodes[i], errs[i] = e.startNode(ctx, nodeOpts{name: name, dataDir: filepath.Join(e.workDir, name), bootstrap: []string{first.addr}})
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	e.logf("%d nodes started, waiting for each to have %d peers", *count, discoveryTarget)
	meshStart := time.Now()
	if err := waitAll(ctx, nodes, timeout, func(st client.Status) bool { return st.Peers >= discoveryTarget }); err != nil {
		return fmt.Errorf("network never reached the target: %w", err)
	}
	meshTime := time.Since(meshStart)

	// A fresh node bootstrapped to one random peer.
	boot := nodes[1+rand.IntN(*count-1)]
	fresh, err := e.startNode(ctx, nodeOpts{name: "fresh", dataDir: filepath.Join(e.workDir, "fresh"), bootstrap: []string{boot.addr}})
	if err != nil {
		return err
	}
	var firstPeer, atTarget time.Duration
	err = waitFor(ctx, 10*time.Millisecond, timeout, func() (bool, error) {
		if st, err := fresh.Client().Status(ctx); err == nil {
			if st.Peers >= 1 && firstPeer == 0 {
				firstPeer = time.Since(fresh.Started())
			}
			if st.Peers >= discoveryTarget {
				atTarget = time.Since(fresh.Started())
			}
		}
		return atTarget != 0, nil
	})
	if errors.Is(err, errNotWithin) {
		return fmt.Errorf("fresh node never reached %d peers", discoveryTarget)
	}
	if err != nil {
		return err
	}
	nodes = append(nodes, fresh)
	e.logf("fresh node: first peer after %s, %d peers after %s", firstPeer, discoveryTarget, atTarget)

	// Propagation of a block with every node up, the reference: the median
	// of three, mined on random nodes one after the other (the first may
	// still meet a gossip mesh that is forming around the fresh node).
	var bases []float64
	for range 3 {
		d, err := mineAndWait(ctx, nodes[rand.IntN(len(nodes))], nodes, timeout)
		if err != nil {
			return err
		}
		bases = append(bases, d.Seconds())
	}
	base := time.Duration(median(bases) * float64(time.Second))

	// Kill the most connected node, mine at once on another.
	hub, most := 0, -1
	for i, n := range nodes {
		st, err := n.Client().Status(ctx)
		if err == nil && st.Peers > most {
			hub, most = i, st.Peers
		}
	}
	killed := nodes[hub]
	rest := append(append([]*node(nil), nodes[:hub]...), nodes[hub+1:]...)
	e.logf("killing %s (%d peers)", killed.Name(), most)
	killed.Kill()
	killedAt := time.Now()
	converged, err := mineAndWait(ctx, rest[rand.IntN(len(rest))], rest, timeout)
	if err != nil {
		return fmt.Errorf("after the kill: %w", err)
	}
	if err := waitAll(ctx, rest, timeout, func(st client.Status) bool { return st.Peers >= discoveryTarget }); err != nil {
		return fmt.Errorf("after the kill, the target was not reached again: %w", err)
	}
	retarget := time.Since(killedAt)

	e.sink.add(Row{
		ID: "8a", Item: "Discovery",
		What:    fmt.Sprintf("fresh node process bootstrapped to one random peer of a %d-node network: wall time from exec to %d peers (D)", *count, discoveryTarget),
		Figure:  fmt.Sprintf("%s (first peer after %s)", fmtDur(atTarget), fmtDur(firstPeer)),
		Ratio:   fmtRatio(atTarget.Seconds()/firstPeer.Seconds()) + " of the time to its first peer (the bootstrap dial), same run",
		Command: e.command,
		Notes: []string{fmt.Sprintf("the %d nodes, each bootstrapped to the first only, all had %d peers %s after the last one started",
			*count, discoveryTarget, fmtDur(meshTime))},
	})
	e.sink.add(Row{
		ID: "8b", Item: "Discovery",
		What:    fmt.Sprintf("%d-node network after its most connected node (%d peers) is killed: a block mined at once on another node reaches every remaining node", *count+1, most),
		Figure:  fmt.Sprintf("%s; every node back at %d peers after %s", fmtDur(converged), discoveryTarget, fmtDur(retarget)),
		Ratio:   fmtRatio(converged.Seconds()/base.Seconds()) + " of the propagation time of a block with every node up, same run (" + fmtDur(base) + ", median of 3)",
		Command: e.command,
	})
	return nil
}

// mineAndWait mines one block on miner and returns the time until every
// node of nodes has it as head.
func mineAndWait(ctx context.Context, miner *node, nodes []*node, timeout time.Duration) (time.Duration, error) {
	start := time.Now()
	mined, err := miner.Client().Mine(ctx)
	if err != nil {
		return 0, fmt.Errorf("mine on %s: %w", miner.Name(), err)
	}
	st, err := miner.Client().Status(ctx)
	if err != nil {
		return 0, err
	}
	head := st.Head
	if err := waitAll(ctx, nodes, timeout, func(s client.Status) bool { return s.Head == head }); err != nil {
		return 0, fmt.Errorf("block %d of %s did not reach every node: %w", mined.Index, miner.Name(), err)
	}
	return time.Since(start), nil
}

// waitAll polls every node's /status until cond holds for all of them.
func waitAll(ctx context.Context, nodes []*node, timeout time.Duration, cond func(client.Status) bool) error {
	var lagging *node
	err := waitFor(ctx, 10*time.Millisecond, timeout, func() (bool, error) {
		lagging = nil
		for _, n := range nodes {
			st, err := n.Client().Status(ctx)
			if err != nil || !cond(st) {
				lagging = n
				return false, nil
			}
		}
		return true, nil
	})
	if errors.Is(err, errNotWithin) {
		err = fmt.Errorf("%s still lagging after %s; log:\n%s", lagging.Name(), timeout, lagging.LogTail(10))
	}
	return err
}
