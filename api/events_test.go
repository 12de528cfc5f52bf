package api

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gossipchain/gossipchain/api/client"
)

// sseEvent is one parsed event of a stream.
type sseEvent struct {
	id, typ, data string
	comment       bool
}

// sseStream reads the events of GET /events.
type sseStream struct {
	t    *testing.T
	resp *http.Response
	sc   *bufio.Scanner
}

func openEvents(t *testing.T, ctx context.Context, url string) *sseStream {
	t.Helper()
	return openEventsWith(t, ctx, http.DefaultClient, url)
}

// openEventsWith opens GET /events with client c.
func openEventsWith(t *testing.T, ctx context.Context, c *http.Client, url string) *sseStream {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url+"/events", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /events: %s", resp.Status)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("Content-Type %q", ct)
	}
	return &sseStream{t: t, resp: resp, sc: bufio.NewScanner(resp.Body)}
}

// next reads one event or comment; io errors end the test.
func (s *sseStream) next() (sseEvent, error) {
	var ev sseEvent
	seen := false
	for s.sc.Scan() {
		line := s.sc.Text()
		if line == "" {
			if seen {
				return ev, nil
			}
			continue
		}
		seen = true
		switch {
		case strings.HasPrefix(line, ":"):
			ev.comment = true
		case strings.HasPrefix(line, "id: "):
			ev.id = line[4:]
		case strings.HasPrefix(line, "event: "):
			ev.typ = line[7:]
		case strings.HasPrefix(line, "data: "):
			if ev.data != "" {
				ev.data += "\n"
			}
			ev.data += line[6:]
		case strings.HasPrefix(line, "retry: "):
			ev.typ = "retry"
		default:
			s.t.Fatalf("line %q is not SSE framing", line)
		}
	}
	if err := s.sc.Err(); err != nil {
		return ev, err
	}
	return ev, errors.New("stream ended")
}

// until reads events until one of type typ, failing on a stream error.
func (s *sseStream) until(typ string) sseEvent {
	s.t.Helper()
	for {
		ev, err := s.next()
		if err != nil {
			s.t.Fatalf("waiting for a %q event: %v", typ, err)
		}
		if ev.typ == typ {
			return ev
		}
	}
}

func TestAppendEventFraming(t *testing.T) {
	got := string(appendEvent(nil, event{id: 7, typ: "head", data: []byte(`{"a":1}`)}))
	if want := "id: 7\nevent: head\ndata: {\"a\":1}\n\n"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
	// Data with a newline (never produced by marshal) stays in the framing.
	got = string(appendEvent(nil, event{typ: "x", data: []byte("a\nb")}))
	if want := "event: x\ndata: a\ndata: b\n\n"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}

func TestEventsStreamBlocksAndHead(t *testing.T) {
	n := newTestNode(t)
	t.Cleanup(func() { n.server.Shutdown(context.Background()) })
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	st := openEvents(t, ctx, n.url)
	if st.resp.Header.Get("Cache-Control") != "no-cache" {
		t.Fatalf("Cache-Control %q", st.resp.Header.Get("Cache-Control"))
	}
	var hello helloEvent
	if err := json.Unmarshal([]byte(st.until(EventHello).data), &hello); err != nil || hello.Height != 1 {
		t.Fatalf("hello %+v: %v", hello, err)
	}
	mined := n.mine()
	// The block event (from the miner) and the head event (from the head
	// watcher) come in either order.
	var blk blockEvent
	var head headEvent
	for blk.Hash.IsZero() || head.Hash.IsZero() {
		ev, err := st.next()
		if err != nil {
			t.Fatalf("waiting for block and head events: %v", err)
		}
		switch ev.typ {
		case EventBlock:
			if err := json.Unmarshal([]byte(ev.data), &blk); err != nil {
				t.Fatal(err)
			}
		case EventHead:
			if err := json.Unmarshal([]byte(ev.data), &head); err != nil {
				t.Fatal(err)
			}
		}
	}
	if blk.Hash != mined.Hash || blk.Status != "extended" || blk.Source != SourceMined {
		t.Fatalf("block event %+v, mined %s", blk, mined.Hash)
	}
	if head.Hash != mined.Hash || head.Height != 2 {
		t.Fatalf("head event %+v", head)
	}
}

