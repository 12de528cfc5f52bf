package e2e

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	pubsub "github.com/libp2p/go-libp2p-pubsub"

	"github.com/gossipchain/gossipchain/api/client"
	"github.com/gossipchain/gossipchain/chain"
	"github.com/gossipchain/gossipchain/chain/chaintest"
	"github.com/gossipchain/gossipchain/e2e/launch"
	"github.com/gossipchain/gossipchain/p2p"
)

// The peer page's browser tests: a headless chromium tab joins a node's
// network over WebTransport and checks the blocks it receives by gossip.

// blockVerifiedWithin bounds the time from GET /mine to the tab showing the
// block verified: a generous deadline, not a measure (the tests log the
// time it took).
const blockVerifiedWithin = 10 * time.Second

// startBrowserNode starts a node with opts listening on QUIC (and so on
// WebTransport) at a free UDP port of 127.0.0.1, beside its TCP address.
func startBrowserNode(t testing.TB, opts nodeOptions) *node {
	t.Helper()
	quic := fmt.Sprintf("/ip4/127.0.0.1/udp/%d/quic-v1", freePort(t))
	opts.extra = append(opts.extra, "--listen", quic)
	return startNode(t, opts)
}

// needPeerPage skips the test when the node's binary was built without the
// peer page's bundle (scripts/build-peer-page.sh not run), and fails it
// when CI is set: .ci/run builds the bundle first.
func needPeerPage(t testing.TB, n *node) {
	t.Helper()
	if code, _ := n.getJSON("/peer/peer.js", nil); code == http.StatusOK {
		return
	}
	if ci := os.Getenv("CI"); ci != "" && ci != "false" && ci != "0" {
		t.Fatal("the node was built without the peer page, and CI is set: run scripts/build-peer-page.sh before the tests (.ci/run does)")
	}
	t.Skip("skipping: the node was built without the peer page; run scripts/build-peer-page.sh, then the tests")
}

// newQUICBrowser is newBrowser with QUIC on: WebTransport runs over HTTP/3.
func newQUICBrowser(t testing.TB) *browser {
	return newBrowser(t, chromedp.Flag("disable-quic", false))
}

// openPeerPage loads the node's peer page (with query, e.g. "?peer=…") and
// waits until the tab is connected to the node over WebTransport.
func (b *browser) openPeerPage(n *node, query string) {
	b.t.Helper()
	b.run("open the peer page",
		chromedp.Navigate(n.url+"/peer"+query),
		chromedp.WaitVisible(chromedp.CSS(`#state[data-state="connected"]`)),
	)
}

// tabPeerID returns the peer id of the tab's libp2p node.
func (b *browser) tabPeerID() string {
	b.t.Helper()
	me := b.text("#me")
	return strings.TrimSuffix(strings.TrimPrefix(me, "This tab is peer "), ".")
}

// waitVerdict waits until the tab shows block hash with verdict
// ("verified" or "refused") and returns the time the tab decided it.
func (b *browser) waitVerdict(hash, verdict string, within time.Duration) time.Time {
	b.t.Helper()
	sel := fmt.Sprintf(`#blocks-body tr[data-hash=%q][data-verdict=%q]`, hash, verdict)
	if err := b.runWithin(within, chromedp.WaitVisible(chromedp.CSS(sel))); err != nil {
		b.t.Fatalf("block %s not shown %s by the tab within %s: %v (tab shows %q)", hash, verdict, within, err, b.text("#blocks-body"))
	}
	ms := value(b, "verdict time", chromedp.Evaluate[int64](fmt.Sprintf(
		`window.gossipchainPeer.blocks.find((x) => x.hash === %q).at`, hash)))
	return time.UnixMilli(ms)
}

// mineUntilVerified mines blocks on n until one is shown verified in the
// tab. A block mined before the node has received the tab's subscription
// does not reach it (gossip is best effort, and the tab has no chain
// exchange yet); once one did, the tab is a topic peer of the node.
func (b *browser) mineUntilVerified(n *node) {
	b.t.Helper()
	waitFor(b.t, "a block mined on the node verified in the tab", waitTimeout, func() error {
		mined := n.mine()
		sel := fmt.Sprintf(`#blocks-body tr[data-hash=%q][data-verdict="verified"]`, mined.Hash)
		return b.runWithin(5*time.Second, chromedp.WaitVisible(chromedp.CSS(sel)))
	})
}

