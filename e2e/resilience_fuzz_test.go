package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gossipchain/gossipchain/api/client"
	"github.com/gossipchain/gossipchain/chain"
	"github.com/gossipchain/gossipchain/chain/chaintest"
)

// TestResilienceHTTPFuzz sends thousands of random and malformed requests to
// every endpoint of one node (random methods, mutated paths and queries,
// headers, mutated valid bodies and noise, over the HTTP client and as raw
// bytes on TCP, one client trickling its headers meanwhile) and checks that
// none is answered with a server error (save the 505 and 501 that net/http
// itself owes an unsupported HTTP version or transfer coding, before any
// handler runs), the node stays up, and its chain
// changes only through the requests that are meant to change it: the blocks
// mined by a GET or POST /mine answered 200, and one valid block submitted
// on purpose with POST /blocks.
func TestResilienceHTTPFuzz(t *testing.T) {
	total := scale(4000, 40000)
	rng := testRand(t)
	n := startNode(t, quietOpts(nodeOptions{network: "fuzz", difficulty: 8}))
	reportProblems(t, n)
	params := n.params()
	txID, code, err := n.postTx("alice", "bob", 5)
	if err != nil || code != http.StatusCreated {
		t.Fatalf("POST /transactions/new: %d %v", code, err)
	}
	n.mineN(3)
	before := n.mustValidChain()

	// One block mined here and submitted on purpose: the only POST /blocks
	// that may change the chain.
	own := mineBlock(t, params, before[len(before)-1], "fuzzer")
	ownJSON, _ := json.Marshal(own)
	var sub map[string]any
	if code, err := n.do(http.MethodPost, "/blocks", string(ownJSON), &sub); err != nil || code != http.StatusCreated {
		t.Fatalf("POST /blocks with a valid block: %d %v %v", code, sub, err)
	}
	allowed := map[string]string{own.Hash.String(): "POST /blocks (deliberate)"}
	base := append(slices.Clone(before), own)
	f := newFuzzer(rng, n, base, txID.String())
	tried(t, "%d random and malformed HTTP requests to every endpoint (%d over raw TCP), 8 at a time, while one client trickles its headers", total, total/10)

	// A client that never finishes its headers.
	slow := make(chan string, 1)
	go func() { slow <- trickleHeaders(n.opts.httpAddr) }()

	type result struct {
		desc string
		code int
		body []byte
	}
	results := make(chan result, 64)
	jobs := make(chan fuzzRequest)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for req := range jobs {
				code, body, err := req.send(n)
				if err != nil {
					code = -1
					body = []byte(err.Error())
				}
				results <- result{req.desc, code, body}
			}
		}()
	}
	go func() {
		for i := range total {
			jobs <- f.request(i%10 == 9)
		}
		close(jobs)
		wg.Wait()
		close(results)
	}()

	codes := map[int]int{}
	var serverErrors, transportErrors []string
	for r := range results {
		codes[r.code]++
		switch {
		case r.code == -1:
			transportErrors = append(transportErrors, r.desc+": "+string(r.body))
		case r.code >= 500 && !strings.Contains(r.desc, "(unsupported"):
			serverErrors = append(serverErrors, fmt.Sprintf("%d for %s: %s", r.code, r.desc, truncate(r.body)))
		case r.code == http.StatusOK && strings.HasPrefix(r.desc, "mine "):
			var out client.Mined
			if err := json.Unmarshal(r.body, &out); err != nil || out.Hash.IsZero() {
				t.Errorf("%s answered 200 without a block: %s", r.desc, truncate(r.body))
				continue
			}
			allowed[out.Hash.String()] = r.desc
		case (r.code == http.StatusCreated || r.code == http.StatusAccepted) && strings.HasPrefix(r.desc, "block "):
			t.Errorf("a mutated block was accepted: %d for %s: %s", r.code, r.desc, truncate(r.body))
		}
	}
	slowResult := <-slow
	t.Logf("answers by status: %v; trickling client: %s", codes, slowResult)
	if len(transportErrors) > 0 {
		t.Errorf("%d requests got no answer, first: %s", len(transportErrors), transportErrors[0])
	}
	if len(serverErrors) > 0 {
		for _, e := range serverErrors[:min(10, len(serverErrors))] {
			t.Errorf("server error: %s", e)
		}
		t.Fatalf("%d server errors", len(serverErrors))
	}

	// Still up, no panic, and the chain changed only as allowed.
	if _, err := n.status(); err != nil {
		t.Fatalf("node down after fuzzing: %v", err)
	}
	if strings.Contains(n.Log(), "panic") {
		t.Fatalf("the node logged a panic:\n%s", n.LogTail(40))
	}
	after := n.mustValidChain()
	if len(after) < len(before) {
		t.Fatalf("chain shrank from %d to %d blocks", len(before), len(after))
	}
	for i := range before {
		if after[i].Hash != before[i].Hash {
			t.Fatalf("block %d changed from %s to %s", i+1, before[i].Hash, after[i].Hash)
		}
	}
	for _, b := range after[len(before):] {
		if _, ok := allowed[b.Hash.String()]; !ok {
			t.Fatalf("block %d (%s) came from no request meant to change the chain", b.Index, b.Hash)
		}
	}
	if added := len(after) - len(before); added != len(allowed) {
		t.Fatalf("%d blocks added, but %d requests added one", added, len(allowed))
	}
	held(t, "%d requests: no server error from the node's handlers (answers by status %v; the 501 and 505 are net/http's own answers to an unsupported transfer coding or HTTP version), the node stayed up and logged no panic, a client trickling its headers was cut off (%s), and the chain changed only by the %d blocks of the deliberate POST /blocks and of the %d /mine requests answered 200; the %d blocks before were untouched and the chain stayed valid",
		total, codes, slowResult, len(after)-len(before), len(allowed)-1, len(before))
}

