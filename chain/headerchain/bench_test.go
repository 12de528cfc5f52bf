package headerchain_test

import (
	"testing"
	"time"

	"github.com/gossipchain/gossipchain/chain/chaintest"
)

// BenchmarkAdd measures checking and storing 100,000 headers in calls of
// 32,000 (one commit each, as the header syncer merges replies): headers/s
// without the network.
func BenchmarkAdd(b *testing.B) {
	p := chaintest.ParamsAt(b, 2)
	run := chaintest.Run{Miner: chaintest.Pay("m"), Spacing: chaintest.Millisecond}
	blocks, err := run.Build(&p, p.Genesis(), 100_000)
	if err != nil {
		b.Fatal(err)
	}
	headers := headersOf(b, blocks...)
	var total time.Duration
	for b.Loop() {
		b.StopTimer()
		c := open(b, config(b, p))
		b.StartTimer()
		start := time.Now()
		for i := 0; i < len(headers); i += 32000 {
			if _, err := c.Add(headers[i:min(i+32000, len(headers))]); err != nil {
				b.Fatal(err)
			}
		}
		total += time.Since(start)
	}
	b.ReportMetric(float64(len(headers))*float64(b.N)/total.Seconds(), "headers/s")
}
