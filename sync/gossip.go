package sync

import (
	"context"
	"errors"
	"fmt"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gossipchain/gossipchain/chain"
	"github.com/gossipchain/gossipchain/chain/store"
	"github.com/gossipchain/gossipchain/p2p"
)

// StaleDepth: a gossiped block at least this many blocks below our head is
// ignored without being stored. Deep forks are fetched by chain exchange.
const StaleDepth = 64

// maxTxWireSize is the size of the largest binary transaction, a signed
// one.
const maxTxWireSize = chain.MaxTxSize

// Rejection reasons that are not chain error codes.
const (
	reasonIDMismatch = "id_mismatch"
	reasonInternal   = "internal"
)

// validateBlock is the block topic's validator. It decodes the message within
// the network's limits, checks that the content id is the block hash, and adds
// the block to the chain, so that only valid blocks are forwarded:
//
//   - valid (new head, reorganisation or side branch): accept, as soon as
//     the block has passed every rule and before it is written to disk, so
//     that the disk is not on the path of relaying; the write goes on
//     meanwhile, and the block becomes the head (for /status, the API and
//     the miner) once it is on disk;
//   - already stored, already an orphan, or stale: ignore;
//   - parent unknown: ignore, keep the block as an orphan and fetch the
//     missing blocks from the peer that sent it;
//   - any broken rule: reject (the sender's gossip score falls).
//
// Our own publications are accepted without a second validation: they are
// added to the chain before they are published (see ownPublication).
func (s *Service) validateBlock(_ context.Context, from peer.ID, m *pubsub.Message) pubsub.ValidationResult {
	if ownPublication(s, from, m) {
		return pubsub.ValidationAccept
	}
	if !s.enter() {
		return pubsub.ValidationIgnore
	}
	defer s.leave()
	id, payload, err := p2p.Unframe(m.GetData())
	if err != nil {
		s.stats.rejectBlock(chain.ErrMalformed.String())
		return pubsub.ValidationReject
	}
	if len(payload) > s.params.MaxBlockSize {
		s.stats.rejectBlock(chain.ErrTooLarge.String())
		return pubsub.ValidationReject
	}
	if s.chain.HasBlock(id) || s.orphans.has(id) {
		s.stats.blocksIgnored.Add(1)
		return pubsub.ValidationIgnore
	}
	b, err := chain.DecodeBlock(payload, s.params.MaxBlockTxs)
	if err != nil {
		s.stats.rejectBlock(reason(err))
		return pubsub.ValidationReject
	}
	if b.Hash != chain.Hash(id) {
		s.stats.rejectBlock(reasonIDMismatch)
		return pubsub.ValidationReject
	}
	if b.Index+StaleDepth <= s.chain.Head().Height {
		s.stats.blocksIgnored.Add(1)
		return pubsub.ValidationIgnore
	}
	return s.addGossiped(b, m.ReceivedFrom)
}

// addGossiped adds a gossiped block and returns accept once it is valid,
// while a goroutine of the service finishes writing it; any other outcome
// is returned when adding ends.
func (s *Service) addGossiped(b *chain.Block, from peer.ID) pubsub.ValidationResult {
	if !s.enter() {
		return pubsub.ValidationIgnore
	}
	valid := make(chan struct{})
	done := make(chan pubsub.ValidationResult, 1)
	go func() {
		defer s.leave()
		_, result, _ := s.addBlock(b, from, func() {
			s.seen.accepted(b.Hash, time.Now())
			close(valid)
		})
		done <- result
	}()
	select {
	case <-valid:
		return pubsub.ValidationAccept
	case r := <-done:
		return r
	}
}

