package sync

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	gosync "sync"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
)

// Sync sessions are judged by what their peer delivers, not by what it
// claims, in the manner of Bitcoin Core's stall detection:
//
//   - a session whose peer, over the time it has chain-exchange requests in
//     flight, delivers less than the floor (a batch of min(BatchSize, the
//     blocks it claimed to be ahead) per SyncWindow, or MinSyncRate bytes
//     per second) is cut and the peer penalised;
//   - a session whose request in flight has brought no block for
//     syncHedgeDelay is stalled: the next candidate's session starts beside
//     it, so that a peer that delivers never waits behind claimants;
//   - candidates are ordered by the bytes per second they delivered to this
//     node, peers without a history after them in random order (not by the
//     work they claim).

// DefaultSyncWindow is the default Config.SyncWindow.
const DefaultSyncWindow = 10 * time.Second

// MinSyncRate is the bytes per second of requests in flight that satisfy
// the sync floor whatever the number of blocks (a peer serving large blocks
// over a slow link).
const MinSyncRate = 32 << 10

// syncHedgeDelay: a session whose request in flight has brought no block
// for this long is stalled, and another candidate's session may start.
const syncHedgeDelay = 500 * time.Millisecond

// resolveGiveUp: once every candidate was tried, Resolve stops waiting for
// sessions that have been stalled this long.
const resolveGiveUp = 2 * time.Second

// errTooSlow ends a sync session whose peer delivered below the floor.
var errTooSlow = errors.New("delivered below the sync floor")

// session is one sync session with one peer: what it delivered while it
// had requests in flight. Its methods are safe for concurrent use and do
// nothing on a nil session.
type session struct {
	peer   peer.ID
	window time.Duration
	done   chan struct{} // closed when the session has ended
	err    error         // its result, set before done is closed

	mu       gosync.Mutex
	want     int           // blocks owed per window
	inFlight int           // requests in flight
	since    time.Time     // when inFlight last rose from 0
	busy     time.Duration // time with requests in flight before since
	last     time.Time     // last block received, or request sent when idle
	blocks   int
	bytes    int
}

func newSession(p peer.ID, window time.Duration, want int) *session {
	return &session{peer: p, window: window, want: max(want, 1), done: make(chan struct{})}
}

// owe sets the blocks owed per window.
func (ss *session) owe(blocks int) {
	ss.mu.Lock()
	ss.want = max(blocks, 1)
	ss.mu.Unlock()
}

func (ss *session) requestStarted(now time.Time) {
	if ss == nil {
		return
	}
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if ss.inFlight == 0 {
		ss.since, ss.last = now, now
	}
	ss.inFlight++
}

func (ss *session) requestEnded(now time.Time) {
	if ss == nil {
		return
	}
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if ss.inFlight--; ss.inFlight == 0 {
		ss.busy += now.Sub(ss.since)
	}
}

// delivered counts a block of n bytes received.
func (ss *session) delivered(n int, now time.Time) {
	if ss == nil {
		return
	}
	ss.mu.Lock()
	ss.blocks++
	ss.bytes += n
	ss.last = now
	ss.mu.Unlock()
}

// stalled reports whether a request is in flight and no block came for d.
func (ss *session) stalled(now time.Time, d time.Duration) bool {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	return ss.inFlight > 0 && now.Sub(ss.last) >= d
}

// busyLocked is the time with requests in flight until now.
func (ss *session) busyLocked(now time.Time) time.Duration {
	if ss.inFlight > 0 {
		return ss.busy + now.Sub(ss.since)
	}
	return ss.busy
}

// tooSlow returns an errTooSlow if, after a window of requests in flight,
// the peer delivered below the floor: fewer than want blocks per window
// and fewer than MinSyncRate bytes per second.
func (ss *session) tooSlow(now time.Time) error {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	busy := ss.busyLocked(now)
	if busy < ss.window {
		return nil
	}
	if float64(ss.blocks)*ss.window.Seconds() >= float64(ss.want)*busy.Seconds() ||
		float64(ss.bytes) >= MinSyncRate*busy.Seconds() {
		return nil
	}
	return fmt.Errorf("%w: %d blocks (%d bytes) in %s of requests in flight, floor %d blocks per %s or %d bytes per second",
		errTooSlow, ss.blocks, ss.bytes, busy.Round(time.Millisecond), ss.want, ss.window, MinSyncRate)
}

