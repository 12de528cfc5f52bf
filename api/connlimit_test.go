package api

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gossipchain/gossipchain/chain"
	"github.com/gossipchain/gossipchain/chain/chaintest"
	"github.com/gossipchain/gossipchain/chain/store"
)

// lockedBuffer is a log sink safe for concurrent writes.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// serveReal serves the API of n's chain on a real loopback listener, as the
// node does, and returns its address and logs.
func serveReal(t *testing.T, opts ...nodeOption) (*Server, string, *lockedBuffer) {
	t.Helper()
	n := newTestNode(t)
	logs := &lockedBuffer{}
	cfg := Config{Chain: n.chain, Network: n.net, Miner: n.miner, Logger: slog.New(slog.NewTextHandler(logs, nil))}
	for _, o := range opts {
		o(&cfg)
	}
	s := New(cfg)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { s.Serve(ln); close(done) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s.Shutdown(ctx)
		<-done
	})
	return s, ln.Addr().String(), logs
}

// honestGet sends GET path on a fresh connection and returns the status.
func honestGet(addr, path string) (int, error) {
	c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second}
	resp, err := c.Get("http://" + addr + path)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, nil
}

// TestConnectionLimit: three times MaxConns idle keep-alive connections, then
// as many silent ones, never hold more than MaxConns connections open, the
// limit hit is logged at WARN, and fresh honest requests are served all along.
func TestConnectionLimit(t *testing.T) {
	const maxConns = 32
	s, addr, logs := serveReal(t, func(c *Config) { c.MaxConns = maxConns })
	var held []net.Conn
	t.Cleanup(func() {
		for _, c := range held {
			c.Close()
		}
	})
	for i := range 3 * maxConns {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, c)
		// One request, then the connection idles in keep-alive.
		fmt.Fprintf(c, "GET /status HTTP/1.1\r\nHost: x\r\n\r\n")
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		if i%8 == 0 {
			if code, err := honestGet(addr, "/status"); err != nil || code != http.StatusOK {
				t.Fatalf("honest request during the idle flood: %d, %v", code, err)
			}
		}
	}
	for i := range 3 * maxConns {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, c) // and say nothing
		if i%8 == 0 {
			if code, err := honestGet(addr, "/status"); err != nil || code != http.StatusOK {
				t.Fatalf("honest request during the silent flood: %d, %v", code, err)
			}
		}
	}
	if n := s.conns.open(); n > maxConns {
		t.Fatalf("%d connections open, limit %d", n, maxConns)
	}
	if !strings.Contains(logs.String(), "level=WARN") || !strings.Contains(logs.String(), "connection limit") {
		t.Fatalf("limit hit not logged at WARN:\n%s", logs.String())
	}
}

// TestChainStreamLimit: slow GET /chain readers hold at most MaxChainStreams
// responses (each one batch in memory); the others wait, then get 503 with
// the limit logged, and other requests are served meanwhile.
func TestChainStreamLimit(t *testing.T) {
	const streams = 2
	s, addr, logs := serveReal(t, func(c *Config) { c.MaxChainStreams = streams })
	s.batchBlocks = 1
	s.streamWait = 200 * time.Millisecond
	params := s.chain.Params()
	parent := s.chain.Genesis()
	// About 4 MB of JSON: more than the socket buffers of a reader with a
	// small receive buffer hold.
	for range 16 {
		txs := make([]chain.Transaction, 0, 1500)
		for j := range 1500 {
			tx, err := chain.NewTransaction(fmt.Sprintf("sender-%d-%d", parent.Index, j), strings.Repeat("r", 100), 1)
			if err != nil {
				t.Fatal(err)
			}
			txs = append(txs, tx)
		}
		b := chaintest.NewBlock(&params, parent, "m", txs...)
		b.Bits = s.chain.(*store.Chain).Head().NextBits
		chaintest.Seal(t, b)
		if _, err := s.chain.(*store.Chain).AddBlock(b); err != nil {
			t.Fatal(err)
		}
		parent = b
	}
	var held []net.Conn
	t.Cleanup(func() {
		for _, c := range held {
			c.Close()
		}
	})
	for range 2 * streams {
		d := net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
			return rc.Control(func(fd uintptr) { syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
		}}
		c, err := d.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, c)
		fmt.Fprintf(c, "GET /chain HTTP/1.1\r\nHost: x\r\n\r\n") // and never read
	}
	waitUntil(t, 10*time.Second, "the stream slots taken", func() bool { return len(s.chainStreams) == streams })
	if code, err := honestGet(addr, "/status"); err != nil || code != http.StatusOK {
		t.Fatalf("honest request during the slow readers: %d, %v", code, err)
	}
	code, err := honestGet(addr, "/chain")
	if err != nil || code != http.StatusServiceUnavailable {
		t.Fatalf("GET /chain beyond the limit: %d, %v; want 503", code, err)
	}
	if !strings.Contains(logs.String(), "GET /chain limit reached") {
		t.Fatalf("limit not logged:\n%s", logs.String())
	}
	if n := len(s.chainStreams); n > streams {
		t.Fatalf("%d chain streams, limit %d", n, streams)
	}
}

func waitUntil(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for: %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
