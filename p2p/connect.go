package p2p

import (
	"context"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/libp2p/go-libp2p/core/event"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/protocol/ping"
)

// DefaultTargetPeers is the outbound target D: a node dials peers from its
// address book until it has dialled this many of its connected peers (like
// Bitcoin's eight outbound slots), and keeps up to as many inbound peers
// (Config.MaxInbound).
const DefaultTargetPeers = 8

const (
	// maintainInterval is the pace of the connection keeper.
	maintainInterval = time.Second
	// askBelowTarget and askAtTarget: how often a peer is asked for more
	// peers while the node is below its target, and once it has reached it.
	askBelowTarget = 3 * time.Second
	askAtTarget    = time.Minute
	// pingInterval: how often the latency of every connected peer is measured.
	pingInterval = 30 * time.Second
	// saveInterval: how often a changed address book is written.
	saveInterval = 10 * time.Second
	// maxParallelDials bounds the address-book dials in flight.
	maxParallelDials = 8
	// maxParallelPings bounds the pings in flight.
	maxParallelPings = 4
	// pingTimeout bounds one ping.
	pingTimeout = 5 * time.Second
)

// SourceDiscovery marks a peer learned from another peer by peer exchange.
const SourceDiscovery = "discovery"

// KnownAddrs is the number of peers in the address book.
func (n *Node) KnownAddrs() int { return n.book.len() }

// startDiscovery registers the discovery protocol and starts the identify
// watcher and the connection keeper. n.mu must be held.
func (n *Node) startDiscovery() error {
	sub, err := n.host.EventBus().Subscribe(new(event.EvtPeerIdentificationCompleted))
	if err != nil {
		return err
	}
	n.host.SetStreamHandler(DiscoveryProtocol(n.cfg.Network), n.handleDiscovery)
	n.goLocked(func() { n.watchIdentify(sub) })
	n.goLocked(n.keepTarget)
	n.goLocked(n.keepInbound)
	return nil
}

// goTracked runs f in a goroutine tracked by n.wg unless the node is closed.
func (n *Node) goTracked(f func()) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return false
	}
	n.goLocked(f)
	return true
}

// watchIdentify records in the address book the listen addresses and signed
// record of every identified peer of this network (identify reports the
// addresses a peer listens on, not the ephemeral port of an inbound
// connection), measures its latency, and asks it for peers while the node is
// below its target.
func (n *Node) watchIdentify(sub event.Subscription) {
	defer sub.Close()
	proto := DiscoveryProtocol(n.cfg.Network)
	for {
		select {
		case <-n.ctx.Done():
			return
		case e, ok := <-sub.Out():
			if !ok {
				return
			}
			ev, ok := e.(event.EvtPeerIdentificationCompleted)
			if !ok || !slices.Contains(ev.Protocols, proto) || n.Banned(ev.Peer) {
				continue
			}
			var rec []byte
			if ev.SignedPeerRecord != nil {
				if b, err := ev.SignedPeerRecord.Marshal(); err == nil && len(b) <= MaxPeerRecordSize {
					rec = b
				}
			}
			n.learnIdentified(ev.Peer, ev.ListenAddrs, rec, time.Now())
			p := ev.Peer
			n.goTracked(func() { n.afterIdentify(p) })
		}
	}
}

