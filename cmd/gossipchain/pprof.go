package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/gossipchain/gossipchain/chain"
	gsync "github.com/gossipchain/gossipchain/sync"
)

// unixNano is t in Unix nanoseconds, 0 for the zero time.
func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// startPprof serves net/http/pprof at addr on a listener and server of its
// own (never on the API's), and returns its address and the function that
// stops it. It also serves GET /debug/gossip/{id}: when this node accepted
// and stored a recent block or transaction, in Unix nanoseconds of its own
// clock, for measuring propagation (404 if it has not seen it):
//
//	{"accepted_unix_ns": 1764590000123456789, "stored_unix_ns": 1764590000124001234}
func startPprof(addr string, log *slog.Logger, seen func(chain.Hash) (gsync.Seen, bool)) (bound net.Addr, stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, nil, fmt.Errorf("listen for pprof: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	mux.HandleFunc("GET /debug/gossip/{id}", func(w http.ResponseWriter, r *http.Request) {
		id, err := chain.ParseHash(r.PathValue("id"))
		if err != nil {
			http.Error(w, "want a 64-hex block hash or transaction id", http.StatusBadRequest)
			return
		}
		s, ok := seen(id)
		if !ok {
			http.Error(w, "not seen recently", http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, "{\"accepted_unix_ns\":%d,\"stored_unix_ns\":%d}\n", unixNano(s.Accepted), unixNano(s.Stored))
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			log.Warn("pprof server stopped", "err", err)
		}
	}()
	log.Info("pprof listening", "url", "http://"+ln.Addr().String()+"/debug/pprof/")
	return ln.Addr(), func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		<-done
	}, nil
}
