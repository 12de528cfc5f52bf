package sync

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	gosync "sync"
	"time"

	"github.com/libp2p/go-libp2p/core/event"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gossipchain/gossipchain/chain"
	"github.com/gossipchain/gossipchain/chain/headerchain"
	"github.com/gossipchain/gossipchain/p2p"
)

// Header sync pipeline bounds: fetched replies waiting to be added while
// the next is fetched, and headers added in one commit while catching up
// (fewer at the end of the peer's chain).
const (
	headerQueue      = 16
	maxMergedHeaders = 16 * MaxHeadersPerRequest
)

// HeaderSyncConfig configures a HeaderSyncer. Headers and Node are
// required; the other fields have the defaults of Config.
type HeaderSyncConfig struct {
	Headers *headerchain.Chain
	Node    *p2p.Node
	Logger  *slog.Logger
	// BatchSize is the headers asked for in one request,
	// 1..MaxHeadersPerRequest (MaxHeadersPerRequest).
	BatchSize      int
	RequestTimeout time.Duration // one header request (DefaultRequestTimeout)
	StatusTimeout  time.Duration // one status exchange (DefaultStatusTimeout)
	StatusInterval time.Duration // statuses exchanged again (DefaultStatusInterval)
}

// HeaderSyncer keeps a header chain on the heaviest chain of its peers: it
// exchanges statuses with every peer, and downloads headers from the
// heaviest peer ahead of it over HeadersProtocol, checked by the header
// chain. A peer that breaks the protocol, serves an invalid header or
// stops below the work it claimed is penalised (p2p.Node.Penalize), as
// the chain exchange does. Its methods are safe for concurrent use.
type HeaderSyncer struct {
	cfg     HeaderSyncConfig
	log     *slog.Logger
	headers *headerchain.Chain
	node    *p2p.Node
	host    host.Host
	genesis chain.Hash

	ctx    context.Context // lives until Close
	cancel context.CancelFunc
	wg     gosync.WaitGroup // every goroutine and handler run
	wake   chan struct{}

	mu      gosync.Mutex
	started bool
	closed  bool
	peers   map[peer.ID]Status
	err     error // the checkpoint conflict that stopped the sync
	evSub   event.Subscription
}

// NewHeaderSyncer builds a HeaderSyncer; it does nothing before Start.
func NewHeaderSyncer(cfg HeaderSyncConfig) (*HeaderSyncer, error) {
	if cfg.Headers == nil || cfg.Node == nil {
		return nil, errors.New("header sync config: Headers and Node are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	cfg.BatchSize = positiveOr(cfg.BatchSize, MaxHeadersPerRequest)
	if cfg.BatchSize > MaxHeadersPerRequest {
		return nil, fmt.Errorf("header sync config: BatchSize %d exceeds %d", cfg.BatchSize, MaxHeadersPerRequest)
	}
	cfg.RequestTimeout = positiveOr(cfg.RequestTimeout, DefaultRequestTimeout)
	cfg.StatusTimeout = positiveOr(cfg.StatusTimeout, DefaultStatusTimeout)
	cfg.StatusInterval = positiveOr(cfg.StatusInterval, DefaultStatusInterval)
	h := &HeaderSyncer{
		cfg: cfg, log: cfg.Logger.With("component", "headersync"), headers: cfg.Headers,
		node: cfg.Node, host: cfg.Node.Host(), genesis: cfg.Headers.Genesis().Hash,
		wake: make(chan struct{}, 1), peers: make(map[peer.ID]Status),
	}
	h.ctx, h.cancel = context.WithCancel(context.Background())
	return h, nil
}

// Start answers status exchanges, exchanges statuses with every connected
// peer and every peer that connects later, and starts the sync loop. It
// may be called once.
func (h *HeaderSyncer) Start(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed || h.started {
		return errors.New("header syncer closed or already started")
	}
	h.started = true
	var err error
	if h.evSub, err = h.host.EventBus().Subscribe(new(event.EvtPeerConnectednessChanged)); err != nil {
		return fmt.Errorf("subscribe to connectedness events: %w", err)
	}
	h.host.SetStreamHandler(StatusProtocol, p2p.DirectOnly(h.handleStatus))
	h.goLocked(func() {
		watchConnections(h.ctx, h.evSub, func(p peer.ID) { h.spawn(func() { h.greet(p) }) }, h.forget)
	})
	h.goLocked(h.loop)
	for _, p := range h.host.Network().Peers() {
		h.goLocked(func() { h.greet(p) })
	}
	return nil
}

// Close stops the syncer and waits for its goroutines. It is idempotent.
func (h *HeaderSyncer) Close() error {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return nil
	}
	h.closed = true
	started := h.started
	h.mu.Unlock()
	h.cancel()
	if started {
		h.host.RemoveStreamHandler(StatusProtocol)
	}
	if h.evSub != nil {
		h.evSub.Close()
	}
	h.wg.Wait()
	return nil
}

// Err returns the error that stopped the sync: a checkpoint that the
// heaviest chain contradicts (headerchain.ErrCheckpointConflict), or nil.
func (h *HeaderSyncer) Err() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.err
}

