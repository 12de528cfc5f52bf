package sync

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/network"

	"github.com/gossipchain/gossipchain/chain"
)

// TestSlowSyncPin: k peers that claim a chain a million blocks heavier and
// answer each chain-exchange request after 25 s with one real next block
// hold nobody's sync. A fresh node that has a session with each of them
// under way catches up with an honest peer 2,000 blocks ahead within twice
// the time it takes without them (measured here first; at least a second),
// Resolve answers
// at once with the honest result, and every slow peer is penalised once a
// sync window of requests in flight has brought less than the floor.
func TestSlowSyncPin(t *testing.T) {
	honest := newTestNode(t, testNetwork)
	params := honest.params
	blocks := buildBlocks(t, params, params.Genesis(), 2000, "honest")
	addBlocks(t, honest.chain, blocks)
	next := make(map[chain.Hash]*chain.Block, len(blocks))
	prev := params.Genesis().Hash
	for _, b := range blocks {
		next[prev] = b
		prev = b.Hash
	}
	fresh := newTestNode(t, testNetwork)
	start := time.Now()
	connect(t, fresh, honest)
	waitSameHead(t, []*testNode{fresh}, honest.head().Hash, time.Minute)
	alone := time.Since(start)
	t.Logf("unattacked: caught up 2000 blocks in %s", alone.Round(time.Millisecond))

	for _, k := range []int{2, 8} {
		t.Run(fmt.Sprintf("%d slow peers", k), func(t *testing.T) {
			victim := newTestNode(t, testNetwork)
			release := make(chan struct{})
			t.Cleanup(func() { close(release) })
			slow := func(s network.Stream, req blockRequest) {
				select {
				case <-release:
					return
				case <-time.After(25 * time.Second):
				}
				s.Write(okHeader())
				for _, h := range req.Locator {
					if b := next[h]; b != nil {
						s.Write(blockFrames(b))
						break
					}
				}
				s.Write([]byte{0})
			}
			var evils []*evilServer
			for range k {
				e := newEvilServer(t, params, slow)
				dialRaw(t, victim, e)
				evils = append(evils, e)
			}
			waitFor(t, 30*time.Second, "a session with every slow peer under way, all stalled", func() bool {
				return victim.svc.sessions.count() == k && victim.svc.sessions.mayStart(time.Now())
			})

			start := time.Now()
			connect(t, victim, honest)
			waitSameHead(t, []*testNode{victim}, honest.head().Hash, time.Minute)
			took := time.Since(start)
			// Below a second, the times are this shared machine's
			// scheduling noise: twice a second at least.
			if limit := 2 * max(alone, time.Second); took > limit {
				t.Fatalf("with %d slow peers the node caught up in %s, more than %s (twice its %s alone, at least a second)", k, took, limit, alone)
			}

			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			start = time.Now()
			if _, err := victim.svc.Resolve(ctx); err != nil {
				t.Fatalf("Resolve beside slow peers: %v after %s", err, time.Since(start))
			}
			resolved := time.Since(start)
			if resolved > 2*resolveGiveUp+time.Second {
				t.Fatalf("Resolve took %s beside slow peers", resolved)
			}

			waitFor(t, DefaultSyncWindow+30*time.Second, "every slow peer penalised", func() bool {
				for _, e := range evils {
					if !victim.node.Banned(e.ID()) {
						return false
					}
				}
				return true
			})
			if victim.node.Banned(honest.node.ID()) {
				t.Fatalf("the honest peer was penalised")
			}
			t.Logf("%d slow peers: caught up in %s (alone %s), Resolve answered in %s, all %d penalised",
				k, took.Round(time.Millisecond), alone.Round(time.Millisecond), resolved.Round(time.Millisecond), k)
		})
	}
}
