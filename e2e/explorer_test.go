package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/gossipchain/gossipchain/api/client"
)

// blockAppearsWithin is how long a block mined with GET /mine may take to
// appear in an open page (the bound; a deadline, not a measure).
const blockAppearsWithin = 2 * time.Second

// TestExplorerInBrowser opens a node's explorer in headless chromium: the
// page loads without console errors, a block mined with GET /mine appears
// without a reload, every page renders, and an address holding markup is
// shown as text. It also checks the node's INFO line for the mined head.
func TestExplorerInBrowser(t *testing.T) {
	n := startNode(t, nodeOptions{})
	n.mine()
	b := newBrowser(t)
	b.open(n.url + "/")
	b.waitFor("latest blocks", `#latest-body tr[data-index="2"]`)
	b.shot("home")

	// A block mined now appears without a reload.
	b.eval(`window.__sameDocument = true`)
	var mined client.Mined
	if code, err := n.getJSON("/mine", &mined); err != nil || code != http.StatusOK {
		t.Fatalf("GET /mine: %d %v", code, err)
	}
	sel := fmt.Sprintf(`#latest-body tr[data-hash=%q]`, mined.Hash)
	if err := b.runWithin(blockAppearsWithin, chromedp.WaitVisible(chromedp.CSS(sel))); err != nil {
		t.Fatalf("block %d %s did not appear within %s without a reload: %v", mined.Index, mined.Hash, blockAppearsWithin, err)
	}
	if !value(b, "same document", chromedp.Evaluate[bool](`window.__sameDocument === true`)) {
		t.Fatal("the page was reloaded")
	}
	if got := b.text("#height"); got != fmt.Sprint(mined.Index) {
		t.Fatalf("height shows %q, want %d", got, mined.Index)
	}
	n.waitLog("INFO line of the mined head", `level=INFO`, `msg="new head"`, `height=3`, `hash=`+mined.Hash.String(), `source=mined`)

	// An address that holds markup is shown as text, and runs nothing.
	evil := `<script>window.__xss=1</script><img src=x onerror="window.__xss=2">`
	body, _ := json.Marshal(map[string]any{"sender": evil, "recipient": "bob", "amount": 5})
	var tx client.TxAccepted
	if code, err := n.do(http.MethodPost, "/transactions/new", string(body), &tx); err != nil || code != http.StatusCreated {
		t.Fatalf("POST /transactions/new: %d %v", code, err)
	}
	b.goTo("#/pending", `#pending-table tbody tr`)
	b.shot("pending")
	n.mine()
	b.goTo("#/address/"+url.PathEscape(evil), `#address-title`)
	b.shot("address")
	if got := b.text("#address-title"); got != evil {
		t.Fatalf("address title %q, want the address as text %q", got, evil)
	}
	xss := value(b, "xss marker", chromedp.Evaluate[int](`window.__xss === undefined ? 0 : window.__xss`))
	imgs := value(b, "parsed markup", chromedp.Evaluate[int](`document.querySelectorAll('img[src="x"], #view script').length`))
	if xss != 0 || imgs != 0 {
		t.Fatalf("markup from an address ran or was parsed: __xss=%d, elements=%d", xss, imgs)
	}
	if !strings.Contains(b.text("#view table:last-of-type tbody"), "bob") {
		t.Fatalf("the address history lacks the transaction to bob")
	}

	// The other pages render from the API.
	b.goTo("#/tx/"+tx.ID.String(), `#view .kv`)
	b.shot("transaction")
	if got := b.text("#view h1"); !strings.Contains(got, "confirmed") {
		t.Fatalf("transaction page heading %q", got)
	}
	b.goTo("#/block/"+mined.Hash.String(), `#block-hash`)
	b.shot("block")
	if got := b.text("#block-hash"); got != mined.Hash.String() {
		t.Fatalf("block page shows %q", got)
	}
	b.goTo("#/peers", `#peers-table`)
	b.shot("peers")
	b.goTo("#/forks", `#fork-tree`)
	b.shot("forks")
	b.noConsoleErrors()
}

