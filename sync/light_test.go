package sync

import (
	"context"
	"errors"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	pb "github.com/libp2p/go-libp2p-pubsub/pb"

	"github.com/gossipchain/gossipchain/chain"
	"github.com/gossipchain/gossipchain/chain/chaintest"
	"github.com/gossipchain/gossipchain/chain/headerchain"
	"github.com/gossipchain/gossipchain/p2p"
)

// TestLightNodeFollowsGossip: a light node joins a network of two full
// nodes, reaches their head by header sync, then takes new heads from
// block gossip alone (its own status exchanges an hour apart), and a
// gossiped block on a heavier branch it has not seen makes it fetch the
// branch's headers and reorganise. It stores no block body and penalises
// nobody.
func TestLightNodeFollowsGossip(t *testing.T) {
	a, b := newTestNode(t, testNetwork), newTestNode(t, testNetwork)
	connect(t, a, b)
	addBlocks(t, a.chain, buildBlocks(t, a.params, a.chain.Genesis(), 30, "miner"))
	waitSameHead(t, []*testNode{a, b}, a.head().Hash, 60*time.Second)

	var gossiped atomic.Int64
	light := newLightNode(t, a.params, nil, func(c *LightConfig) {
		c.HeaderSync.StatusInterval = time.Hour
		c.OnHead = func(headerchain.Head) { gossiped.Add(1) }
	})
	light.dial(t, b.node.Host())
	light.waitHead(t, a.head().Hash)

	waitFor(t, 30*time.Second, "the light node in b's block mesh", func() bool {
		return slices.Contains(b.svc.blocks.MeshPeers(), light.node.ID())
	})
	// a's block reaches the light node through b; until the meshes have
	// formed one may arrive by the full nodes' status announcements
	// instead, so mine until one arrives by gossip.
	last := time.Time{}
	waitFor(t, 60*time.Second, "a head taken from gossip", func() bool {
		if gossiped.Load() > 0 && light.headers.Head().Hash == a.head().Hash {
			return true
		}
		if time.Since(last) > 500*time.Millisecond {
			a.mine()
			last = time.Now()
		}
		return false
	})

	// A heavier branch added to a without gossip, then one block on top of
	// it gossiped: its parent is unknown to the light node, which asks the
	// sender for the headers.
	fork, err := a.chain.BlockByHeight(a.head().Height - 5)
	if err != nil {
		t.Fatal(err)
	}
	addBlocks(t, a.chain, buildBlocks(t, a.params, fork, 10, "other"))
	top := a.mine()
	waitSameHead(t, []*testNode{a, b}, top.Hash, 60*time.Second)
	light.waitHead(t, top.Hash)
	if h, err := light.headers.HeaderAt(fork.Index + 1); err != nil || h.Hash == fork.Hash {
		t.Fatalf("height %d: %v, %v", fork.Index+1, h.Hash, err)
	}
	for _, full := range []*testNode{a, b} {
		if full.node.Banned(light.node.ID()) || light.node.Banned(full.node.ID()) {
			t.Error("an honest peer was penalised")
		}
	}
}

// gossipMessage is a block topic message carrying b.
func gossipMessage(t testing.TB, b *chain.Block) *pubsub.Message {
	t.Helper()
	payload, err := b.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	return &pubsub.Message{Message: &pb.Message{Data: p2p.Frame(b.Hash, payload)}}
}

