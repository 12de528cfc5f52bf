package sync

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	gosync "sync"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gossipchain/gossipchain/chain"
	"github.com/gossipchain/gossipchain/chain/headerchain"
	"github.com/gossipchain/gossipchain/p2p"
)

// HeadersFile is the name of a light node's header chain in its data
// directory.
const HeadersFile = "headers.db"

// DefaultProofPeers is how many full peers a light node asks one question
// of.
const DefaultProofPeers = 3

// LightConfig configures a Light service. Headers and Node are required.
type LightConfig struct {
	Headers *headerchain.Chain
	Node    *p2p.Node
	Logger  *slog.Logger
	// HeaderSync adjusts the header syncer; its Headers, Node and Logger
	// are set by NewLight.
	HeaderSync HeaderSyncConfig
	// ProofPeers is how many full peers one question is asked of
	// (DefaultProofPeers).
	ProofPeers int
	// OnHead, if not nil, is called after a gossiped block moved the head.
	OnHead func(headerchain.Head)
}

// Light is the sync service of a light node: it keeps a header chain on
// the heaviest chain of its peers (a HeaderSyncer), takes new heads from
// block gossip without storing their bodies, and asks full peers for
// proofs of what its user asks about (lightproof.go). It does not join the
// transaction topic: without the accounts and the pool it cannot tell a
// valid transaction from an invalid one, so it neither relays nor
// receives transactions. Its methods are safe for concurrent use.
type Light struct {
	cfg     LightConfig
	log     *slog.Logger
	headers *headerchain.Chain
	node    *p2p.Node
	syncer  *HeaderSyncer
	params  chain.Params
	answers *answerCache
	seen    *seenLog // when gossiped headers were stored

	mu  gosync.Mutex
	sub *pubsub.Subscription // the block topic's, after Start
}

// NewLight builds a light service on a header chain and a p2p node; it
// does nothing before Start.
func NewLight(cfg LightConfig) (*Light, error) {
	hcfg := cfg.HeaderSync
	hcfg.Headers, hcfg.Node, hcfg.Logger = cfg.Headers, cfg.Node, cfg.Logger
	syncer, err := NewHeaderSyncer(hcfg) // checks Headers and Node
	if err != nil {
		return nil, fmt.Errorf("light: %w", err)
	}
	cfg.ProofPeers = positiveOr(cfg.ProofPeers, DefaultProofPeers)
	return &Light{cfg: cfg, log: syncer.cfg.Logger.With("component", "light"), headers: cfg.Headers, node: cfg.Node,
		syncer: syncer, params: cfg.Headers.Params(), answers: newAnswerCache(), seen: newSeenLog()}, nil
}

// Seen returns when this light node accepted and stored the header of the
// gossiped block id (both at its commit to the header chain), if it is
// among the last few thousand: the full node's Service.Seen, for
// measuring propagation.
func (l *Light) Seen(id chain.Hash) (Seen, bool) { return l.seen.get(id) }

// Headers returns the light node's header chain.
func (l *Light) Headers() *headerchain.Chain { return l.headers }

// Err returns the error that stopped the header sync: a checkpoint that
// the heaviest chain contradicts (headerchain.ErrCheckpointConflict), or
// nil.
func (l *Light) Err() error { return l.syncer.Err() }

// PeerStatus returns the last status p sent, if p is connected and of our
// network.
func (l *Light) PeerStatus(p peer.ID) (Status, bool) {
	l.syncer.mu.Lock()
	defer l.syncer.mu.Unlock()
	st, ok := l.syncer.peers[p]
	return st, ok
}

// Start starts the header syncer and joins the block topic. It may be
// called once.
func (l *Light) Start(ctx context.Context) error {
	if err := l.syncer.Start(ctx); err != nil {
		return err
	}
	blocks, err := l.node.Join(BlocksTopicName(l.params.Name), l.validateBlock)
	if err != nil {
		return err
	}
	sub, err := blocks.Subscribe()
	if err != nil {
		return err
	}
	l.mu.Lock()
	l.sub = sub
	l.mu.Unlock()
	// Delivery happens in the validator; the subscription keeps the node
	// in the topic's mesh.
	l.syncer.spawn(func() {
		for {
			if _, err := sub.Next(l.syncer.ctx); err != nil {
				return
			}
		}
	})
	head := l.headers.Head()
	l.log.Info("light service started", "head", head.Hash, "height", head.Height)
	return nil
}

// Close stops the header syncer and the gossip validator and waits for
// them. It is idempotent.
func (l *Light) Close() error {
	err := l.syncer.Close() // waits for the validator runs and the subscription's reader
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.sub != nil {
		l.sub.Cancel()
		l.sub = nil
	}
	return err
}

// validateBlock is the light node's block topic validator. It decodes the
// block within the network's limits, checks that the content id is its
// hash and every rule that needs no chain state (chain.CheckBlockSanity:
// proof of work, and the body against the header's tx_root and tx_count),
// and adds the header alone to the header chain, which checks it against
// its parent exactly as a full node does; the body is not stored.
//
//   - a new header (head, reorganisation or side branch): accept;
//   - already known, stale, parent unknown (the header syncer is asked to
//     catch up from the sender) or ahead of the local clock: ignore;
//   - any broken rule: reject (the sender's gossip score falls).
func (l *Light) validateBlock(_ context.Context, from peer.ID, m *pubsub.Message) pubsub.ValidationResult {
	if !l.syncer.enter() {
		return pubsub.ValidationIgnore
	}
	defer l.syncer.wg.Done()
	id, payload, err := p2p.Unframe(m.GetData())
	if err != nil || len(payload) > l.params.MaxBlockSize {
		return pubsub.ValidationReject
	}
	b, err := chain.DecodeBlock(payload, l.params.MaxBlockTxs)
	if err != nil || b.Hash != chain.Hash(id) {
		return pubsub.ValidationReject
	}
	head := l.headers.Head()
	if b.Index+StaleDepth <= head.Height {
		return pubsub.ValidationIgnore
	}
	if err := l.params.CheckBlockSanity(b, time.Now()); err != nil {
		return l.refused(b, m.ReceivedFrom, err)
	}
	header := *b
	header.Transactions = nil
	res, err := l.headers.Add([]chain.Block{header})
	switch {
	case err != nil:
		return l.refused(b, m.ReceivedFrom, err)
	case res.Added == 0:
		return pubsub.ValidationIgnore // known
	}
	l.seen.stored(b.Hash, time.Now())
	if res.Head.Hash != head.Hash {
		l.log.Debug("new head from gossip", "hash", res.Head.Hash, "height", res.Head.Height, "from", from, "abandoned", res.Abandoned)
		if l.cfg.OnHead != nil {
			l.cfg.OnHead(res.Head)
		}
	}
	return pubsub.ValidationAccept
}

// refused maps the error that refused gossiped block b to a validation
// result.
func (l *Light) refused(b *chain.Block, from peer.ID, err error) pubsub.ValidationResult {
	switch {
	case errors.Is(err, chain.ErrUnknownParent):
		l.syncer.refresh(from)
		return pubsub.ValidationIgnore
	case chain.RuleCode(err) == chain.ErrTimeTooNew:
		return pubsub.ValidationIgnore // our clock may be behind
	case chain.IsRuleError(err):
		l.log.Info("invalid block", "hash", b.Hash, "index", b.Index, "from", from, "err", err)
		return pubsub.ValidationReject
	default:
		l.log.Warn("adding gossiped header failed", "hash", b.Hash, "err", fmt.Errorf("light: %w", err))
		return pubsub.ValidationIgnore
	}
}
