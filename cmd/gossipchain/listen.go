package main

import (
	"errors"
	"fmt"
	"strings"
	"syscall"

	"github.com/gossipchain/gossipchain/p2p"
)

// This file holds the errors of a port in use, in the terms of the flags
// that chose the port.

// httpListenError is the error of listening on the HTTP address.
func httpListenError(cfg config, err error) error {
	what := "--http " + cfg.httpAddr + " (the default)"
	if cfg.httpFlag != "" {
		what = cfg.httpFlag
		if strings.HasPrefix(what, "-p ") {
			what += " (HTTP " + cfg.httpAddr + ")"
		}
	}
	if errors.Is(err, syscall.EADDRINUSE) {
		return fmt.Errorf("%s: address already in use; another node runs here? give this one another -p or --http", what)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// p2pListenError is the error of a p2p host that could not listen.
func p2pListenError(cfg config, le *p2p.ListenError) error {
	what := "--listen " + strings.Join(le.Addrs, ",")
	fix := "give this one another --listen"
	if !cfg.listenFlag {
		from := cfg.httpFlag
		if from == "" {
			from = "the default HTTP port"
		}
		what = strings.Join(le.Addrs, ", ") + " (the default --listen for " + from + ")"
		fix = "give this one another -p (HTTP port P listens for peers on P-999) or --listen"
	}
	if le.InUse() {
		return fmt.Errorf("%s: address already in use; another node runs here? %s", what, fix)
	}
	return fmt.Errorf("%s: %w", what, le.Err)
}
