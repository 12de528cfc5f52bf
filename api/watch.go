package api

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/gossipchain/gossipchain/chain"
	"github.com/gossipchain/gossipchain/chain/store"
)

// This file holds what the server watches for GET /events, GET /forks and
// the mining fields of GET /status: head changes (and reorganisations), the
// hash rate, and the events the node reports through the Note methods.

// Bounds of the fork record of GET /forks.
const (
	maxBranches     = 32   // branches kept, newest first
	maxBranchBlocks = 64   // blocks kept of one branch, from the fork up
	maxBranchWalk   = 4096 // blocks walked back to find a fork
)

// miningSampleInterval is how often the hash rate is sampled while mining.
const miningSampleInterval = time.Second

// miningLogInterval is how often a search that lasts is logged at INFO.
const miningLogInterval = 10 * time.Second

// sideQueue bounds the side-branch blocks waiting for the watcher; more are
// not recorded for GET /forks (their events are still sent).
const sideQueue = 64

// watcher is the server's watch state.
type watcher struct {
	once sync.Once
	done chan struct{}     // closed when the watch goroutine returned
	side chan *chain.Block // side-branch blocks to record, from NoteBlock

	mu       sync.Mutex
	branches []forkBranch // newest first
	rate     float64      // hash attempts per second of the last sample
	sampled  bool         // rate comes from samples of Attempts
}

type headEvent struct {
	Height       uint64          `json:"height"`
	Hash         chain.Hash      `json:"hash"`
	PreviousHash chain.Hash      `json:"previous_hash"`
	Timestamp    chain.Timestamp `json:"timestamp"`
	Transactions int             `json:"transactions"`
}

type reorgEvent struct {
	Depth      int          `json:"depth"`       // main-chain blocks abandoned
	ForkHeight uint64       `json:"fork_height"` // last block both chains share
	OldHead    chain.Hash   `json:"old_head"`
	NewHead    chain.Hash   `json:"new_head"`
	Height     uint64       `json:"height"`
	Abandoned  []chain.Hash `json:"abandoned"` // from the fork up, at most maxBranchBlocks
}

type miningEvent struct {
	Mining   bool    `json:"mining"`
	HashRate float64 `json:"hash_rate"`
	Active   int64   `json:"requests"` // GET/POST /mine requests running
}

// forkBranch is a branch off the main chain this node saw.
type forkBranch struct {
	// Kind is "abandoned" (it was the main chain until a reorganisation)
	// or "side" (stored beside the main chain, never its head).
	Kind       string        `json:"kind"`
	ForkHeight uint64        `json:"fork_height"` // height of the last main-chain block below the branch
	Length     int           `json:"length"`      // blocks of the branch (Blocks may hold fewer)
	Seen       time.Time     `json:"seen"`
	Blocks     []branchBlock `json:"blocks"` // from the fork up
}

type branchBlock struct {
	Index        uint64          `json:"index"`
	Hash         chain.Hash      `json:"hash"`
	PreviousHash chain.Hash      `json:"previous_hash"`
	Timestamp    chain.Timestamp `json:"timestamp"`
	Miner        string          `json:"miner"`
	Transactions int             `json:"transactions"`
}

func newBranchBlock(b *chain.Block) branchBlock {
	bb := branchBlock{Index: b.Index, Hash: b.Hash, PreviousHash: b.PreviousHash, Timestamp: b.Timestamp,
		Transactions: len(b.Transactions)}
	if r := b.Reward(); r != nil {
		bb.Miner = r.Recipient
	}
	return bb
}

// headChanger is implemented by *store.Chain.
type headChanger interface {
	HeadChanged() <-chan struct{}
}

// attemptCounter is implemented by *miner.Miner.
type attemptCounter interface {
	Attempts() uint64
}

// startWatch starts, once, the goroutine that watches the head and the
// hash rate; it stops at Shutdown. Serve and the first GET /events start it.
func (s *Server) startWatch() {
	s.watch.once.Do(func() {
		s.watch.done = make(chan struct{})
		// The head and its channel are taken now, so that no change after
		// startWatch returns is missed.
		var changed <-chan struct{}
		if hc, ok := s.chain.(headChanger); ok {
			changed = hc.HeadChanged()
		}
		last := s.chain.Head()
		go func() {
			defer close(s.watch.done)
			s.watchLoop(s.baseCtx, last, changed)
		}()
	})
}

// stopWatch waits for the watch goroutine after baseCtx was cancelled.
func (s *Server) stopWatch() {
	s.watch.once.Do(func() {}) // never start it after this
	if s.watch.done != nil {
		<-s.watch.done
	}
}