// mineBlock returns a valid block on parent paying its reward to addr,
// timestamped now (or at the parent's time, if that is later).
func mineBlock(t testing.TB, params chain.Params, parent *chain.Block, addr string) *chain.Block {
	t.Helper()
	b := chaintest.NewBlock(&params, parent, addr)
	b.Timestamp = max(chain.TimestampOf(time.Now()), parent.Timestamp)
	return chaintest.Seal(t, b)
}

// trickleHeaders sends a request line and then one header line a second,
// never ending the headers, and reports when the server cut it off.
func trickleHeaders(addr string) string {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return "dial failed: " + err.Error()
	}
	defer c.Close()
	start := time.Now()
	fmt.Fprintf(c, "GET /status HTTP/1.1\r\nHost: %s\r\n", addr)
	closed := make(chan struct{})
	go func() {
		io.Copy(io.Discard, c)
		close(closed)
	}()
	for i := 0; ; i++ {
		select {
		case <-closed:
			return fmt.Sprintf("closed by the server after %s", time.Since(start).Round(100*time.Millisecond))
		case <-time.After(time.Second):
		}
		if time.Since(start) > 60*time.Second {
			return "still open after 60s"
		}
		if _, err := fmt.Fprintf(c, "X-Slow-%d: %d\r\n", i, i); err != nil {
			return fmt.Sprintf("write refused after %s", time.Since(start).Round(100*time.Millisecond))
		}
	}
}

// fuzzer makes random requests from the node's own data.
type fuzzer struct {
	mu    sync.Mutex
	rng   *rand.Rand
	n     *node
	block []byte // JSON of a valid, already known block
	tx    string // id of a known transaction
	hash  string // hash of a known block
	self  string // the node's multiaddr
}

func newFuzzer(rng *rand.Rand, n *node, blocks []*chain.Block, txID string) *fuzzer {
	data, _ := json.Marshal(blocks[len(blocks)-1])
	return &fuzzer{rng: rng, n: n, block: data, tx: txID, hash: blocks[1].Hash.String(), self: n.multiaddr()}
}

