package sync

import (
	"fmt"
	"math/big"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gossipchain/gossipchain/chain"
	"github.com/gossipchain/gossipchain/chain/store"
)

// A gossiped block whose parent is unknown cannot be fully validated, so it
// is judged before anything expensive (before any signature is verified):
// its index within OrphanWindow above the head, its target no easier than
// the retargeting rule could reach there from the head, and its sender
// within its share of orphans whose parent is neither stored nor an
// orphan (unless its status claims a heavier chain: then the sync from it
// brings the parents, and holds it to the claim). Only then are the checks that need no parent made, without the
// signatures: those are verified when the orphan connects.

// OrphanWindow is how far above the head a gossiped block whose parent is
// unknown may be to be kept as an orphan; a block further ahead is not kept
// (the chain is fetched from its sender instead).
const OrphanWindow = MaxBlocksPerRequest

// MaxOrphanRootsPerPeer is how many orphans from one peer whose parent is
// neither stored nor an orphan the pool holds at once. Honest gossip that
// runs ahead of this node links its orphans to each other; a peer that
// sends one more unlinked orphan beyond this share is penalised, unless its
// status claims a heavier chain than this node's (then the orphan is
// ignored and a sync from it queued: see addOrphan).
const MaxOrphanRootsPerPeer = 4

// addOrphan judges a gossiped block b from peer from whose parent is not
// stored and, if it is plausible, keeps it as an orphan and asks from for
// the blocks before it.
func (s *Service) addOrphan(b *chain.Block, from peer.ID) (store.AddResult, pubsub.ValidationResult, error) {
	head := s.chain.Head()
	res := store.AddResult{Head: head}
	orphanErr := fmt.Errorf("block %d %s: %w (previous_hash %s)", b.Index, b.Hash, chain.ErrUnknownParent, b.PreviousHash)
	if b.Index > head.Height+OrphanWindow {
		s.stats.blocksIgnored.Add(1)
		s.requestSync(from, true)
		return res, pubsub.ValidationIgnore, orphanErr
	}
	if err := s.plausibleTarget(b, head); err != nil {
		s.stats.rejectBlock(reason(err))
		return res, pubsub.ValidationReject, err
	}
	if err := s.params.CheckBlockSanity(b, s.chain.Now()); chain.RuleCode(err) == chain.ErrTimeTooNew {
		s.holdFuture([]*chain.Block{b}, from)
		return res, pubsub.ValidationIgnore, err
	} else if err != nil {
		s.stats.rejectBlock(reason(err))
		return res, pubsub.ValidationReject, err
	}
	switch added, over := s.orphans.addRooted(b, from, time.Now(), MaxOrphanRootsPerPeer); {
	case over && s.claimsMoreWork(from, head):
		// A peer mining faster than this node fetches its blocks: its
		// gossip runs ahead of the sync queued from it, and when a copy
		// is lost on the way its next blocks link to nothing known yet.
		// The sync brings them; a peer whose chain falls short of the
		// work its status claims is penalised by the sync.
		s.stats.blocksIgnored.Add(1)
		s.requestSync(from, true)
		return res, pubsub.ValidationIgnore, orphanErr
	case over:
		s.stats.blocksIgnored.Add(1)
		s.penalize(from, fmt.Sprintf("sent more than %d orphans that link to nothing known", MaxOrphanRootsPerPeer))
		return res, pubsub.ValidationReject, orphanErr
	case added:
		s.stats.orphansAdded.Add(1)
		s.log.Debug("orphan block", "hash", b.Hash, "index", b.Index, "parent", b.PreviousHash, "from", from)
	}
	s.stats.blocksIgnored.Add(1)
	if s.chain.HasBlock(b.PreviousHash) {
		s.wakeOrphans() // the parent arrived meanwhile
	}
	s.requestSync(from, true)
	return res, pubsub.ValidationIgnore, orphanErr
}

// claimsMoreWork reports whether the last status of p claimed more work
// than head's: a peer with a heavier chain has blocks this node lacks.
func (s *Service) claimsMoreWork(p peer.ID, head store.Head) bool {
	st, ok := s.PeerStatus(p)
	return ok && st.Work != nil && st.Work.Cmp(head.Work) > 0
}

// plausibleTarget checks that b's target is one the retargeting rule could
// require at b's index on a branch of this node's chain: on a network of
// fixed difficulty, the initial target; otherwise no easier than the
// head's target eased at the fastest rate the rule allows (every block
// solved in MaxSolveTimeBlocks block times) for the blocks from the head to
// b, plus StaleDepth for a branch that forks below the head.
func (s *Service) plausibleTarget(b *chain.Block, head store.Head) error {
	np := s.params.Net()
	if np.FixedDifficulty {
		if b.Bits != np.InitialTarget {
			return chain.RuleErrorf(chain.ErrBadDifficulty, "orphan bits %s, the network requires %s", b.Bits, np.InitialTarget)
		}
		return nil
	}
	target, err := b.Bits.Target()
	if err != nil {
		return chain.RuleErrorf(chain.ErrBadDifficulty, "orphan bits %s: %v", b.Bits, err)
	}
	easiest, err := easiestTarget(&np, head.Bits, int64(max(b.Index, head.Height)-head.Height)+StaleDepth)
	if err != nil {
		return fmt.Errorf("easiest target above the head: %w", err)
	}
	if target.Cmp(easiest) > 0 {
		return chain.RuleErrorf(chain.ErrBadDifficulty, "orphan bits %s at index %d: easier than any branch of this chain reaches there (head %d, bits %s)", b.Bits, b.Index, head.Height, head.Bits)
	}
	return nil
}

// easiestTarget is the target from bits after n blocks each solved in
// MaxSolveTimeBlocks block times (aserti3-2d, chain.ASERT).
func easiestTarget(np *chain.NetParams, bits chain.Compact, n int64) (*big.Int, error) {
	from, err := bits.Target()
	if err != nil {
		return nil, err
	}
	maxTarget, err := np.MaxTarget.Target()
	if err != nil {
		return nil, err
	}
	spacing := np.TargetBlockTime.Microseconds()
	return chain.ASERT(from, chain.MaxSolveTimeBlocks*spacing*n, n-1, spacing, np.HalfLife.Microseconds(), maxTarget)
}
