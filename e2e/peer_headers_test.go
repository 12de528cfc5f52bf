package e2e

import (
	"bufio"
	bin "encoding/binary"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/libp2p/go-libp2p/core/network"

	"github.com/gossipchain/gossipchain/chain"
	"github.com/gossipchain/gossipchain/chain/chaintest"
	"github.com/gossipchain/gossipchain/p2p"
)

// The peer page's header chain: the tab downloads the heaviest header
// chain over /gossipchain/headers/1.0.0 and checks every header itself.

// tabHead is the head of the tab's header chain.
type tabHead struct {
	Hash   string `json:"hash"`
	Height int    `json:"height"`
}

// tabHeadOf reads the head of the tab's header chain.
func (b *browser) tabHead() tabHead {
	b.t.Helper()
	return value(b, "the tab's head", chromedp.Evaluate[tabHead](
		`(() => { const h = window.gossipchainPeer.headers.head(); return { hash: h.hash, height: h.height } })()`))
}

// waitTabHead waits until the tab's head is hash.
func (b *browser) waitTabHead(hash string) {
	b.t.Helper()
	waitFor(b.t, "the tab's head at "+hash, waitTimeout, func() error {
		if got := b.tabHead(); got.Hash != hash {
			return fmt.Errorf("the tab's head is %d %s", got.Height, got.Hash)
		}
		return nil
	})
}

// tabMainChain returns the hashes of the tab's main chain, from the genesis.
func (b *browser) tabMainChain() []string {
	b.t.Helper()
	return value(b, "the tab's main chain", chromedp.Evaluate[[]string](`window.gossipchainPeer.headers.main.map((e) => e.hash)`))
}

// hashStrings returns the hex of hashes.
func hashStrings(hashes []chain.Hash) []string {
	out := make([]string, len(hashes))
	for i, h := range hashes {
		out[i] = h.String()
	}
	return out
}

// startBrowserChain starts a browser node (startBrowserNode) whose chain
// has blocks blocks after the genesis of network, written by writeChain,
// and skips or fails as needPeerPage without the peer page.
func startBrowserChain(t testing.TB, network string, blocks int) *node {
	t.Helper()
	dir := t.TempDir()
	writeChain(t, dir, network, blocks)
	n := startBrowserNode(t, nodeOptions{network: network, difficulty: benchDifficulty, datadir: dir})
	needPeerPage(t, n)
	return n
}

// TestPeerPageHeaderChain: on a node with a few hundred blocks, the tab's
// header chain is the node's main chain (GET /chain) once the page has
// loaded, and a block mined afterwards extends it, verified by the tab.
func TestPeerPageHeaderChain(t *testing.T) {
	n := startBrowserChain(t, "tabheaders", 300)
	b := newQUICBrowser(t)
	b.openPeerPage(n, "")

	want, err := n.chainHashes()
	if err != nil {
		t.Fatal(err)
	}
	b.waitTabHead(want[len(want)-1].String())
	if got := b.tabMainChain(); !slices.Equal(got, hashStrings(want)) {
		t.Fatalf("the tab's header chain (%d headers) is not the node's main chain (%d blocks)", len(got), len(want))
	}
	if got := b.text("#head-height"); got != fmt.Sprint(len(want)) {
		t.Errorf("the page shows the head at %q, want %d", got, len(want))
	}

	b.mineUntilVerified(n)
	mined := n.mine()
	b.waitVerdict(mined.Hash.String(), "verified", blockVerifiedWithin)
	b.waitTabHead(mined.Hash.String())
	b.waitFor("the new head listed verified", fmt.Sprintf(`#chain-body tr[data-hash=%q]`, mined.Hash))
	if got := b.text(fmt.Sprintf(`#chain-body tr[data-hash=%q] td:last-child`, mined.Hash)); got != "verified by this tab" {
		t.Errorf("the new head is listed %q, want verified by this tab", got)
	}
	b.shot("header-chain")
	b.noConsoleErrors()
}