// fuzzRequest is one request, sent through the HTTP client or as raw bytes.
type fuzzRequest struct {
	desc    string // starts with the kind: "mine ", "block ", ...
	method  string
	path    string // with the query
	header  http.Header
	body    []byte
	chunked bool   // send the body without a length
	raw     []byte // when set, written as is on a TCP connection
}

var fuzzMethods = []string{"GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "TRACE", "FOO", "get"}

func (f *fuzzer) pick(list []string) string { return list[f.rng.IntN(len(list))] }

// request returns the next random request; raw ones bypass the client.
func (f *fuzzer) request(raw bool) fuzzRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	if raw {
		return f.rawRequest()
	}
	r := fuzzRequest{method: "GET", header: http.Header{}}
	kind := f.pick([]string{"tx", "tx", "block", "block", "mine", "chain", "register", "register", "resolve", "status", "peers", "lookup", "lookup", "pending", "metrics", "random"})
	switch kind {
	case "tx":
		r.path, r.method = "/transactions/new", "POST"
		r.body = f.mutate([]byte(fmt.Sprintf(`{"sender": "s%d", "recipient": "r%d", "amount": %d}`, f.rng.IntN(1e6), f.rng.IntN(1e6), 1+f.rng.IntN(100))))
	case "block":
		r.path, r.method = "/blocks", "POST"
		r.body = f.mutate(f.block)
	case "mine":
		r.path, r.method = "/mine", f.pick([]string{"GET", "POST"})
		if f.rng.IntN(3) == 0 {
			r.body = f.noise()
		}
	case "chain":
		r.path = "/chain"
		q := url.Values{}
		for range f.rng.IntN(3) {
			q.Add(f.pick([]string{"from", "limit", "x"}), f.pick([]string{"0", "1", "-1", "10000", "10001", "abc", "99999999999999999999", "", "1.5", "2"}))
		}
		if len(q) > 0 {
			r.path += "?" + q.Encode()
		}
	case "register":
		r.path, r.method = "/nodes/register", "POST"
		entries := []string{
			`"` + f.self + `"`, `"` + f.n.url + `"`, `"http://127.0.0.1:1"`, `"127.0.0.1:1"`,
			`"/ip4/127.0.0.1/tcp/1/p2p/12D3KooWJGKNTzPnFdZAoh6maKtQXhZsbbiPgwBbgZKALEyQcsgQ"`,
			`"/ip4/127.0.0.1/tcp/1"`, `"not a node"`, `""`, `42`, `null`, `{"a": 1}`, `["x"]`,
			`"http://[::1]:1/status"`, `"ftp://127.0.0.1:1"`, `"http://127.0.0.1:1/` + strings.Repeat("a", 5000) + `"`,
		}
		var list []string
		for range f.rng.IntN(4) {
			list = append(list, f.pick(entries))
		}
		body := fmt.Sprintf(`{"nodes": [%s]}`, strings.Join(list, ", "))
		if f.rng.IntN(5) == 0 {
			body = fmt.Sprintf(`{"nodes": [%s]}`, strings.Repeat(`"x",`, 100)+`"x"`)
		}
		r.body = f.mutate([]byte(body))
	case "resolve":
		r.path = "/nodes/resolve"
	case "status":
		r.path = "/status"
	case "peers":
		r.path = "/peers"
	case "lookup":
		r.path = f.pick([]string{"/blocks/", "/transactions/"}) + f.pick([]string{
			"1", "0", "2", "999999", "18446744073709551615", "18446744073709551616", "-1", "abc",
			f.hash, strings.ToUpper(f.hash), f.hash[:63], f.hash + "0", f.tx, strings.Repeat("g", 64),
			"new", "pending", "%00", "..", url.PathEscape(string(f.noise())),
		})
	case "pending":
		r.path = "/transactions/pending?limit=" + f.pick([]string{"", "0", "1", "10000", "10001", "-5", "x", "1e3"})
	case "metrics":
		r.path = "/metrics"
	default:
		r.path = "/" + url.PathEscape(string(f.noise()))
		r.body = f.noise()
	}
	if f.rng.IntN(4) == 0 {
		r.method = f.pick(fuzzMethods)
	}
	if f.rng.IntN(8) == 0 {
		r.path += f.pick([]string{"/", "//", "/..", "?", "?a=%zz", "#x", "/extra"})
	}
	r.desc = fmt.Sprintf("%s %s %s", kind, r.method, r.path)
	switch f.rng.IntN(6) {
	case 0:
		r.header.Set("Content-Type", f.pick([]string{"text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/json; charset=utf-16", "", "*/*"}))
	case 1:
		r.header.Set("Content-Encoding", "gzip")
	case 2:
		r.header.Set("X-"+strconv.Itoa(f.rng.IntN(100)), strings.Repeat("v", f.rng.IntN(8000)))
	case 3:
		r.chunked = true
	default:
		r.header.Set("Content-Type", "application/json")
	}
	if f.rng.IntN(40) == 0 {
		// Over the body limits: 64 KiB for most endpoints, 4 MiB and
		// a little for POST /blocks.
		r.body = bytes.Repeat([]byte(" "), 64<<10+f.rng.IntN(5<<20))
		r.desc += " (oversized body)"
	}
	return r
}

