package sync

import (
	"slices"
	gosync "sync"
	"testing"
	"time"

	"github.com/gossipchain/gossipchain/chain"
)

// benchNetwork is the network of the benchmarks; its difficulty is the
// tests' (every synced block's proof of work is checked all the same).
const benchNetwork = "bench"

var benchChains struct {
	gosync.Mutex
	blocks map[int][]*chain.Block
}

// benchBlocks returns a chain of n blocks after the bench genesis, built
// once per process.
func benchBlocks(b *testing.B, n int) []*chain.Block {
	benchChains.Lock()
	defer benchChains.Unlock()
	if benchChains.blocks == nil {
		benchChains.blocks = make(map[int][]*chain.Block)
	}
	if bs, ok := benchChains.blocks[n]; ok {
		return bs
	}
	params := testParams(b, benchNetwork, testDifficulty)
	bs := buildBlocks(b, params, params.Genesis(), n, "bench")
	benchChains.blocks[n] = bs
	return bs
}

func BenchmarkSync10k(b *testing.B) { benchmarkSync(b, 10_000) }
func BenchmarkSync50k(b *testing.B) { benchmarkSync(b, 50_000) }

// benchmarkSync measures a fresh node syncing n blocks from one peer over
// loopback: requests, transfer, decoding, full validation and storage.
func benchmarkSync(b *testing.B, n int) {
	blocks := benchBlocks(b, n)
	src := newTestNode(b, benchNetwork)
	addBlocks(b, src.chain, blocks)
	want := src.head().Hash
	b.ResetTimer()
	var total time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		dst := newTestNode(b, benchNetwork)
		b.StartTimer()
		start := time.Now()
		connect(b, dst, src)
		waitSyncedTo(b, dst, want)
		total += time.Since(start)
		b.StopTimer()
		dst.close()
		b.StartTimer()
	}
	b.ReportMetric(float64(n)*float64(b.N)/total.Seconds(), "blocks/s")
}

// waitSyncedTo waits for n's head to be want, waking on head changes.
func waitSyncedTo(b *testing.B, n *testNode, want chain.Hash) {
	deadline := time.After(5 * time.Minute)
	for {
		ch := n.chain.HeadChanged()
		if n.head().Hash == want {
			return
		}
		select {
		case <-ch:
		case <-deadline:
			b.Fatalf("sync did not finish: height %d", n.head().Height)
		}
	}
}

// BenchmarkGossipLatency measures the delay from publishing a freshly mined
// block to its adoption by each other node of a ring of 10 (at most 5 hops).
func BenchmarkGossipLatency(b *testing.B) {
	nodes := make([]*testNode, 10)
	for i := range nodes {
		nodes[i] = newTestNode(b, benchNetwork)
	}
	lineConnect(b, nodes)
	connect(b, nodes[len(nodes)-1], nodes[0])
	waitMesh(b, nodes)

	var lat []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		origin := nodes[i%len(nodes)]
		b.StopTimer()
		blk, _, err := origin.miner.MineBlock(b.Context())
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		var (
			wg gosync.WaitGroup
			mu gosync.Mutex
		)
		start := time.Now()
		for _, n := range nodes {
			if n == origin {
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				timeout := time.After(30 * time.Second)
				for {
					ch := n.chain.HeadChanged()
					if n.head().Hash == blk.Hash {
						d := time.Since(start)
						mu.Lock()
						lat = append(lat, d)
						mu.Unlock()
						return
					}
					select {
					case <-ch:
					case <-timeout:
						return
					}
				}
			}()
		}
		if err := origin.svc.PublishBlock(b.Context(), blk); err != nil {
			b.Fatal(err)
		}
		wg.Wait()
	}
	b.StopTimer()
	if want := b.N * (len(nodes) - 1); len(lat) != want {
		b.Fatalf("%d deliveries, want %d", len(lat), want)
	}
	slices.Sort(lat)
	pct := func(p float64) float64 {
		return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) / 1000
	}
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
}
