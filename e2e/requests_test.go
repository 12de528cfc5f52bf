package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/gossipchain/gossipchain/api/client"
	"github.com/gossipchain/gossipchain/chain"
)

// This file holds the requests the tests make to a node's HTTP API.

// hc is the HTTP client of the tests' requests.
var hc = &http.Client{Timeout: 30 * time.Second}

// requestCtx returns the context of one request of the tests.
func requestCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 60*time.Second)
}

// status returns the node's GET /status.
func (n *node) status() (client.Status, error) {
	ctx, cancel := requestCtx()
	defer cancel()
	return n.Client().Status(ctx)
}

// mustStatus returns the status or fails the test.
func (n *node) mustStatus() client.Status {
	n.t.Helper()
	s, err := n.status()
	if err != nil {
		n.t.Fatal(err)
	}
	return s
}

// getJSON sends GET path and decodes the JSON answer into v (see do).
func (n *node) getJSON(path string, v any) (int, error) {
	return n.do(http.MethodGet, path, "", v)
}

// do sends a request with body (none when empty) and decodes the JSON
// answer into v (if not nil), whatever its status code, which it returns.
func (n *node) do(method, path, body string, v any) (int, error) {
	ctx, cancel := requestCtx()
	defer cancel()
	var b any
	if body != "" {
		b = body
	}
	code, data, err := n.Client().Raw(ctx, method, path, b)
	if err != nil {
		return code, err
	}
	if v != nil {
		if err := json.Unmarshal(data, v); err != nil {
			return code, fmt.Errorf("%s %s: decode %q: %w", method, path, truncate(data), err)
		}
	}
	return code, nil
}

func truncate(b []byte) string {
	if len(b) > 300 {
		return string(b[:300]) + "..."
	}
	return string(b)
}

// metric returns the value of an unlabelled metric from GET /metrics.
func (n *node) metric(name string) (float64, error) {
	m, err := n.metrics()
	if err != nil {
		return 0, err
	}
	v, ok := m[name]
	if !ok {
		return 0, fmt.Errorf("metric %s not found", name)
	}
	return v, nil
}

// mine asks the node to mine one block.
func (n *node) mine() client.Mined {
	n.t.Helper()
	ctx, cancel := requestCtx()
	defer cancel()
	m, err := n.Client().Mine(ctx)
	if err != nil {
		n.t.Fatalf("GET /mine: %v", err)
	}
	return m
}

// chainHashes returns the hashes of the node's main chain.
func (n *node) chainHashes() ([]chain.Hash, error) {
	ctx, cancel := requestCtx()
	defer cancel()
	ch, err := n.Client().Chain(ctx)
	if err != nil {
		return nil, err
	}
	hashes := make([]chain.Hash, len(ch.Chain))
	for i, b := range ch.Chain {
		hashes[i] = b.Hash
	}
	if uint64(len(hashes)) != ch.Length {
		return nil, fmt.Errorf("length %d but %d blocks", ch.Length, len(hashes))
	}
	return hashes, nil
}
