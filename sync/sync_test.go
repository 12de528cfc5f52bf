package sync

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/gossipchain/gossipchain/chain"
	"github.com/gossipchain/gossipchain/chain/store"
)

// TestGossipSparse: in a line of 6 nodes, a block mined on any node reaches
// every chain, and a transaction submitted on any node reaches every pending
// pool and leaves every pool once mined.
func TestGossipSparse(t *testing.T) {
	nodes := make([]*testNode, 6)
	for i := range nodes {
		nodes[i] = newTestNode(t, testNetwork)
	}
	lineConnect(t, nodes)
	waitMesh(t, nodes)

	for _, i := range []int{0, 5, 2, 3} {
		b := nodes[i].mine()
		waitSameHead(t, nodes, b.Hash, 30*time.Second)
	}
	if h := nodes[0].head().Height; h != 5 {
		t.Fatalf("height %d after 4 blocks, want 5", h)
	}

	var txs []chain.Transaction
	for _, i := range []int{4, 1} {
		tx, err := chain.NewTransaction(fmt.Sprintf("alice-%d", i), "bob", uint64(10+i))
		if err != nil {
			t.Fatal(err)
		}
		if err := nodes[i].svc.SubmitTransaction(context.Background(), tx); err != nil {
			t.Fatalf("SubmitTransaction on node %d: %v", i, err)
		}
		txs = append(txs, tx)
	}
	waitFor(t, 30*time.Second, "transactions in every pending pool", func() bool {
		for _, n := range nodes {
			for _, tx := range txs {
				if !pending(n, tx.ID) {
					return false
				}
			}
		}
		return true
	})

	b := nodes[3].mine()
	if len(b.Transactions) != len(txs)+1 {
		t.Fatalf("mined block holds %d transactions, want %d", len(b.Transactions), len(txs)+1)
	}
	waitSameHead(t, nodes, b.Hash, 30*time.Second)
	for i, n := range nodes {
		for _, tx := range txs {
			loc, err := n.chain.FindTransaction(tx.ID)
			if err != nil || loc.Pending || loc.BlockHash != b.Hash {
				t.Errorf("node %d: transaction %s: got %+v, %v; want it in block %s", i, tx.ID, loc, err, b.Hash)
			}
		}
		if c := n.chain.PendingCount(); c != 0 {
			t.Errorf("node %d: %d transactions still pending", i, c)
		}
	}
	// Relaying nodes accepted (and so relayed) the block before it was on
	// their disk, and recorded both moments.
	for i, n := range nodes {
		if i == 3 {
			continue
		}
		if s, ok := n.svc.Seen(b.Hash); ok && !s.Stored.IsZero() && s.Stored.Before(s.Accepted) {
			t.Errorf("node %d: block stored at %v, before it was accepted at %v", i, s.Stored, s.Accepted)
		}
	}
	if s, ok := nodes[2].svc.Seen(b.Hash); !ok || s.Accepted.IsZero() || s.Stored.IsZero() || !s.Accepted.Before(s.Stored) {
		t.Errorf("node 2 (relaying): seen %+v %v; want accepted before stored", s, ok)
	}
	if s, ok := nodes[3].svc.Seen(b.Hash); !ok || s.Accepted.IsZero() {
		t.Errorf("node 3 (miner): seen %+v %v", s, ok)
	}
	st := nodes[2].svc.Stats()
	if st.BlocksAccepted == 0 || st.TxsAccepted == 0 || len(st.BlocksRejected) != 0 {
		t.Errorf("stats of a relaying node: %+v", st)
	}
}

