package sync

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
)

// TestSyncNotPinned: a peer that claims a much heavier chain and answers
// every chain-exchange request with a block the node already has, or with
// nothing at all, cannot hold the node's sync: its replies make no progress
// or contradict its status, it is penalised, and the lagging node catches up
// from an honest peer within the deadline while the attacker stays up. A
// peer that answers slowly holds a sync session at most SessionTimeout, and
// Resolve returns within its context's deadline meanwhile.
func TestSyncNotPinned(t *testing.T) {
	honest := newTestNode(t, testNetwork)
	params := honest.params
	genesis := params.Genesis()
	mine := buildBlocks(t, params, genesis, 600, "honest")
	addBlocks(t, honest.chain, mine)

	cases := []struct {
		name  string
		serve func(s network.Stream, req blockRequest)
	}{
		{"known block every time", func(s network.Stream, _ blockRequest) {
			s.Write(okHeader())
			s.Write(blockFrames(mine[0]))
			s.Write([]byte{0})
		}},
		{"empty reply", func(s network.Stream, _ blockRequest) {
			s.Write(okHeader())
			s.Write([]byte{0})
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			victim := newTestNode(t, testNetwork)
			addBlocks(t, victim.chain, mine[:1]) // knows block 2
			var requests atomic.Int64
			evil := newEvilServer(t, params, func(s network.Stream, req blockRequest) {
				requests.Add(1)
				tc.serve(s, req)
			})
			dialRaw(t, victim, evil)
			connect(t, victim, honest)
			waitSameHead(t, []*testNode{victim}, honest.head().Hash, 30*time.Second)
			waitFor(t, 10*time.Second, "the attacker penalised", func() bool { return victim.node.Banned(evil.ID()) })
			if n := requests.Load(); n > 2*MaxNoProgress+2 {
				t.Fatalf("the attacker was asked %d times", n)
			}
		})
	}

	t.Run("slow replies", func(t *testing.T) {
		victim := newTestNode(t, testNetwork, func(c *Config) {
			c.SessionTimeout = 2 * time.Second
			c.RequestTimeout = 5 * time.Second
		})
		addBlocks(t, victim.chain, mine[:1])
		release := make(chan struct{})
		t.Cleanup(func() { close(release) })
		evil := newEvilServer(t, params, func(s network.Stream, req blockRequest) {
			select { // never answers before the client gives up
			case <-release:
			case <-time.After(10 * time.Second):
			}
		})
		dialRaw(t, victim, evil)
		waitFor(t, 10*time.Second, "a sync from the attacker under way", func() bool { return victim.svc.Stats().RequestsMade > 0 })
		start := time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		defer cancel()
		_, err := victim.svc.Resolve(ctx)
		if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 3*time.Second {
			t.Fatalf("Resolve returned %v after %s, want its deadline after 500ms", err, time.Since(start))
		}
		connect(t, victim, honest)
		waitSameHead(t, []*testNode{victim}, honest.head().Hash, 30*time.Second)
		if victim.node.Banned(evil.ID()) {
			t.Fatalf("a slow peer was banned")
		}
	})
}
