package api

import (
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"
)

// Defaults of the connection and stream limits.
const (
	// DefaultMaxConns bounds the HTTP connections open at once.
	DefaultMaxConns = 256
	// DefaultMaxChainStreams bounds the GET /chain responses being written
	// at once; each holds one batch in memory (streamBatchBlocks blocks or
	// a little over streamBatchBytes of JSON).
	DefaultMaxChainStreams = 16
	// chainStreamWait is how long a GET /chain waits for a free stream
	// before it is answered 503.
	chainStreamWait = 5 * time.Second
	// limitWarnInterval spaces the warnings of a limit hit.
	limitWarnInterval = 10 * time.Second
)

// connLimiter bounds the server's connections. At the limit, a new
// connection closes the connection that has waited longest without a request
// in progress (idle between keep-alive requests, or silent since it was
// opened); if every connection is busy, the new one is answered 503 and
// closed. It is safe for concurrent use.
type connLimiter struct {
	max int
	log *slog.Logger

	mu       sync.Mutex
	conns    map[net.Conn]*connEntry
	refused  int // since the last warning
	lastWarn time.Time
}

type connEntry struct {
	busy  bool
	since time.Time // of the last state change
}

func newConnLimiter(max int, log *slog.Logger) *connLimiter {
	return &connLimiter{max: max, log: log, conns: make(map[net.Conn]*connEntry)}
}

// wrap returns ln with the limit applied to what it accepts.
func (l *connLimiter) wrap(ln net.Listener) net.Listener { return &limitListener{Listener: ln, l: l} }

type limitListener struct {
	net.Listener
	l *connLimiter
}

func (ll *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := ll.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if ll.l.admit(c) {
			return c, nil
		}
		refuse(c)
	}
}

// admit registers c, making room if needed; false means c must be refused.
func (l *connLimiter) admit(c net.Conn) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	if len(l.conns) >= l.max {
		var victim net.Conn
		var oldest time.Time
		for vc, e := range l.conns {
			if !e.busy && (victim == nil || e.since.Before(oldest)) {
				victim, oldest = vc, e.since
			}
		}
		l.warnLocked(now, victim != nil)
		if victim == nil {
			return false
		}
		delete(l.conns, victim)
		_ = victim.Close()
	}
	l.conns[c] = &connEntry{since: now}
	return true
}

// warnLocked logs the limit hit, at most once per limitWarnInterval.
func (l *connLimiter) warnLocked(now time.Time, evicted bool) {
	if !evicted {
		l.refused++
	}
	if now.Sub(l.lastWarn) < limitWarnInterval {
		return
	}
	l.lastWarn = now
	l.log.Warn("HTTP connection limit reached: closing idle connections, refusing new ones when none is idle",
		"limit", l.max, "refused", l.refused)
	l.refused = 0
}

// state is the http.Server's ConnState hook.
func (l *connLimiter) state(c net.Conn, st http.ConnState) {
	l.mu.Lock()
	defer l.mu.Unlock()
	e, ok := l.conns[c]
	switch st {
	case http.StateClosed, http.StateHijacked:
		delete(l.conns, c)
		return
	}
	if !ok {
		return // closed to make room meanwhile
	}
	e.busy = st == http.StateActive
	e.since = time.Now()
}

// open returns the number of connections open.
func (l *connLimiter) open() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.conns)
}

// refusedReply is written to a connection refused at the limit.
const refusedReply = "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: 34\r\n\r\n{\"error\":\"too many connections\"}\r\n"

func refuse(c net.Conn) {
	_ = c.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
	_, _ = c.Write([]byte(refusedReply))
	_ = c.Close()
}

// limitChainStreams bounds the GET /chain responses in progress, so that slow
// readers hold at most Config.MaxChainStreams batches in memory; a request
// that finds no free stream within chainStreamWait is answered 503.
func (s *Server) limitChainStreams(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		t := time.NewTimer(s.streamWait)
		defer t.Stop()
		select {
		case s.chainStreams <- struct{}{}:
			defer func() { <-s.chainStreams }()
		case <-t.C:
			s.warnChainStreams()
			writeError(w, http.StatusServiceUnavailable, "too many chain downloads in progress; try again later")
			return
		case <-r.Context().Done():
			return
		}
		next(w, r)
	}
}

func (s *Server) warnChainStreams() {
	s.warnMu.Lock()
	defer s.warnMu.Unlock()
	if time.Since(s.lastStreamWarn) < limitWarnInterval {
		return
	}
	s.lastStreamWarn = time.Now()
	s.log.Warn("GET /chain limit reached: answering 503", "limit", cap(s.chainStreams))
}
