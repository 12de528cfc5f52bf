package main

import (
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
)

func TestPprofListener(t *testing.T) {
	addr, stop, err := startPprof("127.0.0.1:0", slog.New(slog.NewTextHandler(io.Discard, nil)))
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
