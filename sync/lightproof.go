package sync

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	gosync "sync"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gossipchain/gossipchain/chain"
)

// lightQueryTimeout bounds one question to the peers.
const lightQueryTimeout = 30 * time.Second

// ErrNoProof reports that no peer proved an answer against the light
// node's header chain: none serves proofs, none has the block asked at, or
// (for a transaction) none holds it in the main chain.
var ErrNoProof = errors.New("no peer proved it against the header chain")

// VerifiedAccount is an account checked by proof against a header of the
// light node's main chain.
type VerifiedAccount struct {
	Address   string
	Balance   uint64
	NextNonce uint64
	// Block is the header the proof was checked against (no
	// transactions): the light node's head when it asked.
	Block chain.Block
	// Peers is how many peers gave a proof that verified.
	Peers int
}

// VerifiedTx is a transaction checked by proof to be in a block of the
// light node's main chain.
type VerifiedTx struct {
	Tx    chain.Transaction
	Index uint32      // its position in the block
	Block chain.Block // the block's header (no transactions)
	// Confirmations counts the block and the main-chain blocks after it
	// when the proof was checked.
	Confirmations uint64
	Peers         int
}

// Account returns the account of addr after the light node's head, as
// full peers prove it (an absent address has a balance and next nonce of
// 0, proved by a proof of absence). Up to ProofPeers peers are asked at
// once; a peer whose proof does not verify, or that proves another block
// than asked, is penalised; verified answers that differ are logged, and
// the first one kept. The answer is cached until the head moves.
func (l *Light) Account(ctx context.Context, addr string) (VerifiedAccount, error) {
	if _, err := chain.PublicKeyOf(addr); err != nil {
		return VerifiedAccount{}, fmt.Errorf("account %q: %w", addr, err)
	}
	head := l.headers.Head()
	if v, ok := l.answers.get(head.Hash, "account "+addr); ok {
		return v.(VerifiedAccount), nil
	}
	answers := askPeers(ctx, l, func(ctx context.Context, p peer.ID) (VerifiedAccount, error) {
		return fetchAccountAnswer(ctx, l.node.Host(), p, addr, head.Hash) // a proof at another block is a bad one
	})
	if len(answers) == 0 {
		return VerifiedAccount{}, fmt.Errorf("account %s at %s: %w", addr, head.Hash, ErrNoProof)
	}
	best := answers[0]
	for _, a := range answers[1:] {
		if a.Balance != best.Balance || a.NextNonce != best.NextNonce {
			// Two proofs against one state root cannot both verify.
			l.log.Error("peers proved different accounts against one header", "address", addr, "block", head.Hash,
				"balance", best.Balance, "next_nonce", best.NextNonce, "other_balance", a.Balance, "other_next_nonce", a.NextNonce)
		}
	}
	best.Peers = len(answers)
	l.answers.put(head.Hash, "account "+addr, best)
	return best, nil
}

// Transaction returns transaction id with the main-chain block that holds
// it, as full peers prove it. Up to ProofPeers peers are asked at once; a
// peer whose proof does not verify is penalised. A proof whose block is
// not on the light node's main chain is not (its peer may be on another
// branch): it loses to one whose block is, and the disagreement is
// logged. The answer is cached until the head moves.
func (l *Light) Transaction(ctx context.Context, id chain.Hash) (VerifiedTx, error) {
	head := l.headers.Head()
	if v, ok := l.answers.get(head.Hash, "tx "+id.String()); ok {
		return v.(VerifiedTx), nil
	}
	answers := askPeers(ctx, l, func(ctx context.Context, p peer.ID) (VerifiedTx, error) {
		return fetchTxAnswer(ctx, l.node.Host(), p, id)
	})
	var main []VerifiedTx
	for _, a := range answers {
		if h, err := l.headers.HeaderAt(a.Block.Index); err == nil && h.Hash == a.Block.Hash {
			main = append(main, a)
		}
	}
	if len(main) < len(answers) {
		l.log.Warn("peers proved a transaction in blocks off the header chain", "id", id, "proofs", len(answers), "on_main_chain", len(main))
	}
	if len(main) == 0 {
		return VerifiedTx{}, fmt.Errorf("transaction %s: %w", id, ErrNoProof)
	}
	best := main[0]
	best.Peers = len(main)
	best.Confirmations = l.headers.Head().Height - best.Block.Index + 1
	l.answers.put(head.Hash, "tx "+id.String(), best)
	return best, nil
}

// askPeers asks up to ProofPeers full peers at once with ask and returns
// the answers that verified, in the order of the peers. A peer whose
// proof does not verify, or proves something else than asked, is
// penalised (the fetch functions return proof.ErrBadProof for both).
func askPeers[T any](ctx context.Context, l *Light, ask func(context.Context, peer.ID) (T, error)) []T {
	ctx, cancel := context.WithTimeout(ctx, lightQueryTimeout)
	defer cancel()
	peers := l.proofPeers()
	out := make([]T, len(peers))
	ok := make([]bool, len(peers))
	var wg gosync.WaitGroup
	for i, p := range peers {
		wg.Go(func() {
			v, err := ask(ctx, p)
			switch {
			case err == nil:
				out[i], ok[i] = v, true
			case isBadProof(err) || isViolation(err):
				l.node.Penalize(p, "served a bad proof: "+err.Error())
			default:
				l.log.Debug("proof request failed", "peer", p, "err", err)
			}
		})
	}
	wg.Wait()
	var verified []T
	for i := range peers {
		if ok[i] {
			verified = append(verified, out[i])
		}
	}
	return verified
}

// proofPeers returns up to ProofPeers connected peers that serve
// ProofsProtocol, in random order.
func (l *Light) proofPeers() []peer.ID {
	h := l.node.Host()
	var out []peer.ID
	for _, p := range h.Network().Peers() {
		if ps, err := h.Peerstore().SupportsProtocols(p, ProofsProtocol); err == nil && len(ps) > 0 {
			out = append(out, p)
		}
	}
	rand.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out[:min(len(out), l.cfg.ProofPeers)]
}
