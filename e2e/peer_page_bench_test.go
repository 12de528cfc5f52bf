package e2e

import (
	"context"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/multiformats/go-multiaddr"

	"github.com/gossipchain/gossipchain/chain"
	"github.com/gossipchain/gossipchain/p2p"
)

// BenchmarkPeerPage measures, against one real node, the time from GET
// /mine to the block shown verified in a headless chromium tab joined over
// WebTransport (tab-ms), and, in the same run, to the same block decoded
// and its proof of work checked by a Go peer joined over QUIC (go-ms): the
// medians over b.N blocks. It reports the bundle's size (bundle-bytes) and
// the 1-minute load average; it logs the CPU.
//
//	scripts/build-peer-page.sh
//	go test -run '^$' -bench BenchmarkPeerPage -benchtime 20x ./e2e/
func BenchmarkPeerPage(b *testing.B) {
	n := startBrowserNode(b)
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
