package e2e

import (
	"context"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/heapprofiler"
	cdpruntime "github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/multiformats/go-multiaddr"

	"github.com/gossipchain/gossipchain/chain"
	"github.com/gossipchain/gossipchain/p2p"
)

// BenchmarkPeerPage measures, against one real node, the time from GET
// /mine to the block shown verified in a headless chromium tab joined over
// WebTransport (tab-ms: its hash, proof of work and place in the tab's
// header chain checked), and, in the same run, to the same block decoded
// and its proof of work checked by a Go peer joined over QUIC (go-ms): the
// medians over b.N blocks. It reports the bundle's size (bundle-bytes) and
// the 1-minute load average; it logs the CPU.
//
//	scripts/build-peer-page.sh
//	go test -run '^$' -bench BenchmarkPeerPage -benchtime 20x ./e2e/
func BenchmarkPeerPage(b *testing.B) {
	n := startBrowserNode(b, nodeOptions{})
	needPeerPage(b, n)
	ctx, cancel := requestCtx()
	defer cancel()
	code, js, err := n.Client().Raw(ctx, http.MethodGet, "/peer/peer.js", nil)
	if err != nil || code != http.StatusOK {
		b.Fatalf("GET /peer/peer.js: %d %v", code, err)
	}

	var mu sync.Mutex
	goSeen := map[string]time.Time{}
	ref, _ := startGoPeer(b, n.opts.network, func(_ context.Context, _ peer.ID, m *pubsub.Message) pubsub.ValidationResult {
		at := time.Now()
		id, payload, err := p2p.Unframe(m.Data)
		if err != nil {
			return pubsub.ValidationReject
		}
		blk, err := chain.DecodeBlock(payload, 0)
		if err != nil || blk.Hash != id || !blk.MeetsTarget() {
			return pubsub.ValidationReject
		}
		mu.Lock()
		goSeen[blk.Hash.String()] = at
		mu.Unlock()
		return pubsub.ValidationAccept
	})
	for _, a := range n.mustStatus().Addrs {
		if strings.Contains(a, "/quic-v1/p2p/") {
			if err := ref.Connect(b.Context(), multiaddr.StringCast(a)); err != nil {
				b.Fatal(err)
			}
			break
		}
	}
	goAt := func(hash string) time.Time {
		var at time.Time
		waitFor(b, "the Go peer to check block "+hash, waitTimeout, func() error {
			mu.Lock()
			defer mu.Unlock()
			if at = goSeen[hash]; at.IsZero() {
				return os.ErrNotExist
			}
			return nil
		})
		return at
	}

	br := newQUICBrowser(b)
	br.openPeerPage(n, "")
	br.mineUntilVerified(n) // the tab is a topic peer of the node from then on
	goAt(n.mine().Hash.String())

	var tab, goRef []float64
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		mined := n.mine()
		tabAt := br.waitVerdict(mined.Hash.String(), "verified", blockVerifiedWithin)
		tab = append(tab, float64(tabAt.Sub(start).Microseconds())/1000)
		goRef = append(goRef, float64(goAt(mined.Hash.String()).Sub(start).Microseconds())/1000)
	}
	b.StopTimer()
	b.ReportMetric(median(tab), "tab-ms")
	b.ReportMetric(median(goRef), "go-ms")
	b.ReportMetric(float64(len(js)), "bundle-bytes")
	b.ReportMetric(loadAverage(b), "load1")
	b.Logf("CPU %s; tab-ms %v; go-ms %v", cpuName(), tab, goRef)
}

// cpuName returns the model name of /proc/cpuinfo.
func cpuName() string {
	data, _ := os.ReadFile("/proc/cpuinfo")
	for _, line := range strings.Split(string(data), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}

// tabHeapBytes returns the tab's used JavaScript heap (CDP
// Runtime.getHeapUsage) after a full garbage collection.
func tabHeapBytes(br *browser) float64 {
	br.t.Helper()
	var used float64
	br.run("read the heap", chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		if _, err := cdp.Call(ctx, t, heapprofiler.CollectGarbage, cdp.Empty{}); err != nil {
			return err
		}
		u, err := cdp.Call(ctx, t, cdpruntime.GetHeapUsage, cdp.Empty{})
		used = u.UsedSize
		return err
	}))
	return used
}

// BenchmarkPeerPageHeaders measures the tab following a chain of 10,000
// blocks (written with chaintest, as BenchmarkExplorer's): the time from
// opening the page to its header chain holding the node's head, every
// header checked (sync-ms), and the tab's JavaScript heap after a full
// collection (heap-MB), beside the heap of the same page following a chain
// of the genesis alone, in the same run (heap-empty-MB). It reports the
// 1-minute load average and logs the CPU.
//
//	scripts/build-peer-page.sh
//	go test -run '^$' -bench BenchmarkPeerPageHeaders -benchtime 3x ./e2e/
func BenchmarkPeerPageHeaders(b *testing.B) {
	const blocks = 10_000
	full := startBrowserChain(b, "tabheaders", blocks)
	empty := startBrowserNode(b, nodeOptions{network: "tabempty", difficulty: benchDifficulty})
	head := full.mustStatus().Head.String()

	var syncMS, heap, heapEmpty []float64
	b.ResetTimer()
	for range b.N {
		br := newQUICBrowser(b)
		br.openPeerPage(empty, "")
		heapEmpty = append(heapEmpty, tabHeapBytes(br)/(1<<20))
		start := time.Now()
		br.openPeerPage(full, "")
		br.waitTabHead(head)
		syncMS = append(syncMS, float64(time.Since(start).Microseconds())/1000)
		heap = append(heap, tabHeapBytes(br)/(1<<20))
	}
	b.StopTimer()
	b.ReportMetric(median(syncMS), "sync-ms")
	b.ReportMetric(median(heap), "heap-MB")
	b.ReportMetric(median(heapEmpty), "heap-empty-MB")
	b.ReportMetric(loadAverage(b), "load1")
	b.Logf("CPU %s; %d headers; sync-ms %v; heap-MB %v; heap-empty-MB %v", cpuName(), blocks, syncMS, heap, heapEmpty)
}
