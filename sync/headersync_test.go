package sync

import (
	"bufio"
	"context"
	"errors"
	"math/big"
	"path/filepath"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gossipchain/gossipchain/chain"
	"github.com/gossipchain/gossipchain/chain/chaintest"
	"github.com/gossipchain/gossipchain/chain/headerchain"
	"github.com/gossipchain/gossipchain/p2p"
)

// lightNode is a light node as NewNode assembles it: a header chain, a p2p
// host and a light service with its header syncer.
type lightNode struct {
	headersPath string
	headers     *headerchain.Chain
	node        *p2p.Node
	syncer      *HeaderSyncer
	light       *Light
}

// newLightNode starts a light node of params, with checkpoint if not nil
// and its light service adjusted by adjust, if not nil; it is closed when
// the test ends.
func newLightNode(t testing.TB, params chain.Params, checkpoint *headerchain.Checkpoint, adjust ...func(*LightConfig)) *lightNode {
	t.Helper()
	cfg := NodeConfig{Params: params, DataDir: t.TempDir(), Logger: testLogger(), Light: true, Checkpoint: checkpoint,
		P2P:       p2p.Config{ListenAddrs: []string{"/ip4/127.0.0.1/tcp/0"}},
		LightSync: LightConfig{HeaderSync: HeaderSyncConfig{StatusInterval: 200 * time.Millisecond}}}
	for _, a := range adjust {
		a(&cfg.LightSync)
	}
	n, err := NewNode(context.Background(), cfg)
	if err != nil {
		t.Fatalf("NewNode: %v", err)
	}
	t.Cleanup(func() { n.Close() })
	if err := n.Start(context.Background()); err != nil {
		t.Fatalf("Start: %v", err)
	}
	return &lightNode{headersPath: filepath.Join(cfg.DataDir, HeadersFile), headers: n.Headers, node: n.P2P, syncer: n.Light.syncer, light: n.Light}
}