func (s *Server) watchLoop(ctx context.Context, last store.Head, changed <-chan struct{}) {
	hc, _ := s.chain.(headChanger)
	ac, _ := s.miner.(attemptCounter)
	tick := time.NewTicker(miningSampleInterval)
	defer tick.Stop()
	var attempts uint64
	if ac != nil {
		attempts = ac.Attempts()
	}
	lastSample, wasMining := time.Now(), false
	var miningSince, miningLogged time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-changed:
			changed = hc.HeadChanged()
			head := s.chain.Head()
			if head.Hash != last.Hash {
				s.headMoved(last, head)
				last = head
				miningSince, miningLogged = time.Now(), time.Now() // a new search
			}
		case b := <-s.watch.side:
			if br, err := s.branchOf(b.Hash); err == nil {
				br.Kind = "side"
				s.recordBranch(br)
			}
		case now := <-tick.C:
			mining := s.isMining()
			if ac != nil {
				n := ac.Attempts()
				rate := 0.0
				if sec := now.Sub(lastSample).Seconds(); sec > 0 && mining {
					rate = float64(n-attempts) / sec
				}
				attempts, lastSample = n, now
				s.watch.mu.Lock()
				s.watch.rate, s.watch.sampled = rate, true
				s.watch.mu.Unlock()
			}
			if mining || wasMining {
				s.events.publish(EventMining, miningEvent{Mining: mining, HashRate: s.hashRate(), Active: s.mineRequests.Load()})
			}
			switch {
			case mining && !wasMining:
				miningSince, miningLogged = now, now
			case mining && now.Sub(miningLogged) >= miningLogInterval:
				// A long search shows that it is alive.
				miningLogged = now
				s.log.Info("mining", "hash_rate", int64(s.hashRate()), "requests", s.mineRequests.Load(),
					"height", s.chain.Head().Height+1, "searching_for", now.Sub(miningSince).Round(time.Second))
			}
			wasMining = mining
		}
	}
}

// headMoved publishes a new head and, when old is no longer on the main
// chain, the reorganisation, which it records for GET /forks.
func (s *Server) headMoved(old, head store.Head) {
	if b, err := s.chain.BlockByHash(head.Hash); err == nil {
		s.events.publish(EventHead, headEvent{Height: b.Index, Hash: b.Hash, PreviousHash: b.PreviousHash,
			Timestamp: b.Timestamp, Transactions: len(b.Transactions)})
	}
	if s.onMain(old.Hash, old.Height) {
		return
	}
	br, err := s.branchOf(old.Hash)
	if err != nil {
		s.log.Debug("walking an abandoned branch failed", "head", old.Hash, "err", err)
		return
	}
	br.Kind = "abandoned"
	ev := reorgEvent{Depth: br.Length, ForkHeight: br.ForkHeight, OldHead: old.Hash, NewHead: head.Hash,
		Height: head.Height, Abandoned: []chain.Hash{}}
	for _, b := range br.Blocks {
		ev.Abandoned = append(ev.Abandoned, b.Hash)
	}
	s.recordBranch(br)
	s.events.publish(EventReorg, ev)
}

// onMain reports whether the block hash at height is on the main chain.
func (s *Server) onMain(hash chain.Hash, height uint64) bool {
	b, err := s.chain.BlockByHeight(height)
	return err == nil && b.Hash == hash
}

var errLongBranch = errors.New("branch longer than the walk limit")

// branchOf walks back from tip to the main chain and returns the branch
// above the fork (at most maxBranchBlocks of it, from the fork up).
func (s *Server) branchOf(tip chain.Hash) (forkBranch, error) {
	var blocks []branchBlock
	hash := tip
	for range maxBranchWalk {
		b, err := s.chain.BlockByHash(hash)
		if err != nil {
			return forkBranch{}, err
		}
		if s.onMain(b.Hash, b.Index) {
			slices.Reverse(blocks)
			br := forkBranch{ForkHeight: b.Index, Length: len(blocks), Seen: time.Now().UTC()}
			br.Blocks = blocks[:min(len(blocks), maxBranchBlocks)]
			return br, nil
		}
		blocks = append(blocks, newBranchBlock(b))
		hash = b.PreviousHash
	}
	return forkBranch{}, errLongBranch
}

// recordBranch keeps br, newest first, replacing a branch it grows and
// dropping side branches that became the main chain.
func (s *Server) recordBranch(br forkBranch) {
	s.watch.mu.Lock()
	defer s.watch.mu.Unlock()
	out := []forkBranch{br}
	for _, old := range s.watch.branches {
		if len(old.Blocks) == 0 {
			continue
		}
		if old.ForkHeight == br.ForkHeight && len(br.Blocks) > 0 && old.Blocks[0].Hash == br.Blocks[0].Hash &&
			old.Length <= br.Length {
			continue // br grows old
		}
		out = append(out, old)
	}
	s.watch.branches = out[:min(len(out), maxBranches)]
}

type forksResponse struct {
	Height   uint64       `json:"height"`
	Head     chain.Hash   `json:"head"`
	Branches []forkBranch `json:"branches"`
}

