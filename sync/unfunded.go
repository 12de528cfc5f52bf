package sync

import (
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gossipchain/gossipchain/p2p"
)

// A signed ledger's nonce and balance rules depend on the receiver's chain
// and pool: a peer ahead of or behind this node, or gossip out of order,
// is no fault, so a transaction that breaks them is ignored. The store
// checks them before the signature, so that such a transaction costs this
// node an account look-up, not a verification. What an honest relay
// forwards of them is little, though, and comes in bursts: a peer that
// forwards more than UnplaceableBurst at once and UnplaceableRate a second
// after that (a budget with a rate, as Bitcoin Core's misbehaviour score
// forgives what an honest peer may do) has each further one rejected, so
// that its gossip score falls and a few more graylist it. While the peer's
// last status claims more work than this node's chain, nothing is counted:
// what this node cannot place may be funded on the peer's chain.

// Budget of state-dependent transaction refusals per forwarding peer.
const (
	UnplaceableBurst = 256
	UnplaceableRate  = 8 // a second
)

func newUnplaceableBudget() *p2p.RequestBudget {
	return &p2p.RequestBudget{Burst: UnplaceableBurst, Rate: UnplaceableRate}
}

// unplaceable judges a gossiped transaction forwarded by from that the
// ledger's state refused with err: ignored within from's budget, or while
// from is ahead of this node; rejected beyond it.
func (s *Service) unplaceable(from peer.ID, err error) pubsub.ValidationResult {
	if s.aheadOfUs(from) {
		s.stats.txsIgnored.Add(1)
		return pubsub.ValidationIgnore
	}
	if ok, _ := s.unplaceableBudget.Allow(from, time.Now()); ok {
		s.stats.txsIgnored.Add(1)
		return pubsub.ValidationIgnore
	}
	s.stats.rejectTx(reason(err))
	return pubsub.ValidationReject
}

// aheadOfUs reports whether p's last status claims more work than our
// chain holds.
func (s *Service) aheadOfUs(p peer.ID) bool {
	s.mu.Lock()
	st, ok := s.peers[p]
	s.mu.Unlock()
	return ok && st.Work != nil && st.Work.Cmp(s.chain.Head().Work) > 0
}
