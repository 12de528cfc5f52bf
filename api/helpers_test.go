package api

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/multiformats/go-multiaddr"

	"github.com/gossipchain/gossipchain/api/client"
	"github.com/gossipchain/gossipchain/chain"
	"github.com/gossipchain/gossipchain/chain/miner"
	"github.com/gossipchain/gossipchain/chain/store"
)

// testDifficulty makes proof of work nearly free.
const testDifficulty = 8

// quiet drops the logs of the chain and the server under test.
var quiet = slog.New(slog.DiscardHandler)

// testNetwork is the network boundary of the API in tests: it submits to
// the real chain, as the sync service does, and records what is published
// and dialled instead of using sockets.
type testNetwork struct {
	chain *store.Chain
	id    string
	addrs []string

	mu        sync.Mutex
	published []*chain.Block
	dialled   []string        // every multiaddr Connect was called with
	reachable map[string]bool // multiaddrs that Connect succeeds on
	peers     []PeerInfo
	replaced  bool   // what Resolve answers
	resolve   error  // what Resolve fails with
	submitErr error  // when set, SubmitTransaction fails with it
	onResolve func() // when set, Resolve calls it first
}

var _ Network = (*testNetwork)(nil)

func (n *testNetwork) ID() string      { return n.id }
func (n *testNetwork) Addrs() []string { return n.addrs }

func (n *testNetwork) Peers() []PeerInfo {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]PeerInfo(nil), n.peers...)
}

func (n *testNetwork) Connect(ctx context.Context, addr multiaddr.Multiaddr) error {
	ai, err := peer.AddrInfoFromP2pAddr(addr)
	if err != nil {
		return err
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	n.dialled = append(n.dialled, addr.String())
	if !n.reachable[addr.String()] {
		return errors.New("connection refused")
	}
	transport, _ := multiaddr.SplitFunc(addr, func(c multiaddr.Component) bool { return c.Code() == multiaddr.P_P2P })
	n.peers = append(n.peers, PeerInfo{ID: ai.ID.String(), Addr: transport.String(), Direction: "outbound", Source: "register"})
	return nil
}

func (n *testNetwork) SubmitTransaction(_ context.Context, tx chain.Transaction) error {
	n.mu.Lock()
	err := n.submitErr
	n.mu.Unlock()
	if err != nil {
		return err
	}
	return n.chain.AddTransaction(tx)
}

func (n *testNetwork) SubmitTransactions(_ context.Context, txs []chain.Transaction) []error {
	n.mu.Lock()
	err := n.submitErr
	n.mu.Unlock()
	if err != nil {
		errs := make([]error, len(txs))
		for i := range errs {
			errs[i] = err
		}
		return errs
	}
	return n.chain.AddTransactions(txs, "")
}

func (n *testNetwork) SubmitBlock(ctx context.Context, b *chain.Block) (store.AddResult, error) {
	res, err := n.chain.AddBlock(b)
	if err == nil {
		n.PublishBlock(ctx, b)
	}
	return res, err
}

func (n *testNetwork) PublishBlock(_ context.Context, b *chain.Block) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.published = append(n.published, b)
	return nil
}

func (n *testNetwork) Resolve(context.Context) (bool, error) {
	n.mu.Lock()
	hook := n.onResolve
	n.mu.Unlock()
	if hook != nil {
		hook()
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.replaced, n.resolve
}

func (n *testNetwork) publishedCount() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return len(n.published)
}

