package sync

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gossipchain/gossipchain/chain"
	"github.com/gossipchain/gossipchain/chain/chaintest"
	"github.com/gossipchain/gossipchain/chain/merkle"
	"github.com/gossipchain/gossipchain/chain/proof"
)

// startProofNode starts a full node of a signed network holding four
// blocks: three that pay alice, and one where she pays bob 30 (its first
// transaction).
func startProofNode(t *testing.T) (*testNode, []*chain.Block) {
	t.Helper()
	full := startTestNode(t, signedParams(t, testNetwork), t.TempDir())
	alice, aliceAddr := chaintest.Key(t, "alice")
	_, bobAddr := chaintest.Key(t, "bob")
	g := full.chain.Genesis()
	blocks := buildBlocks(t, full.params, g, 3, aliceAddr)
	pay := chaintest.SignedTx(t, g.Hash, alice, bobAddr, 30, 0)
	blocks = append(blocks, chaintest.NextBlock(t, &full.params, blocks[2], aliceAddr, pay))
	addBlocks(t, full.chain, blocks)
	return full, blocks
}

// TestProofsProtocol: a full node of a signed network serves the proof of
// every transaction of its main chain and of accounts (present, absent, at
// its head and at an earlier block); each verifies against the header of
// the block the node holds. A pending transaction, a block not on its
// main chain are not_found; an honest client is not penalised.
func TestProofsProtocol(t *testing.T) {
	full, blocks := startProofNode(t)
	alice, aliceAddr := chaintest.Key(t, "alice")
	_, bobAddr := chaintest.Key(t, "bob")
	_, nobody := chaintest.Key(t, "nobody")
	g := full.chain.Genesis()
	raw := newRawHost(t)
	dialRaw(t, full, raw)
	ctx := context.Background()
	p := full.node.ID()

	for _, b := range blocks {
		for i, tx := range b.Transactions {
			tp, err := FetchTxProof(ctx, raw, p, tx.ID)
			if err != nil {
				t.Fatalf("block %d, transaction %d: %v", b.Index, i, err)
			}
			if hdr, _ := chain.DecodeHeader(tp.Header); hdr.Hash != b.Hash || tp.Index != uint32(i) {
				t.Fatalf("transaction %d of block %s proven at %d of %s", i, b.Hash, tp.Index, hdr.Hash)
			}
		}
	}
	head := blocks[len(blocks)-1]
	for _, c := range []struct {
		addr string
		at   chain.Hash // zero: the head
		want chain.Hash // the block proven
	}{
		{aliceAddr, chain.Hash{}, head.Hash},
		{bobAddr, chain.Hash{}, head.Hash},
		{nobody, chain.Hash{}, head.Hash},
		{aliceAddr, blocks[1].Hash, blocks[1].Hash},
		{bobAddr, blocks[1].Hash, blocks[1].Hash},
	} {
		ap, err := FetchAccountProof(ctx, raw, p, c.addr, c.at)
		if err != nil {
			t.Fatalf("%s at %s: %v", c.addr, c.at, err)
		}
		acc, _ := chaintest.AccountAt(c.want, c.addr)
		hdr, _ := chain.DecodeHeader(ap.Header)
		if hdr.Hash != c.want || ap.Balance != acc.Balance || ap.NextNonce != acc.Nonce {
			t.Fatalf("%s at %s: %d/%d at %s, want %d/%d at %s", c.addr, c.at, ap.Balance, ap.NextNonce, hdr.Hash, acc.Balance, acc.Nonce, c.want)
		}
	}

	queued := chaintest.SignedTx(t, g.Hash, alice, bobAddr, 1, 1)
	if err := full.chain.AddTransaction(queued); err != nil {
		t.Fatal(err)
	}
	if _, err := FetchTxProof(ctx, raw, p, queued.ID); !errors.Is(err, chain.ErrNotFound) {
		t.Fatalf("a pending transaction: %v, want not_found", err)
	}
	if _, err := FetchAccountProof(ctx, raw, p, aliceAddr, randomHash()); !errors.Is(err, chain.ErrNotFound) {
		t.Fatalf("an unknown block: %v, want not_found", err)
	}
	if full.node.Banned(raw.ID()) {
		t.Fatal("an honest client was penalised")
	}
}