// delivery is what a peer delivered to this node's sync sessions.
type delivery struct {
	bytes int
	busy  time.Duration
}

// rate returns the bytes per second delivered.
func (d delivery) rate() float64 {
	if d.busy <= 0 {
		return 0
	}
	return float64(d.bytes) / d.busy.Seconds()
}

// sessions holds the running sync sessions and the delivery history of
// the connected peers. It is safe for concurrent use.
type sessions struct {
	mu      gosync.Mutex
	running map[peer.ID]*session
	history map[peer.ID]delivery
}

func newSessions() *sessions {
	return &sessions{running: make(map[peer.ID]*session), history: make(map[peer.ID]delivery)}
}

// get returns the running session with p, or nil.
func (st *sessions) get(p peer.ID) *session {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.running[p]
}

// count returns the number of running sessions.
func (st *sessions) count() int {
	st.mu.Lock()
	defer st.mu.Unlock()
	return len(st.running)
}

// mayStart reports whether a new session may start: none runs, or every
// running one is stalled.
func (st *sessions) mayStart(now time.Time) bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	for _, ss := range st.running {
		if !ss.stalled(now, syncHedgeDelay) {
			return false
		}
	}
	return true
}

// ended removes ss from the running sessions and adds what it delivered
// to its peer's history.
func (st *sessions) ended(ss *session) {
	ss.mu.Lock()
	d := delivery{bytes: ss.bytes, busy: ss.busy}
	ss.mu.Unlock()
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.running[ss.peer] == ss {
		delete(st.running, ss.peer)
	}
	h := st.history[ss.peer]
	h.bytes += d.bytes
	h.busy += d.busy
	st.history[ss.peer] = h
}

// forget drops the history of p.
func (st *sessions) forget(p peer.ID) {
	st.mu.Lock()
	delete(st.history, p)
	st.mu.Unlock()
}

// order sorts cs by what each peer delivered: the highest rate first, peers
// that never delivered a byte last, in random order among themselves.
func (st *sessions) order(cs []candidate) {
	rand.Shuffle(len(cs), func(i, j int) { cs[i], cs[j] = cs[j], cs[i] })
	st.mu.Lock()
	rates := make(map[peer.ID]float64, len(cs))
	for _, c := range cs {
		rates[c.id] = st.history[c.id].rate()
	}
	st.mu.Unlock()
	slices.SortStableFunc(cs, func(a, b candidate) int {
		switch ra, rb := rates[a.id], rates[b.id]; {
		case ra > rb:
			return -1
		case ra < rb:
			return 1
		}
		return 0
	})
}

// joinSession returns the running sync session with p, or starts one. The
// session runs in a goroutine of the service; when it fails, the other
// peers heavier than this node are queued.
func (s *Service) joinSession(p peer.ID) *session {
	s.sessions.mu.Lock()
	if ss := s.sessions.running[p]; ss != nil {
		s.sessions.mu.Unlock()
		return ss
	}
	ss := newSession(p, s.cfg.SyncWindow, s.cfg.BatchSize)
	s.sessions.running[p] = ss
	s.sessions.mu.Unlock()
	if !s.enter() {
		s.sessions.ended(ss)
		ss.err = ErrClosed
		close(ss.done)
		return ss
	}
	go func() {
		defer s.leave()
		err := s.syncFrom(s.ctx, p, ss)
		s.sessions.ended(ss)
		ss.err = err
		close(ss.done)
		if err != nil && s.ctx.Err() == nil {
			for _, c := range s.candidates(s.chain.Head().Work) {
				if c.id != p {
					s.requestSync(c.id, false)
				}
			}
		}
		s.wakeSync()
	}()
	return ss
}

// judge cuts ss with an errTooSlow once its peer delivers below the floor,
// checking four times a second until ctx ends.
func (s *Service) judge(ctx context.Context, ss *session, cut context.CancelCauseFunc) {
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-tick.C:
			if err := ss.tooSlow(now); err != nil {
				cut(err)
				return
			}
		}
	}
}