// keepTarget is the connection keeper: it keeps the address book current,
// redials bootstrap and registered peers from the book, dials other peers of
// the book while the node is below its target, asks peers for more peers,
// measures latencies and saves the book. It returns when the node closes.
func (n *Node) keepTarget() {
	clock := newKeeperClock(time.Now()) // jittered timers: schedule.go
	t := time.NewTimer(clock.first)
	defer t.Stop()
	for {
		select {
		case <-n.ctx.Done():
			n.book.setAnchors(n.outboundPeers()) // the connections are still open
			return
		case <-t.C:
		case <-n.keeperWake:
		}
		t.Reset(jittered(maintainInterval))
		now := time.Now()
		peers := n.host.Network().Peers()
		n.book.seen(peers, now)
		outbound := n.outboundCount()
		if !n.cfg.SkipAddrBook {
			n.dialFromBook(peers, n.cfg.TargetPeers-outbound, now)
		}
		// Peers are asked at the fast pace only while the node has fewer than D
		// peers in all: in a network smaller than needed for D outbound peers
		// each, asking every few seconds would find nothing new.
		if len(peers) > 0 && clock.ask.due(now, askPeriod(len(peers) < n.cfg.TargetPeers)) {
			p := peers[rand.IntN(len(peers))]
			n.goTracked(func() { n.askPeer(p) })
		}
		if clock.ping.due(now, pingInterval) {
			n.pingAll(peers)
		}
		if clock.save.due(now, saveInterval) {
			n.book.prune(now)
			n.book.setAnchors(n.outboundPeers())
			if err := n.book.save(); err != nil {
				n.log.Warn("saving the address book failed", "err", err)
			}
		}
	}
}

// dialFromBook dials, from the address book, every kept (bootstrap or
// registered) peer that is not connected and, while the node is missing
// outbound peers, other peers chosen at random, each after its backoff.
func (n *Node) dialFromBook(connected []peer.ID, missing int, now time.Time) {
	n.mu.Lock()
	inFlight := n.bookDials
	n.mu.Unlock()
	for _, e := range n.book.dueEntries(now, connected...) {
		if inFlight >= maxParallelDials {
			return
		}
		if !e.Kept && missing <= inFlight {
			continue
		}
		if e.ID == n.host.ID() || slices.Contains(connected, e.ID) || n.Banned(e.ID) || n.isBootstrap(e.ID) {
			continue
		}
		if n.startBookDial(e) {
			inFlight++
		}
	}
}

func (n *Node) isBootstrap(p peer.ID) bool {
	return slices.ContainsFunc(n.bootstrap, func(ai peer.AddrInfo) bool { return ai.ID == p })
}

// startBookDial dials the peer of e in the background unless a discovery or
// mDNS dial to it is in flight.
func (n *Node) startBookDial(e bookEntry) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed || n.dialing[e.ID] {
		return false
	}
	n.dialing[e.ID] = true
	n.bookDials++
	n.setSourceLocked(e.ID, e.Source)
	n.goLocked(func() {
		defer func() {
			n.mu.Lock()
			delete(n.dialing, e.ID)
			n.bookDials--
			n.mu.Unlock()
		}()
		log := n.log.With("peer", e.ID, "source", e.Source)
		if n.host.Network().Connectedness(e.ID) == network.Connected {
			return // it dialled us meanwhile
		}
		if err := n.dialBook(e.addrInfo()); err != nil {
			failures := n.book.dialFailed(e.ID, time.Now(), n.cfg.redialMin, n.cfg.redialMax)
			if e.Kept && failures == 1 {
				log.Info("cannot reach known peer; retrying with backoff", "err", err)
			} else {
				log.Debug("address-book dial failed", "err", err, "failures", failures)
			}
			return
		}
		n.discStats.redialled.Add(1)
		if e.Kept {
			if e.Source == SourceRegister {
				n.cm.TagPeer(e.ID, tagRegister, 10)
			}
			log.Info("reconnected to known peer from the address book", "addrs", e.Addrs)
		} else {
			log.Info("connected to peer from the address book", "addrs", e.Addrs)
		}
	})
	return true
}