// goLocked runs f in a goroutine Close waits for; h.mu is held, h.closed
// false.
func (h *HeaderSyncer) goLocked(f func()) {
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		f()
	}()
}

// spawn is goLocked for callers without the lock; nothing runs once closed.
func (h *HeaderSyncer) spawn(f func()) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.closed {
		h.goLocked(f)
	}
}

func (h *HeaderSyncer) localStatus() Status {
	head := h.headers.Head()
	return Status{Genesis: h.genesis, Head: head.Hash, Height: head.Height, Work: head.Work}
}

// enter registers a unit of work (a handler, a validator run) that Close
// waits for; it returns false once the syncer is closed. Each true result
// must be matched by a call to h.wg.Done.
func (h *HeaderSyncer) enter() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return false
	}
	h.wg.Add(1)
	return true
}

func (h *HeaderSyncer) handleStatus(str network.Stream) {
	if !h.enter() {
		_ = str.Reset()
		return
	}
	defer h.wg.Done()
	stop := context.AfterFunc(h.ctx, func() { _ = str.Reset() })
	defer stop()
	p := str.Conn().RemotePeer()
	st, err := answerStatus(str, h.cfg.StatusTimeout, h.localStatus)
	h.onStatus(p, st, err)
}

// refresh exchanges statuses with p again, so that a heavier chain it
// has shown (a gossiped block whose parent is unknown) is fetched.
func (h *HeaderSyncer) refresh(p peer.ID) { h.spawn(func() { h.greet(p) }) }

func (h *HeaderSyncer) greet(p peer.ID) {
	st, err := requestStatus(h.ctx, h.host, p, h.localStatus(), h.cfg.StatusTimeout)
	h.onStatus(p, st, err)
}

// onStatus keeps the status of a peer of our network and wakes the sync
// loop; a malformed status is penalised, a peer of another network
// disconnected.
func (h *HeaderSyncer) onStatus(p peer.ID, st Status, err error) {
	switch {
	case isViolation(err):
		h.penalize(p, err.Error())
	case err != nil:
		h.log.Debug("status exchange failed", "peer", p, "err", err)
	case st.Genesis != h.genesis:
		h.forget(p)
		_ = h.host.Network().ClosePeer(p)
	case h.host.Network().Connectedness(p) == network.Connected:
		h.mu.Lock()
		h.peers[p] = st
		h.mu.Unlock()
		h.wakeLoop()
	}
}

func (h *HeaderSyncer) wakeLoop() {
	select {
	case h.wake <- struct{}{}:
	default:
	}
}

func (h *HeaderSyncer) forget(p peer.ID) {
	h.mu.Lock()
	delete(h.peers, p)
	h.mu.Unlock()
}

// penalize disconnects and bans p, as the chain exchange does.
func (h *HeaderSyncer) penalize(p peer.ID, reason string) {
	h.forget(p)
	h.node.Penalize(p, reason)
}

// loop syncs from the heaviest peer ahead of us whenever a status arrives,
// and exchanges statuses again every StatusInterval.
func (h *HeaderSyncer) loop() {
	tick := time.NewTicker(h.cfg.StatusInterval)
	defer tick.Stop()
	for {
		select {
		case <-h.ctx.Done():
			return
		case <-h.wake:
		case <-tick.C:
			for _, p := range h.host.Network().Peers() {
				h.spawn(func() { h.greet(p) })
			}
			continue
		}
		for h.Err() == nil && h.ctx.Err() == nil {
			p, st, ok := h.heaviest()
			if !ok {
				break
			}
			if err := h.syncFrom(p, st); err != nil {
				h.forget(p) // until its next status
			}
		}
	}
}

