package api

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gossipchain/gossipchain/api/client"
	"github.com/gossipchain/gossipchain/chain"
	"github.com/gossipchain/gossipchain/chain/miner"
	"github.com/gossipchain/gossipchain/chain/store"
)

func TestExplorerServed(t *testing.T) {
	n := newTestNode(t)
	r := n.do(http.MethodGet, "/", "").wantCode(t, http.StatusOK)
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		t.Fatalf("Content-Type %q", ct)
	}
	if csp := r.header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") {
		t.Fatalf("Content-Security-Policy %q", csp)
	}
	css := n.do(http.MethodGet, "/explorer/style.css", "").wantCode(t, http.StatusOK)
	if !strings.Contains(string(r.body), "/explorer/style.css") || len(css.body) == 0 {
		t.Fatal("the page does not load its style sheet")
	}
	// No resource from elsewhere, and no HTML built from strings.
	for path, js := range explorerScripts(t, n) {
		for _, bad := range []string{"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "http://", "https://"} {
			if bad == "http://" && strings.Count(js, "http://") == 1 && strings.Contains(js, "http://www.w3.org/2000/svg") {
				continue
			}
			if strings.Contains(js, bad) {
				t.Errorf("%s uses %s", path, bad)
			}
		}
	}
	r = n.do(http.MethodGet, "/explorer/missing.js", "").wantCode(t, http.StatusNotFound)
	r.errorMessage(t)
}

// explorerScripts returns the scripts the explorer's page loads, by path,
// failing the test unless each is served as JavaScript.
func explorerScripts(t *testing.T, n *testNode) map[string]string {
	t.Helper()
	page := n.do(http.MethodGet, "/", "").wantCode(t, http.StatusOK)
	scripts := map[string]string{}
	for _, m := range regexp.MustCompile(`<script src="([^"]+)"></script>`).FindAllStringSubmatch(string(page.body), -1) {
		r := n.do(http.MethodGet, m[1], "").wantCode(t, http.StatusOK)
		if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/javascript") || len(r.body) == 0 {
			t.Fatalf("%s: Content-Type %q, %d bytes", m[1], ct, len(r.body))
		}
		scripts[m[1]] = string(r.body)
	}
	if _, ok := scripts["/explorer/app.js"]; !ok || len(scripts) < 2 {
		t.Fatalf("the page loads scripts %v", slices.Collect(maps.Keys(scripts)))
	}
	return scripts
}

// TestExplorerReadsTheAPI checks the answers the explorer's page reads at
// load (the status with the network's parameters, the recent blocks for
// its table and charts, the forks) and, on a signed network, those of its
// pending-aware balance: the requests are in its scripts and the fields
// they read are in the answers.
func TestExplorerReadsTheAPI(t *testing.T) {
	n := newSignedNode(t, "apiexplorer")
	var js strings.Builder
	for _, src := range explorerScripts(t, n.testNode) {
		js.WriteString(src)
	}
	for _, req := range []string{"'/status'", "'/peers'", "'/blocks/recent?limit='", "'/blocks/recent?to='", "'/forks'",
		"'/addresses/'", "'/accounts/'", "'/transactions/pending?limit=", "'/events'"} {
		if !strings.Contains(js.String(), req) {
			t.Errorf("the explorer no longer requests %s", req)
		}
	}
	if m := regexp.MustCompile(`const MAX_RECENT = (\d+);`).FindStringSubmatch(js.String()); m == nil || m[1] != fmt.Sprint(MaxRecentBlocks) {
		t.Errorf("the explorer's MAX_RECENT %v is not MaxRecentBlocks %d", m, MaxRecentBlocks)
	}

	for range 3 {
		n.mine()
	}
	_, bob := newLedgerKey(t)
	n.do(http.MethodPost, "/transactions", n.sign(bob, 1, 0, n.chain.Genesis().Hash)).wantCode(t, http.StatusCreated)
	fields := func(path string, v any, keys ...string) {
		t.Helper()
		var m map[string]any
		r := n.do(http.MethodGet, path, "").wantCode(t, http.StatusOK)
		r.json(t, &m)
		r.json(t, v)
		for _, k := range keys {
			sub, key, nested := strings.Cut(k, ".")
			val, ok := m[sub]
			if nested && ok {
				_, ok = val.(map[string]any)[key]
			}
			if !ok {
				t.Errorf("%s has no %s: %v", path, k, m)
			}
		}
	}
	var st client.Status
	fields("/status", &st, "height", "head", "bits", "miner_address", "hash_rate", "mining",
		"params.ledger", "params.fixed_difficulty", "params.target_block_time_us")
	if st.Params.Ledger != chain.LedgerSigned || st.Params.FixedDifficulty != true || st.MinerAddress != n.addr {
		t.Errorf("status: %+v", st)
	}
	var recent recentResponse
	fields(fmt.Sprintf("/blocks/recent?limit=%d", MaxRecentBlocks), &recent, "height", "head", "blocks")
	if len(recent.Blocks) != 4 || recent.Blocks[0].Miner != n.addr {
		t.Errorf("recent blocks: %+v", recent)
	}
	var forks forksResponse
	fields("/forks", &forks, "height", "head", "branches")
	// The address page: the confirmed balance and the pending payment.
	var addr addressResponse
	fields("/addresses/"+n.addr+"?limit=100", &addr, "balance", "transactions")
	var acct client.Account
	fields("/accounts/"+n.addr, &acct, "balance", "pending", "pending_spend", "pending_nonce")
	reward := n.chain.Params().Reward
	if addr.Balance == nil || *addr.Balance != 3*reward || !addr.Transactions[0].Pending || acct.PendingSpend != 1 || acct.Pending != 1 || acct.PendingNonce != 1 {
		t.Errorf("address %+v, account %+v", addr, acct)
	}
}