// rawProofRequest sends body as a proof request from h to p and returns
// the reply frame, or the error that ended the stream.
func rawProofRequest(h host.Host, p peer.ID, body []byte) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	str, err := h.NewStream(ctx, p, ProofsProtocol)
	if err != nil {
		return nil, err
	}
	defer str.Reset()
	_ = str.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := str.Write(appendFrame(nil, body)); err != nil {
		return nil, err
	}
	_ = str.CloseWrite()
	return readFrame(bufio.NewReader(str), nil, MaxProofReplySize)
}

// TestProofsProtocolMalformedRequest: a request of an unknown kind, of the
// wrong length, naming no address or over the size limit is answered
// bad_request and its peer penalised (the penalty may close the stream
// before the answer arrives). On an open network, an account request is
// not_found and not penalised.
func TestProofsProtocolMalformedRequest(t *testing.T) {
	full := newTestNode(t, testNetwork)
	_, addr := chaintest.Key(t, "alice")
	id := randomHash()
	notAddr := []byte(addr)
	notAddr[10] = '0' // not a base58 digit
	account := func(a []byte) []byte { return append(append([]byte{proof.TypeAccount}, a...), make([]byte, 32)...) }
	for name, body := range map[string][]byte{
		"empty":               {},
		"unknown kind":        append([]byte{0x03}, id[:]...),
		"short tx request":    append([]byte{proof.TypeTx}, id[:31]...),
		"long tx request":     append(append([]byte{proof.TypeTx}, id[:]...), 0),
		"short account":       account([]byte(addr))[:84],
		"not an address":      account(notAddr),
		"over the size limit": append(account([]byte(addr)), 0),
	} {
		t.Run(name, func(t *testing.T) {
			raw := newRawHost(t)
			dialRaw(t, full, raw)
			reply, err := rawProofRequest(raw, full.node.ID(), body)
			if err == nil && (len(reply) != 1 || Code(reply[0]) != CodeBadRequest) {
				t.Errorf("reply %x, want %s or a closed stream", reply, CodeBadRequest)
			}
			waitFor(t, 10*time.Second, "the client penalised", func() bool {
				return full.node.Banned(raw.ID()) && raw.Network().Connectedness(full.node.ID()) != network.Connected
			})
		})
	}

	raw := newRawHost(t)
	dialRaw(t, full, raw)
	if _, err := FetchAccountProof(context.Background(), raw, full.node.ID(), addr, chain.Hash{}); !errors.Is(err, chain.ErrNotFound) {
		t.Fatalf("an account on an open network: %v, want not_found", err)
	}
	if _, err := FetchAccountProof(context.Background(), raw, full.node.ID(), string(notAddr), chain.Hash{}); !errors.Is(err, chain.ErrNotAddress) {
		t.Fatalf("asking for no address: %v, want ErrNotAddress before sending", err)
	}
	if full.node.Banned(raw.ID()) {
		t.Fatal("an honest client was penalised")
	}
}