// dial connects ln to the host h.
func (ln *lightNode) dial(t testing.TB, h host.Host) {
	t.Helper()
	addrs, err := peer.AddrInfoToP2pAddrs(&peer.AddrInfo{ID: h.ID(), Addrs: h.Addrs()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := ln.node.Connect(ctx, addrs[0]); err != nil {
		t.Fatalf("connect: %v", err)
	}
}

// waitHead waits until ln's head is want.
func (ln *lightNode) waitHead(t testing.TB, want chain.Hash) {
	t.Helper()
	waitFor(t, 60*time.Second, "the light node at head "+want.String(), func() bool { return ln.headers.Head().Hash == want })
}

// TestHeaderSyncCatchesUp: a header-only node downloads the headers of a
// full node's chain, several replies long, then follows its new blocks
// and a reorganisation to a heavier side branch.
func TestHeaderSyncCatchesUp(t *testing.T) {
	full := newTestNode(t, testNetwork)
	blocks := buildBlocks(t, full.params, full.chain.Genesis(), 2*MaxHeadersPerRequest+300, "miner")
	addBlocks(t, full.chain, blocks)
	light := newLightNode(t, full.params, nil)
	light.dial(t, full.node.Host())
	light.waitHead(t, full.head().Hash)
	if got, want := light.headers.Head().Work, full.head().Work; got.Cmp(want) != 0 {
		t.Errorf("work %s, the full node's %s", got, want)
	}

	b := full.mine()
	light.waitHead(t, b.Hash)

	// A heavier side branch from 50 blocks down replaces the main chain.
	fork, err := full.chain.BlockByHeight(full.head().Height - 50)
	if err != nil {
		t.Fatal(err)
	}
	branch := buildBlocks(t, full.params, fork, 60, "other")
	addBlocks(t, full.chain, branch)
	if full.head().Hash != branch[len(branch)-1].Hash {
		t.Fatal("the full node did not reorganise: the test is wrong")
	}
	light.waitHead(t, branch[len(branch)-1].Hash)
	if h, err := light.headers.HeaderAt(fork.Index + 1); err != nil || h.Hash != branch[0].Hash {
		t.Errorf("height %d: %s, %v; want the branch's %s", fork.Index+1, h.Hash, err, branch[0].Hash)
	}
	if full.node.Banned(light.node.ID()) || light.node.Banned(full.node.ID()) {
		t.Error("an honest peer was penalised")
	}
}

// newEvilHeaderServer starts a raw peer of params's network that claims
// work and answers every header request with reply, whatever it asks.
func newEvilHeaderServer(t testing.TB, params chain.Params, work *big.Int, reply []byte) host.Host {
	t.Helper()
	h := newRawHost(t)
	claim := Status{Genesis: params.Genesis().Hash, Head: randomHash(), Height: 1 << 20, Work: work}
	h.SetStreamHandler(StatusProtocol, func(s network.Stream) {
		_, _ = answerStatus(s, 10*time.Second, func() Status { return claim })
	})
	h.SetStreamHandler(HeadersProtocol, func(s network.Stream) {
		if _, err := readFrame(bufio.NewReader(s), nil, maxRequestSize); err != nil {
			s.Reset()
			return
		}
		s.Write(reply)
		s.Close()
	})
	return h
}

// headersReply is an ok reply carrying the headers of blocks and extra
// bytes after them in the headers frame.
func headersReply(blocks []*chain.Block, extra ...byte) []byte {
	var raw []byte
	for _, b := range blocks {
		hdr := b.Header()
		raw = append(raw, hdr[:]...)
	}
	return appendFrame(appendFrame(nil, okReplyHeader(1<<20, randomHash())), append(raw, extra...))
}

// TestHeaderSyncRefusesForgedChains: a peer claiming a heavier chain that
// serves headers with a bad proof of work, with a valid proof at bits the
// retargeting rule does not require, that do not link, or that end below
// the work it claimed, or a malformed reply, is penalised; the light node
// stays on the honest chain.
func TestHeaderSyncRefusesForgedChains(t *testing.T) {
	honest := newTestNode(t, testNetwork)
	params := honest.params
	genesis := params.Genesis()
	addBlocks(t, honest.chain, buildBlocks(t, params, genesis, 30, "honest"))
	heavy := new(big.Int).Lsh(big.NewInt(1), 200)

	forged := buildBlocks(t, params, genesis, 40, "evil")
	badPow := append([]*chain.Block(nil), forged...)
	unmined := chaintest.CloneBlock(forged[20])
	chaintest.Unmine(t, unmined, unmined.Bits)
	badPow[20] = unmined

	harder := chain.MustCompact(chain.ZeroBitsTarget(testDifficulty + 2))
	wrongBits := buildBlocks(t, params, genesis, 10, "evil")
	wb := chaintest.NewBlock(&params, wrongBits[len(wrongBits)-1], "evil")
	wb.Timestamp = wrongBits[len(wrongBits)-1].Timestamp + chaintest.Millisecond
	wb.Bits = harder
	chaintest.Mine(t, wb, harder)
	wrongBits = append(wrongBits, wb)

	unlinked := append(append([]*chain.Block(nil), forged[:10]...), forged[11:]...)

	cases := []struct {
		name  string
		reply []byte
	}{
		{"bad proof of work", headersReply(badPow)},
		{"valid proof at the wrong bits", headersReply(wrongBits)},
		{"not connected", headersReply(unlinked)},
		{"short of the work claimed", headersReply(forged[:20])}, // valid, lighter than the honest chain
		{"a partial header", headersReply(forged[:20], 0)},
		{"an unknown reply code", appendFrame(nil, []byte{9})},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			light := newLightNode(t, params, nil)
			light.dial(t, honest.node.Host())
			light.waitHead(t, honest.head().Hash)
			evil := newEvilHeaderServer(t, params, heavy, tc.reply)
			light.dial(t, evil)
			waitFor(t, 30*time.Second, "the forger penalised", func() bool { return light.node.Banned(evil.ID()) })
			if got := light.headers.Head().Hash; got != honest.head().Hash {
				t.Errorf("head %s, want the honest %s", got, honest.head().Hash)
			}
			if light.node.Banned(honest.node.ID()) {
				t.Error("the honest peer was penalised")
			}
		})
	}
}

// TestHeaderSyncCheckpointConflict: a checkpoint that the heaviest chain
// does not hold stops the sync with ErrCheckpointConflict.
func TestHeaderSyncCheckpointConflict(t *testing.T) {
	full := newTestNode(t, testNetwork)
	addBlocks(t, full.chain, buildBlocks(t, full.params, full.chain.Genesis(), 20, "miner"))
	other := buildBlocks(t, full.params, full.chain.Genesis(), 20, "other")
	cp := &headerchain.Checkpoint{Height: other[9].Index, Hash: other[9].Hash}
	light := newLightNode(t, full.params, cp)
	light.dial(t, full.node.Host())
	waitFor(t, 30*time.Second, "the checkpoint conflict", func() bool {
		return errors.Is(light.syncer.Err(), headerchain.ErrCheckpointConflict)
	})
	t.Log(light.syncer.Err())
	if light.node.Banned(full.node.ID()) {
		t.Error("the peer was penalised for the user's checkpoint")
	}
}
