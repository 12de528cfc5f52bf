package api

import (
	"fmt"
	"io"
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
// connection closes a connection of the client address holding the most:
// the one that has waited longest without a request in progress (idle
// between keep-alive requests, or silent since it was opened) or, if all of
// them are busy, the oldest, so that one address cannot keep others out. A
// newcomer from that very address replaces only an idle connection of its
// own; if there is none it is answered 503 and closed.
// It is safe for concurrent use.
type connLimiter struct {
	max int
	log *slog.Logger

	mu       sync.Mutex
	conns    map[net.Conn]*connEntry
	refused  int // since the last warning
	lastWarn time.Time
}

type connEntry struct {
	addr   string // the client's IP address
	opened time.Time
	busy   bool
	since  time.Time // of the last state change
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
	addr := clientIP(c.RemoteAddr().String())
	if len(l.conns) >= l.max {
		victim := l.victimLocked(addr)
		l.warnLocked(now, victim != nil)
		if victim == nil {
			return false
		}
		delete(l.conns, victim)
		_ = victim.Close()
	}
	l.conns[c] = &connEntry{addr: addr, opened: now, since: now}
	return true
}

// victimLocked chooses the connection that makes room for a newcomer from
// addr. The client address holding the most connections gives it up: the
// one of its connections idle longest or, when all are busy, its oldest. A
// newcomer from that address itself only replaces an idle connection of
// its own (nil: refuse the newcomer).
func (l *connLimiter) victimLocked(addr string) net.Conn {
	held := make(map[string]int)
	for _, e := range l.conns {
		held[e.addr]++
	}
	top := largestHolder(held)
	own := held[addr] >= held[top]
	if own {
		top = addr
	}
	var idle, oldest net.Conn
	var idleSince, opened time.Time
	for c, e := range l.conns {
		if e.addr != top {
			continue
		}
		if !e.busy && (idle == nil || e.since.Before(idleSince)) {
			idle, idleSince = c, e.since
		}
		if oldest == nil || e.opened.Before(opened) {
			oldest, opened = c, e.opened
		}
	}
	if idle != nil || own {
		return idle
	}
	return oldest
}

// largestHolder is the key of held with the largest count (the smallest
// key among equals, so that the choice is stable).
func largestHolder(held map[string]int) string {
	top, most := "", 0
	for k, n := range held {
		if n > most || n == most && k < top {
			top, most = k, n
		}
	}
	return top
}

// clientIP is the IP address of a client's "host:port" (all of it when it
// has no port).
func clientIP(hostport string) string {
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		return hostport
	}
	return host
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
	l.log.Warn("HTTP connection limit reached: the address holding the most connections gives up its longest idle or its oldest one",
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

// MinBodyRate is the slowest average rate at which a request body may
// arrive, once bodyRateGrace has passed since the handler began reading it:
// a body trickled more slowly is cut (the server's ReadTimeout still bounds
// the whole request).
const (
	MinBodyRate   = 1024 // bytes a second
	bodyRateGrace = 5 * time.Second
)

// rateFloor returns body with the read-rate floor MinBodyRate applied
// through the connection's read deadline.
func rateFloor(w http.ResponseWriter, body io.ReadCloser) io.ReadCloser {
	return &floorBody{ReadCloser: body, rc: http.NewResponseController(w), start: time.Now()}
}

type floorBody struct {
	io.ReadCloser
	rc    *http.ResponseController
	start time.Time
	n     int64
}

func (b *floorBody) Read(p []byte) (int, error) {
	allowed := bodyRateGrace + time.Duration(b.n)*time.Second/MinBodyRate
	_ = b.rc.SetReadDeadline(b.start.Add(min(allowed, ReadTimeout)))
	n, err := b.ReadCloser.Read(p)
	b.n += int64(n)
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		return n, fmt.Errorf("the body arrives slower than %d bytes a second: %w", MinBodyRate, err)
	}
	if err == io.EOF {
		// The body is read: back to the server's own bound, so that the
		// server's wait for the next request is not cut by the floor. (After
		// a timeout the deadline stays: the connection is closed.)
		_ = b.rc.SetReadDeadline(b.start.Add(ReadTimeout))
	}
	return n, err
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