func TestRedirectsAreJSON(t *testing.T) {
	n := newTestNode(t)
	client := *n.http.Client()
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	for _, path := range []string{"//chain", "/chain/../status", "/explorer"} {
		resp, err := client.Get(n.url + path)
		if err != nil {
			t.Fatal(err)
		}
		var body redirectBody
		err = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if resp.StatusCode/100 != 3 || err != nil || body.Location == "" || body.Location != resp.Header.Get("Location") ||
			!strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
			t.Errorf("%s: %d %q %+v %v", path, resp.StatusCode, resp.Header.Get("Content-Type"), body, err)
		}
	}
}

func TestPrettyJSON(t *testing.T) {
	n := newTestNode(t)
	r := n.do(http.MethodGet, "/status?pretty", "").wantCode(t, http.StatusOK)
	if !strings.HasPrefix(string(r.body), "{\n  \"peer_id\": ") {
		t.Fatalf("not indented: %s", r.body)
	}
	var st client.Status
	r.json(t, &st)
	r = n.do(http.MethodGet, "/blocks/nope?pretty=1", "").wantCode(t, http.StatusBadRequest)
	if !strings.Contains(string(r.body), "\n  \"error\": ") {
		t.Fatalf("error not indented: %s", r.body)
	}
	r = n.do(http.MethodGet, "/chain?pretty", "").wantCode(t, http.StatusOK)
	if !strings.Contains(string(r.body), "\n  \"chain\": [") {
		t.Fatalf("chain not indented: %.200s", r.body)
	}
	if r = n.do(http.MethodGet, "/status", ""); strings.Contains(string(r.body), "\n ") {
		t.Fatalf("indented without ?pretty: %s", r.body)
	}
}

func TestDuplicateKeysRefused(t *testing.T) {
	n := newTestNode(t)
	for _, body := range []string{
		`{"sender":"a","recipient":"b","amount":1,"amount":2}`,
		`{"sender":"a","sender":"a","recipient":"b","amount":1}`,
	} {
		r := n.do(http.MethodPost, "/transactions/new", body).wantCode(t, http.StatusBadRequest)
		if msg := r.errorMessage(t); !strings.Contains(msg, "appears twice") {
			t.Errorf("%s: %q", body, msg)
		}
	}
	r := n.do(http.MethodPost, "/nodes/register", `{"nodes":["/ip4/127.0.0.1/tcp/1"],"nodes":[]}`).wantCode(t, http.StatusBadRequest)
	if msg := r.errorMessage(t); !strings.Contains(msg, "appears twice") {
		t.Errorf("register: %q", msg)
	}
}

func TestBadAmountsCarryTheRule(t *testing.T) {
	n := newTestNode(t)
	for _, amount := range []string{"0", "-1", "1.5", `"5"`, "1e3", "99999999999999999999", fmt.Sprint(uint64(chain.MaxAmount) + 1)} {
		r := n.do(http.MethodPost, "/transactions/new", `{"sender":"a","recipient":"b","amount":`+amount+`}`).wantCode(t, http.StatusBadRequest)
		var e client.ErrorBody
		r.json(t, &e)
		if e.Error == "" || e.Rule != chain.ErrBadTransaction.String() {
			t.Errorf("amount %s: %+v", amount, e)
		}
	}
}

