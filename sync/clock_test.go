package sync

import (
	"testing"
	"time"

	"github.com/gossipchain/gossipchain/chain"
	"github.com/gossipchain/gossipchain/chain/store"
)

// startSkewedNode starts a node whose chain clock (the one of the
// future-timestamp rule and of the miner) runs skew ahead of the machine's.
func startSkewedNode(t testing.TB, params chain.Params, skew time.Duration) *testNode {
	t.Helper()
	return startCustomNode(t, params, func(c *store.Config) {
		c.Now = func() time.Time { return time.Now().Add(skew) }
	})
}

// startCustomNode starts a node in a new data directory with its chain
// configuration adjusted by adjust and its sync configuration by opts.
func startCustomNode(t testing.TB, params chain.Params, adjust func(*store.Config), opts ...nodeOption) *testNode {
	t.Helper()
	return startAdjustedNode(t, params, t.TempDir(), adjust, opts...)
}

// TestSkewedClocks: a node whose clock runs ahead mines blocks that are too
// far in the future for its peer. The peer neither rejects nor penalises
// them, by chain exchange or by gossip: they wait, and are added once its
// own clock makes them valid. The two stay connected and converge.
func TestSkewedClocks(t *testing.T) {
	params := testParams(t, testNetwork, testDifficulty)
	const lead = 2 * time.Second
	ahead := startSkewedNode(t, params, params.FutureLimit()+lead)
	behind := newTestNode(t, testNetwork)
	for range 3 {
		ahead.mine()
	}
	connect(t, behind, ahead) // chain exchange
	waitSameHead(t, []*testNode{behind, ahead}, ahead.head().Hash, 10*lead+10*time.Second)
	waitMesh(t, []*testNode{behind, ahead})
	b := ahead.mine() // gossip
	waitSameHead(t, []*testNode{behind, ahead}, b.Hash, 10*lead+10*time.Second)
	b = behind.mine()
	waitSameHead(t, []*testNode{behind, ahead}, b.Hash, 10*time.Second)

	if behind.node.Banned(ahead.node.ID()) || ahead.node.Banned(behind.node.ID()) || !isConnected(behind, ahead) {
		t.Fatalf("honest peers split: banned %v/%v, connected %v",
			behind.node.Banned(ahead.node.ID()), ahead.node.Banned(behind.node.ID()), isConnected(behind, ahead))
	}
	if st := behind.svc.Stats(); st.PeersPenalized != 0 || st.BlocksRejected[chain.ErrTimeTooNew.String()] != 0 {
		t.Fatalf("penalties %d, rejected as too new %d", st.PeersPenalized, st.BlocksRejected[chain.ErrTimeTooNew.String()])
	}
	if s := behind.node.Score(ahead.node.ID()); s < 0 {
		t.Fatalf("gossip score of the peer ahead fell to %v", s)
	}
}
