package sync

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/network"

	"github.com/gossipchain/gossipchain/chain"
	"github.com/gossipchain/gossipchain/chain/store"
)

// TestSideBranchFloods: 100 valid siblings of the head, gossiped, leave the
// victim's store and its peer's within the side-branch bound (they are
// ignored, not relayed, and nobody is penalised); a valid side chain forking
// at the genesis, served by chain exchange by a peer that claims more work,
// costs the peer a ban and is pruned.
func TestSideBranchFloods(t *testing.T) {
	victim := newTestNode(t, testNetwork)
	params := victim.params
	genesis := params.Genesis()
	main := buildBlocks(t, params, genesis, 320, "main")
	peer := newTestNode(t, testNetwork)
	addBlocks(t, victim.chain, main)
	addBlocks(t, peer.chain, main)
	connect(t, victim, peer)
	waitMesh(t, []*testNode{victim, peer})
	bound := sideBlocksBound()

	t.Run("siblings of the head", func(t *testing.T) {
		evil := newEvilGossiper(t, victim)
		parent := main[len(main)-2]
		before := victim.svc.Stats()
		for i := range 100 {
			sib := buildBlocks(t, params, parent, 1, fmt.Sprintf("sibling-%d", i))[0]
			if err := evil.blocks.Publish(context.Background(), frameMsg(sib.Hash, sib.AppendBinary(nil))); err != nil {
				t.Fatal(err)
			}
		}
		judged := func() uint64 {
			st := victim.svc.Stats()
			return st.BlocksAccepted + st.BlocksIgnored - before.BlocksAccepted - before.BlocksIgnored
		}
		waitFor(t, 20*time.Second, "every sibling judged", func() bool { return judged() >= 100 })
		if n := victim.chain.SideBlocks(); n != store.MaxSideBlocksPerHeight {
			t.Fatalf("victim stored %d siblings, want the bound %d", n, store.MaxSideBlocksPerHeight)
		}
		// What the victim kept, it relayed; nothing more reaches its peer.
		waitFor(t, 10*time.Second, "the kept siblings relayed", func() bool {
			return peer.chain.SideBlocks() == victim.chain.SideBlocks()
		})
		if victim.node.Banned(evil.ID()) || victim.svc.Stats().PeersPenalized != before.PeersPenalized {
			t.Fatalf("a sender of valid blocks was penalised")
		}
	})

	t.Run("deep fork by chain exchange", func(t *testing.T) {
		fork := buildBlocks(t, params, genesis, 300, "fork")
		evil := newEvilServer(t, params, func(s network.Stream, req blockRequest) {
			s.Write(okHeader())
			if containsHash(req.Locator, genesis.Hash) && req.Locator[0] != fork[len(fork)-1].Hash {
				s.Write(blockFrames(fork[:min(req.Max, len(fork))]...))
			}
			s.Write([]byte{0})
		})
		dialRaw(t, victim, evil)
		waitFor(t, 20*time.Second, "the peer penalised", func() bool { return victim.node.Banned(evil.ID()) })
		waitFor(t, 10*time.Second, "the fork pruned", func() bool {
			return !victim.chain.HasBlock(fork[0].Hash) && !victim.chain.HasBlock(fork[len(fork)-1].Hash)
		})
		if n := victim.chain.SideBlocks(); n > bound {
			t.Fatalf("%d side blocks left, bound %d", n, bound)
		}
		if victim.head().Hash != main[len(main)-1].Hash {
			t.Fatalf("head moved")
		}
	})
}

// sideBlocksBound is the number of side blocks a running chain may hold.
func sideBlocksBound() int {
	return store.MaxSideBlocksPerHeight * (store.MaxSideForkDepth + 1)
}

// TestPoolFlood: a peer gossiping valid transactions as fast as it can fills
// the pool, yet this node's own submissions and an honest peer's gossiped
// transactions still get in, and the pool stays within its bound.
func TestPoolFlood(t *testing.T) {
	const poolMax = 300
	params := testParams(t, testNetwork, testDifficulty)
	victim := startCustomNode(t, params, func(c *store.Config) { c.PoolMaxCount = poolMax })
	honest := newTestNode(t, testNetwork)
	connect(t, victim, honest)
	evil := newEvilGossiper(t, victim)
	waitMesh(t, []*testNode{victim, honest})

	const flood = 3 * poolMax
	for i := range flood {
		tx, err := chain.NewTransaction("flooder", fmt.Sprintf("x%d", i), 1)
		if err != nil {
			t.Fatal(err)
		}
		if err := evil.txs.Publish(context.Background(), frameMsg(tx.ID, tx.AppendBinary(nil))); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, 20*time.Second, "the pool full of the flood", func() bool { return victim.chain.PendingFrom(evil.ID().String()) >= poolMax-10 })
	for i := range 20 {
		local, _ := chain.NewTransaction("local", fmt.Sprint(i), 1)
		if err := victim.svc.SubmitTransaction(context.Background(), local); err != nil {
			t.Fatalf("local submission %d under the flood: %v", i, err)
		}
		gossiped, _ := chain.NewTransaction("honest-peer", fmt.Sprint(i), 1)
		if err := honest.svc.SubmitTransaction(context.Background(), gossiped); err != nil {
			t.Fatalf("honest peer submission %d: %v", i, err)
		}
		waitFor(t, 10*time.Second, "the honest peer's transaction in the victim's pool", func() bool { return pending(victim, gossiped.ID) })
		if !pending(victim, local.ID) {
			t.Fatalf("local transaction %d evicted", i)
		}
	}
	if n := victim.chain.PendingCount(); n > poolMax {
		t.Fatalf("pool holds %d, bound %d", n, poolMax)
	}
}

// TestOrphanFlood: a peer gossiping large blocks whose parent nobody has
// fills no more of the orphan pool than its share, in blocks and bytes.
func TestOrphanFlood(t *testing.T) {
	const maxBytes = 2 << 20
	victim := newTestNode(t, testNetwork, func(c *Config) { c.MaxOrphanBytes = maxBytes })
	params := victim.params
	evil := newEvilGossiper(t, victim)
	fakeParent := &chain.Block{Index: 50, Hash: randomHash(), Timestamp: params.Genesis().Timestamp + 50_000_000}
	orphans := paddedBlocks(t, params, fakeParent, 20) // about 4 MB: each but the first an orphan of the one before
	for _, b := range orphans {
		if err := evil.blocks.Publish(context.Background(), frameMsg(b.Hash, b.AppendBinary(nil))); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, 20*time.Second, "every orphan judged", func() bool { return victim.svc.Stats().BlocksIgnored >= uint64(len(orphans)) })
	if n := victim.svc.orphans.size(); n > maxBytes {
		t.Fatalf("orphan pool holds %d bytes, bound %d", n, maxBytes)
	}
	if n := victim.svc.orphans.len(); n > DefaultMaxOrphansPerPeer {
		t.Fatalf("orphan pool holds %d blocks of one peer, share %d", n, DefaultMaxOrphansPerPeer)
	}
	if victim.svc.Stats().OrphansAdded < 5 {
		t.Fatalf("only %d orphans kept: the flood did not reach the pool", victim.svc.Stats().OrphansAdded)
	}
}