// heaviest returns the connected peer whose status claims the most work,
// if it is more than ours.
func (h *HeaderSyncer) heaviest() (peer.ID, Status, bool) {
	ours := h.headers.Head().Work
	h.mu.Lock()
	defer h.mu.Unlock()
	var best peer.ID
	var bestSt Status
	for p, st := range h.peers {
		if st.Work.Cmp(ours) > 0 && (best == "" || st.Work.Cmp(bestSt.Work) > 0) {
			best, bestSt = p, st
		}
	}
	return best, bestSt, best != ""
}

// syncFrom downloads headers from p until p has no more, adding each reply
// while the next one is fetched, and judges p: a reply that breaks the
// protocol, an invalid header and a chain that ends below the work p
// claimed (claimed) are penalised.
func (h *HeaderSyncer) syncFrom(p peer.ID, claimed Status) error {
	ctx, cancel := context.WithCancel(h.ctx)
	defer cancel()
	replies := make(chan headerReplyOf, headerQueue)
	var fetchErr error
	fetched := make(chan struct{})
	go func() { // ends before syncFrom returns
		defer close(fetched)
		defer close(replies)
		base := h.headers.Locator()
		locator := base
		for {
			rep, err := fetchHeaders(ctx, h.host, p, locator, h.cfg.BatchSize, h.cfg.RequestTimeout)
			if err != nil {
				fetchErr = err
				return
			}
			select {
			case replies <- rep:
			case <-ctx.Done():
				return
			}
			if len(rep.headers) < h.cfg.BatchSize {
				return
			}
			// Continue after the last header received, which will have
			// been added (or refused) before the reply is.
			last := rep.headers[len(rep.headers)-1].Hash
			locator = append([]chain.Hash{last}, base[:min(len(base), MaxLocatorHashes-1)]...)
		}
	}()
	added := 0
	var addErr error
	var merged []chain.Block
	for rep := range replies {
		// While catching up (a full reply: more follow), wait for the
		// next replies and add up to maxMergedHeaders in one commit, one
		// disk sync, while the fetcher goes on; a short reply is the last
		// and the fetcher closes replies after it or after an error, so
		// the wait ends. A crash loses only what is not committed: at
		// most maxMergedHeaders+headerQueue*BatchSize headers fetched
		// again, never a committed one.
		merged = append(merged[:0], rep.headers...)
		for full := len(rep.headers) == h.cfg.BatchSize; full && len(merged) < maxMergedHeaders; {
			next, ok := <-replies
			if !ok {
				break
			}
			merged = append(merged, next.headers...)
			full = len(next.headers) == h.cfg.BatchSize
		}
		res, err := h.headers.Add(merged)
		added += res.Added
		if err != nil {
			addErr = err
			cancel()
			break
		}
	}
	cancel()
	<-fetched
	if added > 0 {
		h.node.Delivered(p)
		h.log.Debug("headers added", "peer", p, "headers", added, "head", h.headers.Head().Hash)
	}
	if fetchErr != nil && ctx.Err() != nil && addErr != nil {
		fetchErr = nil // cancelled because of addErr
	}
	switch {
	case errors.Is(addErr, headerchain.ErrCheckpointConflict):
		h.mu.Lock()
		h.err = addErr
		h.mu.Unlock()
		h.log.Error("header sync stopped: the heaviest chain does not hold the checkpoint", "err", addErr)
		return addErr
	case chain.RuleCode(addErr) == chain.ErrTimeTooNew:
		// The future limit depends on our clock: p may be honest.
		h.log.Info("header sync paused at a header ahead of the local clock", "peer", p, "err", addErr)
		return addErr
	case chain.IsRuleError(addErr):
		h.penalize(p, "served an invalid header: "+addErr.Error())
		return addErr
	case addErr != nil:
		return addErr
	case isViolation(fetchErr):
		h.penalize(p, "broke the header protocol: "+fetchErr.Error())
		return fetchErr
	case fetchErr != nil:
		h.log.Debug("header sync failed", "peer", p, "headers", added, "err", fetchErr)
		return fetchErr
	}
	if head := h.headers.Head(); claimed.Work.Cmp(head.Work) > 0 {
		err := fmt.Errorf("header chain ended at height %d below the work of its status (height %d)", head.Height, claimed.Height)
		h.penalize(p, "contradicted its status: "+err.Error())
		return err
	}
	return nil
}

// positiveOr returns v, or d when v is not positive.
func positiveOr[T int | time.Duration](v, d T) T {
	if v <= 0 {
		return d
	}
	return v
}
