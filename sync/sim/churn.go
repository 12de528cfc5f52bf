package sim

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/gossipchain/gossipchain/chain"
	"github.com/gossipchain/gossipchain/chain/store"
)

// ChurnReport is the outcome of Churn.
type ChurnReport struct {
	Nodes         int
	Share         float64 // of the nodes replaced per minute
	Duration      time.Duration
	Left, Joined  int
	Blocks        int
	BlockEvery    time.Duration
	Window        time.Duration
	Expected, Got int // (block, staying node) pairs, and those delivered
	// MissedNew counts the pairs missed by nodes that had joined less than
	// Window before the block.
	MissedNew int
}

// Rate is the share of the blocks that reached the nodes that stayed.
func (r ChurnReport) Rate() float64 {
	if r.Expected == 0 {
		return 0
	}
	return float64(r.Got) / float64(r.Expected)
}

func (r ChurnReport) String() string {
	return fmt.Sprintf("churn: %d nodes, %.0f%% replaced per minute for %s (%d left, %d joined); %d blocks, one every %s; "+
		"delivered within %s to the nodes running from its publication to then: %d of %d (%.3f%%; of the %d missed, %d by nodes that had joined less than %s before the block)\n",
		r.Nodes, r.Share*100, r.Duration, r.Left, r.Joined, r.Blocks, r.BlockEvery, r.Window,
		r.Got, r.Expected, 100*r.Rate(), r.Expected-r.Got, r.MissedNew, r.Window)
}

// Churn replaces share of the nodes every minute for d, one at a time at
// even intervals (a random running node leaves, a new one with an empty
// chain joins, bootstrapped to Config.Degree random running nodes), while
// a random running node mines a block every blockEvery. A block counts as
// delivered to a node running both when it was published and window later
// if that node has it then.
func (n *Network) Churn(ctx context.Context, share float64, d, blockEvery, window time.Duration) (ChurnReport, error) {
	size := len(n.Nodes())
	r := ChurnReport{Nodes: size, Share: share, Duration: d, BlockEvery: blockEvery, Window: window}
	perMinute := int(math.Round(share * float64(size)))
	churnEvery := time.Duration(math.MaxInt64)
	if perMinute > 0 {
		churnEvery = time.Minute / time.Duration(perMinute)
	}
	type check struct {
		hash  chain.Hash
		due   time.Time
		nodes []*Node
	}
	var checks []check
	start := time.Now()
	nextChurn, nextBlock := start.Add(churnEvery), start.Add(blockEvery)
	end := start.Add(d)
	settle := func(now time.Time, all bool) {
		kept := checks[:0]
		for _, c := range checks {
			if !all && c.due.After(now) {
				kept = append(kept, c)
				continue
			}
			for _, nd := range c.nodes {
				if nd.Running() {
					r.Expected++
					if nd.Chain.HasBlock(c.hash) {
						r.Got++
					} else if nd.joined.After(c.due.Add(-2 * window)) {
						r.MissedNew++
					}
				}
			}
		}
		checks = kept
	}
	for {
		now := time.Now()
		settle(now, false)
		if !now.Before(end) && len(checks) == 0 {
			break
		}
		if now.Before(end) && !now.Before(nextChurn) {
			running := n.Nodes()
			leaving := running[n.rng.IntN(len(running))]
			if err := leaving.Close(); err != nil {
				return r, fmt.Errorf("node %d leaving: %w", leaving.Index, err)
			}
			r.Left++
			if _, err := n.AddEmptyNode(ctx, -1, nil); err != nil {
				return r, err
			}
			r.Joined++
			nextChurn = nextChurn.Add(churnEvery)
		}
		if now.Before(end) && !now.Before(nextBlock) {
			running := n.Nodes()
			// A miner works on the network's head: a node that joined a
			// moment ago and is still catching up would mine a stale block.
			miners := headNodes(running)
			b, err := miners[n.rng.IntN(len(miners))].Mine(ctx)
			if err != nil {
				return r, err
			}
			r.Blocks++
			checks = append(checks, check{hash: b.Hash, due: time.Now().Add(window), nodes: running})
			nextBlock = nextBlock.Add(blockEvery)
		}
		next := end
		if len(checks) > 0 {
			next = checks[0].due
		}
		if now.Before(end) {
			next = minTime(next, nextChurn, nextBlock)
		}
		time.Sleep(max(time.Until(next), pollStep))
	}
	return r, nil
}

// headNodes returns the nodes whose head has the most work.
func headNodes(nodes []*Node) []*Node {
	var best []*Node
	var work store.Head
	for _, nd := range nodes {
		h := nd.Chain.Head()
		switch {
		case work.Work == nil || h.Work.Cmp(work.Work) > 0:
			best, work = []*Node{nd}, h
		case h.Work.Cmp(work.Work) == 0:
			best = append(best, nd)
		}
	}
	return best
}

func minTime(t time.Time, ts ...time.Time) time.Time {
	for _, u := range ts {
		if u.Before(t) {
			t = u
		}
	}
	return t
}

// JoinReport is the outcome of Join.
type JoinReport struct {
	Height     uint64        // the network's head the new node reached
	Virtual    time.Duration // virtual time from its start to that head
	NotReached bool
}

func (r JoinReport) String() string {
	if r.NotReached {
		return fmt.Sprintf("join: a new node did not reach height %d within %s\n", r.Height, r.Virtual)
	}
	return fmt.Sprintf("join: a new node with an empty chain reached the network's head at height %d in %s of virtual time "+
		"(%.0f blocks/s)\n", r.Height, fmtD(r.Virtual), float64(r.Height-1)/r.Virtual.Seconds())
}

// Join adds a node with an empty chain and measures the time until its
// head is that of the network (node with the heaviest head among the running).
func (n *Network) Join(ctx context.Context, timeout time.Duration) (JoinReport, error) {
	var target store.Head
	for _, nd := range n.Nodes() {
		if h := nd.Chain.Head(); target.Work == nil || h.Work.Cmp(target.Work) > 0 {
			target = h
		}
	}
	start := time.Now()
	nd, err := n.AddEmptyNode(ctx, -1, nil)
	if err != nil {
		return JoinReport{}, err
	}
	ok := waitUntil(ctx, timeout, pollStep, func() bool { return nd.Chain.HasBlock(target.Hash) })
	return JoinReport{Height: target.Height, Virtual: time.Since(start), NotReached: !ok}, nil
}
