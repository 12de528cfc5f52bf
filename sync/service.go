package sync

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	gosync "sync"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/event"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gossipchain/gossipchain/chain"
	"github.com/gossipchain/gossipchain/chain/proof"
	"github.com/gossipchain/gossipchain/chain/store"
	"github.com/gossipchain/gossipchain/p2p"
)

// Defaults of the optional Config fields.
const (
	DefaultMaxOrphans         = 256
	DefaultMaxOrphanBytes     = 16 << 20
	DefaultMaxOrphansPerPeer  = 32
	DefaultOrphanTTL          = 10 * time.Minute
	DefaultBatchSize          = MaxBlocksPerRequest
	DefaultRequestTimeout     = 30 * time.Second
	DefaultRequestReadTimeout = 5 * time.Second
	DefaultStallTimeout       = 5 * time.Second
	DefaultSessionTimeout     = 2 * time.Minute
	DefaultStatusTimeout      = 10 * time.Second
	DefaultMaxServing         = 16
	// DefaultMaxServingPerPeer is also the number of chain-exchange
	// requests a syncing node keeps in flight to one peer (syncInFlight), so
	// that a server with the default limits admits all of them.
	DefaultMaxServingPerPeer = 2
	DefaultStatusInterval    = 10 * time.Second
)

// MaxNoProgress is how many chain-exchange replies in a row may make no
// progress (no block new to this node, and no continuation of the previous
// reply) before the sync session ends and the peer is penalised.
const MaxNoProgress = 2

// txSubscriptionBuffer is how many validated transactions the node's
// subscription holds while its handler catches up: a batch of 1,000 (the
// most POST /transactions/batch takes) published at once fits four times.
const txSubscriptionBuffer = 4096

// MaxFutureWait bounds how long a block timestamped too far in the future
// (more than the network's chain.FutureLimit ahead of the local clock) is kept until it becomes
// valid; a block further ahead is ignored. Neither is penalised: the
// future-time rule depends on the local clock, so the sender may be honest.
const MaxFutureWait = 10 * time.Minute

// Gossip topic kinds, expanded by p2p.TopicName.
const (
	// BlocksTopic is the kind of the blocks topic (see BlocksTopicName).
	BlocksTopic       = "blocks"
	TransactionsTopic = "txs"
)

// BlocksTopicName returns the name of the blocks topic,
// p2p.TopicName(network, BlocksTopic) = "/gossipchain/<network>/blocks/3":
// version 1 carried blocks with a difficulty, version 2 blocks with a
// compact target signed by their publisher, version 3 the same blocks
// unsigned (see p2p.SignaturePolicy).
func BlocksTopicName(network string) string { return p2p.TopicName(network, BlocksTopic) }

// Chain is what the sync service needs of the node's chain; *store.Chain is
// one. A simulation wraps it to charge the time its checks would take
// (sync/sim).
type Chain interface {
	Params() chain.Params
	Genesis() *chain.Block
	Head() store.Head
	// Now is the chain's clock, that of the future-timestamp rule.
	Now() time.Time
	HasBlock(h chain.Hash) bool
	Locator() []chain.Hash
	LocateFork(locator []chain.Hash) (height uint64, ok bool)
	RawMainChainHashed(from uint64, limit int, fn func(hash chain.Hash, raw []byte) error) error
	MainHeaders(from uint64, limit int, fn func(hash chain.Hash, header []byte) error) error
	FindTransaction(id chain.Hash) (store.TxLocation, error)
	// TxProof and AccountProof build the proofs the service serves.
	TxProof(id chain.Hash) (proof.Tx, error)
	AccountProof(addr string, at chain.Hash) (store.AccountProof, error)
	// UnknownTransactions returns those of ids neither pending nor
	// confirmed, at a cost per id that does not grow with the chain.
	UnknownTransactions(ids []chain.Hash) []chain.Hash
	Pending(limit int) []chain.Transaction

	// AddBlockThen adds a block submitted to this node; valid, if not nil,
	// is called once it has passed every rule, before it is on disk.
	AddBlockThen(b *chain.Block, valid func()) (store.AddResult, error)
	// AddUnrequestedBlock and AddUnrequestedBlockThen add a block that came
	// from the network unasked (gossip, orphans): it meets the side-branch
	// policy.
	AddUnrequestedBlock(b *chain.Block) (store.AddResult, error)
	AddUnrequestedBlockThen(b *chain.Block, valid func()) (store.AddResult, error)
	// AddFetchedBlocks adds a batch fetched by chain exchange in one store
	// transaction.
	AddFetchedBlocks(blocks []*chain.Block) (store.AddResult, int, error)
	PruneSideBranches(keepRequested bool) (int, error)
	AddTransactionAsyncFrom(tx chain.Transaction, origin string) (<-chan error, error)
	// AddTransactionsAsync admits a batch: one outcome per transaction,
	// and the outcome of writing the accepted ones in one commit.
	AddTransactionsAsync(txs []chain.Transaction, origin string) ([]error, <-chan error)
}

