package p2p

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/multiformats/go-multiaddr"
)

// routerless stands for go-libp2p's NAT manager on a network without a
// UPnP or NAT-PMP router (no test network has one), or with one that maps
// the addresses of mapped.
type routerless struct {
	found  bool
	mu     sync.Mutex
	mapped map[string]multiaddr.Multiaddr
}

func (r *routerless) GetMapping(a multiaddr.Multiaddr) multiaddr.Multiaddr {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.mapped[a.String()]
}
func (r *routerless) HasDiscoveredNAT() bool { return r.found }
func (r *routerless) Close() error           { return nil }

// syncLog is a log buffer safe for the check's goroutine.
type syncLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *syncLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *syncLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// waitLog waits until the log holds want.
func waitLog(t *testing.T, l *syncLog, want string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(l.String(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("log without %q:\n%s", want, l)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestPortMapLogNoRouter(t *testing.T) {
	var out syncLog
	p := newPortMapLog(&routerless{}, slog.New(slog.NewTextHandler(&out, nil)), 10*time.Millisecond)
	defer p.Close()
	waitLog(t, &out, `level=WARN msg="--nat-portmap: no router answered UPnP or NAT-PMP, so no port is mapped; forward the port by hand and give --announce" waited=10ms`)
}

func TestPortMapLogMappings(t *testing.T) {
	var out syncLog
	listen := multiaddr.StringCast("/ip4/0.0.0.0/tcp/4001")
	ext := multiaddr.StringCast("/ip4/203.0.113.7/tcp/4001")
	r := &routerless{found: true, mapped: map[string]multiaddr.Multiaddr{listen.String(): ext}}
	p := newPortMapLog(r, slog.New(slog.NewTextHandler(&out, nil)), time.Hour)
	for range 3 {
		if got := p.GetMapping(listen); !got.Equal(ext) {
			t.Fatalf("GetMapping: %v", got)
		}
	}
	r.mu.Lock()
	delete(r.mapped, listen.String())
	r.mu.Unlock()
	p.GetMapping(listen)
	p.Close()
	logs := out.String()
	if strings.Count(logs, "port mapping obtained") != 1 ||
		!strings.Contains(logs, `level=INFO msg="port mapping obtained from the router" listen=/ip4/0.0.0.0/tcp/4001 external=/ip4/203.0.113.7/tcp/4001`) ||
		!strings.Contains(logs, `level=WARN msg="port mapping lost" listen=/ip4/0.0.0.0/tcp/4001 external=/ip4/203.0.113.7/tcp/4001`) {
		t.Fatalf("logs:\n%s", logs)
	}
	if err := p.Close(); err == nil {
		t.Fatal("a second Close succeeded")
	}
}