func TestCORS(t *testing.T) {
	off := newTestNode(t)
	req, _ := http.NewRequest(http.MethodGet, off.url+"/status", nil)
	req.Header.Set("Origin", "http://tools.example")
	resp, err := off.http.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := resp.Header.Get("Access-Control-Allow-Origin"); got != "" {
		t.Fatalf("CORS is off by default, got %q", got)
	}

	n := newTestNode(t, func(c *Config) { c.CORS = "http://tools.example" })
	pre, _ := http.NewRequest(http.MethodOptions, n.url+"/transactions/new", nil)
	pre.Header.Set("Origin", "http://tools.example")
	pre.Header.Set("Access-Control-Request-Method", "POST")
	resp, err = n.http.Client().Do(pre)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent || resp.Header.Get("Access-Control-Allow-Origin") != "http://tools.example" ||
		!strings.Contains(resp.Header.Get("Access-Control-Allow-Methods"), "POST") {
		t.Fatalf("preflight: %d %v", resp.StatusCode, resp.Header)
	}
	other, _ := http.NewRequest(http.MethodGet, n.url+"/status", nil)
	other.Header.Set("Origin", "http://evil.example")
	resp, err = n.http.Client().Do(other)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := resp.Header.Get("Access-Control-Allow-Origin"); got != "" {
		t.Fatalf("another origin got %q", got)
	}
}

func TestMineBlocksN(t *testing.T) {
	n := newTestNode(t)
	var out client.MinedBlocks
	n.do(http.MethodGet, "/mine?blocks=5", "").wantCode(t, http.StatusOK).json(t, &out)
	if len(out.Blocks) != 5 || out.Height != 6 || out.Blocks[4].Hash != out.Head || out.Blocks[0].Index != 2 {
		t.Fatalf("%+v", out)
	}
	if got := n.net.publishedCount(); got != 5 {
		t.Fatalf("published %d blocks, want 5", got)
	}
	for _, bad := range []string{"0", "-1", "x", fmt.Sprint(MaxMineBlocks + 1)} {
		r := n.do(http.MethodGet, "/mine?blocks="+bad, "").wantCode(t, http.StatusBadRequest)
		r.errorMessage(t)
	}
}

