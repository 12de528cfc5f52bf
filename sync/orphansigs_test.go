package sync

import (
	"context"
	"errors"
	"math/big"
	"testing"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/network"

	"github.com/gossipchain/gossipchain/chain"
	"github.com/gossipchain/gossipchain/chain/chaintest"
	"github.com/gossipchain/gossipchain/chain/store"
)

// TestOrphanSignatures: on a signed network, a peer gossiping blocks whose
// parent nobody has, each holding 1,999 correctly signed transfers, costs
// the victim no signature verification at all (an orphan's signatures are
// verified when it connects), fills no more than MaxOrphanRootsPerPeer of
// the orphan pool with orphans that link to nothing, and is penalised for
// the next one. A block whose transfers were verified once is not verified
// again.
func TestOrphanSignatures(t *testing.T) {
	params := chaintest.SignedParams(t)
	params.Reward = 10_000
	victim := startTestNode(t, params, t.TempDir())
	genesis := params.Genesis()
	key, mallory := chaintest.Key(t, "mallory")
	_, bob := chaintest.Key(t, "bob")
	fund := buildBlocks(t, params, genesis, 1, mallory)
	addBlocks(t, victim.chain, fund)
	txs := make([]chain.Transaction, params.MaxBlockTxs-1)
	for i := range txs {
		txs[i] = chaintest.SignedTx(t, genesis.Hash, key, bob, 1, uint64(i))
	}

	evil := newEvilGossiper(t, victim)
	const sent = MaxOrphanRootsPerPeer + 4
	before := store.SignaturesVerified()
	for range sent {
		parent := &chain.Block{Index: fund[0].Index, Hash: randomHash(), Timestamp: fund[0].Timestamp}
		b := chaintest.Seal(t, chaintest.NewBlock(&params, parent, mallory, txs...))
		if err := evil.blocks.Publish(context.Background(), frameMsg(b.Hash, b.AppendBinary(nil))); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, 30*time.Second, "the orphan sender penalised", func() bool { return victim.node.Banned(evil.ID()) })
	st := victim.svc.Stats()
	if n := store.SignaturesVerified() - before; n != 0 {
		t.Fatalf("%d signatures verified for %d orphans of %d transfers each, want none", n, st.OrphansAdded, len(txs))
	}
	if st.OrphansAdded != MaxOrphanRootsPerPeer || st.PeersPenalized == 0 {
		t.Fatalf("orphans added %d, peers penalised %d; want %d and at least 1", st.OrphansAdded, st.PeersPenalized, MaxOrphanRootsPerPeer)
	}

	// The same transfers in a block that connects: verified once, and not
	// again in a sibling of that block.
	b := chaintest.Seal(t, chaintest.NewBlock(&params, fund[0], bob, txs...))
	before = store.SignaturesVerified()
	if _, err := victim.svc.SubmitBlock(context.Background(), b); err != nil {
		t.Fatalf("SubmitBlock: %v", err)
	}
	sib := chaintest.Seal(t, chaintest.NewBlock(&params, fund[0], mallory, txs...))
	if _, err := victim.svc.SubmitBlock(context.Background(), sib); err != nil && !errors.Is(err, store.ErrSideBranchRefused) {
		t.Fatalf("SubmitBlock of the sibling: %v", err)
	}
	if n := store.SignaturesVerified() - before; n != int64(len(txs)) {
		t.Fatalf("%d signatures verified for two blocks of the same %d transfers, want %d", n, len(txs), len(txs))
	}
}

// TestOrphanTarget: on a retargeting network, an orphan whose target is
// easier than the retargeting rule can reach from the head within the
// orphan window is implausible; one at the head's next target is not.
func TestOrphanTarget(t *testing.T) {
	params := testParams(t, testNetwork, testDifficulty)
	params.FixedDifficulty = false
	// A half-life of 60 block times: with the default's 4, the rule can
	// ease any target to the easiest within the orphan window, and every
	// target is plausible.
	params.HalfLife = 60 * params.TargetBlockTime
	max255, _ := chain.CompactOf(new(big.Int).Lsh(big.NewInt(1), 255))
	params.MaxTarget = max255
	if err := params.Validate(); err != nil {
		t.Fatal(err)
	}
	s := &Service{params: params}
	head := store.Head{Height: 100, Bits: params.InitialTarget}
	at := func(index uint64, bits chain.Compact) *chain.Block {
		return &chain.Block{Index: index, Bits: bits}
	}
	if err := s.plausibleTarget(at(101, params.InitialTarget), head); err != nil {
		t.Fatalf("orphan at the head's target: %v", err)
	}
	if err := s.plausibleTarget(at(101, params.MaxTarget), head); chain.RuleCode(err) != chain.ErrBadDifficulty {
		t.Fatalf("orphan at the network's easiest target next to the head: %v, want bad_difficulty", err)
	}
	if err := s.plausibleTarget(at(100+OrphanWindow, params.MaxTarget), head); err != nil {
		t.Fatalf("orphan at the easiest target %d blocks above the head, where the rule can reach it: %v", OrphanWindow, err)
	}
}

// TestOrphansOfHeavierPeer: a peer whose status claims a heavier chain and
// whose gossip runs ahead of this node's sync from it (a copy lost on the
// way leaves its next blocks linking to nothing known yet) is not
// penalised for orphans beyond its share: they are ignored and a sync from
// it is queued. The same orphans from a peer that claims no more work are
// penalised (TestOrphanSignatures).
func TestOrphansOfHeavierPeer(t *testing.T) {
	params := testParams(t, testNetwork, testDifficulty)
	victim := startTestNode(t, params, t.TempDir())
	genesis := params.Genesis()
	miner := newEvilGossiper(t, victim)
	waitFor(t, 30*time.Second, "the miner connected", func() bool {
		return victim.node.Host().Network().Connectedness(miner.ID()) == network.Connected
	})
	heavier := Status{Genesis: genesis.Hash, Head: randomHash(), Height: 1000,
		Work: new(big.Int).Lsh(victim.chain.Head().Work, 10)}
	if !victim.svc.keepStatus(miner.ID(), heavier) {
		t.Fatal("the miner's status was not kept")
	}
	const sent = MaxOrphanRootsPerPeer + 4
	for i := range sent {
		parent := &chain.Block{Index: genesis.Index + 1 + uint64(i), Hash: randomHash(), Timestamp: genesis.Timestamp}
		b := chaintest.Seal(t, chaintest.NewBlock(&params, parent, "miner"))
		_, verdict, err := victim.svc.addOrphan(b, miner.ID())
		if !errors.Is(err, chain.ErrUnknownParent) || verdict != pubsub.ValidationIgnore {
			t.Fatalf("orphan %d of a peer claiming more work: %v, %v; want ignored as an unknown parent", i+1, verdict, err)
		}
	}
	if st := victim.svc.Stats(); st.OrphansAdded != MaxOrphanRootsPerPeer {
		t.Fatalf("orphans added %d, want the share of %d", st.OrphansAdded, MaxOrphanRootsPerPeer)
	}
}