// mutate applies a few random edits to a valid JSON body.
func (f *fuzzer) mutate(valid []byte) []byte {
	b := slices.Clone(valid)
	switch f.rng.IntN(10) {
	case 0:
		return b // unchanged: the request may be valid
	case 1:
		return b[:f.rng.IntN(len(b)+1)] // truncated
	case 2:
		return f.noise()
	case 3:
		// One value swapped for something else.
		repl := f.pick([]string{`-1`, `0`, `1.5`, `1e308`, `99999999999999999999999`, `"5"`, `null`, `true`, `[]`, `{}`, `"\u0000"`, `"` + strings.Repeat("x", 300) + `"`})
		s := string(b)
		var at []int
		for i := 0; i+1 < len(s); i++ {
			if s[i] == ':' {
				at = append(at, i+1)
			}
		}
		if len(at) == 0 {
			return b
		}
		i := at[f.rng.IntN(len(at))]
		end := strings.IndexAny(s[i:], ",}]")
		if end < 0 {
			end = len(s) - i
		}
		return []byte(s[:i] + " " + repl + s[i+end:])
	case 4:
		// A duplicated key, trailing data, or a wrapper.
		return []byte(f.pick([]string{
			strings.Replace(string(b), "{", `{"amount": 1, `, 1),
			string(b) + string(b),
			"[" + string(b) + "]",
			string(b) + " x",
			`{"a": ` + string(b) + `}`,
		}))
	case 5:
		// Deep nesting.
		d := 1 + f.rng.IntN(20000)
		return []byte(strings.Repeat("[", d) + strings.Repeat("]", d))
	default:
		// Random byte edits.
		for range 1 + f.rng.IntN(4) {
			if len(b) == 0 {
				break
			}
			i := f.rng.IntN(len(b))
			switch f.rng.IntN(3) {
			case 0:
				b[i] = byte(f.rng.IntN(256))
			case 1:
				b = append(b[:i], b[i+1:]...)
			default:
				b = append(b[:i], append([]byte{byte(f.rng.IntN(256))}, b[i:]...)...)
			}
		}
		return b
	}
}

func (f *fuzzer) noise() []byte {
	b := make([]byte, f.rng.IntN(512))
	for i := range b {
		b[i] = byte(f.rng.IntN(256))
	}
	return b
}

