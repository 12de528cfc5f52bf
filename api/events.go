package api

import (
	"bytes"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// This file holds GET /events: Server-Sent Events
// (https://html.spec.whatwg.org/multipage/server-sent-events.html) of what
// the node does, for the explorer and for scripts (curl -N).

// Limits of GET /events.
const (
	// EventBuffer is how many events wait for one client; a client that
	// falls further behind is sent a final "dropped" event and
	// disconnected (an EventSource reconnects by itself).
	EventBuffer = 256
	// MaxEventClients bounds the streams served at once. At the limit, the
	// client address holding the most streams loses its slowest (then
	// oldest) one to a newcomer from another address; a newcomer from that
	// address is answered 503.
	MaxEventClients = 64
	// EventKeepAlive is the longest silence on a stream: a comment line is
	// sent after it, so that proxies and clients see a live connection.
	EventKeepAlive = 15 * time.Second
	// EventWriteTimeout bounds each write to a stream. The stream itself
	// outlives the server's WriteTimeout.
	EventWriteTimeout = 10 * time.Second
	// eventRetryMillis is the reconnection delay suggested to clients.
	eventRetryMillis = 2000
)

// Event types of GET /events.
const (
	EventHello   = "hello"   // first event of every stream: the node's head and peers
	EventHead    = "head"    // the main chain has a new head
	EventBlock   = "block"   // blocks were added, with their status and source
	EventReorg   = "reorg"   // the main chain was reorganised
	EventTx      = "tx"      // a transaction entered the pending pool
	EventPeer    = "peer"    // a peer connected or was lost
	EventSync    = "sync"    // sync progress
	EventMining  = "mining"  // mining state and hash rate, every second while mining
	EventDropped = "dropped" // last event of a client that fell behind
)

// event is one encoded event.
type event struct {
	id   uint64
	typ  string
	data []byte // JSON, one line
}

// subscriber is one client of GET /events.
type subscriber struct {
	ch      chan event
	dropped chan struct{} // closed when the hub dropped the client
	reason  string        // why, set before dropped is closed
	addr    string        // the client's IP address
	seq     uint64        // order of arrival
}

// hub fans events out to the subscribers without ever blocking the
// publisher.
type hub struct {
	mu      sync.Mutex
	nextID  uint64
	nextSeq uint64
	subs    map[*subscriber]struct{}
	max     int
}

func newHub(maxClients int) *hub {
	return &hub{subs: map[*subscriber]struct{}{}, max: maxClients}
}

// subscribe adds a client of address addr with a buffer of n events. When
// the hub has its maximum of clients, the address holding the most loses
// its slowest one (the fullest buffer, then the oldest); false when that is
// addr itself.
func (h *hub) subscribe(n int, addr string) (*subscriber, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.subs) >= h.max {
		victim := h.victimLocked(addr)
		if victim == nil {
			return nil, false
		}
		h.dropLocked(victim, "the node serves its maximum of event streams and this client's address holds the most")
	}
	h.nextSeq++
	sub := &subscriber{ch: make(chan event, n), dropped: make(chan struct{}), addr: addr, seq: h.nextSeq}
	h.subs[sub] = struct{}{}
	return sub, true
}

// victimLocked is the stream that makes room for a newcomer from addr, or
// nil when addr holds as many streams as any other address.
func (h *hub) victimLocked(addr string) *subscriber {
	held := make(map[string]int)
	for sub := range h.subs {
		held[sub.addr]++
	}
	top := largestHolder(held)
	if held[addr] >= held[top] {
		return nil
	}
	var victim *subscriber
	for sub := range h.subs {
		if sub.addr != top {
			continue
		}
		if victim == nil || len(sub.ch) > len(victim.ch) || len(sub.ch) == len(victim.ch) && sub.seq < victim.seq {
			victim = sub
		}
	}
	return victim
}

// dropLocked ends sub's stream with a "dropped" event giving reason.
func (h *hub) dropLocked(sub *subscriber, reason string) {
	sub.reason = reason
	close(sub.dropped)
	delete(h.subs, sub)
}