// addBlock adds a block received from peer from (empty for a block submitted
// locally) and maps the outcome to a gossip validation result. valid, if not
// nil, is called once the block has passed every rule, before it is on disk.
func (s *Service) addBlock(b *chain.Block, from peer.ID, valid func()) (store.AddResult, pubsub.ValidationResult, error) {
	// A block submitted to this node (from "") is stored on any branch;
	// one from the network meets the side-branch policy.
	add := s.chain.AddUnrequestedBlockThen
	if from == "" {
		add = s.chain.AddBlockThen
	} else if !s.chain.HasBlock(b.PreviousHash) {
		return s.addOrphan(b, from) // judged before any signature is verified
	}
	res, err := add(b, valid)
	switch {
	case err == nil:
		s.seen.stored(b.Hash, time.Now())
		s.stats.blocksAccepted.Add(1)
		s.wakeOrphans()
		src := SourceGossip
		if from == "" {
			src = SourceSubmitted
		}
		s.blockAdded(BlockEvent{Block: b, Blocks: 1, Status: res.Status, Source: src, Peer: from, Depth: res.Abandoned, Head: res.Head})
		return res, pubsub.ValidationAccept, nil
	case errors.Is(err, chain.ErrKnownBlock):
		s.stats.blocksIgnored.Add(1)
		return res, pubsub.ValidationIgnore, err
	case errors.Is(err, chain.ErrUnknownParent):
		// Keep only orphans that could be valid: check what needs no parent.
		if serr := s.params.CheckBlockSanity(b, s.chain.Now()); chain.RuleCode(serr) == chain.ErrTimeTooNew && from != "" {
			s.holdFuture([]*chain.Block{b}, from)
			return res, pubsub.ValidationIgnore, serr
		} else if serr != nil {
			s.stats.rejectBlock(reason(serr))
			return res, pubsub.ValidationReject, serr
		}
		s.stats.blocksIgnored.Add(1)
		if s.orphans.add(b, from, time.Now(), time.Time{}) {
			s.stats.orphansAdded.Add(1)
			s.log.Debug("orphan block", "hash", b.Hash, "index", b.Index, "parent", b.PreviousHash, "from", from)
		}
		if from != "" {
			s.requestSync(from, true)
		} else {
			s.requestSyncAll()
		}
		return res, pubsub.ValidationIgnore, err
	case chain.RuleCode(err) == chain.ErrTimeTooNew && from != "":
		// The rule depends on our clock: the sender may be right.
		s.holdFuture([]*chain.Block{b}, from)
		return res, pubsub.ValidationIgnore, err
	case errors.Is(err, store.ErrSideBranchRefused):
		s.stats.blocksIgnored.Add(1)
		return res, pubsub.ValidationIgnore, err
	case chain.IsRuleError(err):
		s.stats.rejectBlock(reason(err))
		s.log.Info("invalid block", "hash", b.Hash, "index", b.Index, "from", from, "err", err)
		return res, pubsub.ValidationReject, err
	default:
		s.log.Warn("adding block failed", "hash", b.Hash, "index", b.Index, "err", err)
		return res, pubsub.ValidationIgnore, err
	}
}

// validateTx is the transaction topic's validator: decode within limits,
// check the content id, add to the pending pool. Valid and added: accept,
// before the pool's write reaches the disk (it goes on meanwhile); already
// known or pool full: ignore; invalid: reject. A signed transaction whose
// nonce or balance does not fit this node's accounts is ignored within the
// forwarding peer's budget and rejected beyond it (unfunded.go).
func (s *Service) validateTx(_ context.Context, from peer.ID, m *pubsub.Message) pubsub.ValidationResult {
	if ownPublication(s, from, m) {
		return pubsub.ValidationAccept
	}
	if !s.enter() {
		return pubsub.ValidationIgnore
	}
	defer s.leave()
	id, payload, err := p2p.Unframe(m.GetData())
	if err != nil || len(payload) > maxTxWireSize {
		s.stats.rejectTx(chain.ErrMalformed.String())
		return pubsub.ValidationReject
	}
	tx, err := chain.DecodeTransaction(payload)
	if err != nil {
		s.stats.rejectTx(reason(err))
		return pubsub.ValidationReject
	}
	if tx.ID != chain.Hash(id) {
		s.stats.rejectTx(reasonIDMismatch)
		return pubsub.ValidationReject
	}
	return s.addTx(tx, m.ReceivedFrom)
}

// ownPublication reports whether m is this node's own publication, which
// pubsub validates once, synchronously, inside Publish. The node publishes
// only what it has already accepted (a transaction in its pool, a block in
// its chain), framed by its own code, so the validator accepts it without
// decoding it again. A copy of it that a peer sends back has the peer as
// from and is a duplicate for pubsub's seen cache.
func ownPublication(s *Service, from peer.ID, m *pubsub.Message) bool {
	return m.Local || from == s.self
}

func (s *Service) addTx(tx chain.Transaction, from peer.ID) pubsub.ValidationResult {
	// The pool logs a failed write and drops the transaction again.
	_, err := s.chain.AddTransactionAsyncFrom(tx, from.String())
	switch {
	case err == nil:
		s.seen.accepted(tx.ID, time.Now())
		s.stats.txsAccepted.Add(1)
		s.txAdded(tx, from)
		return pubsub.ValidationAccept
	case errors.Is(err, chain.ErrKnownTransaction), errors.Is(err, chain.ErrPoolFull), errors.Is(err, chain.ErrFeeTooLow):
		s.stats.txsIgnored.Add(1)
		return pubsub.ValidationIgnore
	case stateDependent(err):
		// Nonce and balance: no fault of a peer, within a budget (see
		// unfunded.go).
		return s.unplaceable(from, err)
	case chain.IsRuleError(err):
		// Malformed, unsigned on a signed network, a signature that does
		// not verify: the sender is at fault.
		s.stats.rejectTx(reason(err))
		return pubsub.ValidationReject
	default:
		s.log.Warn("adding transaction failed", "id", tx.ID, "err", err)
		return pubsub.ValidationIgnore
	}
}

