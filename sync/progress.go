package sync

import (
	gosync "sync"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gossipchain/gossipchain/chain"
	"github.com/gossipchain/gossipchain/chain/store"
)

// This file holds what the service tells its owner about its work: the log
// line of every new head, block and transaction events (Config.OnBlock,
// Config.OnTransaction) and the progress of a sync (Progress,
// Config.OnProgress, a log line every ProgressInterval).

// Sources of a BlockEvent.
const (
	SourceGossip    = "gossip"    // received on the block topic
	SourceSubmitted = "submitted" // POST /blocks, through SubmitBlock
	SourceSync      = "sync"      // fetched over chain exchange
	SourceOrphan    = "orphan"    // an orphan whose parent arrived
)

// ProgressInterval is how often a running sync logs its progress and calls
// Config.OnProgress.
const ProgressInterval = 2 * time.Second

// progressLogGap is the least number of blocks behind for which the start of
// a sync is logged at INFO.
const progressLogGap = 1000

// BlockEvent describes blocks the service added to the chain.
type BlockEvent struct {
	// Block is the block added; for SourceSync it is nil and Blocks says
	// how many were added (Head is the last of them on the main chain).
	Block  *chain.Block
	Blocks int
	Status store.AddStatus
	Source string
	Peer   peer.ID // empty for SourceSubmitted
	// Depth is the number of main-chain blocks a reorganisation abandoned.
	Depth int
	Head  store.Head // the head after the addition
}

// Progress is the state of chain synchronisation.
type Progress struct {
	// Syncing is true while blocks are fetched from a peer whose chain is
	// higher than this node's.
	Syncing bool
	Peer    peer.ID // the peer synced from, while Syncing
	Height  uint64  // this node's height
	// Target is the highest height a connected peer of this network
	// announced (at least Height).
	Target uint64
	Blocks int           // blocks added by the running sync
	Rate   float64       // blocks per second of the running sync
	Since  time.Duration // age of the running sync
}

// progress is the running sync, guarded by mu.
type progress struct {
	mu      gosync.Mutex
	active  int // sessions running
	peer    peer.ID
	start   time.Time
	first   time.Time // start of the first sync since the service started
	lastLog time.Time
	blocks  int
}

// Progress returns the state of chain synchronisation.
func (s *Service) Progress() Progress {
	head := s.chain.Head().Height
	pr := Progress{Height: head, Target: head}
	s.mu.Lock()
	for _, st := range s.peers {
		pr.Target = max(pr.Target, st.Height)
	}
	s.mu.Unlock()
	s.progress.mu.Lock()
	if s.progress.active > 0 {
		pr.Peer = s.progress.peer
		pr.Blocks = s.progress.blocks
		pr.Since = time.Since(s.progress.start)
		if sec := pr.Since.Seconds(); sec > 0 {
			pr.Rate = float64(pr.Blocks) / sec
		}
		pr.Syncing = pr.Target > head
	}
	s.progress.mu.Unlock()
	return pr
}

// syncStarted marks the start of a sync from p.
func (s *Service) syncStarted(p peer.ID) {
	now := time.Now()
	s.progress.mu.Lock()
	if s.progress.active++; s.progress.active == 1 {
		s.progress.start, s.progress.lastLog, s.progress.blocks = now, now, 0
	}
	s.progress.peer = p
	if s.progress.first.IsZero() {
		s.progress.first = now
	}
	s.progress.mu.Unlock()
	pr := s.reportProgress()
	if pr.Target >= pr.Height+progressLogGap {
		s.log.Info("sync started", "peer", p, "height", pr.Height, "target", pr.Target)
	}
}

// syncAdvanced counts n blocks added by the running sync and, once every
// ProgressInterval, logs the progress and reports it.
func (s *Service) syncAdvanced(n int) {
	now := time.Now()
	s.progress.mu.Lock()
	s.progress.blocks += n
	due := now.Sub(s.progress.lastLog) >= ProgressInterval
	if due {
		s.progress.lastLog = now
	}
	s.progress.mu.Unlock()
	if !due {
		return
	}
	pr := s.reportProgress()
	s.log.Info("syncing", "peer", pr.Peer, "height", pr.Height, "target", pr.Target,
		"blocks", pr.Blocks, "blocks_per_s", int64(pr.Rate))
}

// syncEnded marks the end of the running sync.
func (s *Service) syncEnded() {
	s.progress.mu.Lock()
	s.progress.active--
	s.progress.mu.Unlock()
	s.reportProgress()
}

func (s *Service) reportProgress() Progress {
	pr := s.Progress()
	if s.cfg.OnProgress != nil {
		s.cfg.OnProgress(pr)
	}
	return pr
}

// blockAdded logs a new head and reports ev to Config.OnBlock.
//
// A single block also gets its DEBUG line, "block added" (or "orphan
// connected"), which cmd/gcbench reads for arrival times.
func (s *Service) blockAdded(ev BlockEvent) {
	if b := ev.Block; b != nil {
		if ev.Source == SourceOrphan {
			s.log.Debug("orphan connected", "hash", b.Hash, "index", b.Index)
		} else {
			s.log.Debug("block added", "hash", b.Hash, "index", b.Index, "status", ev.Status, "from", ev.Peer)
		}
	}
	if ev.Status == store.Extended || ev.Status == store.Reorganized {
		LogHead(s.log, ev)
	}
	if s.cfg.OnBlock != nil {
		s.cfg.OnBlock(ev)
	}
}

// txAdded reports a transaction added to the pending pool.
func (s *Service) txAdded(tx chain.Transaction, from peer.ID) {
	s.log.Debug("transaction added", "id", tx.ID, "peer", from)
	if s.cfg.OnTransaction != nil {
		s.cfg.OnTransaction(tx, from)
	}
}

// LogHead writes the INFO line of a new head: its height and hash, where it
// came from (source "mined" for a block mined here), the peer, the number of
// blocks of a sync, and the depth of a reorganisation.
func LogHead(log interface {
	Info(msg string, args ...any)
}, ev BlockEvent) {
	args := []any{"height", ev.Head.Height, "hash", ev.Head.Hash, "source", ev.Source}
	if ev.Peer != "" {
		args = append(args, "peer", ev.Peer)
	}
	if ev.Source == SourceSync {
		args = append(args, "blocks", ev.Blocks)
	} else if ev.Block != nil && len(ev.Block.Transactions) > 1 {
		args = append(args, "transactions", len(ev.Block.Transactions)-1)
	}
	if ev.Status == store.Reorganized || ev.Depth > 0 {
		args = append(args, "reorg_depth", ev.Depth)
	}
	log.Info("new head", args...)
}