var _ Chain = (*store.Chain)(nil)

// ErrClosed is returned by methods called after Close.
var ErrClosed = errors.New("sync service closed")

// Config configures a Service. Chain and Node are required; the other fields
// have defaults.
type Config struct {
	// Chain is the node's chain. Required.
	Chain Chain
	// Node is the node's p2p host. Required; it must not have joined the
	// block and transaction topics already.
	Node *p2p.Node
	// Logger receives the service's logs; slog.Default() when nil.
	Logger *slog.Logger

	// MaxOrphans bounds the orphan pool in blocks (DefaultMaxOrphans),
	// MaxOrphanBytes in encoded bytes (DefaultMaxOrphanBytes) and
	// MaxOrphansPerPeer the blocks one peer may have in it
	// (DefaultMaxOrphansPerPeer). A peer over its share loses its own
	// oldest orphan; a full pool drops the oldest orphan of the peer that
	// holds the most bytes. Blocks waiting for their timestamp to become
	// valid (see MaxFutureWait) live in the same pool, under the same bounds.
	MaxOrphans        int
	MaxOrphanBytes    int
	MaxOrphansPerPeer int
	// OrphanTTL is how long an orphan waits for its parent (DefaultOrphanTTL).
	OrphanTTL time.Duration
	// BatchSize is the number of blocks asked for in one chain-exchange
	// request, 1..MaxBlocksPerRequest (DefaultBatchSize).
	BatchSize int
	// RequestTimeout bounds one chain-exchange request, from opening the
	// stream to the last block of the reply, on both ends
	// (DefaultRequestTimeout). A peer that does not answer within it is
	// dropped from the sync and another is tried.
	RequestTimeout time.Duration
	// RequestReadTimeout bounds, on the serving end, reading a
	// chain-exchange request once the stream is open
	// (DefaultRequestReadTimeout), and StallTimeout each write of the reply
	// (DefaultStallTimeout): a peer that does not send its request or does
	// not read the reply loses the stream.
	RequestReadTimeout time.Duration
	StallTimeout       time.Duration
	// SessionTimeout bounds one sync session with one peer
	// (DefaultSessionTimeout). A session that ends on it while making
	// progress is queued again, behind the other peers.
	SessionTimeout time.Duration
	// SyncWindow is the time of requests in flight over which a sync
	// session's delivery is judged (DefaultSyncWindow): a peer that
	// delivers less than min(BatchSize, the blocks it claimed to be ahead)
	// blocks per window and less than MinSyncRate bytes per second is cut
	// and penalised (sessions.go).
	SyncWindow time.Duration
	// StatusTimeout bounds one status exchange (DefaultStatusTimeout).
	StatusTimeout time.Duration
	// StatusInterval is how often statuses are exchanged again with every
	// connected peer (DefaultStatusInterval, ± 20 % each time, from a random
	// phase), so that a node that missed a gossiped block learns it is
	// behind even if no further block comes.
	StatusInterval time.Duration
	// MaxServing bounds the chain-exchange requests served at once
	// (DefaultMaxServing), MaxServingPerPeer those of one peer
	// (DefaultMaxServingPerPeer); more are answered with CodeUnavailable.
	MaxServing        int
	MaxServingPerPeer int

	// OnBlock, OnTransaction and OnProgress, when set, are told of blocks
	// added, transactions added to the pool and sync progress (see
	// progress.go). They are called synchronously and must not block.
	OnBlock       func(BlockEvent)
	OnTransaction func(tx chain.Transaction, from peer.ID)
	OnProgress    func(Progress)
}