// stateDependent reports whether err is a rule of the signed ledger whose
// outcome depends on the receiver's accounts and pool (nonce, balance).
func stateDependent(err error) bool {
	c := chain.RuleCode(err)
	return c == chain.ErrBadNonce || c == chain.ErrInsufficientBalance
}

// reason names the broken rule of err for Stats.
func reason(err error) string {
	if c := chain.RuleCode(err); c != 0 {
		return c.String()
	}
	return reasonInternal
}

// SubmitTransaction adds tx to the pending pool and publishes it, and
// returns once it is on disk. It returns the pool's error (a
// *chain.RuleError, chain.ErrKnownTransaction, chain.ErrPoolFull) without
// publishing. The transaction is published as soon as it is valid, while
// it is written. A failure to publish an added transaction is logged, not
// returned: the transaction stays pending here.
func (s *Service) SubmitTransaction(ctx context.Context, tx chain.Transaction) error {
	return s.SubmitTransactions(ctx, []chain.Transaction{tx})[0]
}

// SubmitTransactions is SubmitTransaction for up to
// store.MaxTransactionBatch transactions at once: one outcome per
// transaction, in order, once every accepted one is on disk, all of them
// written in one commit (shared with other submissions meanwhile).
func (s *Service) SubmitTransactions(ctx context.Context, txs []chain.Transaction) []error {
	if !s.enter() {
		errs := make([]error, len(txs))
		for i := range errs {
			errs[i] = ErrClosed
		}
		return errs
	}
	defer s.leave()
	errs, durable := s.chain.AddTransactionsAsync(txs, "")
	var accepted []int
	for i, err := range errs {
		switch {
		case err == nil:
			accepted = append(accepted, i)
			s.seen.accepted(txs[i].ID, time.Now())
		case chain.IsRuleError(err):
			s.stats.rejectTx(reason(err))
		}
	}
	// Publishing here and the disk write in the store's committer run side
	// by side; both end before the call returns.
	for _, i := range accepted {
		tx := &txs[i]
		msg := tx.AppendBinary(append(make([]byte, 0, p2p.ContentIDSize+maxTxWireSize), tx.ID[:]...))
		if err := s.publish(ctx, s.txs, tx.ID, msg); err != nil {
			s.log.Warn("publishing transaction failed", "id", tx.ID, "err", err)
		}
	}
	if derr := <-durable; derr != nil {
		store.FailDurable(errs, derr)
		return errs
	}
	now := time.Now()
	for _, i := range accepted {
		s.seen.stored(txs[i].ID, now)
		s.stats.txsAccepted.Add(1)
		s.txAdded(txs[i], "")
	}
	return errs
}

// SubmitBlock validates and adds a block mined elsewhere, exactly as a
// gossiped one, and publishes it once added. Errors are those of
// store.Chain.AddBlock: a *chain.RuleError, chain.ErrKnownBlock, or
// chain.ErrUnknownParent (the block is then kept as an orphan and the
// missing blocks are fetched from the connected peers).
func (s *Service) SubmitBlock(ctx context.Context, b *chain.Block) (store.AddResult, error) {
	if !s.enter() {
		return store.AddResult{}, ErrClosed
	}
	defer s.leave()
	res, _, err := s.addBlock(b, "", nil)
	if err != nil {
		return res, err
	}
	if err := s.publishBlock(ctx, b); err != nil {
		s.log.Warn("publishing submitted block failed", "hash", b.Hash, "err", err)
	}
	return res, nil
}

// PublishBlock publishes a block already added to the chain, such as one mined
// by this node.
func (s *Service) PublishBlock(ctx context.Context, b *chain.Block) error {
	if !s.enter() {
		return ErrClosed
	}
	defer s.leave()
	s.seen.stored(b.Hash, time.Now())
	s.wakeOrphans()
	return s.publishBlock(ctx, b)
}

func (s *Service) publishBlock(ctx context.Context, b *chain.Block) error {
	msg := make([]byte, 0, p2p.ContentIDSize+b.BinarySize())
	msg = append(msg, b.Hash[:]...)
	return s.publish(ctx, s.blocks, b.Hash, b.AppendBinary(msg))
}

// publish sends msg, which is id || payload, on topic t.
func (s *Service) publish(ctx context.Context, t *p2p.Topic, id chain.Hash, msg []byte) error {
	if t == nil {
		return errors.New("sync service not started")
	}
	if err := t.Publish(ctx, msg); err != nil {
		return fmt.Errorf("publish %s: %w", id, err)
	}
	return nil
}
