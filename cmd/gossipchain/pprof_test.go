package main

import (
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gossipchain/gossipchain/chain"
	gsync "github.com/gossipchain/gossipchain/sync"
)

func TestPprofListener(t *testing.T) {
	var known chain.Hash
	known[0] = 7
	at := time.Unix(1764590000, 123456789)
	seen := func(id chain.Hash) (gsync.Seen, bool) {
		return gsync.Seen{Accepted: at, Stored: at.Add(time.Millisecond)}, id == known
	}
	addr, stop, err := startPprof("127.0.0.1:0", slog.New(slog.NewTextHandler(io.Discard, nil)), seen)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	resp, err := http.Get("http://" + addr.String() + "/debug/pprof/goroutine?debug=1")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "goroutine profile") {
		t.Fatalf("pprof answered %d: %.200s", resp.StatusCode, body)
	}
	for _, tc := range []struct {
		id   string
		code int
		body string
	}{
		{known.String(), http.StatusOK, `{"accepted_unix_ns":1764590000123456789,"stored_unix_ns":1764590000124456789}`},
		{chain.Hash{}.String(), http.StatusNotFound, "not seen"},
		{"xyz", http.StatusBadRequest, "64-hex"},
	} {
		resp, err := http.Get("http://" + addr.String() + "/debug/gossip/" + tc.id)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.code || !strings.Contains(string(body), tc.body) {
			t.Errorf("/debug/gossip/%s: %d %q, want %d %q", tc.id, resp.StatusCode, body, tc.code, tc.body)
		}
	}
}

func TestPprofFlag(t *testing.T) {
	cfg, err := parseFlags(nil, io.Discard)
	if err != nil || cfg.pprofAddr != "" {
		t.Fatalf("default: %q, %v; want off", cfg.pprofAddr, err)
	}
	if cfg, err = parseFlags([]string{"--pprof", "127.0.0.1:6060"}, io.Discard); err != nil || cfg.pprofAddr != "127.0.0.1:6060" {
		t.Fatalf("--pprof: %q, %v", cfg.pprofAddr, err)
	}
	if _, err := parseFlags([]string{"--pprof", "6060"}, io.Discard); err == nil {
		t.Fatal("--pprof without a host:port accepted")
	}
}
