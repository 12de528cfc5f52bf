package api

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gossipchain/gossipchain/api/client"
	"github.com/gossipchain/gossipchain/chain"
	"github.com/gossipchain/gossipchain/chain/chaintest"
	"github.com/gossipchain/gossipchain/chain/miner"
	"github.com/gossipchain/gossipchain/chain/store"
	gsync "github.com/gossipchain/gossipchain/sync"
)

func TestStatus(t *testing.T) {
	n := newTestNode(t, func(cfg *Config) { cfg.Mining = func() bool { return true } })
	n.mine()
	n.do(http.MethodPost, "/transactions/new", tutorialTransaction).wantCode(t, http.StatusCreated)

	var st map[string]any
	n.do(http.MethodGet, "/status", "").wantCode(t, http.StatusOK).json(t, &st)
	head := n.chain.Head()
	want := map[string]any{
		"peer_id":       n.net.id,
		"addrs":         []any{n.net.addrs[0]},
		"network":       "apitest",
		"genesis":       n.chain.Genesis().Hash.String(),
		"height":        float64(2),
		"head":          head.Hash.String(),
		"total_work":    head.Work.String(),
		"peers":         float64(0),
		"pending":       float64(1),
		"mining":        true,
		"difficulty":    float64(testDifficulty),
		"miner_address": "test-miner",
	}
	for k, v := range want {
		if fmt.Sprint(st[k]) != fmt.Sprint(v) {
			t.Errorf("%s = %v, want %v", k, st[k], v)
		}
	}
	if _, ok := st["hash_rate"].(float64); !ok {
		t.Errorf("hash_rate = %v, want a number", st["hash_rate"])
	}
	if !strings.HasSuffix(st["addrs"].([]any)[0].(string), "/p2p/"+n.net.id) {
		t.Errorf("addrs %v lack /p2p/", st["addrs"])
	}
}

// TestStatusBrowserAddrs: /status lists, of the node's addresses, those a
// browser can dial (WebTransport, WebRTC-direct, with their certificate
// hashes), and an empty list when there are none.
func TestStatusBrowserAddrs(t *testing.T) {
	n := newTestNode(t)
	var st client.Status
	n.do(http.MethodGet, "/status", "").wantCode(t, http.StatusOK).json(t, &st)
	if st.BrowserAddrs == nil || len(st.BrowserAddrs) != 0 {
		t.Errorf("browser_addrs %v of a node without browser transports, want []", st.BrowserAddrs)
	}
	const hash = "/certhash/uEiAtcRZCtyawRAFifKn7rDL1yFMPsZA8xNsCJYcXkhpIgQ"
	id := "/p2p/" + n.net.id
	wt := "/ip4/127.0.0.1/udp/4001/quic-v1/webtransport" + hash + hash + id
	rtc := "/ip4/127.0.0.1/udp/4001/webrtc-direct" + hash + id
	n.net.addrs = append(n.net.addrs, "/ip4/127.0.0.1/udp/4001/quic-v1"+id, wt, rtc,
		"/ip4/127.0.0.1/udp/4001/quic-v1/webtransport"+id) // no certhash: no browser dials it
	n.do(http.MethodGet, "/status", "").wantCode(t, http.StatusOK).json(t, &st)
	if want := []string{wt, rtc}; !slices.Equal(st.BrowserAddrs, want) {
		t.Errorf("browser_addrs %v, want %v", st.BrowserAddrs, want)
	}
}

func TestPeers(t *testing.T) {
	n := newTestNode(t)
	var empty []PeerInfo
	n.do(http.MethodGet, "/peers", "").wantCode(t, http.StatusOK).json(t, &empty)
	if empty == nil || len(empty) != 0 {
		t.Fatalf("peers %v, want []", empty)
	}
	p := PeerInfo{ID: newPeerID(t).String(), Addr: "/ip4/127.0.0.1/tcp/4002", Direction: "inbound", Source: "bootstrap"}
	n.net.peers = []PeerInfo{p}
	var got []PeerInfo
	n.do(http.MethodGet, "/peers", "").wantCode(t, http.StatusOK).json(t, &got)
	if len(got) != 1 || !reflect.DeepEqual(got[0], p) {
		t.Fatalf("peers %+v, want %+v", got, p)
	}
}

