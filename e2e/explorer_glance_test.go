package e2e

import (
	"fmt"
	"net/http"
	"strconv"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/gossipchain/gossipchain/api/client"
	"github.com/gossipchain/gossipchain/chain/chaintest"
)

// This file checks that the explorer reads at a glance, in chromium at
// 1400×1000, on a devnet of three mining nodes: every page is saved as a
// screenshot under artifactDir (e2e/testdata-out/<test>/ by default).

// glanceNode starts a node of a retargeting network of one-second blocks
// that mines continuously, bootstrapped to boot when given.
func glanceNode(t *testing.T, boot ...string) *node {
	return startNode(t, nodeOptions{network: "glance", retarget: true, bootstrap: boot, extra: []string{
		"--mine", "--target-block-time", "1s", "--half-life", "4s", "--initial-difficulty", "16"}})
}

// pageCheck evaluates a JavaScript expression that returns "" when the
// page is right and what is wrong otherwise.
func pageCheck(t *testing.T, b *browser, what, js string) {
	t.Helper()
	if msg := value(b, what, chromedp.Evaluate[string](js)); msg != "" {
		t.Errorf("%s: %s", what, msg)
	}
}

// TestExplorerAtAGlance runs two joined nodes and a third cut off until it
// has mined a branch of its own, then joins it, so that one node abandons
// a branch; it then reads every page of that node and checks what a
// newcomer reads first: one line per block with relative times, intervals
// and named miners, the charts full on first paint, difficulty in one unit,
// the network's ledger and retargeting, and the fork view open on the
// newest fork. A node of a signed network shows a pending-aware balance.
func TestExplorerAtAGlance(t *testing.T) {
	a := glanceNode(t)
	c := glanceNode(t) // cut off until it has a branch
	b := glanceNode(t, a.multiaddr())
	height := func(n *node, want uint64) func() error {
		return func() error {
			st, err := n.status()
			if err == nil && st.Height < want {
				err = fmt.Errorf("height %d < %d", st.Height, want)
			}
			return err
		}
	}
	waitFor(t, "the joined nodes pass height 30", waitTimeout, height(a, 30))
	waitFor(t, "the cut-off node passes height 6", waitTimeout, height(c, 6))
	ctx, cancel := requestCtx()
	defer cancel()
	if _, err := c.Client().Register(ctx, a.multiaddr()); err != nil {
		t.Fatal(err)
	}
	// The node that abandoned a branch of two blocks or more.
	var n *node
	waitFor(t, "a node abandons the cut-off branch", waitTimeout, func() error {
		for _, m := range []*node{c, a, b} {
			var f struct {
				Branches []struct {
					Kind   string `json:"kind"`
					Length int    `json:"length"`
				} `json:"branches"`
			}
			if _, err := m.getJSON("/forks", &f); err != nil {
				return err
			}
			for _, br := range f.Branches {
				if br.Kind == "abandoned" && br.Length >= 2 {
					n = m
					return nil
				}
			}
		}
		return fmt.Errorf("no node abandoned a branch of two blocks or more")
	})

	br := newBrowser(t)
	br.run("window of 1400×1000", chromedp.EmulateViewport(1400, 1000))
	br.open(n.url + "/")
	br.waitFor("latest blocks", `#latest-body tr:nth-child(20)`)
	// At first paint the charts and the event log hold the node's history.
	pageCheck(t, br, "first paint", `(() => {
		const net = document.querySelector('#rate-chart polyline.net').getAttribute('points').split(' ').length;
		const bars = document.querySelectorAll('#interval-chart rect.bar').length;
		const events = document.querySelectorAll('#events li:not(.muted)').length;
		return net >= 10 && bars >= 10 && events >= 5 ? '' : 'hash-rate points ' + net + ', interval bars ' + bars + ', events ' + events;
	})()`)
	br.shot("home")
	self := n.mustStatus().MinerAddress
	pageCheck(t, br, "home at a glance", `(() => {
		const rows = [...document.querySelectorAll('#latest-body tr')];
		const line = parseFloat(getComputedStyle(rows[0].cells[0]).lineHeight);
		const wrapped = rows.filter(r => r.getBoundingClientRect().height >= 2 * line).map(r => r.dataset.index);
		if (rows.length !== 20 || wrapped.length) return rows.length + ' rows, wrapped: ' + wrapped;
		const table = document.getElementById('latest');
		if (table.scrollWidth > table.parentElement.clientWidth) return 'the table is wider than its column';
		const fold = window.innerHeight;
		if (rows[19].getBoundingClientRect().bottom > fold) return 'row 20 below the fold';
		if (document.getElementById('rate-chart').getBoundingClientRect().bottom > fold) return 'hash-rate chart below the fold';
		const cells = i => rows.map(r => r.cells[i].textContent);
		const bad = (i, re) => cells(i).filter(x => !re.test(x));
		const ages = bad(2, /^(just now|\d+ (s|min|h|d|y) ago|in .*)$/), intervals = bad(3, /^(−?\d+(\.\d)? s|\d+ min \d+ s|—)$/);
		const unit = /^\d+(\.\d+)? ?[kMGTPEZY]?$/;
		const diffs = bad(6, unit).concat([document.getElementById('difficulty').textContent].filter(x => !unit.test(x)));
		if (ages.length || intervals.length || diffs.length) return 'ages ' + ages + ' intervals ' + intervals + ' difficulties ' + diffs;
		// A miner is "this node" exactly when it is the node's own address,
		// else a connected peer by the end of its id.
		const own = `+strconv.Quote(self)+`;
		const miners = rows.map(r => r.cells[7].querySelector('a'));
		const mislabelled = miners.filter(a => (a.title === own) !== (a.textContent === 'this node') ||
			a.title !== own && !/^peer \w{6}$/.test(a.textContent)).map(a => a.textContent + ' ' + a.title);
		if (mislabelled.length || !miners.some(a => a.title !== own)) return 'miners ' + mislabelled;
		if (/0x[0-9a-f]{8}|leading zero|\bbits\b [0-9]/.test(document.body.innerText)) return 'a second difficulty unit on the home page';
		return '';
	})()`)
	pageCheck(t, br, "network card", `(() => {
		const t = document.getElementById('network-card').innerText;
		return /open ledger/.test(t) && /retargets toward 1 s blocks/.test(t) ? '' : t;
	})()`)

	// The block page: the same difficulty, and the compact target.
	head := n.mustStatus()
	br.goTo("#/block/"+head.Head.String(), `#block-bits`)
	br.shot("block")
	pageCheck(t, br, "block details", fmt.Sprintf(`(() => {
		const d = document.getElementById('block-difficulty').textContent;
		return /^0x[0-9a-f]{8}$/.test(document.getElementById('block-bits').textContent) && /^\d+(\.\d+)? ?[kMGTPEZY]? expected hashes/.test(d) &&
			document.getElementById('block-hash').textContent === %q ? '' : d;
	})()`, head.Head.String()))

	// The fork view opens on the newest fork and the head, numbered as in
	// its table, with badges on one line.
	br.goTo("#/forks", `#fork-tree .branch[data-n="1"]`)
	br.shot("forks")
	pageCheck(t, br, "fork view", `(() => {
		const wrap = document.getElementById('tree-wrap').getBoundingClientRect();
		const inView = e => { const r = e.getBoundingClientRect(); return r.left >= wrap.left && r.right <= wrap.right && r.bottom <= window.innerHeight; };
		const newest = document.querySelector('#fork-tree .branch[data-n="1"]');
		const fork = [...newest.querySelectorAll('.blk')].slice(0, 2), head = document.querySelector('#fork-tree .blk-main.head');
		if (!fork.every(inView)) return 'the newest fork is out of view';
		const both = head.getBoundingClientRect().right - fork[0].getBoundingClientRect().left <= wrap.width;
		if (both && !inView(head)) return 'the head is out of view';
		const row = document.querySelector('#branches-table tr[data-n="1"]');
		if (row.dataset.kind !== newest.dataset.kind || row.cells[2].textContent.replace(/,/g, '') !== newest.dataset.fork) return 'the table\'s first branch is not the tree\'s';
		const tall = [...document.querySelectorAll('#branches-table .badge')].filter(e => e.getBoundingClientRect().height > 24);
		return tall.length ? tall.length + ' badges wrap' : '';
	})()`)

	br.goTo("#/peers", `#peers-table tbody tr`)
	br.shot("peers")
	br.goTo("#/address/"+head.MinerAddress, `#address-title`)
	br.shot("address")
	var blk client.Chain
	if _, err := n.getJSON(fmt.Sprintf("/chain?from=%d&limit=1", head.Height), &blk); err != nil || len(blk.Chain) != 1 {
		t.Fatalf("GET /chain?from=%d: %v", head.Height, err)
	}
	br.goTo("#/tx/"+blk.Chain[0].Transactions[0].ID.String(), `#view .kv`)
	br.shot("transaction")
	br.noConsoleErrors()

	glanceSigned(t, br)
	br.saveShots()
}

