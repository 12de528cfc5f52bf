package e2e

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// renderedJS runs in every document the browser opens: it records, in ms
// since the navigation started, when the explorer first replaced its
// "Loading…" placeholder with a page built from the node's data.
const renderedJS = `new MutationObserver((_, o) => {
  const v = document.getElementById('view');
  if (v && v.firstElementChild && !v.textContent.includes('Loading')) {
    window.__rendered = performance.now();
    o.disconnect();
  }
}).observe(document, { childList: true, subtree: true, characterData: true });`

// renderRounds is how many times each page is loaded in each state.
const renderRounds = 3

// BenchmarkExplorerWhileMining measures, in headless chromium, the time from
// navigation to the explorer's first page built from data, for the home
// page, a block, the forks view, an address and the peers, served by node 1
// of a three-node devnet on loopback (real processes, --mdns=false, nodes 2
// and 3 bootstrapped to node 1, default difficulty and miner threads): first
// with the nodes not mining (the same run's reference), then restarted with
// --mine and once every node mines. Each page is loaded renderRounds times
// in each state, each time in a new tab. It reports the median of the loads in
// each state, the slowest load while mining and the 1-minute load average
// then.
//
//	go test ./e2e/ -run '^$' -bench BenchmarkExplorerWhileMining -benchtime 1x -count 3
func BenchmarkExplorerWhileMining(b *testing.B) {
	chromiumPath(b)
	var idle, mining, worst, load float64
	for range b.N {
		nodes := startDevnet(b)
		br := newBrowser(b)
		st := nodes[0].mustStatus()
		block, err := nodes[0].Client().Block(context.Background(), fmt.Sprint(st.Height/2))
		if err != nil {
			b.Fatal(err)
		}
		pages := [][2]string{
			{"home", "/"},
			{"block", "/#/block/" + block.Hash.String()},
			{"forks", "/#/forks"},
			{"address", "/#/address/" + url.PathEscape(st.MinerAddress)},
			{"peers", "/#/peers"},
		}
		times := renderTimes(b, br, nodes[0].url, pages)
		idle += median(times)

		for _, n := range nodes {
			n.stop()
			n.opts.extra = append(n.opts.extra, "--mine")
			n.restart()
		}
		waitFor(b, "every node mining, 20 blocks on", waitTimeout, func() error {
			for i, n := range nodes {
				s, err := n.status()
				if err != nil {
					return err
				}
				if !s.Mining || s.HashRate == 0 || s.Height < st.Height+20 {
					return fmt.Errorf("node %d: mining %t, %.0f H/s, height %d", i+1, s.Mining, s.HashRate, s.Height)
				}
			}
			return nil
		})
		from, start := nodes[0].mustStatus().Height, time.Now()
		times = renderTimes(b, br, nodes[0].url, pages)
		to := nodes[0].mustStatus().Height
		b.Logf("blocks %d to %d while the pages loaded: %.1f a second", from, to, float64(to-from)/time.Since(start).Seconds())
		mining += median(times)
		worst = max(worst, slices.Max(times))
		load += loadAverage(b)
	}
	k := float64(b.N)
	b.ReportMetric(mining/k, "mining-ms/page")
	b.ReportMetric(idle/k, "idle-ms/page")
	b.ReportMetric(worst, "mining-max-ms")
	b.ReportMetric(load/k, "load-1m")
}

// startDevnet starts three nodes that do not mine yet, node 1 with a chain
// of 30 blocks, and waits until they share its head and node 1 has two
// peers.
func startDevnet(b *testing.B) []*node {
	opts := nodeOptions{network: "minebench", retarget: true,
		// The last --miner-threads wins over the harness's 1: 0 is the default.
		extra: []string{"--miner-threads", "0", "--log-level", "info"}}
	first := startNode(b, opts)
	opts.bootstrap = []string{first.multiaddr()}
	nodes := []*node{first, startNode(b, opts), startNode(b, opts)}
	for range 30 {
		first.mine()
	}
	sameHead(b, nodes, 31)
	waitFor(b, "node 1 has two peers", waitTimeout, func() error {
		if s := first.mustStatus(); s.Peers < 2 {
			return fmt.Errorf("%d peers", s.Peers)
		}
		return nil
	})
	return nodes
}

// renderTimes loads every page renderRounds times and returns the render
// times in ms, logging each page's.
func renderTimes(b *testing.B, br *browser, base string, pages [][2]string) []float64 {
	var all []float64
	per := map[string][]string{}
	for range renderRounds {
		for _, p := range pages {
			var ms float64
			waitFor(b, p[0]+" rendered", waitTimeout, func() error {
				// A load that failed is tried again: the page is left for
				// an error page when the machine's network interfaces
				// change (net::ERR_NETWORK_CHANGED), and a poll can start
				// in the context of the tab's first, blank document.
				var err error
				if ms, err = renderTime(br.ctx, base+p[1]); err != nil {
					b.Logf("%s: load again: %v", p[0], err)
				}
				return err
			})
			all = append(all, ms)
			per[p[0]] = append(per[p[0]], fmt.Sprintf("%.0f", ms))
		}
	}
	for _, p := range pages {
		b.Logf("%-8s %s ms", p[0], strings.Join(per[p[0]], " "))
	}
	b.Logf("load average %.2f", loadAverage(b))
	return all
}

// renderTime opens pageURL in a new tab and returns the ms from the start of
// the navigation to the first page built from the node's data. Each load
// has a tab of its own, closed after it: a tab that left the explorer
// (for about:blank) kept its /events connection open for about a minute,
// and five of them filled chromium's six connections to a host, so that
// the next load waited for one.
func renderTime(browserCtx context.Context, pageURL string) (float64, error) {
	tab, closeTab := chromedp.NewContext(browserCtx)
	defer closeTab()
	// The tab's first action binds it to tab, which has no deadline.
	if err := chromedp.Do(tab, chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, page.AddScriptToEvaluateOnNewDocument,
			page.AddScriptToEvaluateOnNewDocumentParams{Source: renderedJS})
		return err
	})); err != nil {
		return 0, fmt.Errorf("install the render probe: %w", err)
	}
	ctx, cancel := context.WithTimeout(tab, waitTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Navigate(pageURL)); err != nil {
		return 0, err
	}
	return chromedp.Run(ctx, chromedp.Poll[float64](`window.__rendered`, chromedp.WithPollingTimeout(waitTimeout)))
}

// median returns the median of v.
func median(v []float64) float64 {
	v = slices.Sorted(slices.Values(v))
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}

// loadAverage returns the 1-minute load average of /proc/loadavg.
func loadAverage(b *testing.B) float64 {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		b.Fatal(err)
	}
	var l float64
	if _, err := fmt.Sscan(string(data), &l); err != nil {
		b.Fatalf("/proc/loadavg %q: %v", data, err)
	}
	return l
}
