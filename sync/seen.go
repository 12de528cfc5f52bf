package sync

import (
	gosync "sync"
	"time"

	"github.com/gossipchain/gossipchain/chain"
)

// seenCapacity is how many recent blocks and transactions the seen log
// remembers; the oldest is forgotten first.
const seenCapacity = 8192

// Seen says when this node accepted a block or transaction (it passed
// every rule: a gossiped one is relayed from then on, a local one is
// published) and when it was stored (on disk, and for a block, in the
// chain). A zero time is an event that has not happened, or was not
// recorded (the write of a gossiped transaction).
type Seen struct {
	Accepted time.Time
	Stored   time.Time
}

// seenLog is a bounded record of Seen by id, for measuring propagation
// with the node's own clock at nanosecond resolution.
type seenLog struct {
	mu    gosync.Mutex
	m     map[chain.Hash]*Seen
	order []chain.Hash // ring of the ids in m, oldest at next
	next  int
}

func newSeenLog() *seenLog {
	return &seenLog{m: make(map[chain.Hash]*Seen, seenCapacity), order: make([]chain.Hash, 0, seenCapacity)}
}

// entry returns the record of id, creating it. l.mu must be held.
func (l *seenLog) entry(id chain.Hash) *Seen {
	if e, ok := l.m[id]; ok {
		return e
	}
	if len(l.order) < seenCapacity {
		l.order = append(l.order, id)
	} else {
		delete(l.m, l.order[l.next])
		l.order[l.next] = id
		l.next = (l.next + 1) % seenCapacity
	}
	e := &Seen{}
	l.m[id] = e
	return e
}

// accepted records the first acceptance of id at t.
func (l *seenLog) accepted(id chain.Hash, t time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if e := l.entry(id); e.Accepted.IsZero() {
		e.Accepted = t
	}
}

// stored records that id was stored at t (and accepted, if not yet).
func (l *seenLog) stored(id chain.Hash, t time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	e := l.entry(id)
	if e.Accepted.IsZero() {
		e.Accepted = t
	}
	if e.Stored.IsZero() {
		e.Stored = t
	}
}

func (l *seenLog) get(id chain.Hash) (Seen, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	e, ok := l.m[id]
	if !ok {
		return Seen{}, false
	}
	return *e, true
}

// Seen returns when this node accepted and stored the block or transaction
// id, if it is among the last few thousand it saw.
func (s *Service) Seen(id chain.Hash) (Seen, bool) { return s.seen.get(id) }