// TestStatusMiningDuringMine checks that GET /status shows an on-demand
// search as mining, and idle afterwards with a zero hash rate.
func TestStatusMiningDuringMine(t *testing.T) {
	params, err := chain.NewParams("apihard", 40) // no proof is found in the test's time
	if err != nil {
		t.Fatal(err)
	}
	c, err := store.Open(store.Config{Params: params, Path: t.TempDir() + "/chain.db", Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	m, err := miner.New(c, miner.Config{Address: "m", Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	n := newTestNode(t, func(cfg *Config) {
		cfg.Chain, cfg.Miner = c, m
		// GET /status shows a hash rate from the first sample, a second
		// after startWatch, until the search ends: a search of 3 s leaves
		// the polls two seconds (one of 1.5 s left half a second, which a
		// poll on a loaded machine could miss).
		cfg.MineTimeout = 3 * time.Second
	})
	n.server.startWatch()
	t.Cleanup(func() { n.server.Shutdown(context.Background()) })
	done := make(chan response, 1)
	go func() {
		resp, err := http.Get(n.url + "/mine")
		if err != nil {
			done <- response{}
			return
		}
		defer resp.Body.Close()
		done <- response{code: resp.StatusCode}
	}()
	sawMining := false
	deadline := time.Now().Add(10 * time.Second)
	for !sawMining && time.Now().Before(deadline) {
		var st client.Status
		n.do(http.MethodGet, "/status", "").wantCode(t, http.StatusOK).json(t, &st)
		sawMining = st.Mining && st.HashRate > 0
		time.Sleep(50 * time.Millisecond)
	}
	r := <-done
	if r.code != http.StatusServiceUnavailable {
		t.Fatalf("GET /mine: %d, want 503", r.code)
	}
	if !sawMining {
		t.Fatal("GET /status never showed mining with a hash rate while GET /mine searched")
	}
	var st client.Status
	n.do(http.MethodGet, "/status", "").wantCode(t, http.StatusOK).json(t, &st)
	if st.Mining || st.HashRate != 0 {
		t.Fatalf("after the search: mining %v, hash_rate %v", st.Mining, st.HashRate)
	}
}

func TestAddressHistory(t *testing.T) {
	n := newTestNode(t)
	evil := "<script>alert(1)</script>"
	body, _ := json.Marshal(map[string]any{"sender": evil, "recipient": "bob", "amount": 7})
	n.do(http.MethodPost, "/transactions/new", string(body)).wantCode(t, http.StatusCreated)
	n.mine()
	body, _ = json.Marshal(map[string]any{"sender": "bob", "recipient": evil, "amount": 2})
	n.do(http.MethodPost, "/transactions/new", string(body)).wantCode(t, http.StatusCreated)
	var a addressResponse
	n.do(http.MethodGet, "/addresses/%3Cscript%3Ealert(1)%3C%2Fscript%3E", "").wantCode(t, http.StatusOK).json(t, &a)
	if a.Address != evil || len(a.Transactions) != 2 || !a.Transactions[0].Pending || a.Transactions[0].Direction != "in" ||
		a.Transactions[1].Direction != "out" || a.Transactions[1].BlockIndex != 2 || a.Sent != 7 || !a.Complete {
		t.Fatalf("%+v", a)
	}
	var m addressResponse
	n.do(http.MethodGet, "/addresses/test-miner?limit=1", "").wantCode(t, http.StatusOK).json(t, &m)
	if len(m.Transactions) != 1 || m.Transactions[0].Direction != "reward" {
		t.Fatalf("%+v", m)
	}
	n.do(http.MethodGet, "/addresses/bob?limit=0", "").wantCode(t, http.StatusBadRequest)
	n.do(http.MethodGet, "/addresses/"+strings.Repeat("a", chain.MaxAddressLen+1), "").wantCode(t, http.StatusBadRequest)
}

func TestStatusVersionAndSync(t *testing.T) {
	n := newTestNode(t, func(c *Config) {
		c.Version = "v9.9.9"
		c.Progress = func() SyncProgress { return SyncProgress{Syncing: true, Height: 1, Target: 500} }
	})
	var st client.Status
	n.do(http.MethodGet, "/status", "").wantCode(t, http.StatusOK).json(t, &st)
	if st.Version != "v9.9.9" || !st.Syncing || st.TargetHeight != 500 {
		t.Fatalf("%+v", st)
	}
}

func TestNetworkMismatchNamesTheParameter(t *testing.T) {
	ours, err := chain.NewParams("devnet", 8)
	if err != nil {
		t.Fatal(err)
	}
	same := networkParamsOf(ours)
	with := func(f func(p *client.NetworkParams)) client.NetworkParams {
		p := same
		f(&p)
		return p
	}
	tests := []struct {
		st   client.Status
		want string
	}{
		{client.Status{Network: "other", Params: same}, `it runs with --network other, this node with --network devnet`},
		{client.Status{Network: "devnet"}, "its status has no parameters"},
		{client.Status{Network: "devnet", Params: with(func(p *client.NetworkParams) { p.TargetBlockTimeUS = 1e6 })}, "it runs with --target-block-time 1s, this node with --target-block-time 10s"},
		{client.Status{Network: "devnet", Params: with(func(p *client.NetworkParams) {
			p.InitialBits, p.MaxBits, p.FixedDifficulty = 0x1e03ffff, 0x1e03ffff, false
		})}, "it runs with no --difficulty (it retargets from 22 bits), this node with --difficulty 8"},
		{client.Status{Network: "devnet", Params: with(func(p *client.NetworkParams) { p.Ledger = chain.LedgerSigned })}, "it runs with --ledger signed, this node with --ledger open"},
		{client.Status{Network: "devnet", Params: with(func(p *client.NetworkParams) { p.MaxBlockTxs = 5 })}, "it runs with max block transactions 5 (set by no flag), this node with max block transactions 2000 (set by no flag)"},
		{client.Status{Network: "devnet", Params: with(func(p *client.NetworkParams) { p.MaxBlockSize = 5 })}, "max block size 5"},
		{client.Status{Network: "devnet", Params: same}, "the name and parameters agree"},
	}
	for _, tt := range tests {
		err := networkMismatch("http://x", tt.st, ours, ours.Genesis().Hash)
		if !strings.Contains(err.Error(), "http://x is on another network: ") || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%+v: %v, want %q", tt.st, err, tt.want)
		}
	}
}

// TestResolveOwnBlockIsNoReplacement: a head that moves during the call to a
// block mined here (continuous mining, no peers) replaced nothing.
func TestResolveOwnBlockIsNoReplacement(t *testing.T) {
	n := newTestNode(t)
	n.net.replaced = true // what a head change during the call reports
	n.net.onResolve = func() {
		if _, _, err := n.miner.MineBlock(context.Background()); err != nil {
			t.Error(err)
		}
	}
	var got map[string]any
	n.do(http.MethodGet, "/nodes/resolve", "").wantCode(t, http.StatusOK).json(t, &got)
	if got["message"] != "Our chain is authoritative" {
		t.Fatalf("resolve while mining here: %q", got["message"])
	}
}