// handleForks serves GET /forks: the side branches and abandoned branches
// this node saw since it started, newest first. Side branches that the main
// chain has since taken over are left out.
func (s *Server) handleForks(w http.ResponseWriter, r *http.Request) {
	head := s.chain.Head()
	s.watch.mu.Lock()
	branches := slices.Clone(s.watch.branches)
	s.watch.mu.Unlock()
	out := []forkBranch{}
	for _, br := range branches {
		if len(br.Blocks) > 0 && s.onMain(br.Blocks[0].Hash, br.Blocks[0].Index) {
			continue
		}
		out = append(out, br)
	}
	writeJSON(w, http.StatusOK, forksResponse{Height: head.Height, Head: head.Hash, Branches: out})
}

// isMining reports whether a proof-of-work search runs: continuous mining
// or a GET/POST /mine in progress.
func (s *Server) isMining() bool {
	return s.mineRequests.Load() > 0 || (s.cfg.Mining != nil && s.cfg.Mining())
}

// hashRate is the hash rate of the running search; 0 when none runs.
func (s *Server) hashRate() float64 {
	if !s.isMining() {
		return 0
	}
	s.watch.mu.Lock()
	rate, sampled := s.watch.rate, s.watch.sampled
	s.watch.mu.Unlock()
	if sampled && rate > 0 {
		return finite(rate)
	}
	return finite(s.miner.HashRate())
}

// BlockNote describes blocks the node added, for NoteBlock.
type BlockNote struct {
	Block  *chain.Block // the block added; nil for a sync batch
	Blocks int          // blocks added
	Status string       // extended, reorganized, side_branch
	Source string       // mined, gossip, submitted, sync, orphan
	Peer   string       // the peer it came from, if any
	Depth  int          // main-chain blocks a reorganisation abandoned
	Head   store.Head   // the head after the addition
}

type blockEvent struct {
	Index        uint64     `json:"index"`
	Hash         chain.Hash `json:"hash"`
	Status       string     `json:"status"`
	Source       string     `json:"source"`
	Peer         string     `json:"peer,omitempty"`
	Blocks       int        `json:"blocks"`
	Depth        int        `json:"depth,omitempty"`
	Transactions int        `json:"transactions,omitempty"`
	Height       uint64     `json:"height"`
}

// NoteBlock publishes a "block" event and has a side-branch block recorded
// for GET /forks by the watcher, so that it stays cheap on the paths of
// gossip and sync that call it.
func (s *Server) NoteBlock(n BlockNote) {
	ev := blockEvent{Status: n.Status, Source: n.Source, Peer: n.Peer, Blocks: n.Blocks, Depth: n.Depth,
		Height: n.Head.Height, Index: n.Head.Height, Hash: n.Head.Hash}
	if n.Block != nil {
		ev.Index, ev.Hash, ev.Transactions = n.Block.Index, n.Block.Hash, len(n.Block.Transactions)
	}
	s.events.publish(EventBlock, ev)
	if n.Status == store.SideBranch.String() && n.Block != nil {
		select {
		case s.watch.side <- n.Block:
		default:
		}
	}
}

type txEvent struct {
	ID        chain.Hash `json:"id"`
	Sender    string     `json:"sender"`
	Recipient string     `json:"recipient"`
	Amount    uint64     `json:"amount"`
	Peer      string     `json:"peer,omitempty"`
	Pending   int        `json:"pending"`
}

// NoteTransaction publishes a "tx" event for a transaction added to the
// pending pool, received from peer (empty when submitted here).
func (s *Server) NoteTransaction(tx chain.Transaction, peer string) {
	if s.events.clients() == 0 {
		return // nobody listens: spare the event (a count of the pool)
	}
	s.events.publish(EventTx, txEvent{ID: tx.ID, Sender: tx.Sender, Recipient: tx.Recipient, Amount: tx.Amount,
		Peer: peer, Pending: s.chain.PendingCount()})
}

type peerEvent struct {
	ID        string `json:"id"`
	State     string `json:"state"` // connected or lost
	Direction string `json:"direction,omitempty"`
	Source    string `json:"source,omitempty"`
	Peers     int    `json:"peers"`
}

// NotePeer publishes a "peer" event: state is "connected" or "lost".
func (s *Server) NotePeer(id, state, direction, source string) {
	s.events.publish(EventPeer, peerEvent{ID: id, State: state, Direction: direction, Source: source, Peers: len(s.net.Peers())})
}

// SyncProgress is the state of chain synchronisation, for GET /status and
// "sync" events.
type SyncProgress struct {
	Syncing    bool    `json:"syncing"`
	Height     uint64  `json:"height"`
	Target     uint64  `json:"target_height"`
	Peer       string  `json:"peer,omitempty"`
	Blocks     int     `json:"blocks"`
	BlocksPerS float64 `json:"blocks_per_s"`
}

// NoteSync publishes a "sync" event.
func (s *Server) NoteSync(p SyncProgress) {
	p.BlocksPerS = finite(p.BlocksPerS)
	s.events.publish(EventSync, p)
}
