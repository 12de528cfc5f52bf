package miner

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/gossipchain/gossipchain/chain/miner/internal/powhash"
)

// BenchmarkMine measures the miner's proof attempts per second, on one
// thread and on every CPU, against the SHA-256 compression rate of this
// machine measured in the same run (powhash.CompressionRate, one core).
// ratio-of-sha256-limit is per thread: attempts/s ÷ threads ÷ the
// compression rate; the target is at least 0.8.
func BenchmarkMine(b *testing.B) {
	for _, threads := range []int{1, runtime.NumCPU()} {
		b.Run(fmt.Sprintf("threads=%d", threads), func(b *testing.B) {
			c := newTestChain(b, 64) // out of reach: every attempt is made
			m, err := New(c, Config{Address: "bench", Threads: threads})
			if err != nil {
				b.Fatal(err)
			}
			tmpl := c.BlockTemplate(m.Address())
			before := powhash.CompressionRate(250 * time.Millisecond)
			start := m.Attempts()
			var elapsed time.Duration
			for b.Loop() {
				ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
				t0 := time.Now()
				if _, ok := m.search(ctx, tmpl, nil); ok {
					b.Fatal("proof found at difficulty 64")
				}
				elapsed += time.Since(t0)
				cancel()
			}
			rate := float64(m.Attempts()-start) / elapsed.Seconds()
			after := powhash.CompressionRate(250 * time.Millisecond)
			limit := (before + after) / 2
			b.ReportMetric(rate, "attempts/s")
			b.ReportMetric(limit, "sha256-blocks/s")
			b.ReportMetric(rate/float64(threads)/limit, "ratio-of-sha256-limit")
		})
	}
}