// TestExplorerForkView partitions two nodes (the second starts without a
// bootstrap peer), mines on both, joins them with POST /nodes/register and
// checks that the lighter node's fork view, open all along, draws its
// abandoned branch; and that both nodes log the peer and the new head.
func TestExplorerForkView(t *testing.T) {
	a := startNode(t, nodeOptions{})
	c := startNode(t, nodeOptions{}) // no bootstrap: a partition until joined
	ours := a.mineN(2)
	theirs := c.mineN(4)

	b := newBrowser(t)
	b.open(a.url + "/#/forks")
	b.waitFor("main chain drawn", fmt.Sprintf(`#fork-tree a.blk-main[data-hash=%q]`, ours[1]))

	if err := a.register(c.multiaddr()); err != nil {
		t.Fatal(err)
	}
	head := sameHead(t, []*node{a, c}, 5)
	if head != theirs[3] {
		t.Fatalf("head %s, want the heavier branch's %s", head, theirs[3])
	}
	for _, h := range ours {
		sel := fmt.Sprintf(`#fork-tree .blk-abandoned[data-hash=%q]`, h)
		b.waitFor("abandoned block "+h.String()+" drawn", sel)
	}
	b.waitFor("new main chain drawn", fmt.Sprintf(`#fork-tree a.blk-main[data-hash=%q]`, theirs[3]))
	b.waitFor("reorganisation noted", `#branches-table tr[data-kind="abandoned"]`)
	if got := b.text("#branches-table tbody"); strings.Contains(got, "http") || !strings.Contains(got, ours[0].String()[:10]) {
		t.Fatalf("branches table shows %q", got)
	}
	b.shot("forks-after-heal")

	// The peers page lists the other node, how it was found and its height.
	cid := c.mustStatus().PeerID
	b.goTo("#/peers", fmt.Sprintf(`#peers-table tr[data-peer=%q]`, cid))
	b.shot("peers")
	if row := b.text(fmt.Sprintf(`#peers-table tr[data-peer=%q]`, cid)); !strings.Contains(row, "outbound") || !strings.Contains(row, "register") {
		t.Fatalf("peer row %q", row)
	}
	b.noConsoleErrors()

	a.waitLog("INFO line of the synced head", `level=INFO`, `msg="new head"`, `height=5`, `hash=`+theirs[3].String(), `source=sync`, `peer=`, `blocks=4`, `reorg_depth=2`)
	a.waitLog("outbound peer line", `level=INFO`, `msg="peer connected"`, `direction=outbound`, `source=register`)
	c.waitLog("inbound peer line", `level=INFO`, `msg="peer connected"`, `direction=inbound`)
	for _, n := range []*node{a, c} {
		if strings.Contains(n.Log(), "blocks=0") {
			t.Errorf("node %s logged blocks=0", n.opts.httpAddr)
		}
	}
	c.stop()
	a.waitLog("lost peer line", `level=INFO`, `msg="peer lost"`)
}

// TestExplorerShowsOnDemandMining opens the explorer of a node whose
// difficulty makes a search last, starts a GET /mine and checks that the
// page shows the node mining with a hash rate, and idle again once the
// request is cancelled.
func TestExplorerShowsOnDemandMining(t *testing.T) {
	n := startNode(t, nodeOptions{difficulty: 40})
	b := newBrowser(t)
	b.open(n.url + "/")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan struct{})
	go func() {
		defer close(done)
		client.New(n.url, nil).Mine(ctx) // cancelled below, it fails
	}()
	value(b, "mining shown", chromedp.Poll[bool](`document.getElementById('mining').textContent.startsWith('yes · ') &&
		!document.getElementById('mining').textContent.endsWith(' 0 H/s')`))
	// The chart gains a point a second; its maximum is the rate shown.
	value(b, "hash-rate chart drawn", chromedp.Poll[bool](`document.querySelector('#rate-chart polyline').getAttribute('points').split(' ').length >= 2 &&
		!document.querySelector('#rate-chart text').textContent.endsWith(' 0 H/s')`))
	b.shot("mining")
	cancel()
	<-done
	value(b, "idle shown", chromedp.Poll[bool](`document.getElementById('mining').textContent === 'no'`))
	if s := n.mustStatus(); s.Height != 1 {
		t.Fatalf("height %d: a block was found at difficulty 40", s.Height)
	}
	b.noConsoleErrors()
}