// TestPeerPageJoins: the tab connects to the node over WebTransport and is
// listed in the node's /peers with that transport; the tab lists the node;
// a block mined after the page loaded appears in the tab marked verified.
func TestPeerPageJoins(t *testing.T) {
	n := startBrowserNode(t, nodeOptions{})
	needPeerPage(t, n)
	st, err := n.status()
	if err != nil {
		t.Fatal(err)
	}
	if len(st.BrowserAddrs) == 0 || !strings.Contains(strings.Join(st.BrowserAddrs, " "), "/webtransport/certhash/") {
		t.Fatalf("/status browser_addrs %v: want a WebTransport address with its certificate hash", st.BrowserAddrs)
	}
	b := newQUICBrowser(t)
	b.openPeerPage(n, "")
	tab := b.tabPeerID()
	waitFor(t, "the tab in the node's /peers over WebTransport", waitTimeout, func() error {
		ctx, cancel := requestCtx()
		defer cancel()
		peers, err := n.Client().Peers(ctx)
		if err != nil {
			return err
		}
		for _, p := range peers {
			if p.ID == tab {
				if !strings.Contains(p.ConnAddr, "/webtransport") || p.Direction != "inbound" {
					return fmt.Errorf("the tab is listed at %s, %s; want an inbound WebTransport connection", p.ConnAddr, p.Direction)
				}
				return nil
			}
		}
		return fmt.Errorf("tab %s not among %d peers", tab, len(peers))
	})
	b.waitFor("the node among the tab's peers", fmt.Sprintf(`#peers-body tr[data-peer=%q]`, st.PeerID))
	if got := b.text(fmt.Sprintf(`#peers-body tr[data-peer=%q] td:last-child`, st.PeerID)); got != "webtransport" {
		t.Errorf("the tab lists the node with transport %q, want webtransport", got)
	}

	b.mineUntilVerified(n)
	start := time.Now()
	mined := n.mine()
	at := b.waitVerdict(mined.Hash.String(), "verified", blockVerifiedWithin)
	t.Logf("block %d: GET /mine sent to verified in the tab: %v", mined.Index, at.Sub(start).Round(time.Millisecond))
	b.shot("peer-page")
	b.noConsoleErrors()
}

// TestPeerPageRedials: when the node restarts, the open tab reads its
// /status again and dials it anew, and the blocks mined after the restart
// reach it verified.
func TestPeerPageRedials(t *testing.T) {
	n := startBrowserNode(t, nodeOptions{})
	needPeerPage(t, n)
	b := newQUICBrowser(t)
	b.openPeerPage(n, "")
	tab := b.tabPeerID()
	b.eval(`window.__sameDocument = true`)
	n.stop()
	b.waitFor("the tab to see the node gone", `#state[data-state="reconnecting"]`)
	n.restart()
	waitFor(t, "the tab to lose the node and dial it again", waitTimeout, func() error {
		phase := value(b, "phase", chromedp.Evaluate[string](`window.gossipchainPeer.phase`))
		peers, err := n.peers()
		if err != nil {
			return err
		}
		if phase != "connected" || !slices.ContainsFunc(peers, func(p client.Peer) bool { return p.ID == tab }) {
			return fmt.Errorf("tab %s, %d peers of the node", phase, len(peers))
		}
		return nil
	})
	b.mineUntilVerified(n)
	if !value(b, "same document", chromedp.Evaluate[bool](`window.__sameDocument === true`)) {
		t.Fatal("the page was reloaded")
	}
}