func (h *hub) unsubscribe(sub *subscriber) {
	h.mu.Lock()
	delete(h.subs, sub)
	h.mu.Unlock()
}

// clients returns the number of subscribers.
func (h *hub) clients() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.subs)
}

// publish sends an event of type typ with v as its JSON data to every
// subscriber. A subscriber whose buffer is full is dropped.
func (h *hub) publish(typ string, v any) {
	if h.clients() == 0 {
		return // nothing to encode for
	}
	data, err := marshal(v)
	if err != nil {
		return // every event type is a plain struct
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.nextID++
	ev := event{id: h.nextID, typ: typ, data: data}
	for sub := range h.subs {
		select {
		case sub.ch <- ev:
		default:
			h.dropLocked(sub, fmt.Sprintf("client fell more than %d events behind", cap(sub.ch)))
		}
	}
}

// appendEvent appends ev in the SSE framing: id, event and one data line
// (JSON has no raw newline), then a blank line.
func appendEvent(b []byte, ev event) []byte {
	if ev.id != 0 {
		b = append(b, "id: "...)
		b = strconv.AppendUint(b, ev.id, 10)
		b = append(b, '\n')
	}
	b = append(b, "event: "...)
	b = append(b, ev.typ...)
	b = append(b, "\ndata: "...)
	b = append(b, bytes.ReplaceAll(ev.data, []byte("\n"), []byte("\ndata: "))...)
	return append(b, "\n\n"...)
}

type helloEvent struct {
	Version string `json:"version"`
	Network string `json:"network"`
	Height  uint64 `json:"height"`
	Head    string `json:"head"`
	Peers   int    `json:"peers"`
}

type droppedEvent struct {
	Reason string `json:"reason"`
}

// handleEvents serves GET /events.
func (s *Server) handleEvents(w http.ResponseWriter, r *http.Request) {
	sub, ok := s.events.subscribe(s.eventBuffer, clientIP(r.RemoteAddr))
	if !ok {
		writeError(w, http.StatusServiceUnavailable, fmt.Sprintf("too many event streams (at most %d): try again later", s.events.max))
		return
	}
	defer s.events.unsubscribe(sub)
	s.startWatch()

	rc := http.NewResponseController(w)
	// The request is read: the server's ReadTimeout must not end the stream.
	_ = rc.SetReadDeadline(time.Time{})
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)

	var buf []byte
	send := func(b []byte) bool {
		_ = rc.SetWriteDeadline(time.Now().Add(EventWriteTimeout))
		if _, err := w.Write(b); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	head := s.chain.Head()
	hello, _ := marshal(helloEvent{Version: s.cfg.Version, Network: s.chain.Params().Name,
		Height: head.Height, Head: head.Hash.String(), Peers: len(s.net.Peers())})
	buf = fmt.Appendf(buf[:0], "retry: %d\n\n", eventRetryMillis)
	buf = appendEvent(buf, event{typ: EventHello, data: hello})
	if !send(buf) {
		return
	}
	keepAlive := time.NewTicker(s.eventKeepAlive)
	defer keepAlive.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case ev := <-sub.ch:
			buf = appendEvent(buf[:0], ev)
			// Send what else is waiting in the same write.
		more:
			for len(buf) < 64<<10 {
				select {
				case ev := <-sub.ch:
					buf = appendEvent(buf, ev)
				default:
					break more
				}
			}
			if !send(buf) {
				return
			}
			keepAlive.Reset(s.eventKeepAlive)
		case <-sub.dropped:
			// Whatever is still buffered goes first, then the notice.
			buf = buf[:0]
			for len(sub.ch) > 0 {
				buf = appendEvent(buf, <-sub.ch)
			}
			data, _ := marshal(droppedEvent{Reason: sub.reason})
			buf = appendEvent(buf, event{typ: EventDropped, data: data})
			send(buf)
			s.metrics.eventsDropped.Inc()
			return
		case <-keepAlive.C:
			if !send([]byte(": keep-alive\n\n")) {
				return
			}
		}
	}
}