// newPeerID returns a fresh peer ID.
func newPeerID(t testing.TB) peer.ID {
	t.Helper()
	_, pub, err := crypto.GenerateEd25519Key(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	id, err := peer.IDFromPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// testNode is an API server over a real chain, store and miner.
type testNode struct {
	t      testing.TB
	chain  *store.Chain
	path   string // of the chain's store; empty if not known
	miner  *miner.Miner
	net    *testNetwork
	server *Server
	http   *httptest.Server
	url    string
}

// nodeOption adjusts the Config of a test node before New.
type nodeOption func(*Config)

// newTestNode opens a chain of the network "apitest" in a temporary
// directory and serves the API over it.
func newTestNode(t testing.TB, opts ...nodeOption) *testNode {
	t.Helper()
	return newTestNodeOn(t, "apitest", opts...)
}

func newTestNodeOn(t testing.TB, network string, opts ...nodeOption) *testNode {
	t.Helper()
	path := filepath.Join(t.TempDir(), "chain.db")
	c := openChainAt(t, network, path)
	m, err := miner.New(c, miner.Config{Address: "test-miner", Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	id := newPeerID(t)
	n := &testNetwork{
		chain:     c,
		id:        id.String(),
		addrs:     []string{"/ip4/127.0.0.1/tcp/4001/p2p/" + id.String()},
		reachable: map[string]bool{},
	}
	cfg := Config{Chain: c, Network: n, Miner: m, Logger: quiet}
	for _, o := range opts {
		o(&cfg)
	}
	s := New(cfg)
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	// Shutdown stops the watcher that GET /events may have started.
	t.Cleanup(func() { s.Shutdown(context.Background()) })
	return &testNode{t: t, chain: c, path: path, miner: m, net: n, server: s, http: ts, url: ts.URL}
}

// openChain opens a fresh chain store of the named network.
func openChain(t testing.TB, network string) *store.Chain {
	t.Helper()
	return openChainAt(t, network, filepath.Join(t.TempDir(), "chain.db"))
}

// openChainAt opens the chain store of the named network at path.
func openChainAt(t testing.TB, network, path string) *store.Chain {
	t.Helper()
	params, err := chain.NewParams(network, testDifficulty)
	if err != nil {
		t.Fatal(err)
	}
	c, err := store.Open(store.Config{Params: params, Path: path, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// response is an answered request.
type response struct {
	code   int
	header http.Header
	body   []byte
}

// do sends a request with body (none when empty) and returns the answer.
func (n *testNode) do(method, path, body string) response {
	n.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(context.Background(), method, n.url+path, rd)
	if err != nil {
		n.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := n.http.Client().Do(req)
	if err != nil {
		n.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		n.t.Fatalf("%s %s: read body: %v", method, path, err)
	}
	return response{code: resp.StatusCode, header: resp.Header, body: data}
}

// json decodes the body into v, failing the test if it is not JSON.
func (r response) json(t testing.TB, v any) {
	t.Helper()
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("Content-Type %q, want application/json; body %s", ct, r.body)
	}
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

// errorMessage returns the "error" of a JSON error body.
func (r response) errorMessage(t testing.TB) string {
	t.Helper()
	var e struct {
		Error string `json:"error"`
	}
	r.json(t, &e)
	if e.Error == "" {
		t.Fatalf("no error message in %s", r.body)
	}
	return e.Error
}

// wantCode fails the test unless the status code is want.
func (r response) wantCode(t testing.TB, want int) response {
	t.Helper()
	if r.code != want {
		t.Fatalf("status %d, want %d; body %s", r.code, want, r.body)
	}
	return r
}

// mine mines one block through the API.
func (n *testNode) mine() client.Mined {
	n.t.Helper()
	var out client.Mined
	n.do(http.MethodGet, "/mine", "").wantCode(n.t, http.StatusOK).json(n.t, &out)
	return out
}

// servedChain reads GET /chain and decodes every block with
// chain.DecodeBlockJSON.
func (n *testNode) servedChain(query string) ([]*chain.Block, int) {
	n.t.Helper()
	var out struct {
		Chain  []json.RawMessage `json:"chain"`
		Length int               `json:"length"`
	}
	n.do(http.MethodGet, "/chain"+query, "").wantCode(n.t, http.StatusOK).json(n.t, &out)
	blocks := make([]*chain.Block, len(out.Chain))
	for i, raw := range out.Chain {
		b, err := chain.DecodeBlockJSON(raw, 0)
		if err != nil {
			n.t.Fatalf("block %d of /chain does not decode: %v\n%s", i, err, raw)
		}
		blocks[i] = b
	}
	return blocks, out.Length
}

// checkLinked fails the test unless blocks is a chain from genesis in which
// every hash recomputes from the served JSON and every block links to the
// one before.
func checkLinked(t testing.TB, c *store.Chain, blocks []*chain.Block) {
	t.Helper()
	if len(blocks) == 0 {
		t.Fatal("empty chain")
	}
	if blocks[0].Hash != c.Genesis().Hash {
		t.Fatalf("first block %s is not the genesis %s", blocks[0].Hash, c.Genesis().Hash)
	}
	for i, b := range blocks {
		if got := b.ComputeHash(); got != b.Hash {
			t.Fatalf("block %d: hash from served JSON %s, stated %s", b.Index, got, b.Hash)
		}
		if b.Index != uint64(i+1) {
			t.Fatalf("block %d has index %d", i, b.Index)
		}
		if i > 0 && b.PreviousHash != blocks[i-1].Hash {
			t.Fatalf("block %d: previous_hash %s, want %s", b.Index, b.PreviousHash, blocks[i-1].Hash)
		}
		if i > 0 && !b.MeetsTarget() {
			t.Fatalf("block %d: hash %s lacks the proof of work", b.Index, b.Hash)
		}
	}
}