func (c Config) withDefaults() (Config, error) {
	if c.Chain == nil {
		return c, errors.New("sync config: Chain is required")
	}
	if c.Node == nil {
		return c, errors.New("sync config: Node is required")
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.MaxOrphans <= 0 {
		c.MaxOrphans = DefaultMaxOrphans
	}
	if c.MaxOrphanBytes <= 0 {
		c.MaxOrphanBytes = DefaultMaxOrphanBytes
	}
	if c.MaxOrphansPerPeer <= 0 {
		c.MaxOrphansPerPeer = DefaultMaxOrphansPerPeer
	}
	if c.RequestReadTimeout <= 0 {
		c.RequestReadTimeout = DefaultRequestReadTimeout
	}
	if c.StallTimeout <= 0 {
		c.StallTimeout = DefaultStallTimeout
	}
	if c.SessionTimeout <= 0 {
		c.SessionTimeout = DefaultSessionTimeout
	}
	if c.SyncWindow <= 0 {
		c.SyncWindow = DefaultSyncWindow
	}
	if c.MaxServingPerPeer <= 0 {
		c.MaxServingPerPeer = DefaultMaxServingPerPeer
	}
	if c.OrphanTTL <= 0 {
		c.OrphanTTL = DefaultOrphanTTL
	}
	if c.BatchSize <= 0 {
		c.BatchSize = DefaultBatchSize
	}
	if c.BatchSize > MaxBlocksPerRequest {
		return c, fmt.Errorf("sync config: BatchSize %d exceeds %d", c.BatchSize, MaxBlocksPerRequest)
	}
	if c.RequestTimeout <= 0 {
		c.RequestTimeout = DefaultRequestTimeout
	}
	if c.StatusTimeout <= 0 {
		c.StatusTimeout = DefaultStatusTimeout
	}
	if c.StatusInterval <= 0 {
		c.StatusInterval = DefaultStatusInterval
	}
	if c.MaxServing <= 0 {
		c.MaxServing = DefaultMaxServing
	}
	return c, nil
}

// Service joins a chain to the network: it validates and relays gossiped
// blocks and transactions, publishes local ones, exchanges statuses with
// every new peer, serves and fetches blocks over the chain-exchange protocol
// and keeps the orphan pool. Its methods are safe for concurrent use.
type Service struct {
	cfg    Config
	log    *slog.Logger
	chain  Chain
	node   *p2p.Node
	host   host.Host
	self   peer.ID
	params chain.Params

	genesis chain.Hash
	orphans *orphanPool
	seen    *seenLog
	stats   counters
	gate    *p2p.Gate // admission of the chain-exchange requests served (exchangeGate)

	blocks *p2p.Topic
	txs    *p2p.Topic

	// ctx lives until Close; every goroutine, handler and validator run of the
	// service is tracked by wg (see enter).
	ctx    context.Context
	cancel context.CancelFunc
	wg     gosync.WaitGroup

	mu      gosync.Mutex
	started bool
	closed  bool
	peers   map[peer.ID]Status // last status of each connected peer of our network
	queued  map[peer.ID]bool   // peers waiting for syncLoop: whether the sync is forced
	subs    []*pubsub.Subscription
	evSub   event.Subscription

	sessions   *sessions     // running sync sessions, delivery history (sessions.go)
	syncWake   chan struct{} // wakes syncLoop: a peer was queued or a session ended
	orphanWake chan struct{} // wakes orphanLoop: a block was added
	progress   progress      // the running sync, for Progress
	poolx      *poolExchange // pool exchange (poolx.go)
	otherNets  otherNetworks // how the networks of refused peers differ (status.go)

	unplaceableBudget *p2p.RequestBudget // nonce and balance refusals per forwarding peer (unfunded.go)

	closeOnce gosync.Once
}

// New builds a Service. It does nothing on the network before Start.
func New(cfg Config) (*Service, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	s := &Service{
		cfg:        cfg,
		log:        cfg.Logger.With("component", "sync"),
		chain:      cfg.Chain,
		node:       cfg.Node,
		host:       cfg.Node.Host(),
		self:       cfg.Node.ID(),
		params:     cfg.Chain.Params(),
		genesis:    cfg.Chain.Genesis().Hash,
		orphans:    newOrphanPool(orphanLimits{count: cfg.MaxOrphans, bytes: cfg.MaxOrphanBytes, perPeer: cfg.MaxOrphansPerPeer}, cfg.OrphanTTL),
		seen:       newSeenLog(),
		sessions:   newSessions(),
		peers:      make(map[peer.ID]Status),
		queued:     make(map[peer.ID]bool),
		syncWake:   make(chan struct{}, 1),
		orphanWake: make(chan struct{}, 1),

		unplaceableBudget: newUnplaceableBudget(),
	}
	s.stats.init()
	s.gate = s.exchangeGate()
	s.poolx = newPoolExchange(s)
	s.ctx, s.cancel = context.WithCancel(context.Background())
	return s, nil
}

// Start joins the block and transaction topics, registers the status and
// chain- and header-exchange and proofs protocols, exchanges statuses with the peers already
// connected and with every peer that connects later, and starts the sync and
// orphan loops. It does not block. Start may be called once, and must return
// before the publishing and sync methods are used.
func (s *Service) Start(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if s.started {
		return errors.New("sync service already started")
	}
	s.started = true

	var err error
	if s.blocks, err = s.node.Join(BlocksTopicName(s.params.Name), s.validateBlock); err != nil {
		return err
	}
	if s.txs, err = s.node.Join(TransactionsTopic, s.validateTx); err != nil {
		return err
	}
	// Transactions come in bursts (a batch of 1,000 is published at once),
	// and pubsub drops a message for a subscriber that lags, logging each at
	// INFO; blocks keep pubsub's small buffer, as each may be a megabyte.
	for t, buffer := range map[*p2p.Topic]int{s.blocks: 32, s.txs: txSubscriptionBuffer} {
		sub, err := t.Subscribe(pubsub.WithBufferSize(buffer))
		if err != nil {
			return err
		}
		s.subs = append(s.subs, sub)
		s.goLocked(func() { s.drain(sub) })
	}

	// Subscribe before listing the connected peers, so that no peer is missed.
	s.evSub, err = s.host.EventBus().Subscribe(new(event.EvtPeerConnectednessChanged))
	if err != nil {
		return fmt.Errorf("subscribe to connectedness events: %w", err)
	}
	s.host.SetStreamHandler(StatusProtocol, p2p.DirectOnly(s.handleStatus))
	s.host.SetStreamHandler(BlocksProtocol, p2p.DirectOnly(s.handleBlocks))
	s.host.SetStreamHandler(HeadersProtocol, p2p.DirectOnly(s.handleHeaders))
	s.host.SetStreamHandler(ProofsProtocol, p2p.DirectOnly(s.handleProofs))

	s.goLocked(func() { s.watchPeers(s.evSub) })
	s.goLocked(s.syncLoop)
	s.goLocked(s.orphanLoop)
	s.goLocked(s.statusLoop)
	if err := s.startPoolExchange(); err != nil {
		return err
	}
	for _, p := range s.host.Network().Peers() {
		s.goLocked(func() { s.greet(p) })
	}
	s.log.Info("sync service started", "head", s.chain.Head().Hash, "height", s.chain.Head().Height)
	return nil
}

// Close stops every goroutine the service started and waits for them, and
// for stream handlers and validators in progress. Gossip that arrives later is
// ignored. It does not close the chain or the node. It is idempotent.
func (s *Service) Close() error {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closed = true
		started := s.started
		subs, evSub := s.subs, s.evSub
		s.mu.Unlock()
		s.cancel()
		if started {
			s.host.RemoveStreamHandler(StatusProtocol)
			s.host.RemoveStreamHandler(BlocksProtocol)
			s.host.RemoveStreamHandler(HeadersProtocol)
			s.host.RemoveStreamHandler(ProofsProtocol)
			s.host.RemoveStreamHandler(PoolProtocol)
			for _, sub := range subs {
				sub.Cancel()
			}
			if evSub != nil {
				evSub.Close()
			}
		}
		s.wg.Wait()
		s.log.Info("sync service closed")
	})
	return nil
}

