package e2e

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gossipchain/gossipchain/api"
	"github.com/gossipchain/gossipchain/api/client"
	"github.com/gossipchain/gossipchain/chain/store"
	"github.com/gossipchain/gossipchain/p2p"
	gsync "github.com/gossipchain/gossipchain/sync"
)

// TestResilienceHostilePeers points cmd/gchostile at real node processes
// with the attacks that a single connection and little or no proof of work
// can mount: a sync pinned by replies that make no progress, stream floods
// from many identities (never negotiated, requests never finished, replies
// never read), a flood of valid side blocks, and (long form) a transaction
// flood. While each runs, what honest peers and clients see is checked: the
// lagging node catches up, honest chain-exchange and HTTP requests are
// served, the store and the pool stay within their bounds.
func TestResilienceHostilePeers(t *testing.T) {
	opts := quietOpts(nodeOptions{network: "hostile", difficulty: 8})
	a := startNode(t, opts)
	a.mineN(scale(60, 600))
	height := a.mustStatus().Height

	t.Run("pinned sync", func(t *testing.T) {
		v := startNode(t, opts)
		v.mine() // a block of its own, which the attacker serves back
		h := startHostile(t, v)
		out := h.do("serve known")
		tried(t, "a peer claiming 1000 more blocks answers every chain-exchange request with block 2, then an honest peer %d blocks ahead is registered", height-1)
		_ = out
		start := time.Now()
		if err := v.register(a.multiaddr()); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the lagging node catches up while the attacker stays connected", 30*time.Second, func() error {
			if s := v.mustStatus(); s.Height < height {
				return fmt.Errorf("at height %d of %d", s.Height, height)
			}
			return nil
		})
		caught := time.Since(start)
		waitFor(t, "the attacker penalised", 10*time.Second, func() error {
			if v.seriesValue("gossipchain_sync_peers_penalized_total") < 1 {
				return fmt.Errorf("no penalty")
			}
			return nil
		})
		start = time.Now()
		var res client.Resolved
		if code, err := v.getJSON("/nodes/resolve", &res); err != nil || code != http.StatusOK {
			t.Fatalf("GET /nodes/resolve: %d %v", code, err)
		}
		held(t, "caught up %d blocks in %s; the attacker was penalised; /nodes/resolve answered in %s", height-1, caught.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
	})

	t.Run("stream floods", func(t *testing.T) {
		h := startHostile(t, a)
		honestProbes := func(what string) {
			t.Helper()
			for range 5 {
				if out := h.try("chain"); out["ok"] != true || uint64(out["height"].(float64)) < height {
					t.Fatalf("honest chain request during %s: %v", what, out)
				}
				if _, err := a.status(); err != nil {
					t.Fatalf("GET /status during %s: %v", what, err)
				}
			}
		}
		floods := []struct {
			cmd  string
			what string
		}{
			{fmt.Sprintf("streams 1 %d", 2*p2p.MaxTransientStreams), "one identity opening twice the node's transient stream limit without negotiating"},
			{"streams 17 75", "17 identities with 75 streams each that never negotiate"},
			{fmt.Sprintf("idlereq 17 %d", 8*p2p.MaxInboundStreamsPerProtocolPeer), "17 identities with chain-exchange requests begun and never finished"},
			{fmt.Sprintf("unread 4 %d", 2*gsync.DefaultMaxServing), "4 identities asking for the whole chain twice the serving slots each, never reading"},
		}
		for _, f := range floods {
			out := h.do("%s", f.cmd)
			if out["sent"] != nil {
				out["opened"] = out["sent"]
			}
			tried(t, "%s (%v opened on the attacking side)", f.what, out["opened"])
			honestProbes(f.what)
			held(t, "honest chain-exchange and HTTP requests served during: %s", f.what)
		}
	})

	t.Run("side-branch flood", func(t *testing.T) {
		b := startNode(t, opts)
		if err := b.register(a.multiaddr()); err != nil {
			t.Fatal(err)
		}
		sameHead(t, []*node{a, b}, height)
		h := startHostile(t, a)
		before := a.seriesValue("gossipchain_sync_blocks_ignored_total") + a.seriesValue("gossipchain_sync_blocks_accepted_total")
		const n = 100
		out := h.do("siblings %d", n)
		tried(t, "%d valid blocks competing with the head, gossiped to one node", n)
		waitFor(t, "every sibling judged", 30*time.Second, func() error {
			got := a.seriesValue("gossipchain_sync_blocks_ignored_total") + a.seriesValue("gossipchain_sync_blocks_accepted_total") - before
			if got < n {
				return fmt.Errorf("%v of %d judged", got, n)
			}
			return nil
		})
		count := func(nd *node) int {
			stored := 0
			for _, hash := range out["hashes"].([]any) {
				if code, err := nd.blockCode(hash.(string)); err == nil && code == http.StatusOK {
					stored++
				}
			}
			return stored
		}
		if sa, sb := count(a), count(b); sa > store.MaxSideBlocksPerHeight || sb > store.MaxSideBlocksPerHeight {
			t.Fatalf("siblings stored: %d on the target, %d on its peer; bound %d", sa, sb, store.MaxSideBlocksPerHeight)
		}
		if a.seriesValue("gossipchain_sync_peers_penalized_total") != 0 {
			t.Fatalf("a sender of valid blocks was penalised")
		}
		held(t, "at most %d of %d siblings stored on the target and on its peer", store.MaxSideBlocksPerHeight, n)
	})

	t.Run("memory floods", func(t *testing.T) {
		v := startNode(t, opts)
		if err := v.register(a.multiaddr()); err != nil {
			t.Fatal(err)
		}
		sameHead(t, []*node{a, v}, height)
		h := startHostile(t, v)
		rss := func() int {
			st, err := readProcStats(v.Pid())
			if err != nil {
				t.Fatal(err)
			}
			return st.RSSKB / 1024
		}
		// Orphans of about 530 KB each: more bytes than the pool holds.
		n := scale(40, 400)
		before := rss()
		out := h.do("orphans %d 1900", n)
		tried(t, "%d valid orphans of 1,900 transactions each (%.0f MB) from one peer", n, out["bytes"].(float64)/1e6)
		waitFor(t, "every orphan judged", 60*time.Second, func() error {
			if got := v.seriesValue("gossipchain_sync_blocks_ignored_total"); got < float64(n) {
				return fmt.Errorf("%v of %d judged", got, n)
			}
			return nil
		})
		orphans := v.seriesValue("gossipchain_sync_orphans")
		if orphans > gsync.DefaultMaxOrphansPerPeer || orphans*520e3 > gsync.DefaultMaxOrphanBytes {
			t.Fatalf("orphan pool holds %v blocks of one peer (share %d, %d bytes)", orphans, gsync.DefaultMaxOrphansPerPeer, gsync.DefaultMaxOrphanBytes)
		}
		const bound = 128 // MiB of resident memory a flood may add
		grew := rss() - before
		if grew > bound {
			t.Fatalf("resident memory grew by %d MiB under the orphan flood, bound %d", grew, bound)
		}
		held(t, "the orphan pool held %v blocks (at most %d bytes); resident memory grew by %d MiB (bound %d)", orphans, gsync.DefaultMaxOrphanBytes, grew, bound)

		topics := scale(2000, 100000)
		before = rss()
		out = h.do("subs %d", topics)
		tried(t, "%d made-up topics announced by one peer in %.1f s", topics, out["seconds"])
		waitFor(t, "the announcements read (the marker after them judged)", 2*time.Minute, func() error {
			if v.seriesValue(rejected("blocks", "malformed")) < 1 {
				return fmt.Errorf("marker not judged yet")
			}
			return nil
		})
		grew = rss() - before
		if grew > bound {
			t.Fatalf("resident memory grew by %d MiB under the subscription flood, bound %d", grew, bound)
		}
		held(t, "resident memory grew by %d MiB (bound %d)", grew, bound)
	})

	t.Run("HTTP connection flood", func(t *testing.T) {
		// Idle keep-alive connections, then silent ones, each three times the
		// node's connection limit, from one client.
		n := 3 * api.DefaultMaxConns
		var conns []net.Conn
		defer func() {
			for _, c := range conns {
				c.Close()
			}
		}()
		before, err := readProcStats(a.Pid())
		if err != nil {
			t.Fatal(err)
		}
		for i := range 2 * n {
			c, err := net.Dial("tcp", a.opts.httpAddr)
			if err != nil {
				t.Fatalf("dial %d: %v", i, err)
			}
			conns = append(conns, c)
			if i < n {
				fmt.Fprintf(c, "GET /status HTTP/1.1\r\nHost: x\r\n\r\n")
				if resp, err := http.ReadResponse(bufio.NewReader(c), nil); err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
			}
			if i%64 == 0 {
				if _, err := a.status(); err != nil {
					t.Fatalf("honest GET /status after %d connections: %v", i, err)
				}
			}
		}
		tried(t, "%d idle keep-alive and %d silent HTTP connections from one client", n, n)
		after, err := readProcStats(a.Pid())
		if err != nil {
			t.Fatal(err)
		}
		if after.FDs > before.FDs+api.DefaultMaxConns+16 {
			t.Fatalf("open files went from %d to %d: the connection limit (%d) did not hold", before.FDs, after.FDs, api.DefaultMaxConns)
		}
		if _, err := a.status(); err != nil {
			t.Fatalf("honest GET /status: %v", err)
		}
		if !strings.Contains(a.Log(), "HTTP connection limit reached") {
			t.Fatalf("the limit hit was not logged")
		}
		held(t, "honest GET /status answered throughout; open files %d → %d (limit %d connections); the limit hit logged at WARN", before.FDs, after.FDs, api.DefaultMaxConns)
	})

	t.Run("transaction flood", func(t *testing.T) {
		if !resilienceFull() {
			t.Skip("skipping: the long form floods 60,000 transactions (scripts/resilience.sh); sync's TestPoolFlood covers it in the suite")
		}
		h := startHostile(t, a)
		out := h.do("txflood 60000")
		tried(t, "one peer gossips 60,000 valid transactions in %.1f s, more than the pool holds", out["seconds"])
		waitFor(t, "the pool full of the flood", time.Minute, func() error {
			if p := a.mustStatus().Pending; p < 49_000 {
				return fmt.Errorf("%d pending", p)
			}
			return nil
		})
		for i := range 20 {
			if _, code, err := a.postTx("honest", fmt.Sprint(i), 1); err != nil || code != http.StatusCreated {
				t.Fatalf("POST /transactions/new under the flood: %d %v", code, err)
			}
		}
		held(t, "honest POST /transactions/new answered 201 with the pool full of the flood")
	})
	if strings.Contains(a.LogTail(200), "panic") {
		t.Fatalf("the target panicked")
	}
}