func TestBlockByIndexOrHash(t *testing.T) {
	n := newTestNode(t)
	mined := n.mine()
	tests := []struct {
		id   string
		code int
		hash chain.Hash
	}{
		{"1", 200, n.chain.Genesis().Hash},
		{"2", 200, mined.Hash},
		{"02", 200, mined.Hash},
		{mined.Hash.String(), 200, mined.Hash},
		{strings.ToUpper(mined.Hash.String()), 200, mined.Hash},
		{"3", 404, chain.Hash{}},
		{"0", 404, chain.Hash{}},
		{strings.Repeat("ab", 32), 404, chain.Hash{}},
		{"18446744073709551616", 400, chain.Hash{}},
		{"abc", 400, chain.Hash{}},
		{"-1", 400, chain.Hash{}},
		{strings.Repeat("zz", 32), 400, chain.Hash{}},
		{strings.Repeat("a", 63), 400, chain.Hash{}},
	}
	for _, tt := range tests {
		r := n.do(http.MethodGet, "/blocks/"+tt.id, "")
		r.wantCode(t, tt.code)
		if tt.code != 200 {
			r.errorMessage(t)
			continue
		}
		b, err := chain.DecodeBlockJSON(r.body, 0)
		if err != nil {
			t.Fatalf("/blocks/%s: %v", tt.id, err)
		}
		if b.Hash != tt.hash || b.ComputeHash() != tt.hash {
			t.Fatalf("/blocks/%s: block %s, want %s", tt.id, b.Hash, tt.hash)
		}
	}
}

func TestTransactions(t *testing.T) {
	n := newTestNode(t)
	var posted client.TxAccepted
	n.do(http.MethodPost, "/transactions/new", tutorialTransaction).wantCode(t, http.StatusCreated).json(t, &posted)

	var pending client.Pending
	n.do(http.MethodGet, "/transactions/pending", "").wantCode(t, http.StatusOK).json(t, &pending)
	if pending.Total != 1 || len(pending.Transactions) != 1 || pending.Transactions[0].ID != posted.ID {
		t.Fatalf("pending %+v", pending)
	}
	n.do(http.MethodPost, "/transactions/new", tutorialTransaction).wantCode(t, http.StatusCreated)
	n.do(http.MethodGet, "/transactions/pending?limit=1", "").wantCode(t, http.StatusOK).json(t, &pending)
	if pending.Total != 2 || len(pending.Transactions) != 1 || pending.Transactions[0].ID != posted.ID {
		t.Fatalf("pending?limit=1 %+v", pending)
	}
	for _, q := range []string{"?limit=0", "?limit=x", "?limit=10001"} {
		n.do(http.MethodGet, "/transactions/pending"+q, "").wantCode(t, http.StatusBadRequest).errorMessage(t)
	}

	var tx map[string]any
	n.do(http.MethodGet, "/transactions/"+posted.ID.String(), "").wantCode(t, http.StatusOK).json(t, &tx)
	if tx["status"] != "pending" || tx["block_index"] != nil {
		t.Fatalf("before mining: %v", tx)
	}
	mined := n.mine()
	n.mine()
	var loc client.TxStatus
	n.do(http.MethodGet, "/transactions/"+posted.ID.String(), "").wantCode(t, http.StatusOK).json(t, &loc)
	if loc.Status != "confirmed" || loc.BlockIndex != mined.Index || loc.BlockHash == nil || *loc.BlockHash != mined.Hash ||
		loc.Confirmations != 2 || loc.Transaction.ID != posted.ID {
		t.Fatalf("after mining: %+v", loc)
	}

	n.do(http.MethodGet, "/transactions/"+strings.Repeat("0", 64), "").wantCode(t, http.StatusNotFound).errorMessage(t)
	n.do(http.MethodGet, "/transactions/xyz", "").wantCode(t, http.StatusBadRequest).errorMessage(t)
	r := n.do(http.MethodGet, "/transactions/new", "")
	r.wantCode(t, http.StatusMethodNotAllowed).errorMessage(t)
	if r.header.Get("Allow") != "POST" {
		t.Fatalf("Allow %q", r.header.Get("Allow"))
	}
}

