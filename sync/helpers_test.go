package sync

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	gosync "sync"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gossipchain/gossipchain/chain"
	"github.com/gossipchain/gossipchain/chain/chaintest"
	"github.com/gossipchain/gossipchain/chain/miner"
	"github.com/gossipchain/gossipchain/chain/store"
	"github.com/gossipchain/gossipchain/p2p"
)

// testDifficulty makes mining instant: 256 attempts on average.
const testDifficulty = 8

// testNetwork is the network of test nodes unless a test says otherwise.
const testNetwork = "testnet"

// testLogger discards logs unless SYNC_TEST_LOG is set: libp2p goroutines may
// log after a test has ended, which t.Log does not allow.
func testLogger() *slog.Logger {
	if os.Getenv("SYNC_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// testNode is a whole node: chain, p2p host, sync service and miner.
type testNode struct {
	t      testing.TB
	dir    string
	params chain.Params
	chain  *store.Chain
	node   *p2p.Node
	svc    *Service
	miner  *miner.Miner
	// assembly is the node as NewNode built it: it starts and closes the
	// others.
	assembly *Node

	closeOnce gosync.Once
}

// nodeOption adjusts a node's sync configuration.
type nodeOption func(*Config)

func testParams(t testing.TB, network string, difficulty uint32) chain.Params {
	t.Helper()
	p, err := chain.NewParams(network, difficulty)
	if err != nil {
		t.Fatalf("NewParams: %v", err)
	}
	return p
}

// newTestNode starts a node of network in a new data directory.
func newTestNode(t testing.TB, network string, opts ...nodeOption) *testNode {
	t.Helper()
	return startTestNode(t, testParams(t, network, testDifficulty), t.TempDir(), opts...)
}

// startTestNode starts a node with params on the data directory dir, which
// may hold a previous run's chain and identity. It is closed when the test
// ends.
func startTestNode(t testing.TB, params chain.Params, dir string, opts ...nodeOption) *testNode {
	t.Helper()
	return startAdjustedNode(t, params, dir, nil, opts...)
}

// startAdjustedNode is startTestNode with the chain configuration adjusted
// by adjust, if not nil.
func startAdjustedNode(t testing.TB, params chain.Params, dir string, adjust func(*store.Config), opts ...nodeOption) *testNode {
	t.Helper()
	return startNetNode(t, params, dir, adjust, nil, opts...)
}

// startNetNode is startAdjustedNode with the p2p configuration adjusted by
// adjustP2P, if not nil.
func startNetNode(t testing.TB, params chain.Params, dir string, adjust func(*store.Config), adjustP2P func(*p2p.Config), opts ...nodeOption) *testNode {
	t.Helper()
	cfg := NodeConfig{
		Params:       params,
		DataDir:      dir,
		Logger:       testLogger(),
		Store:        adjust,
		P2P:          p2p.Config{ListenAddrs: []string{"/ip4/127.0.0.1/tcp/0"}},
		MinerThreads: 1,
	}
	if adjustP2P != nil {
		adjustP2P(&cfg.P2P)
	}
	for _, o := range opts {
		o(&cfg.Sync)
	}
	return startNodeConfig(t, cfg)
}

// startNodeConfig starts the node of cfg; it is closed when the test ends.
func startNodeConfig(t testing.TB, cfg NodeConfig) *testNode {
	t.Helper()
	n, err := NewNode(context.Background(), cfg)
	if err != nil {
		t.Fatalf("NewNode: %v", err)
	}
	tn := &testNode{t: t, dir: cfg.DataDir, params: cfg.Params, chain: n.Chain, node: n.P2P, svc: n.Sync, miner: n.Miner, assembly: n}
	t.Cleanup(tn.close)
	if err := n.Start(context.Background()); err != nil {
		t.Fatalf("Start: %v", err)
	}
	return tn
}

// close stops the node; it may be called more than once.
func (tn *testNode) close() {
	tn.closeOnce.Do(func() { tn.assembly.Close() })
}

// restart closes the node and starts a new one on the same data directory.
func (tn *testNode) restart(opts ...nodeOption) *testNode {
	tn.t.Helper()
	tn.close()
	return startTestNode(tn.t, tn.params, tn.dir, opts...)
}

// mine mines one block on n's chain and publishes it.
func (tn *testNode) mine() *chain.Block {
	tn.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b, _, err := tn.miner.MineBlock(ctx)
	if err != nil {
		tn.t.Fatalf("MineBlock: %v", err)
	}
	if err := tn.svc.PublishBlock(ctx, b); err != nil {
		tn.t.Fatalf("PublishBlock: %v", err)
	}
	return b
}

func (tn *testNode) head() store.Head { return tn.chain.Head() }

func (tn *testNode) String() string { return tn.node.ID().String() }

// connect makes a dial b and waits until both ends see the connection.
func connect(t testing.TB, a, b *testNode) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := a.node.Connect(ctx, b.node.Addrs()[0]); err != nil {
		t.Fatalf("connect %s -> %s: %v", a, b, err)
	}
	waitFor(t, 10*time.Second, "connection seen on both ends", func() bool {
		return isConnected(a, b) && isConnected(b, a)
	})
}

func isConnected(a, b *testNode) bool {
	return a.node.Host().Network().Connectedness(b.node.ID()) == network.Connected
}

// lineConnect connects nodes[i] to nodes[i+1].
func lineConnect(t testing.TB, nodes []*testNode) {
	t.Helper()
	for i := 0; i+1 < len(nodes); i++ {
		connect(t, nodes[i], nodes[i+1])
	}
}

// waitMesh waits until gossip flows among nodes: every node sees its
// neighbours among nodes on both topics and has them in its gossipsub meshes
// (up to the mesh's low bound), then probe transactions are published from
// nodes[0] and from the last node until one from each has reached every
// pending pool. (A relay forwards only to its mesh, which forms at the
// router's heartbeat after the topic peers are known.) Peers outside nodes
// are left out: one that the test made misbehave has a negative score, for
// which the router prunes it from its meshes and refuses to graft it until
// the score recovers (an hour). The probes stay pending until mined.
func waitMesh(t testing.TB, nodes []*testNode) {
	t.Helper()
	waitFor(t, 30*time.Second, "topic peers known", func() bool {
		for _, n := range nodes {
			nb := neighbours(n, nodes)
			if countIn(n.svc.blocks.ListPeers(), nb) < len(nb) || countIn(n.svc.txs.ListPeers(), nb) < len(nb) {
				return false
			}
		}
		return true
	})
	// A relayed message reaches only the mesh at once: a topic peer the
	// router has not grafted yet can miss it for good.
	waitFor(t, 30*time.Second, "gossip meshes formed", func() bool {
		for _, n := range nodes {
			nb := neighbours(n, nodes)
			want := min(len(nb), p2p.MeshDlo)
			if countIn(n.svc.blocks.MeshPeers(), nb) < want || countIn(n.svc.txs.MeshPeers(), nb) < want {
				return false
			}
		}
		return true
	})
	for _, origin := range []*testNode{nodes[0], nodes[len(nodes)-1]} {
		var probes []chain.Hash
		last := time.Time{}
		waitFor(t, 30*time.Second, "a probe transaction in every pool", func() bool {
			for _, id := range probes {
				everywhere := true
				for _, n := range nodes {
					if !pending(n, id) {
						everywhere = false
						break
					}
				}
				if everywhere {
					return true
				}
			}
			if time.Since(last) > 250*time.Millisecond {
				tx, err := chain.NewTransaction("probe", "probe", 1)
				if err != nil {
					t.Fatal(err)
				}
				if err := origin.svc.SubmitTransaction(context.Background(), tx); err != nil {
					t.Fatalf("SubmitTransaction: %v", err)
				}
				probes = append(probes, tx.ID)
				last = time.Now()
			}
			return false
		})
	}
}

// neighbours returns the ids of the nodes n is connected to.
func neighbours(n *testNode, nodes []*testNode) []peer.ID {
	var out []peer.ID
	for _, o := range nodes {
		if o != n && isConnected(n, o) {
			out = append(out, o.node.ID())
		}
	}
	return out
}

// countIn returns how many of ps are in set.
func countIn(ps, set []peer.ID) int {
	n := 0
	for _, p := range ps {
		if slices.Contains(set, p) {
			n++
		}
	}
	return n
}

// waitFor polls cond until it holds or timeout passes.
func waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for: %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitSameHead waits until every node's head is want.
func waitSameHead(t testing.TB, nodes []*testNode, want chain.Hash, timeout time.Duration) {
	t.Helper()
	waitFor(t, timeout, fmt.Sprintf("every node at head %s", want), func() bool {
		for _, n := range nodes {
			if n.head().Hash != want {
				return false
			}
		}
		return true
	})
}

// pending reports whether tx is in n's pending pool.
func pending(n *testNode, id chain.Hash) bool {
	loc, err := n.chain.FindTransaction(id)
	return err == nil && loc.Pending
}

// buildBlocks builds count valid blocks on top of parent without a chain:
// rewards to recipient, timestamps a millisecond apart from the parent's (so
// that a few thousand stay within the future limit of a chain mined now), proof
// searched for params.InitialTarget. extra transactions go in the first block.
func buildBlocks(t testing.TB, params chain.Params, parent *chain.Block, count int, recipient string, extra ...chain.Transaction) []*chain.Block {
	t.Helper()
	first := func(i int) []chain.Transaction {
		if i == 0 {
			return extra
		}
		return nil
	}
	run := chaintest.Run{Miner: chaintest.Pay(recipient), Txs: first, Spacing: chaintest.Millisecond}
	return run.Blocks(t, &params, parent, count)
}

// addBlocks adds blocks to c in batches of 500.
func addBlocks(t testing.TB, c *store.Chain, blocks []*chain.Block) {
	t.Helper()
	for len(blocks) > 0 {
		n := min(500, len(blocks))
		if _, _, err := c.AddBlocks(blocks[:n]); err != nil {
			t.Fatalf("AddBlocks: %v", err)
		}
		blocks = blocks[n:]
	}
}