// TestPeerPageRefusesWrongBits: a hostile Go peer offers children of the
// genesis whose proof of work is valid for their bits, but whose bits are
// not the target the rule requires (the network's fixed initial target),
// first by gossip, then over the header protocol. The tab refuses them
// both ways, hangs up on the peer, and keeps its head.
func TestPeerPageRefusesWrongBits(t *testing.T) {
	n := startBrowserNode(t, nodeOptions{})
	needPeerPage(t, n)
	hostile, topic := startGoPeer(t, n.opts.network, nil)
	params, err := chain.NewParams(n.opts.network, uint32(n.opts.difficulty))
	if err != nil {
		t.Fatal(err)
	}
	harder := chain.MustCompact(chain.ZeroBitsTarget(uint32(n.opts.difficulty) + 4))
	badBlock := func(i int) *chain.Block {
		b := chaintest.NewBlock(&params, params.Genesis(), "hostile")
		b.Timestamp += chain.Timestamp(i) // a new block, and so a new message, each time
		b.Bits = harder                   // met, but not the target the rule requires
		chaintest.Mine(t, b, b.Bits)
		return b
	}
	b := newQUICBrowser(t)
	b.openPeerPage(n, "?peer="+webTransportAddr(hostile))
	genesis := n.mustStatus().Genesis.String()

	// By gossip: a new bad block every half second until the tab shows one
	// (the first ones may leave before the tab joined the topic).
	var published []string
	deadline := time.Now().Add(waitTimeout)
	for i := 0; ; i++ {
		bad := badBlock(i)
		if err := topic.Publish(t.Context(), p2p.Frame(bad.Hash, bad.AppendBinary(nil))); err != nil {
			t.Fatalf("publish: %v", err)
		}
		published = append(published, bad.Hash.String())
		shown := value(b, "blocks shown", chromedp.Evaluate[[]string](`window.gossipchainPeer.blocks.map((x) => x.hash + ' ' + (x.ok ? 'verified' : x.check))`))
		if len(shown) > 0 {
			for _, s := range shown {
				hash, verdict, _ := strings.Cut(s, " ")
				if !slices.Contains(published, hash) || verdict != "bad_difficulty" {
					t.Errorf("the tab shows %s %s, want a published block refused as bad_difficulty", hash, verdict)
				}
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the tab showed none of the %d bad blocks published within %s", len(published), waitTimeout)
		}
		time.Sleep(500 * time.Millisecond)
	}

	// Over the header protocol: the tab downloads from every peer it is
	// connected to, every few seconds.
	bad := badBlock(-1)
	header := bad.Header()
	hostile.Host().SetStreamHandler("/gossipchain/headers/1.0.0", func(s network.Stream) {
		defer s.Close()
		if _, err := io.ReadAll(io.LimitReader(bufio.NewReader(s), 2100)); err != nil {
			_ = s.Reset()
			return
		}
		reply := bin.AppendUvarint(nil, 41)
		reply = append(reply, 0) // ok
		reply = bin.BigEndian.AppendUint64(reply, bad.Index)
		reply = append(reply, bad.Hash[:]...)
		reply = bin.AppendUvarint(reply, chain.HeaderSize)
		_, _ = s.Write(append(reply, header[:]...))
	})
	waitFor(t, "the tab to refuse the hostile peer's header", waitTimeout, func() error {
		refused := value(b, "refused", chromedp.Evaluate[[]string](`window.gossipchainPeer.refused.map((r) => r.peer + ' ' + r.code + ' ' + r.hash)`))
		if !slices.Contains(refused, hostile.ID().String()+" bad_difficulty "+bad.Hash.String()) {
			failures := value(b, "failures", chromedp.Evaluate[map[string]string](`Object.fromEntries(window.gossipchainPeer.syncer.failures)`))
			return fmt.Errorf("refused %v; failed downloads %v", refused, failures)
		}
		return nil
	})
	if reason := b.text(fmt.Sprintf(`#refused-body tr[data-hash=%q] td:last-child`, bad.Hash)); !strings.Contains(reason, "retargeting rule requires") {
		t.Errorf("the refusal reads %q, want it to name the retargeting rule", reason)
	}
	b.waitFor("the hostile peer gone from the tab's peers", fmt.Sprintf(`#peers-body:not(:has(tr[data-peer=%q]))`, hostile.ID()))
	for _, h := range append(published, bad.Hash.String()) {
		if value(b, "has", chromedp.Evaluate[bool](fmt.Sprintf(`window.gossipchainPeer.headers.has(%q)`, h))) {
			t.Errorf("the tab keeps the refused header %s", h)
		}
	}
	if head := b.tabHead(); head.Hash != genesis {
		t.Errorf("the tab's head moved to %d %s, want the genesis", head.Height, head.Hash)
	}
	b.shot("wrong-bits")
}

// TestPeerPageReorganises: the tab follows node A; node B, unknown to the
// tab, mines a heavier branch alone; once A is told of B, the tab learns
// B's WebTransport address from A's /peers, dials it, and moves its head to
// B's branch.
func TestPeerPageReorganises(t *testing.T) {
	a := startBrowserNode(t, nodeOptions{})
	needPeerPage(t, a)
	bnode := startBrowserNode(t, nodeOptions{})
	a.mineN(3)
	heavier := bnode.mineN(6)

	br := newQUICBrowser(t)
	br.openPeerPage(a, "")
	aHashes, err := a.chainHashes()
	if err != nil {
		t.Fatal(err)
	}
	br.waitTabHead(aHashes[len(aHashes)-1].String())
	br.eval(`window.gossipchainPeer.reorgs = 0; window.gossipchainPeer.headers.addEventListener('head', (e) => { if (e.detail.reorg) window.gossipchainPeer.reorgs++ })`)

	if err := a.register(bnode.multiaddr()); err != nil {
		t.Fatal(err)
	}
	head := heavier[len(heavier)-1].String()
	br.waitTabHead(head)
	if got := br.tabMainChain(); len(got) != 7 || got[6] != head {
		t.Errorf("the tab's main chain %v, want B's 7 blocks", got)
	}
	if n := value(br, "reorganisations", chromedp.Evaluate[int](`window.gossipchainPeer.reorgs`)); n < 1 {
		t.Errorf("the tab's head moved with %d reorganisations, want one", n)
	}
	bID := bnode.mustStatus().PeerID
	br.waitFor("node B among the tab's peers", fmt.Sprintf(`#peers-body tr[data-peer=%q]`, bID))
	if got := br.text(fmt.Sprintf(`#peers-body tr[data-peer=%q] td:last-child`, bID)); got != "webtransport" {
		t.Errorf("the tab lists B with transport %q, want webtransport", got)
	}
	br.noConsoleErrors()
}