// TestPeerPageRefusesBadProofOfWork: a hostile Go peer, which the tab dials
// by its WebTransport address (?peer=), publishes blocks whose hash is
// their content id but misses the target of their bits; the tab shows them
// refused, never verified.
func TestPeerPageRefusesBadProofOfWork(t *testing.T) {
	n := startBrowserNode(t, nodeOptions{})
	needPeerPage(t, n)
	hostile, topic := startGoPeer(t, n.opts.network, nil) // validates nothing: it publishes anything
	b := newQUICBrowser(t)
	b.openPeerPage(n, "?peer="+webTransportAddr(hostile))

	params, err := chain.NewParams(n.opts.network, uint32(n.opts.difficulty))
	if err != nil {
		t.Fatal(err)
	}
	// Publish a new bad block every half second until the tab shows one:
	// the first ones may leave before the tab joined the topic.
	var published []string
	deadline := time.Now().Add(waitTimeout)
	for {
		blk := chaintest.NewBlock(&params, params.Genesis(), "hostile")
		if err := chaintest.UnmineFrom(blk, blk.Bits, rand.Uint64()); err != nil {
			t.Fatal(err)
		}
		if err := topic.Publish(t.Context(), p2p.Frame(blk.Hash, blk.AppendBinary(nil))); err != nil {
			t.Fatalf("publish: %v", err)
		}
		published = append(published, blk.Hash.String())
		shown := value(b, "blocks shown", chromedp.Evaluate[[]string](`window.gossipchainPeer.blocks.map((x) => x.hash + ' ' + (x.ok ? 'verified' : 'refused'))`))
		if len(shown) > 0 {
			for _, s := range shown {
				hash, verdict, _ := strings.Cut(s, " ")
				if !slices.Contains(published, hash) {
					t.Errorf("the tab shows block %s, which the hostile peer did not publish", hash)
				}
				if verdict != "refused" {
					t.Errorf("the tab shows the bad block %s %s, want refused", hash, verdict)
				}
			}
			b.waitVerdict(strings.Fields(shown[0])[0], "refused", browserTimeout)
			if reason := b.text(`#blocks-body tr[data-verdict="refused"] td:last-child`); !strings.Contains(reason, "proof of work") {
				t.Errorf("the refusal reads %q, want it to name the proof of work", reason)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the tab showed none of the %d bad blocks published within %s", len(published), waitTimeout)
		}
		time.Sleep(500 * time.Millisecond)
	}
	b.shot("refused")
}

// startGoPeer starts an in-process p2p node of network listening on QUIC
// and WebTransport at 127.0.0.1, joined to the blocks topic with validator
// (nil: every message is accepted, so it publishes whatever it is given).
func startGoPeer(t testing.TB, network string, validator pubsub.ValidatorEx) (*p2p.Node, *p2p.Topic) {
	t.Helper()
	h, err := p2p.New(t.Context(), p2p.Config{
		DataDir:        t.TempDir(),
		Network:        network,
		ListenAddrs:    []string{"/ip4/127.0.0.1/udp/0/quic-v1"},
		MaxMessageSize: 2 << 20,
		SkipAddrBook:   true,
		Logger:         slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	if err := h.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	topic, err := h.Join("blocks", validator)
	if err != nil {
		t.Fatal(err)
	}
	return h, topic
}

// webTransportAddr returns h's WebTransport address, with its certificate
// hashes and /p2p/, for the tab's ?peer=.
func webTransportAddr(h *p2p.Node) string {
	var wt string
	for _, a := range h.BrowserAddrs() {
		if strings.Contains(a.String(), "/webtransport/") {
			wt = a.String()
		}
	}
	return wt
}

// TestPeerPageNotBuilt: a binary built without the peer page (the build tag
// nopeerpage, as a build before scripts/build-peer-page.sh) serves the HTTP
// explorer as always, and at /peer a page saying how to build the peer page.
func TestPeerPageNotBuilt(t *testing.T) {
	bin := t.TempDir() + "/gossipchain-nopeerpage"
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if err := launch.Build(ctx, launch.Gossipchain, bin, "-tags", "nopeerpage"); err != nil {
		t.Fatal(err)
	}
	n := startNode(t, nodeOptions{binary: bin})
	if code, _ := n.getJSON("/peer/peer.js", nil); code != http.StatusNotFound {
		t.Errorf("GET /peer/peer.js of a binary without the bundle: %d, want 404", code)
	}
	b := newBrowser(t)
	b.open(n.url + "/")
	b.run("open /peer", chromedp.Navigate(n.url+"/peer"), chromedp.WaitVisible(chromedp.CSS(`#peer-missing`)))
	if got := b.text("main"); !strings.Contains(got, "scripts/build-peer-page.sh") {
		t.Errorf("the /peer page of a binary without the bundle reads %q, want how to build it", got)
	}
	b.run("follow the explorer link", chromedp.Click(chromedp.CSS(`#explorer-link`)), chromedp.WaitVisible(chromedp.CSS(`#live.on`)))
	b.noConsoleErrors()
}

// TestPeerPageCannotDial: where the tab cannot join, the page says why and
// links the HTTP explorer: a node running with --browser-transports=false,
// and a page loaded over plain HTTP from a name other than localhost (as
// from another machine of the LAN), which is no secure context.
func TestPeerPageCannotDial(t *testing.T) {
	off := startNode(t, nodeOptions{extra: []string{"--browser-transports=false"}})
	needPeerPage(t, off)
	lan := startBrowserNode(t, nodeOptions{})
	_, port, _ := strings.Cut(lan.opts.httpAddr, ":")
	b := newBrowser(t, chromedp.Flag("host-resolver-rules", "MAP lan.test 127.0.0.1"))
	for _, c := range []struct {
		url, why string
	}{
		{off.url + "/peer", "no browser transport"},
		{"http://lan.test:" + port + "/peer", "not a secure context"},
	} {
		b.run("open "+c.url, chromedp.Navigate(c.url), chromedp.WaitVisible(chromedp.CSS(`#state[data-state="unavailable"]`)))
		if got := b.text("#fallback"); !strings.Contains(got, c.why) {
			t.Errorf("%s: the page says %q, want it to say %q", c.url, got, c.why)
		}
		b.waitFor("the explorer link", `#fallback-explorer[href="/"]`)
	}
	b.shot("not-secure")
	b.noConsoleErrors()
}
