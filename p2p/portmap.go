package p2p

import (
	"log/slog"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	bhost "github.com/libp2p/go-libp2p/p2p/host/basic"
	inat "github.com/libp2p/go-libp2p/p2p/net/nat"
	"github.com/multiformats/go-multiaddr"
)

// portMapWait is how long after the start portMapLog says whether a router
// answered: go-libp2p's search for one (UPnP, NAT-PMP) and its first
// mapping requests end by then.
const portMapWait = inat.DiscoveryTimeout + 5*time.Second

// portMapLog is go-libp2p's NAT manager (Config.NATPortMap) with logs: a
// port mapping obtained or lost, and, portMapWait after the start, a
// warning when no router answered or none granted a mapping.
type portMapLog struct {
	bhost.NATManager
	log *slog.Logger

	mu     sync.Mutex
	mapped map[string]string // listen address → external address

	stop      chan struct{}
	done      chan struct{}
	closeOnce sync.Once
}

// newPortMapLog wraps m and starts the check of the first results, which
// Close stops.
func newPortMapLog(m bhost.NATManager, log *slog.Logger, wait time.Duration) *portMapLog {
	p := &portMapLog{NATManager: m, log: log, mapped: map[string]string{}, stop: make(chan struct{}), done: make(chan struct{})}
	go p.check(wait)
	return p
}

// portMapOption is the NAT manager constructor of Config.NATPortMap.
func portMapOption(log *slog.Logger) func(network.Network) bhost.NATManager {
	return func(n network.Network) bhost.NATManager {
		return newPortMapLog(bhost.NewNATManager(n), log, portMapWait)
	}
}

// check logs, after wait, what the search for a router came to.
func (p *portMapLog) check(wait time.Duration) {
	defer close(p.done)
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-p.stop:
		return
	case <-t.C:
	}
	p.mu.Lock()
	n := len(p.mapped)
	p.mu.Unlock()
	switch {
	case !p.HasDiscoveredNAT():
		p.log.Warn("--nat-portmap: no router answered UPnP or NAT-PMP, so no port is mapped; forward the port by hand and give --announce", "waited", wait.String())
	case n == 0:
		p.log.Warn("--nat-portmap: a router answered but granted no port mapping", "waited", wait.String())
	}
}

// GetMapping returns the external address mapped to the listen address
// addr, or nil, logging each mapping obtained or lost.
func (p *portMapLog) GetMapping(addr multiaddr.Multiaddr) multiaddr.Multiaddr {
	ext := p.NATManager.GetMapping(addr)
	now := ""
	if ext != nil {
		now = ext.String()
	}
	p.mu.Lock()
	before := p.mapped[addr.String()]
	if now == "" {
		delete(p.mapped, addr.String())
	} else {
		p.mapped[addr.String()] = now
	}
	p.mu.Unlock()
	switch {
	case now != "" && now != before:
		p.log.Info("port mapping obtained from the router", "listen", addr.String(), "external", now)
	case now == "" && before != "":
		p.log.Warn("port mapping lost", "listen", addr.String(), "external", before)
	}
	return ext
}

// Close stops the check and closes the NAT manager.
func (p *portMapLog) Close() error {
	err := ErrClosed
	p.closeOnce.Do(func() {
		close(p.stop)
		<-p.done
		err = p.NATManager.Close()
	})
	return err
}
