package p2p

import (
	"context"
	"math/rand/v2"
	"time"

	"github.com/libp2p/go-libp2p/core/event"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
)

const (
	// dialTimeout bounds one dial of a bootstrap or discovered peer.
	dialTimeout = 15 * time.Second
	// stableConn is how long a connection must have lasted for its loss to restart
	// the redial backoff from its minimum; a flapping peer keeps backing off.
	stableConn = time.Minute
	// connGracePeriod protects new connections from trimming by the connection manager.
	connGracePeriod = time.Minute
)

// watchBootstrap forwards the loss of a connection to a bootstrap peer to that peer's
// keepConnected loop. A wake channel holds at most one pending signal; the loop
// re-checks connectedness, so coalesced signals lose nothing.
func (n *Node) watchBootstrap(sub event.Subscription, wake map[peer.ID]chan struct{}) {
	defer sub.Close()
	for {
		select {
		case <-n.ctx.Done():
			return
		case ev, ok := <-sub.Out():
			if !ok {
				return
			}
			e, ok := ev.(event.EvtPeerConnectednessChanged)
			if !ok || e.Connectedness == network.Connected {
				continue
			}
			if ch, ok := wake[e.Peer]; ok {
				select {
				case ch <- struct{}{}:
				default:
				}
			}
		}
	}
}

// keepConnected dials the bootstrap peer ai at once and, whenever the node is not
// connected to it, redials it with exponential backoff (redialMin doubling up to
// redialMax, with jitter). It returns when the node closes.
func (n *Node) keepConnected(ai peer.AddrInfo, wake <-chan struct{}) {
	log := n.log.With("peer", ai.ID)
	delay := n.cfg.redialMin
	var connectedSince time.Time
	failures := 0
	first := true
	for {
		if n.host.Network().Connectedness(ai.ID) != network.Connected {
			if !connectedSince.IsZero() {
				log.Info("lost connection to bootstrap peer")
				if time.Since(connectedSince) >= stableConn {
					delay = n.cfg.redialMin
				}
				connectedSince = time.Time{}
			}
			if !first {
				if !n.sleep(jitter(delay)) {
					return
				}
				delay = min(2*delay, n.cfg.redialMax)
			}
			first = false
			if n.host.Network().Connectedness(ai.ID) != network.Connected {
				if err := n.dial(ai); err != nil {
					failures++
					if failures == 1 {
						log.Warn("cannot reach bootstrap peer; retrying with backoff", "err", err)
					} else {
						log.Debug("bootstrap redial failed", "err", err, "failures", failures)
					}
					continue
				}
			}
		}
		if connectedSince.IsZero() {
			connectedSince = time.Now()
			failures = 0
			log.Info("connected to bootstrap peer")
		}
		// Wait for a disconnection; the timer is a safety net against a missed event.
		t := time.NewTimer(n.cfg.redialMax)
		select {
		case <-n.ctx.Done():
			t.Stop()
			return
		case <-wake:
		case <-t.C:
		}
		t.Stop()
	}
}

// dial connects to the bootstrap peer ai with dialTimeout, unless the node closes first.
// keepConnected owns the backoff, so the swarm's own per-address dial backoff (which
// grows to 5 minutes) is bypassed.
func (n *Node) dial(ai peer.AddrInfo) error {
	ctx, cancel := context.WithTimeout(n.ctx, dialTimeout)
	defer cancel()
	ctx = network.WithForceDirectDial(ctx, "bootstrap redial")
	return n.host.Connect(ctx, ai)
}

// sleep waits for d, reporting false if the node closed first.
func (n *Node) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-n.ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// jitter returns a random duration in [0.8d, d], so that nodes that lost the same
// bootstrap peer at once do not redial it in lockstep.
func jitter(d time.Duration) time.Duration {
	return d - time.Duration(rand.Int64N(int64(d)/5+1))
}
