package sync

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/gossipchain/gossipchain/chain"
)

// headerBenchNetwork is the network of the header-sync benchmarks: 2 zero
// bits, so that a million blocks build in seconds (every header's proof of
// work is checked all the same).
const (
	headerBenchNetwork    = "headerbench"
	headerBenchDifficulty = 2
)

func BenchmarkHeaderSync100k(b *testing.B) { benchmarkHeaderSync(b, 100_000) }
func BenchmarkHeaderSync1M(b *testing.B)   { benchmarkHeaderSync(b, 1_000_000) }

// benchmarkHeaderSync measures a fresh header-only node downloading the n
// headers of one full node's chain over a real libp2p stream (requests,
// transfer, header checks, storage: headers/s), against a fresh full node
// syncing the same chain from the same peer in the same run (blocks/s),
// and reports both stores' size on disk and the heap each node holds once
// synced (the Go heap only: the header file and the full store's files are
// mapped, not counted).
func benchmarkHeaderSync(b *testing.B, n int) {
	params := testParams(b, headerBenchNetwork, headerBenchDifficulty)
	blocks := buildBlocks(b, params, params.Genesis(), n, "bench")
	src := startTestNode(b, params, b.TempDir())
	addBlocks(b, src.chain, blocks)
	want := src.head().Hash
	var headerTime, fullTime time.Duration
	var headerDisk, fullDisk int64
	var headerHeap, fullHeap int64
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		before := heapInUse()
		light := newLightNode(b, params, nil)
		b.StartTimer()
		start := time.Now()
		light.dial(b, src.node.Host())
		for light.headers.Head().Hash != want {
			if time.Since(start) > 10*time.Minute {
				b.Fatalf("header sync did not finish: height %d", light.headers.Head().Height)
			}
			time.Sleep(time.Millisecond)
		}
		headerTime += time.Since(start)
		b.StopTimer()
		headerDisk = fileSize(b, light.headersPath)
		headerHeap = heapInUse() - before

		before = heapInUse()
		dst := startTestNode(b, params, b.TempDir())
		start = time.Now()
		connect(b, dst, src)
		waitSyncedTo(b, dst, want)
		fullTime += time.Since(start)
		fullDisk = dirSize(b, dst.dir)
		fullHeap = heapInUse() - before
		dst.close()
		b.StartTimer()
	}
	b.StopTimer()
	b.ReportMetric(float64(n)*float64(b.N)/headerTime.Seconds(), "headers/s")
	b.ReportMetric(float64(n)*float64(b.N)/fullTime.Seconds(), "full-blocks/s")
	b.ReportMetric(float64(headerDisk)/float64(n), "header-disk-B/block")
	b.ReportMetric(float64(fullDisk)/float64(n), "full-disk-B/block")
	b.ReportMetric(float64(headerHeap)/float64(n), "header-heap-B/block")
	b.ReportMetric(float64(fullHeap)/float64(n), "full-heap-B/block")
	b.Logf("%d headers: header store %d bytes on disk, %d of heap; full node's data directory %d bytes, %d of heap; HeaderSize %d",
		n, headerDisk, headerHeap, fullDisk, fullHeap, chain.HeaderSize)
}

// heapInUse is the live heap after a collection: what a node holds.
func heapInUse() int64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}

func fileSize(b *testing.B, path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	return fi.Size()
}

// dirSize is the size of the regular files under dir.
func dirSize(b *testing.B, dir string) int64 {
	var total int64
	err := filepath.Walk(dir, func(_ string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() {
			total += fi.Size()
		}
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	return total
}