// mineElsewhere mines count blocks on a second chain of the same network
// and returns them.
func mineElsewhere(t *testing.T, count int) []*chain.Block {
	t.Helper()
	c := openChain(t, "apitest")
	m, err := miner.New(c, miner.Config{Address: "elsewhere", Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	var out []*chain.Block
	for range count {
		b, _, err := m.MineBlock(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

func blockJSON(t *testing.T, b *chain.Block) string {
	t.Helper()
	data, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func TestSubmitBlock(t *testing.T) {
	n := newTestNode(t)
	blocks := mineElsewhere(t, 3)

	var out client.BlockSubmitted
	n.do(http.MethodPost, "/blocks", blockJSON(t, blocks[0])).wantCode(t, http.StatusCreated).json(t, &out)
	if out.Status != "extended" || out.Hash != blocks[0].Hash || out.Height != 2 || out.Head != blocks[0].Hash {
		t.Fatalf("accepted: %+v", out)
	}
	if n.net.publishedCount() != 1 {
		t.Fatal("accepted block not published")
	}
	n.do(http.MethodPost, "/blocks", blockJSON(t, blocks[0])).wantCode(t, http.StatusOK).json(t, &out)
	if out.Status != "known" {
		t.Fatalf("again: %+v", out)
	}
	n.do(http.MethodPost, "/blocks", blockJSON(t, blocks[2])).wantCode(t, http.StatusAccepted).json(t, &out)
	if out.Status != "orphan" || out.Height != 2 {
		t.Fatalf("orphan: %+v", out)
	}

	// A competing block at height 3 then one on top of it: a side branch,
	// then a reorganisation.
	local := n.mine()
	n.do(http.MethodPost, "/blocks", blockJSON(t, blocks[1])).wantCode(t, http.StatusCreated).json(t, &out)
	if out.Status != "side_branch" || out.Head != local.Hash {
		t.Fatalf("side branch: %+v", out)
	}
	n.do(http.MethodPost, "/blocks", blockJSON(t, blocks[2])).wantCode(t, http.StatusCreated).json(t, &out)
	if out.Status != "reorganized" || out.Head != blocks[2].Hash || out.Height != 4 {
		t.Fatalf("reorganisation: %+v", out)
	}
}

func TestSubmitBlockInvalid(t *testing.T) {
	n := newTestNode(t)
	good := mineElsewhere(t, 1)[0]

	badProof := *good
	chaintest.Unmine(t, &badProof, badProof.Bits)

	badHash := *good
	badHash.Hash[31] ^= 1

	badReward := *good
	badReward.Transactions = []chain.Transaction{chain.NewRewardTransaction("x", 1000, good.Index)}
	badReward.TxRoot = chain.TxRoot(badReward.Transactions)

	tests := []struct {
		name string
		body string
		code int
		rule string
	}{
		{"bad proof", blockJSON(t, &badProof), 400, "bad_proof"},
		{"stated hash wrong", blockJSON(t, &badHash), 400, "bad_hash"},
		{"bad reward", blockJSON(t, &badReward), 400, ""},
		{"missing field", strings.Replace(blockJSON(t, good), `"proof":`, `"proofx":`, 1), 400, "malformed"},
		{"malformed JSON", `{"index":`, 400, "malformed"},
		{"empty body", ``, 400, "malformed"},
		{"trailing data", blockJSON(t, good) + `{}`, 400, "malformed"},
		{"too large", `{"x":"` + strings.Repeat("a", int(n.server.maxBlockBody())) + `"}`, 413, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := n.do(http.MethodPost, "/blocks", tt.body)
			r.wantCode(t, tt.code)
			var e client.ErrorBody
			r.json(t, &e)
			if e.Error == "" || (tt.rule != "" && e.Rule != tt.rule) {
				t.Fatalf("error %+v, want rule %q", e, tt.rule)
			}
		})
	}
	if h := n.chain.Head().Height; h != 1 {
		t.Fatalf("height %d after invalid blocks", h)
	}
}

func TestUnknownPathAndMethod(t *testing.T) {
	n := newTestNode(t)
	tests := []struct {
		method, path string
		code         int
		allow        string
	}{
		{http.MethodGet, "/favicon.ico", 404, ""},
		{http.MethodGet, "/nope", 404, ""},
		{http.MethodGet, "/chain/", 404, ""},
		{http.MethodDelete, "/chain", 405, "GET, HEAD"},
		{http.MethodGet, "/transactions/new", 405, "POST"},
		{http.MethodPut, "/transactions/new", 405, "POST"},
		{http.MethodGet, "/nodes/register", 405, "POST"},
		{http.MethodPost, "/nodes/resolve", 405, "GET, HEAD"},
		{http.MethodGet, "/blocks", 405, "POST"},
		{http.MethodPost, "/status", 405, "GET, HEAD"},
		{http.MethodDelete, "/mine", 405, "GET, HEAD, POST"},
	}
	for _, tt := range tests {
		r := n.do(tt.method, tt.path, "")
		r.wantCode(t, tt.code)
		msg := r.errorMessage(t)
		if got := r.header.Get("Allow"); got != tt.allow {
			t.Errorf("%s %s: Allow %q, want %q (%s)", tt.method, tt.path, got, tt.allow, msg)
		}
	}
}

// panicNetwork panics in Peers.
type panicNetwork struct{ *testNetwork }

func (panicNetwork) Peers() []PeerInfo { panic("boom") }

func TestPanicRecovered(t *testing.T) {
	n := newTestNode(t, func(cfg *Config) { cfg.Network = panicNetwork{cfg.Network.(*testNetwork)} })
	n.do(http.MethodGet, "/peers", "").wantCode(t, http.StatusInternalServerError).errorMessage(t)
	n.do(http.MethodGet, "/chain", "").wantCode(t, http.StatusOK) // still serving
}

func TestMetrics(t *testing.T) {
	n := newTestNode(t, func(cfg *Config) {
		cfg.Collectors = []prometheus.Collector{gsync.StatsCollector(func() gsync.Stats {
			return gsync.Stats{BlocksAccepted: 4, BlocksRejected: map[string]uint64{"bad_proof": 2}, Peers: 1}
		})}
	})
	n.mine()
	n.do(http.MethodPost, "/transactions/new", tutorialTransaction).wantCode(t, http.StatusCreated)
	n.do(http.MethodGet, "/nope", "").wantCode(t, http.StatusNotFound)
	r := n.do(http.MethodGet, "/metrics", "").wantCode(t, http.StatusOK)
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Fatalf("Content-Type %q", ct)
	}
	body := string(r.body)
	for _, want := range []string{
		"gossipchain_chain_height 2",
		"gossipchain_pending_transactions 1",
		"gossipchain_peers 0",
		"gossipchain_mining 0",
		"gossipchain_mining_hash_rate ",
		"gossipchain_api_blocks_mined_total 1",
		`gossipchain_http_requests_total{code="201",route="POST /transactions/new"} 1`,
		`gossipchain_http_requests_total{code="200",route="GET /mine"} 1`,
		`gossipchain_http_requests_total{code="404",route="unmatched"} 1`,
		"gossipchain_sync_blocks_accepted_total 4",
		`gossipchain_sync_blocks_rejected_total{reason="bad_proof"} 2`,
		"gossipchain_sync_peers 1",
		"go_goroutines ",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("no %q in /metrics", want)
		}
	}
}

// blockingMiner mines nothing: it waits for its context.
type blockingMiner struct{ started chan struct{} }

func (m *blockingMiner) MineBlock(ctx context.Context) (*chain.Block, store.AddResult, error) {
	close(m.started)
	<-ctx.Done()
	return nil, store.AddResult{}, ctx.Err()
}
func (m *blockingMiner) HashRate() float64 { return 0 }
func (m *blockingMiner) Address() string   { return "blocked" }

// TestShutdownEndsMining checks that Shutdown answers a /mine in progress
// instead of waiting for it.
func TestShutdownEndsMining(t *testing.T) {
	miner := &blockingMiner{started: make(chan struct{})}
	n := newTestNode(t, func(cfg *Config) { cfg.Miner = miner })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- n.server.Serve(ln) }()

	type result struct {
		code int
		body string
		err  error
	}
	done := make(chan result, 1)
	go func() {
		resp, err := http.Get("http://" + ln.Addr().String() + "/mine")
		if err != nil {
			done <- result{err: err}
			return
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		done <- result{code: resp.StatusCode, body: string(body)}
	}()
	<-miner.started
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := n.server.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	res := <-done
	if res.err != nil || res.code != http.StatusServiceUnavailable || !strings.Contains(res.body, "interrupted") {
		t.Fatalf("/mine during shutdown: %d %q %v", res.code, res.body, res.err)
	}
	if err := <-served; err != http.ErrServerClosed {
		t.Fatalf("Serve returned %v", err)
	}
}