// TestLateJoiner: a node that joins late catches up with a chain of several
// hundred blocks by chain exchange and then follows gossip; restarted from its
// data directory, it catches up again.
func TestLateJoiner(t *testing.T) {
	a := newTestNode(t, testNetwork)
	addBlocks(t, a.chain, buildBlocks(t, a.params, a.chain.Genesis(), 300, "early"))
	if h := a.head().Height; h != 301 {
		t.Fatalf("seed height %d, want 301", h)
	}

	// A small batch size makes the sync take several requests.
	b := newTestNode(t, testNetwork, func(c *Config) { c.BatchSize = 64 })
	if st := b.svc.Stats(); !st.FirstSyncStart.IsZero() {
		t.Errorf("first sync start %v before any sync, want zero", st.FirstSyncStart)
	}
	beforeSync := time.Now()
	connect(t, b, a)
	waitSameHead(t, []*testNode{b}, a.head().Hash, 30*time.Second)
	// The head moves when the store commits, a moment before the count.
	waitFor(t, 30*time.Second, "300 blocks synced", func() bool { return b.svc.Stats().BlocksSynced >= 300 })
	st := b.svc.Stats()
	if st.BlocksSynced != 300 || st.RequestsMade < 5 {
		t.Errorf("late joiner stats: synced %d blocks in %d requests, want 300 in at least 5", st.BlocksSynced, st.RequestsMade)
	}
	if st.FirstSyncStart.Before(beforeSync) || st.FirstSyncStart.After(time.Now()) {
		t.Errorf("first sync start %v, want between the connection (%v) and now", st.FirstSyncStart, beforeSync)
	}
	if st := a.svc.Stats(); st.RequestsServed < 5 || st.BlocksServed != 300 {
		t.Errorf("server stats: %d requests, %d blocks served", st.RequestsServed, st.BlocksServed)
	}

	// It follows gossip from then on, both ways.
	waitMesh(t, []*testNode{a, b})
	next := a.mine()
	waitSameHead(t, []*testNode{b}, next.Hash, 30*time.Second)
	next = b.mine()
	waitSameHead(t, []*testNode{a}, next.Hash, 30*time.Second)

	// Restarted while the network moved on, it catches up again.
	b = b.restart()
	if got := b.head().Hash; got != next.Hash {
		t.Fatalf("restarted node lost its chain: head %s, want %s", got, next.Hash)
	}
	addBlocks(t, a.chain, buildBlocks(t, a.params, mustBlock(t, a.chain, a.head().Hash), 120, "later"))
	connect(t, b, a)
	waitSameHead(t, []*testNode{b}, a.head().Hash, 30*time.Second)
	waitMesh(t, []*testNode{a, b})
	next = a.mine()
	waitSameHead(t, []*testNode{b}, next.Hash, 30*time.Second)
}

func mustBlock(t testing.TB, c *store.Chain, h chain.Hash) *chain.Block {
	t.Helper()
	b, err := c.BlockByHash(h)
	if err != nil {
		t.Fatalf("BlockByHash(%s): %v", h, err)
	}
	return b
}

// TestPartition: two groups mine apart; once connected every node is on the
// heavier branch, and the transactions of the abandoned branch are pending
// again unless the winning branch holds them.
func TestPartition(t *testing.T) {
	nodes := make([]*testNode, 6)
	for i := range nodes {
		nodes[i] = newTestNode(t, testNetwork)
	}
	ga, gb := nodes[:3], nodes[3:]
	lineConnect(t, ga)
	lineConnect(t, gb)
	waitMesh(t, ga)
	waitMesh(t, gb)

	newTx := func(sender string) chain.Transaction {
		tx, err := chain.NewTransaction(sender, "carol", 5)
		if err != nil {
			t.Fatal(err)
		}
		return tx
	}
	// common is known to both groups and mined on both branches.
	common := newTx("both")
	for _, n := range []*testNode{ga[0], gb[0]} {
		if err := n.svc.SubmitTransaction(context.Background(), common); err != nil {
			t.Fatal(err)
		}
	}
	txA, txB := newTx("only-a"), newTx("only-b")
	if err := ga[1].svc.SubmitTransaction(context.Background(), txA); err != nil {
		t.Fatal(err)
	}
	if err := gb[1].svc.SubmitTransaction(context.Background(), txB); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "transactions pending in their group", func() bool {
		for _, n := range ga {
			if !pending(n, common.ID) || !pending(n, txA.ID) {
				return false
			}
		}
		for _, n := range gb {
			if !pending(n, common.ID) || !pending(n, txB.ID) {
				return false
			}
		}
		return true
	})

	// Group a mines 5 blocks, group b 3: a's branch is heavier.
	var headA, headB *chain.Block
	for i := 0; i < 5; i++ {
		headA = ga[i%3].mine()
		waitSameHead(t, ga, headA.Hash, 30*time.Second)
	}
	for i := 0; i < 3; i++ {
		headB = gb[i%3].mine()
		waitSameHead(t, gb, headB.Hash, 30*time.Second)
	}
	for _, n := range gb {
		if pending(n, txB.ID) || pending(n, common.ID) {
			t.Fatalf("group b did not mine its transactions")
		}
	}

	connect(t, gb[0], ga[2])
	waitSameHead(t, nodes, headA.Hash, 30*time.Second)
	for i, n := range gb {
		if n.chain.HasBlock(headB.Hash) != true {
			t.Errorf("node b%d forgot the abandoned branch", i)
		}
		waitFor(t, 30*time.Second, "abandoned transaction pending again", func() bool { return pending(n, txB.ID) })
		if loc, err := n.chain.FindTransaction(common.ID); err != nil || loc.Pending {
			t.Errorf("node b%d: common transaction: %+v, %v; want it in the winning branch", i, loc, err)
		}
		if loc, err := n.chain.FindTransaction(txA.ID); err != nil || loc.Pending {
			t.Errorf("node b%d: group a's transaction: %+v, %v; want it mined", i, loc, err)
		}
	}

	// The merged network keeps working: a block from group b reaches group a.
	waitMesh(t, nodes)
	b := gb[2].mine()
	waitSameHead(t, nodes, b.Hash, 30*time.Second)
	if loc, err := ga[0].chain.FindTransaction(txB.ID); err != nil || loc.Pending || loc.BlockHash != b.Hash {
		t.Errorf("re-mined transaction of the abandoned branch: %+v, %v", loc, err)
	}
}