// rawRequest returns malformed HTTP on the wire.
func (f *fuzzer) rawRequest() fuzzRequest {
	host := f.n.opts.httpAddr
	cases := []struct{ desc, data string }{
		{"raw garbage", string(f.noise()) + "\r\n\r\n"},
		{"raw no version", "GET /status\r\n\r\n"},
		{"raw bad version", "GET /status HTTP/9.9\r\nHost: x\r\n\r\n"},
		{"raw version 2", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"},
		{"raw lowercase method", "get /status HTTP/1.1\r\nHost: x\r\n\r\n"},
		{"raw no host", "GET /status HTTP/1.1\r\n\r\n"},
		{"raw bad header", "GET /status HTTP/1.1\r\nHost: x\r\nNo colon here\r\n\r\n"},
		{"raw header too large", "GET /status HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("a", 70<<10) + "\r\n\r\n"},
		{"raw long uri", "GET /" + strings.Repeat("a", 70<<10) + " HTTP/1.1\r\nHost: x\r\n\r\n"},
		{"raw negative length", "POST /transactions/new HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n"},
		{"raw two lengths", "POST /transactions/new HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!"},
		{"raw short body", "POST /transactions/new HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\nConnection: close\r\n\r\n{\"sender\": \"a\""},
		{"raw bad chunk", "POST /blocks HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n"},
		{"raw chunked and length", "POST /transactions/new HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n"},
		{"raw unknown encoding (unsupported transfer coding: net/http answers 501, RFC 9112 6.1)", "POST /transactions/new HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n"},
		{"raw nul in path", "GET /sta\x00tus HTTP/1.1\r\nHost: x\r\n\r\n"},
		{"raw absolute uri", "GET http://" + host + "/status HTTP/1.1\r\nHost: x\r\n\r\n"},
		{"raw asterisk", "OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n"},
		{"raw connect", "CONNECT " + host + " HTTP/1.1\r\nHost: x\r\n\r\n"},
		{"raw expect", "POST /transactions/new HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n{}"},
		{"raw pipelined", "GET /status HTTP/1.1\r\nHost: x\r\n\r\nGET /nope HTTP/1.1\r\nHost: x\r\n\r\nBROKEN\r\n\r\n"},
		{"raw http/1.0", "GET /chain HTTP/1.0\r\n\r\n"},
	}
	c := cases[f.rng.IntN(len(cases))]
	desc := c.desc
	if strings.Contains(c.data, "HTTP/9.9") || strings.Contains(c.data, "HTTP/2.0") {
		desc += " (unsupported version: net/http answers 505)"
	}
	return fuzzRequest{desc: desc, raw: []byte(c.data)}
}

// send sends the request and returns the status and body of the answer.
// For raw requests it returns the first status line's code, or 0 when the
// server closed the connection without answering (an acceptable reaction
// to bytes that are not HTTP).
func (r fuzzRequest) send(n *node) (int, []byte, error) {
	if r.raw != nil {
		c, err := net.DialTimeout("tcp", n.opts.httpAddr, 10*time.Second)
		if err != nil {
			return 0, nil, err
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(30 * time.Second))
		if _, err := c.Write(r.raw); err != nil {
			return 0, nil, nil // closed while we wrote: no answer
		}
		if tc, ok := c.(*net.TCPConn); ok {
			tc.CloseWrite()
		}
		line, err := bufio.NewReader(c).ReadString('\n')
		if err != nil {
			return 0, nil, nil
		}
		f := strings.Fields(line)
		if len(f) < 2 || !strings.HasPrefix(f[0], "HTTP/") {
			return 0, nil, fmt.Errorf("not an HTTP answer: %q", line)
		}
		code, err := strconv.Atoi(f[1])
		return code, []byte(line), err
	}
	var body io.Reader
	if r.body != nil {
		body = bytes.NewReader(r.body)
		if r.chunked {
			body = io.MultiReader(body) // hides the length: sent chunked
		}
	}
	req, err := http.NewRequest(r.method, n.url+r.path, body)
	if err != nil {
		// Not expressible through the client: send it raw instead.
		raw := fmt.Sprintf("%s %s HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s", r.method, r.path, len(r.body), r.body)
		return fuzzRequest{desc: r.desc, raw: []byte(raw)}.send(n)
	}
	for k, v := range r.header {
		req.Header[k] = v
	}
	resp, err := fuzzClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	return resp.StatusCode, data, err
}

// fuzzClient follows no redirects: a redirect to /mine must not mine.
var fuzzClient = &http.Client{
	Timeout:       60 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	Transport:     &http.Transport{MaxIdleConnsPerHost: 8, DisableCompression: true},
}