// askPeer asks p for peers and adds the verified ones to the address book.
func (n *Node) askPeer(p peer.ID) {
	if n.host.Network().Connectedness(p) != network.Connected {
		return // peers are exchanged over direct connections only (relay.go)
	}
	if protos, err := n.host.Peerstore().SupportsProtocols(p, DiscoveryProtocol(n.cfg.Network)); err != nil || len(protos) == 0 {
		return
	}
	if !n.mayAsk(p, time.Now()) {
		return
	}
	found, err := n.requestPeers(n.ctx, p)
	if err != nil {
		n.log.Debug("discovery request failed", "peer", p, "err", err)
		return
	}
	now := time.Now()
	n.servedDiscovery(p, now)
	srcGroup := n.peerGroup(p)
	added := 0
	for _, d := range found {
		if d.info.ID == n.host.ID() || n.Banned(d.info.ID) {
			continue
		}
		if n.book.learn(d.info.ID, d.info.Addrs, SourceDiscovery, srcGroup, false, d.record, now) {
			added++
		}
	}
	n.discStats.learned.Add(uint64(added))
	if added > 0 {
		n.log.Debug("learned peers by discovery", "from", p, "records", len(found), "new", added)
		if n.outboundCount() < n.cfg.TargetPeers {
			select { // dial them now rather than at the keeper's next round
			case n.keeperWake <- struct{}{}:
			default:
			}
		}
	}
}

// mayAsk reports whether p may be asked for peers at now, and if so records
// it: one peer is asked at most once per askBelowTarget, however many
// reasons there are (the keeper's round, each identified connection, a
// first answer), which keeps a node that reconnects often well inside the
// server's budget (discoveryGate) instead of being penalised for flooding.
func (n *Node) mayAsk(p peer.ID, now time.Time) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	if at, ok := n.askedAt[p]; ok && now.Sub(at) < askBelowTarget {
		return false
	}
	if len(n.askedAt) >= MaxAddrBookEntries {
		for q, at := range n.askedAt {
			if now.Sub(at) >= askBelowTarget {
				delete(n.askedAt, q)
			}
		}
	}
	n.askedAt[p] = now
	return true
}

// pingAll measures the latency of the connected peers, a few at a time.
func (n *Node) pingAll(peers []peer.ID) {
	n.goTracked(func() {
		sem := make(chan struct{}, maxParallelPings)
		for _, p := range peers {
			select {
			case <-n.ctx.Done():
				return
			case sem <- struct{}{}:
			}
			if !n.goTracked(func() { defer func() { <-sem }(); n.pingPeer(p) }) {
				return
			}
		}
	})
}

// pingPeer pings p once; the ping service records the round trip in the
// peerstore's latency average.
func (n *Node) pingPeer(p peer.ID) {
	ctx, cancel := context.WithTimeout(n.ctx, pingTimeout)
	defer cancel()
	select {
	case res := <-ping.Ping(network.WithNoDial(ctx, "ping"), n.host, p):
		if res.Error != nil {
			n.log.Debug("ping failed", "peer", p, "err", res.Error)
		}
	case <-ctx.Done():
	}
}

// describe fills in what the address book and the peerstore know of a
// connected peer: its listen addresses, whether it is in the book, its
// latency.
func (n *Node) describe(pi *PeerInfo) {
	if e, ok := n.book.get(pi.ID); ok {
		pi.InAddrBook = true
		pi.ListenAddrs = parseAddrs(e.Addrs)
	} else {
		pi.ListenAddrs = parseAddrs(cleanAddrs(n.host.Peerstore().Addrs(pi.ID)))
	}
	pi.Latency = n.host.Peerstore().LatencyEWMA(pi.ID)
}

// rememberRegistered keeps a peer dialled by Connect in the address book as
// a registered peer, redialled like a bootstrap peer.
func (n *Node) rememberRegistered(ai *peer.AddrInfo) {
	if n.book.learn(ai.ID, ai.Addrs, SourceRegister, "", true, nil, time.Now()) {
		n.discStats.learned.Add(1)
	}
}

// rememberBootstrap keeps the bootstrap peers in the address book, so that a
// node restarted without its bootstrap list still redials them.
func (n *Node) rememberBootstrap() {
	for _, ai := range n.bootstrap {
		n.book.learn(ai.ID, ai.Addrs, SourceBootstrap, "", true, nil, time.Now())
	}
}