// TestDifferentNetworks: nodes of different networks are disconnected at the
// status exchange and never exchange blocks.
func TestDifferentNetworks(t *testing.T) {
	a := newTestNode(t, "neta")
	b := newTestNode(t, "netb")
	a2 := newTestNode(t, "neta")
	addBlocks(t, a.chain, buildBlocks(t, a.params, a.chain.Genesis(), 20, "a"))

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := b.node.Connect(ctx, a.node.Addrs()[0]); err != nil {
		t.Fatalf("connect: %v", err)
	}
	waitFor(t, 30*time.Second, "peer of another network disconnected", func() bool {
		// The first end to read the other's status disconnects.
		return a.svc.Stats().PeersWrongNetwork+b.svc.Stats().PeersWrongNetwork > 0 &&
			!isConnected(a, b) && !isConnected(b, a)
	})
	// A node of the same network, connected afterwards, syncs from a; b is
	// still at its genesis.
	connect(t, a2, a)
	waitSameHead(t, []*testNode{a2}, a.head().Hash, 30*time.Second)
	if h := b.head().Height; h != 1 {
		t.Fatalf("node of another network at height %d, want 1", h)
	}
	if _, ok := b.svc.PeerStatus(a.node.ID()); ok {
		t.Fatalf("status of a peer of another network kept")
	}
	// Resolve on b finds nobody heavier.
	replaced, err := b.svc.Resolve(ctx)
	if err != nil || replaced {
		t.Fatalf("Resolve on the lone node: %v, %v", replaced, err)
	}
}

// TestResolve: Resolve syncs from the heaviest peer and reports whether the
// chain was replaced.
func TestResolve(t *testing.T) {
	a := newTestNode(t, testNetwork)
	b := newTestNode(t, testNetwork)
	c := newTestNode(t, testNetwork)
	connect(t, a, b)
	connect(t, a, c)
	waitFor(t, 30*time.Second, "statuses exchanged", func() bool {
		_, okb := a.svc.PeerStatus(b.node.ID())
		_, okc := a.svc.PeerStatus(c.node.ID())
		return okb && okc
	})

	ctx := context.Background()
	replaced, err := a.svc.Resolve(ctx)
	if err != nil || replaced {
		t.Fatalf("Resolve with equal peers: replaced %v, err %v; want false, nil", replaced, err)
	}
	// b and c grow apart from a without gossip (added straight to their
	// chains); c's branch is heavier.
	addBlocks(t, b.chain, buildBlocks(t, b.params, b.chain.Genesis(), 10, "b"))
	addBlocks(t, c.chain, buildBlocks(t, c.params, c.chain.Genesis(), 15, "c"))
	replaced, err = a.svc.Resolve(ctx)
	if err != nil || !replaced {
		t.Fatalf("Resolve with heavier peers: replaced %v, err %v; want true, nil", replaced, err)
	}
	if a.head().Hash != c.head().Hash {
		t.Fatalf("head after Resolve is %s at %d, want c's %s", a.head().Hash, a.head().Height, c.head().Hash)
	}
	replaced, err = a.svc.Resolve(ctx)
	if err != nil || replaced {
		t.Fatalf("second Resolve: replaced %v, err %v; want false, nil", replaced, err)
	}
}
