package e2e

import (
	"fmt"
	"net/http"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/gossipchain/gossipchain/chain"
	"github.com/gossipchain/gossipchain/chain/chaintest"
	"github.com/gossipchain/gossipchain/chain/store"
)

// benchDifficulty makes the chains of the explorer benchmark quick to build
// and to mine on.
const benchDifficulty = 1

// writeChain writes a data directory whose chain has n blocks after the
// genesis of network/benchDifficulty, as a node would store them.
func writeChain(b testing.TB, dir, network string, n int) {
	b.Helper()
	p, err := chain.NewParams(network, benchDifficulty)
	if err != nil {
		b.Fatal(err)
	}
	c, err := store.Open(store.Config{Params: p, Path: filepath.Join(dir, "chain.db")})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	benchTx := func(i int) []chain.Transaction {
		return []chain.Transaction{chaintest.Tx(fmt.Sprintf("s%d", i%97), fmt.Sprintf("r%d", i%89), 1+uint64(i%1000), uint64(i+1))}
	}
	blocks := chaintest.Run{Miner: chaintest.Pay("bench-miner"), Txs: benchTx}.Blocks(b, &p, p.Genesis(), n)
	for batch := range slices.Chunk(blocks, 500) {
		if _, _, err := c.AddBlocks(batch); err != nil {
			b.Fatalf("add blocks: %v", err)
		}
	}
}

// pageMetrics are read from the page once its latest blocks are shown.
type pageMetrics struct {
	FirstPaint float64 `json:"fcp"`   // first-contentful-paint, ms after navigation start
	Bytes      float64 `json:"bytes"` // bytes of the page and every resource it fetched
	Resources  int     `json:"resources"`
}

const pageMetricsJS = `(() => {
  const fcp = performance.getEntriesByName('first-contentful-paint')[0];
  const nav = performance.getEntriesByType('navigation')[0];
  const res = performance.getEntriesByType('resource');
  let bytes = nav ? nav.encodedBodySize : 0;
  for (const r of res) bytes += r.encodedBodySize || 0;
  return { fcp: fcp ? fcp.startTime : -1, bytes, resources: res.length };
})()`

// BenchmarkExplorer measures, in headless chromium against a real node, the
// explorer's first paint, the time until its latest blocks are shown, the
// bytes it loads, and the time from GET /mine to the new block in the open
// page, on a chain of 100 and one of 100,000 blocks (same run, so the
// figures compare). With 100,000 blocks it also checks that a second node
// syncing the chain logs its progress toward the target height.
//
//	go test -run '^$' -bench BenchmarkExplorer -benchtime 5x ./e2e/
func BenchmarkExplorer(b *testing.B) {
	for _, n := range []int{100, 100_000} {
		b.Run(fmt.Sprintf("chain=%d", n), func(b *testing.B) {
			dir := b.TempDir()
			start := time.Now()
			writeChain(b, dir, "explorerbench", n)
			b.Logf("wrote %d blocks in %s", n, time.Since(start).Round(time.Millisecond))
			node := startNode(b, nodeOptions{network: "explorerbench", difficulty: benchDifficulty, datadir: dir,
				extra: []string{"--log-level", "info"}})
			br := newBrowser(b)
			var paint, rows, toPage time.Duration
			var bytes float64
			b.ResetTimer()
			for i := range b.N {
				t0 := time.Now()
				br.run("load", chromedp.Navigate(node.url+"/"), chromedp.WaitVisible(chromedp.CSS(`#latest-body tr`)),
					chromedp.WaitVisible(chromedp.CSS(`#live.on`)))
				rows += time.Since(t0)
				m := value(br, "page metrics", chromedp.Evaluate[pageMetrics](pageMetricsJS))
				paint += time.Duration(m.FirstPaint * float64(time.Millisecond))
				bytes += m.Bytes
				// The next block, from GET /mine to its row in the page.
				next := uint64(n) + 2 + uint64(i)
				br.eval(fmt.Sprintf(`window.__seen = new Promise(res => {
					const sel = '#latest-body tr[data-index="%d"]';
					const o = new MutationObserver(() => { if (document.querySelector(sel)) { o.disconnect(); res(Date.now()); } });
					o.observe(document.body, { childList: true, subtree: true });
				})`, next))
				sent := time.Now()
				if code, err := node.getJSON("/mine", nil); err != nil || code != http.StatusOK {
					b.Fatalf("GET /mine: %d %v", code, err)
				}
				at := value(br, "block in page", chromedp.Evaluate[int64](`window.__seen`, chromedp.EvalAwaitPromise))
				toPage += time.UnixMilli(at).Sub(sent)
			}
			b.StopTimer()
			k := float64(b.N)
			b.ReportMetric(float64(paint.Milliseconds())/k, "first-paint-ms")
			b.ReportMetric(float64(rows.Milliseconds())/k, "latest-blocks-ms")
			b.ReportMetric(float64(toPage.Microseconds())/1000/k, "block-to-page-ms")
			b.ReportMetric(bytes/k/1024, "page-KiB")
			br.noConsoleErrors()
			if n >= 10_000 {
				checkSyncProgress(b, node, n)
			}
		})
	}
}

// checkSyncProgress starts a node, opens its explorer, joins it to src and
// checks that while it syncs the page shows the sync progress and the node
// logs it with the target height, and that it logs one new-head line for
// the sync, without blocks=0.
func checkSyncProgress(b *testing.B, src *node, n int) {
	b.Helper()
	dst := startNode(b, nodeOptions{network: "explorerbench", difficulty: benchDifficulty,
		extra: []string{"--log-level", "info"}})
	br := newBrowser(b)
	br.open(dst.url + "/")
	start := time.Now()
	if err := dst.register(src.multiaddr()); err != nil {
		b.Fatal(err)
	}
	br.waitFor("sync progress shown", `#sync-card:not([hidden])`)
	b.Logf("explorer during the sync: %s", br.text("#sync-text"))
	head := src.mustStatus()
	sameHead(b, []*node{src, dst}, head.Height)
	took := time.Since(start)
	target := regexp.MustCompile(fmt.Sprintf(`msg="?sync(ing| started)"? .*height=\d+ target=%d`, head.Height))
	lines := target.FindAllString(dst.Log(), -1)
	b.Logf("synced %d blocks in %s, %d progress lines", head.Height-1, took.Round(time.Millisecond), len(lines))
	for _, l := range lines {
		b.Logf("  %s", l)
	}
	if len(lines) == 0 {
		b.Errorf("a sync of %d blocks (%s) logged no progress line", head.Height-1, took)
	}
	dst.waitLog("new head after the sync", `msg="new head"`, `source=sync`, fmt.Sprintf(`height=%d`, head.Height))
	if strings.Contains(dst.Log(), "blocks=0") {
		b.Error("blocks=0 logged")
	}
}
