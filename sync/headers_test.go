package sync

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/network"

	"github.com/gossipchain/gossipchain/chain"
)

// TestHeadersProtocol: a full node serves its main-chain headers after a
// locator, at most as many as asked and MaxHeadersPerRequest, each the
// header of the stored block; the reply costs HeaderSize bytes a header
// and a few bytes a reply.
func TestHeadersProtocol(t *testing.T) {
	full := newTestNode(t, testNetwork)
	blocks := buildBlocks(t, full.params, full.chain.Genesis(), MaxHeadersPerRequest+100, "miner")
	addBlocks(t, full.chain, blocks)
	raw := newRawHost(t)
	dialRaw(t, full, raw)
	ctx := context.Background()
	p := full.node.ID()

	got, err := fetchHeaders(ctx, raw, p, []chain.Hash{full.chain.Genesis().Hash}, MaxHeadersPerRequest, 10*time.Second)
	if err != nil {
		t.Fatalf("fetchHeaders: %v", err)
	}
	if len(got.headers) != MaxHeadersPerRequest || got.headHeight != blocks[len(blocks)-1].Index {
		t.Fatalf("got %d headers, head height %d; want %d, %d", len(got.headers), got.headHeight, MaxHeadersPerRequest, blocks[len(blocks)-1].Index)
	}
	for i, h := range got.headers {
		if h.Header() != blocks[i].Header() || h.Hash != blocks[i].Hash {
			t.Fatalf("header %d is %s, want %s", i, h.Hash, blocks[i].Hash)
		}
	}
	// The rest, after a locator whose first hash is unknown to the server.
	rest, err := fetchHeaders(ctx, raw, p, []chain.Hash{randomHash(), got.headers[len(got.headers)-1].Hash}, 500, 10*time.Second)
	if err != nil {
		t.Fatalf("fetchHeaders: %v", err)
	}
	if len(rest.headers) != 100 || rest.headers[99].Hash != blocks[len(blocks)-1].Hash {
		t.Fatalf("got %d headers, want the last 100", len(rest.headers))
	}
	n := len(got.headers) + len(rest.headers)
	var sent uint64
	waitFor(t, 10*time.Second, "the served bytes counted", func() bool {
		sent = full.node.Traffic().Sent[string(HeadersProtocol)]
		return sent >= uint64(n*chain.HeaderSize)
	})
	t.Logf("%d headers in %d bytes: %.2f bytes a header (header %d bytes)", n, sent, float64(sent)/float64(n), chain.HeaderSize)
	if want := uint64(n*chain.HeaderSize + 2*64); sent < uint64(n*chain.HeaderSize) || sent > want {
		t.Errorf("served %d bytes for %d headers, want %d..%d", sent, n, n*chain.HeaderSize, want)
	}

	// Another network's locator.
	_, err = fetchHeaders(ctx, raw, p, []chain.Hash{randomHash()}, 10, 10*time.Second)
	var ce *codeError
	if !errors.As(err, &ce) || ce.code != CodeNotFound {
		t.Errorf("unknown locator: error %v, want %s", err, CodeNotFound)
	}
	if full.node.Banned(raw.ID()) {
		t.Fatal("an honest client was penalised")
	}
}

// TestHeadersProtocolMalformedRequest: a request asking for more than
// MaxHeadersPerRequest, or none, is answered CodeBadRequest and its peer
// penalised. The penalty closes the connection, which may overtake the
// answer: the client sees the code or a closed stream, never headers.
func TestHeadersProtocolMalformedRequest(t *testing.T) {
	for name, limit := range map[string]int{"too many": MaxHeadersPerRequest + 1, "none": 0} {
		t.Run(name, func(t *testing.T) {
			full := newTestNode(t, testNetwork)
			raw := newRawHost(t)
			dialRaw(t, full, raw)
			_, err := fetchHeaders(context.Background(), raw, full.node.ID(), []chain.Hash{full.chain.Genesis().Hash}, limit, 10*time.Second)
			var ce *codeError
			if err == nil || isViolation(err) || errors.As(err, &ce) && ce.code != CodeBadRequest {
				t.Errorf("error %v, want %s or a closed stream", err, CodeBadRequest)
			}
			waitFor(t, 10*time.Second, "the client penalised", func() bool {
				return full.node.Banned(raw.ID()) && raw.Network().Connectedness(full.node.ID()) != network.Connected
			})
		})
	}
}