// glanceSigned checks the address page of a signed network: a node mines
// three blocks to alice, alice pays bob one reward and the payment stays
// pending (no node mines).
func glanceSigned(t *testing.T, br *browser) {
	alice, aliceAddr := chaintest.Key(t, "alice")
	_, bob := chaintest.Key(t, "bob")
	n := startNode(t, nodeOptions{network: "glance-signed", difficulty: 4, extra: []string{"--ledger", "signed", "--miner-address", aliceAddr}})
	if code, err := n.getJSON("/mine?blocks=3", nil); err != nil || code != http.StatusOK {
		t.Fatalf("GET /mine?blocks=3: %d %v", code, err)
	}
	st := n.mustStatus()
	r := st.Params.Reward
	tx := chaintest.SignedTx(t, st.Genesis, alice, bob, r, 0)
	ctx, cancel := requestCtx()
	defer cancel()
	if _, err := n.Client().SubmitTransaction(ctx, tx); err != nil {
		t.Fatalf("POST /transactions: %v", err)
	}
	br.open(n.url + "/#/address/" + aliceAddr)
	br.waitFor("balance", `#balance-after`)
	br.shot("address-signed")
	pageCheck(t, br, "pending-aware balance", fmt.Sprintf(`(() => {
		const v = id => document.getElementById(id).textContent;
		const got = [v('balance-confirmed'), v('balance-pending-spend'), v('balance-after')].join(' | ');
		return got === %q ? '' : got;
	})()`, fmt.Sprintf("%d | −%d in 1 pending transaction | %d", 3*r, r, 2*r)))
	pageCheck(t, br, "signed network card", `/signed ledger/.test(document.getElementById('network-card').innerText) ? '' : document.getElementById('network-card').innerText`)
	br.goTo("#/pending", `#pending-table tbody tr`)
	br.shot("pending")
}
