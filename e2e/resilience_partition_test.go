package e2e

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/gossipchain/gossipchain/chain"
)

// TestResiliencePartition splits a LAN of four network namespaces, whose
// nodes found each other by mDNS, into two halves by moving two bridge ports
// to an unconnected bridge (their traffic to the other half is dropped
// silently). Both halves mine, each with a transaction of its own; the half
// that mined more wins. Once the ports are back, every node must be on the
// heavier branch within a bounded time, and the losing half's transaction
// must be pending again there, then mined. The suite holds the partition for
// 5 seconds, which connections survive; the long form holds it for 75
// seconds, long enough for them to time out, and repeats the cycle three
// times. It needs root, like every LAN test.
func TestResiliencePartition(t *testing.T) {
	cycles := scale(1, 3)
	hold := scale(5*time.Second, 75*time.Second)
	healBound := scale(90*time.Second, 3*time.Minute)
	l := newSplitLAN(t, 4)
	var nodes []*node
	for i := 1; i <= 4; i++ {
		nodes = append(nodes, l.startHostNode(i, quietOpts(nodeOptions{network: "split"})))
	}
	reportProblems(t, nodes...)
	left, right := nodes[:2], nodes[2:]
	waitFor(t, "every node finds the three others by mDNS", waitTimeout, func() error {
		for i, n := range nodes {
			peers, err := n.peerSet()
			if err != nil {
				return err
			}
			if len(peers) < 3 {
				return fmt.Errorf("node %d has %d peers", i+1, len(peers))
			}
		}
		return nil
	})
	nodes[0].mine()
	sameHead(t, nodes, 2)
	tried(t, "%d partitions of a 4-host LAN into 2+2 (bridge ports moved away, traffic dropped silently), held %s, both halves mining, then healed", cycles, hold)

	var healTimes []time.Duration
	for c := range cycles {
		l.cut(3, 4)
		// The left half mines two blocks, one with its own transaction.
		leftTx := mustPostTx(t, left[0], fmt.Sprintf("left-%d", c))
		mineOnSide(t, left, 0)
		mineOnSide(t, left, 1)
		// The right half mines three, also with a transaction.
		rightTx := mustPostTx(t, right[0], fmt.Sprintf("right-%d", c))
		mineOnSide(t, right, 0)
		mineOnSide(t, right, 1)
		mineOnSide(t, right, 0)
		// Held longer in the long form, both halves mining now and then.
		for end := time.Now().Add(hold); time.Now().Before(end); {
			time.Sleep(5 * time.Second)
			mineOnSide(t, left, 0)
			mineOnSide(t, right, 1)
			mineOnSide(t, right, 0)
		}
		for left[0].mustStatus().Height >= right[0].mustStatus().Height {
			mineOnSide(t, right, 0)
		}
		heavy, light := right[0].mustStatus(), left[0].mustStatus()
		for _, n := range left {
			if code, err := n.blockCode(heavy.Head.String()); err != nil || code != http.StatusNotFound {
				t.Fatalf("the partition let the right half's head through: %d %v", code, err)
			}
		}
		t.Logf("cycle %d: partitioned: left at %d (%s), right at %d (%s)", c+1, light.Height, light.Head, heavy.Height, heavy.Head)

		l.heal(3, 4)
		healed, diagnosed := time.Now(), false
		waitFor(t, "every node on the heavier branch after the heal", healBound, func() error {
			for i, n := range nodes {
				ok, err := n.hasOnMain(heavy.Head, heavy.Height)
				if err == nil && !ok {
					err = fmt.Errorf("node %d does not have %s at %d on its main chain", i+1, heavy.Head, heavy.Height)
				}
				if err != nil {
					if time.Since(healed) > healBound-time.Second && !diagnosed {
						diagnose(t, nodes...)
						diagnosed = true
					}
					return err
				}
			}
			return nil
		})
		took := time.Since(healed)
		healTimes = append(healTimes, took)
		// The left half's transaction went back to its pool.
		for i, n := range left {
			st, err := n.txStatus(leftTx)
			if err != nil || (st != "pending" && st != "confirmed") {
				t.Fatalf("left node %d: the losing half's transaction %s is %q (%v), want pending again or mined", i+1, leftTx, st, err)
			}
		}
		// Mined now, it is confirmed everywhere, with the right half's.
		left[0].mine()
		head := sameHead(t, nodes, heavy.Height+1)
		for i, n := range nodes {
			for _, id := range []chain.Hash{leftTx, rightTx} {
				if st, err := n.txStatus(id); err != nil || st != "confirmed" {
					t.Fatalf("node %d: transaction %s is %q (%v) after the heal, want confirmed", i+1, id, st, err)
				}
			}
			n.mustValidChain()
		}
		t.Logf("cycle %d: healed in %s; head %s", c+1, took.Round(100*time.Millisecond), head)
	}
	held(t, "after each of %d partitions every node was on the heavier branch within %v of the heal (bound %s); the losing half's transaction was pending again on both of its nodes and, once mined, confirmed on all four with the winning half's; all chains valid",
		cycles, healTimes, healBound)
}

// mineOnSide mines on side[i] and waits for the rest of the side to follow.
func mineOnSide(t *testing.T, side []*node, i int) {
	t.Helper()
	out := side[i].mine()
	hash, index := out.Hash, out.Index
	waitFor(t, "the block reaches the rest of its side", waitTimeout, func() error {
		for _, n := range side {
			if ok, err := n.hasOnMain(hash, index); err != nil || !ok {
				return fmt.Errorf("%s@%d not on %s's main chain (%v)", hash, index, n.opts.httpAddr, err)
			}
		}
		return nil
	})
}

func mustPostTx(t *testing.T, n *node, sender string) chain.Hash {
	t.Helper()
	id, code, err := n.postTx(sender, "merchant", 3)
	if err != nil || code != http.StatusCreated {
		t.Fatalf("POST /transactions/new: %d %v", code, err)
	}
	return id
}