// enter registers a unit of work (a handler, a validator run, a call) that
// Close must wait for; it returns false once the service is closed. Each true
// result must be matched by a call to leave.
func (s *Service) enter() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.wg.Add(1)
	return true
}

func (s *Service) leave() { s.wg.Done() }

// goLocked runs f in a goroutine tracked by wg. s.mu must be held and s.closed
// false.
func (s *Service) goLocked(f func()) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		f()
	}()
}

// spawn runs f in a tracked goroutine unless the service is closed.
func (s *Service) spawn(f func()) {
	if !s.enter() {
		return
	}
	go func() {
		defer s.leave()
		f()
	}()
}

// drain consumes a topic subscription: delivery has already happened in the
// validator, the subscription only keeps this node in the topic's mesh.
func (s *Service) drain(sub *pubsub.Subscription) {
	for {
		if _, err := sub.Next(s.ctx); err != nil {
			return
		}
	}
}

// Stats returns a snapshot of the service's counters.
func (s *Service) Stats() Stats {
	st := s.stats.snapshot()
	st.Orphans = s.orphans.len()
	s.mu.Lock()
	st.Peers = len(s.peers)
	s.mu.Unlock()
	s.progress.mu.Lock()
	st.FirstSyncStart = s.progress.first
	s.progress.mu.Unlock()
	return st
}

