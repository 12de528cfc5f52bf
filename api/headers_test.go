package api

import (
	"bytes"
	"net/http"
	"testing"

	"github.com/gossipchain/gossipchain/api/client"
	"github.com/gossipchain/gossipchain/chain"
)

// TestHeaders: GET /headers serves the main chain's headers from a height,
// back to back, as the store holds them; the typed client reads them, and
// bad parameters are 400, a height above the head 404.
func TestHeaders(t *testing.T) {
	n := newTestNode(t)
	for range 3 {
		n.mine()
	}
	c := client.New(n.url, nil)
	data, err := c.Headers(t.Context(), 1, client.MaxHeaders)
	if err != nil {
		t.Fatal(err)
	}
	if len(data) != 4*chain.HeaderSize {
		t.Fatalf("%d bytes, want 4 headers", len(data))
	}
	for i := range 4 {
		b, err := n.chain.BlockByHeight(uint64(i + 1))
		if err != nil {
			t.Fatal(err)
		}
		want := b.Header()
		if got := data[i*chain.HeaderSize : (i+1)*chain.HeaderSize]; !bytes.Equal(got, want[:]) {
			t.Fatalf("header %d is %x, want %x", i+1, got, want)
		}
	}
	part, err := c.Headers(t.Context(), 2, 2)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(part, data[chain.HeaderSize:3*chain.HeaderSize]) {
		t.Fatalf("headers 2 and 3: got %x", part)
	}
	r := n.do(http.MethodGet, "/headers?from=4", "").wantCode(t, http.StatusOK)
	if ct := r.header.Get("Content-Type"); ct != "application/octet-stream" || !bytes.Equal(r.body, data[3*chain.HeaderSize:]) {
		t.Fatalf("from=4: Content-Type %q, body %x", ct, r.body)
	}
	for _, c := range []struct {
		query string
		code  int
	}{
		{"?from=5", http.StatusNotFound},
		{"?from=0", http.StatusBadRequest},
		{"?from=x", http.StatusBadRequest},
		{"?from=-1", http.StatusBadRequest},
		{"?count=0", http.StatusBadRequest},
		{"?count=2001", http.StatusBadRequest},
		{"?from=1&count=x", http.StatusBadRequest},
	} {
		r := n.do(http.MethodGet, "/headers"+c.query, "").wantCode(t, c.code)
		t.Logf("%s: %s", c.query, r.errorMessage(t))
	}
	if _, err := c.Headers(t.Context(), 9, 1); client.StatusOf(err) != http.StatusNotFound {
		t.Fatalf("from above the head: %v, want a 404", err)
	}
}