// TestLightValidateBlock: the light node's block validator accepts a valid
// block once (storing its header only), ignores a known, stale or orphan
// block, and rejects a block whose body does not match its header's
// tx_root or tx_count, a bad proof of work and a mislabelled message.
func TestLightValidateBlock(t *testing.T) {
	params := testParams(t, testNetwork, testDifficulty)
	light := newLightNode(t, params, nil)
	chainBlocks := buildBlocks(t, params, params.Genesis(), 3, "miner")
	l := light.light
	validate := func(b *chain.Block) pubsub.ValidationResult {
		return l.validateBlock(context.Background(), light.node.ID(), gossipMessage(t, b))
	}

	if got := validate(chainBlocks[1]); got != pubsub.ValidationIgnore {
		t.Errorf("orphan: %v, want ignore", got)
	}
	if got := validate(chainBlocks[0]); got != pubsub.ValidationAccept {
		t.Errorf("valid: %v, want accept", got)
	}
	if got := validate(chainBlocks[0]); got != pubsub.ValidationIgnore {
		t.Errorf("known: %v, want ignore", got)
	}
	if h := light.headers.Head(); h.Hash != chainBlocks[0].Hash {
		t.Errorf("head %s, want %s", h.Hash, chainBlocks[0].Hash)
	}
	if stored, err := light.headers.HeaderAt(2); err != nil || len(stored.Transactions) != 0 {
		t.Errorf("stored header: %d transactions, %v", len(stored.Transactions), err)
	}

	next := chainBlocks[1]
	badRoot := chaintest.CloneBlock(next)
	badRoot.Transactions[0].Recipient = "thief" // same count, another root
	badRoot.Transactions[0].ID = badRoot.Transactions[0].ComputeID()
	chaintest.Mine(t, badRoot, badRoot.Bits) // the header is valid, the body is not its
	badCount := chaintest.CloneBlock(next)
	badCount.TxCount++
	chaintest.Mine(t, badCount, badCount.Bits)
	badPow := chaintest.CloneBlock(next)
	chaintest.Unmine(t, badPow, badPow.Bits)
	for name, b := range map[string]*chain.Block{"tx_root": badRoot, "tx_count": badCount, "proof of work": badPow} {
		if got := validate(b); got != pubsub.ValidationReject {
			t.Errorf("bad %s: %v, want reject", name, got)
		}
	}
	mislabelled := gossipMessage(t, next)
	copy(mislabelled.Data[:32], chainBlocks[2].Hash[:])
	if got := l.validateBlock(context.Background(), light.node.ID(), mislabelled); got != pubsub.ValidationReject {
		t.Errorf("mislabelled: %v, want reject", got)
	}
	if h := light.headers.Head(); h.Hash != chainBlocks[0].Hash {
		t.Errorf("head %s after invalid blocks, want %s", h.Hash, chainBlocks[0].Hash)
	}
	if got := validate(next); got != pubsub.ValidationAccept {
		t.Errorf("valid after the invalid ones: %v, want accept", got)
	}
}

// TestLightNodeCheckpoint: a light node whose checkpoint is not on the
// heaviest chain stops its header sync with ErrCheckpointConflict, and its
// data directory, reopened with that checkpoint, is refused with the same
// error; reopened with the right one, it starts.
func TestLightNodeCheckpoint(t *testing.T) {
	full := newTestNode(t, testNetwork)
	blocks := buildBlocks(t, full.params, full.chain.Genesis(), 20, "miner")
	addBlocks(t, full.chain, blocks)
	dir := t.TempDir()
	open := func(cp *headerchain.Checkpoint) (*Node, error) {
		return NewNode(context.Background(), NodeConfig{Params: full.params, DataDir: dir, Logger: testLogger(), Light: true,
			Checkpoint: cp, P2P: p2p.Config{ListenAddrs: []string{"/ip4/127.0.0.1/tcp/0"}}})
	}
	n, err := open(nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	if err := n.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	ln := &lightNode{headers: n.Headers, node: n.P2P}
	ln.dial(t, full.node.Host())
	ln.waitHead(t, full.head().Hash)
	n.Close()

	other := buildBlocks(t, full.params, full.chain.Genesis(), 10, "other")
	if _, err := open(&headerchain.Checkpoint{Height: other[5].Index, Hash: other[5].Hash}); !errors.Is(err, headerchain.ErrCheckpointConflict) {
		t.Fatalf("conflicting checkpoint: %v, want ErrCheckpointConflict", err)
	} else {
		t.Log(err)
	}
	n, err = open(&headerchain.Checkpoint{Height: blocks[5].Index, Hash: blocks[5].Hash})
	if err != nil {
		t.Fatalf("the right checkpoint: %v", err)
	}
	n.Close()
}

// TestFullNodeSkipsLightPeer: a light node states its header chain's work
// in its status but serves no blocks, so a full node behind it does not
// count it among the peers to sync from, and syncs from a full peer.
func TestFullNodeSkipsLightPeer(t *testing.T) {
	a := newTestNode(t, testNetwork)
	addBlocks(t, a.chain, buildBlocks(t, a.params, a.chain.Genesis(), 20, "miner"))
	light := newLightNode(t, a.params, nil)
	light.dial(t, a.node.Host())
	light.waitHead(t, a.head().Hash)

	behind := newTestNode(t, testNetwork)
	light.dial(t, behind.node.Host())
	id := light.node.ID()
	waitFor(t, 30*time.Second, "the light node's status and protocols known to the full node", func() bool {
		st, ok := behind.svc.PeerStatus(id)
		protos, _ := behind.node.Host().Peerstore().GetProtocols(id)
		return ok && st.Head == a.head().Hash && slices.Contains(protos, StatusProtocol)
	})
	if behind.svc.servesBlocks(id) {
		t.Fatal("the light node is taken to serve blocks")
	}
	for _, c := range behind.svc.candidates(nil) {
		if c.id == id {
			t.Fatal("the light node is a candidate to sync from")
		}
	}
	connect(t, behind, a)
	waitSameHead(t, []*testNode{behind}, a.head().Hash, 60*time.Second)
}
