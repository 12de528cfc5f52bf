package chain

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/gossipchain/gossipchain/chain/internal/powhash"
)

func BenchmarkValidateBlock(b *testing.B) {
	p := testParams(b, 8)
	var txs []Transaction
	for i := range 5 {
		txs = append(txs, makeTx(fmt.Sprintf("sender-%d", i), "recipient", uint64(i+1), uint64(i)))
	}
	blk := nextBlock(b, &p, p.Genesis(), "miner", txs...)
	b.ReportAllocs()
	for b.Loop() {
		if err := p.CheckBlockSanity(blk, testNow); err != nil {
			b.Fatal(err)
		}
	}
}

// benchChain is a chain of benchChainLen blocks at difficulty 4, each with
// two transactions and the reward, built once.
var benchChain struct {
	once   sync.Once
	p      Params
	blocks []*Block
}

const benchChainLen = 20_000

func longChain(b *testing.B) (Params, []*Block) {
	benchChain.once.Do(func() {
		p := testParams(b, 4)
		parent := p.Genesis()
		blocks := make([]*Block, 0, benchChainLen)
		for i := range benchChainLen {
			parent = nextBlock(b, &p, parent, "miner",
				makeTx("alice", "bob", uint64(i+1), uint64(i)), makeTx("carol", "dave", uint64(i+1), uint64(i)))
			blocks = append(blocks, parent)
		}
		benchChain.p, benchChain.blocks = p, blocks
	})
	return benchChain.p, benchChain.blocks
}

// BenchmarkAddBlocks inserts a chain of 20,000 blocks into a new store in
// batches of 500, as the sync layer does, and reports blocks per second.
func BenchmarkAddBlocks(b *testing.B) {
	p, blocks := longChain(b)
	const batch = 500
	var elapsed time.Duration
	n := 0
	for b.Loop() {
		b.StopTimer()
		cfg := testConfig(b, p)
		cfg.Now = time.Now
		c, err := Open(cfg)
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		start := time.Now()
		for i := 0; i < len(blocks); i += batch {
			if _, _, err := c.AddBlocks(blocks[i:min(i+batch, len(blocks))]); err != nil {
				b.Fatal(err)
			}
		}
		elapsed += time.Since(start)
		n += len(blocks)
		b.StopTimer()
		c.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(n)/elapsed.Seconds(), "blocks/s")
}

// BenchmarkAddBlock adds blocks one at a time: one disk sync per block.
func BenchmarkAddBlock(b *testing.B) {
	p, blocks := longChain(b)
	cfg := testConfig(b, p)
	cfg.Now = time.Now
	c, err := Open(cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	i := 0
	for b.Loop() {
		if i == len(blocks) {
			b.Fatal("chain exhausted")
		}
		if _, err := c.AddBlock(blocks[i]); err != nil {
			b.Fatal(err)
		}
		i++
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "blocks/s")
}

// BenchmarkOpen measures the check of a 20,000-block store on open.
func BenchmarkOpen(b *testing.B) {
	p, blocks := longChain(b)
	cfg := testConfig(b, p)
	cfg.Now = time.Now
	c, err := Open(cfg)
	if err != nil {
		b.Fatal(err)
	}
	if _, _, err := c.AddBlocks(blocks); err != nil {
		b.Fatal(err)
	}
	c.Close()
	for b.Loop() {
		c, err := Open(cfg)
		if err != nil {
			b.Fatal(err)
		}
		c.Close()
	}
	b.ReportMetric(float64(len(blocks)*b.N)/b.Elapsed().Seconds(), "blocks/s")
}

// BenchmarkMine measures the miner's proof attempts per second, on one
// thread and on every CPU, against the SHA-256 compression rate of this
// machine measured in the same run (powhash.CompressionRate, one core).
// ratio-of-sha256-limit is per thread: attempts/s ÷ threads ÷ the
// compression rate; the target is at least 0.8.
func BenchmarkMine(b *testing.B) {
	for _, threads := range []int{1, runtime.NumCPU()} {
		b.Run(fmt.Sprintf("threads=%d", threads), func(b *testing.B) {
			c := newTestChain(b, 64) // out of reach: every attempt is made
			m, err := NewMiner(c, MinerConfig{Address: "bench", Threads: threads})
			if err != nil {
				b.Fatal(err)
			}
			tmpl := c.blockTemplate(m.Address())
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

func BenchmarkComputeHash(b *testing.B) {
	blk := sampleBlock(b)
	for b.Loop() {
		blk.Proof++
		_ = blk.ComputeHash()
	}
}

func BenchmarkDecodeBlock(b *testing.B) {
	raw, _ := sampleBlock(b).MarshalBinary()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeBlock(raw, 0); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeBlockJSON(b *testing.B) {
	data := mustMarshal(b, sampleBlock(b))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeBlockJSON(data, 0); err != nil {
			b.Fatal(err)
		}
	}
}