// PeerStatus returns the last status received from the connected peer p.
func (s *Service) PeerStatus(p peer.ID) (Status, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, ok := s.peers[p]
	return st, ok
}

// localStatus is this node's status now.
func (s *Service) localStatus() Status {
	h := s.chain.Head()
	return Status{Genesis: s.genesis, Head: h.Hash, Height: h.Height, Work: h.Work}
}

// penalize disconnects and bans p for misbehaviour on a stream protocol.
func (s *Service) penalize(p peer.ID, reason string) {
	s.stats.peersPenalized.Add(1)
	s.forget(p)
	s.node.Penalize(p, reason)
}

// forget drops what the service knows of p.
func (s *Service) forget(p peer.ID) {
	s.mu.Lock()
	delete(s.peers, p)
	delete(s.queued, p)
	s.mu.Unlock()
	s.sessions.forget(p)
	s.poolx.fetch.forget(p)
}

// wakeOrphans tells orphanLoop that blocks were added.
func (s *Service) wakeOrphans() {
	if s.orphans.len() == 0 {
		return
	}
	select {
	case s.orphanWake <- struct{}{}:
	default:
	}
}

// MaxMessageSize is the gossip message limit (p2p.Config.MaxMessageSize) that
// fits the largest valid block of params: its content id, its encoding, and
// room for pubsub's own framing (PROTOCOL.md section 3). NewNode gives it to
// every node.
func MaxMessageSize(params chain.Params) int {
	return p2p.ContentIDSize + params.MaxBlockSize + 4096
}