func TestEventsOutliveServerTimeouts(t *testing.T) {
	n := newTestNode(t)
	n.server.eventKeepAlive = 50 * time.Millisecond
	ts := httptest.NewUnstartedServer(n.server.Handler())
	ts.Config.WriteTimeout = 300 * time.Millisecond
	ts.Config.ReadTimeout = 300 * time.Millisecond
	ts.Start()
	t.Cleanup(ts.Close)
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	st := openEvents(t, ctx, ts.URL)
	st.until(EventHello)
	start := time.Now()
	comments := 0
	for time.Since(start) < 4*ts.Config.WriteTimeout {
		ev, err := st.next()
		if err != nil {
			t.Fatalf("stream cut after %s and %d keep-alives: %v", time.Since(start), comments, err)
		}
		if ev.comment {
			comments++
		}
	}
	if comments == 0 {
		t.Fatal("no keep-alive comment")
	}
}

func TestEventsClientLimit(t *testing.T) {
	n := newTestNode(t)
	n.server.events = newHub(1)
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	st := openEvents(t, ctx, n.url)
	st.until(EventHello)
	r := n.do(http.MethodGet, "/events", "")
	r.wantCode(t, http.StatusServiceUnavailable)
	if msg := r.errorMessage(t); !strings.Contains(msg, "too many event streams") {
		t.Fatalf("error %q", msg)
	}
}

func TestHubDropsFullSubscriber(t *testing.T) {
	h := newHub(4)
	slow, _ := h.subscribe(2, "127.0.0.1")
	fast, _ := h.subscribe(8, "127.0.0.1")
	for i := range 3 {
		h.publish(EventHead, map[string]int{"i": i})
	}
	select {
	case <-slow.dropped:
	default:
		t.Fatal("a subscriber with a full buffer was not dropped")
	}
	select {
	case <-fast.dropped:
		t.Fatal("a subscriber with room was dropped")
	default:
	}
	if len(fast.ch) != 3 || h.clients() != 1 {
		t.Fatalf("fast has %d events, hub %d clients", len(fast.ch), h.clients())
	}
}

func TestEventsSlowClientIsDropped(t *testing.T) {
	n := newTestNode(t)
	n.server.eventBuffer = 4
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	st := openEvents(t, ctx, n.url)
	st.until(EventHello)
	// The client reads nothing while events pile up: once the socket
	// buffers are full the handler blocks and the hub drops the client.
	big := strings.Repeat("x", 4096)
	deadline := time.Now().Add(20 * time.Second)
	for n.server.events.clients() > 0 {
		if time.Now().After(deadline) {
			t.Fatal("a client that reads nothing was never dropped")
		}
		n.server.events.publish(EventTx, map[string]string{"pad": big})
	}
	// What the client still reads ends with the notice, then the stream ends.
	last := ""
	for {
		ev, err := st.next()
		if err != nil {
			break
		}
		last = ev.typ
	}
	if last != EventDropped {
		t.Fatalf("last event %q, want %q", last, EventDropped)
	}
}

func TestForksRecordsAbandonedBranch(t *testing.T) {
	n := newTestNode(t)
	n.server.startWatch()
	t.Cleanup(func() { n.server.Shutdown(context.Background()) })
	ours := []client.Mined{n.mine(), n.mine()}
	for _, b := range mineElsewhere(t, 3) {
		if _, err := n.chain.AddBlock(b); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		var f forksResponse
		n.do(http.MethodGet, "/forks", "").wantCode(t, http.StatusOK).json(t, &f)
		if len(f.Branches) == 1 {
			br := f.Branches[0]
			if br.Kind != "abandoned" || br.ForkHeight != 1 || br.Length != 2 || len(br.Blocks) != 2 ||
				br.Blocks[0].Hash != ours[0].Hash || br.Blocks[1].Hash != ours[1].Hash || br.Blocks[0].Miner != "test-miner" {
				t.Fatalf("branch %+v", br)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no abandoned branch in %+v", f)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestForksRecordsSideBranch(t *testing.T) {
	n := newTestNode(t)
	n.server.startWatch()
	t.Cleanup(func() { n.server.Shutdown(context.Background()) })
	n.mine()
	n.mine()
	// A competing block at height 2, stored beside the main chain.
	other := mineElsewhere(t, 1)[0]
	res, err := n.chain.AddBlock(other)
	if err != nil || res.Status.String() != "side_branch" {
		t.Fatalf("add: %v %v", res.Status, err)
	}
	n.server.NoteBlock(BlockNote{Block: other, Blocks: 1, Status: res.Status.String(), Source: "gossip", Head: res.Head})
	deadline := time.Now().Add(10 * time.Second)
	for {
		var f forksResponse
		n.do(http.MethodGet, "/forks", "").wantCode(t, http.StatusOK).json(t, &f)
		if len(f.Branches) == 1 {
			br := f.Branches[0]
			if br.Kind != "side" || br.ForkHeight != 1 || br.Length != 1 || br.Blocks[0].Hash != other.Hash || br.Blocks[0].Miner != "elsewhere" {
				t.Fatalf("branch %+v", br)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no side branch in %+v", f)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