// TestProofsFromHostileServer: a server answering a proof that does not
// decode, does not verify, proves another transaction, account or block
// than asked, stands on a header that misses its own target, or is over
// the size limit makes the fetch functions fail with ErrBadProof, for
// which the client penalises it.
func TestProofsFromHostileServer(t *testing.T) {
	full, blocks := startProofNode(t)
	_, aliceAddr := chaintest.Key(t, "alice")
	_, bobAddr := chaintest.Key(t, "bob")
	tx := blocks[3].Transactions[0]
	tp, err := full.chain.TxProof(tx.ID)
	if err != nil {
		t.Fatal(err)
	}
	goodTx, _ := tp.MarshalBinary()
	if len(tp.Path) == 0 {
		t.Fatal("the proof has no path to forge")
	}
	ap, err := full.chain.AccountProof(aliceAddr, blocks[1].Hash)
	if err != nil {
		t.Fatal(err)
	}
	goodAcc, _ := ap.Binary().MarshalBinary()

	// A proof that verifies, over a header that misses its target.
	unmined := chain.Block{Index: 9, Bits: 0x1d00ffff, TxCount: 1, TxRoot: chain.Hash(merkle.Root([]merkle.Hash{merkle.Hash(tx.ID)}))}
	h := unmined.Header()
	if unmined.Hash = unmined.ComputeHash(); unmined.MeetsTarget() {
		t.Fatal("the unmined header meets its target")
	}
	noWork, _ := proof.Tx{Header: h[:], Tx: tx.AppendBinary(nil)}.MarshalBinary()

	flip := func(b []byte, i int) []byte { b = append([]byte(nil), b...); b[i] ^= 1; return b }
	ok := func(b []byte) []byte { return appendFrame(nil, append([]byte{byte(CodeOK)}, b...)) }
	cases := []struct {
		name  string
		reply []byte
		fetch func(h host.Host, p peer.ID) error
	}{
		{"garbage", ok([]byte("not a proof")), nil},
		{"a flipped path byte", ok(flip(goodTx, len(goodTx)-1)), nil},
		{"another transaction's proof", nil, func(h host.Host, p peer.ID) error {
			_, err := FetchTxProof(context.Background(), h, p, blocks[1].Transactions[0].ID)
			return err
		}},
		{"a header without work", ok(noWork), nil},
		{"an account proof for a transaction", ok(goodAcc), nil},
		{"another account's proof", ok(goodAcc), func(h host.Host, p peer.ID) error {
			_, err := FetchAccountProof(context.Background(), h, p, bobAddr, blocks[1].Hash)
			return err
		}},
		{"another block's proof", ok(goodAcc), func(h host.Host, p peer.ID) error {
			_, err := FetchAccountProof(context.Background(), h, p, aliceAddr, blocks[2].Hash)
			return err
		}},
		{"a changed balance", ok(flip(goodAcc, 1+136+52+7)), func(h host.Host, p peer.ID) error {
			_, err := FetchAccountProof(context.Background(), h, p, aliceAddr, blocks[1].Hash)
			return err
		}},
		{"a code with a body", appendFrame(nil, []byte{byte(CodeNotFound), 0}), nil},
		{"an unknown code", appendFrame(nil, []byte{9}), nil},
		{"an oversized reply", appendFrame(nil, make([]byte, MaxProofReplySize+1)), nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			reply := c.reply
			if reply == nil {
				reply = ok(goodTx)
			}
			server := newRawHost(t)
			server.SetStreamHandler(ProofsProtocol, func(str network.Stream) {
				defer str.Close()
				_, _ = readFrame(bufio.NewReader(str), nil, maxProofRequestSize)
				_, _ = str.Write(reply)
			})
			dialRaw(t, full, server)
			fetch := c.fetch
			if fetch == nil {
				fetch = func(h host.Host, p peer.ID) error {
					_, err := FetchTxProof(context.Background(), h, p, tx.ID)
					return err
				}
			}
			err := fetch(full.node.Host(), server.ID())
			if !errors.Is(err, proof.ErrBadProof) {
				t.Fatalf("error %v, want ErrBadProof", err)
			}
			t.Logf("refused: %v", err)
			full.node.Penalize(server.ID(), fmt.Sprintf("bad proof: %v", err))
			if !full.node.Banned(server.ID()) {
				t.Fatal("the hostile server is not banned")
			}
		})
	}
	// The same server, honest, is not refused.
	server := newRawHost(t)
	server.SetStreamHandler(ProofsProtocol, func(str network.Stream) {
		defer str.Close()
		_, _ = readFrame(bufio.NewReader(str), nil, maxProofRequestSize)
		_, _ = str.Write(appendFrame(nil, append([]byte{byte(CodeOK)}, goodTx...)))
	})
	dialRaw(t, full, server)
	if _, err := FetchTxProof(context.Background(), full.node.Host(), server.ID(), tx.ID); err != nil {
		t.Fatalf("an honest answer: %v", err)
	}
}
