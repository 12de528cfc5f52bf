package sync

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/gossipchain/gossipchain/chain"
	"github.com/gossipchain/gossipchain/chain/headerchain"
)

// BenchmarkLightGossipHead measures the time from a block's publication to
// a light node taking it as its head from block gossip (header checked,
// body checked against the header, header stored), against a full node
// the same two hops away in the same run (block validated and stored):
// miner a publishes, relay b forwards to full node c and to the light node.
func BenchmarkLightGossipHead(b *testing.B) {
	heads := make(chan chain.Hash, 64)
	blocks := make(chan chain.Hash, 64)
	a, relay := newTestNode(b, testNetwork), newTestNode(b, testNetwork)
	c := newTestNode(b, testNetwork, func(cfg *Config) {
		cfg.OnBlock = func(ev BlockEvent) { blocks <- ev.Block.Hash }
	})
	connect(b, a, relay)
	connect(b, relay, c)
	light := newLightNode(b, a.params, nil, func(cfg *LightConfig) {
		cfg.HeaderSync.StatusInterval = time.Hour // heads from gossip only
		cfg.OnHead = func(h headerchain.Head) { heads <- h.Hash }
	})
	light.dial(b, relay.node.Host())
	waitFor(b, 30*time.Second, "the block meshes formed", func() bool {
		return slices.Contains(relay.svc.blocks.MeshPeers(), light.node.ID()) &&
			slices.Contains(relay.svc.blocks.MeshPeers(), c.node.ID()) &&
			slices.Contains(a.svc.blocks.MeshPeers(), relay.node.ID())
	})
	wait := func(ch chan chain.Hash, want chain.Hash) bool {
		timeout := time.After(30 * time.Second)
		for {
			select {
			case got := <-ch:
				if got == want {
					return true
				}
			case <-timeout:
				return false
			}
		}
	}
	var full, lightTime time.Duration
	ctx := context.Background()
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		blk, _, err := a.miner.MineBlock(ctx)
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		start := time.Now()
		if err := a.svc.PublishBlock(ctx, blk); err != nil {
			b.Fatal(err)
		}
		done := make(chan time.Duration, 1)
		go func() {
			if wait(heads, blk.Hash) {
				done <- time.Since(start)
			}
			close(done)
		}()
		if !wait(blocks, blk.Hash) {
			b.Fatalf("block %d did not reach the full node", blk.Index)
		}
		full += time.Since(start)
		d, ok := <-done
		if !ok {
			b.Fatalf("block %d did not reach the light node by gossip", blk.Index)
		}
		lightTime += d
	}
	b.StopTimer()
	b.ReportMetric(float64(full.Microseconds())/float64(b.N), "full-µs/block")
	b.ReportMetric(float64(lightTime.Microseconds())/float64(b.N), "light-µs/block")
}
