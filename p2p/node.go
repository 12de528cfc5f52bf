package p2p

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p"
	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/event"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/peerstore"
	"github.com/libp2p/go-libp2p/p2p/discovery/mdns"
	"github.com/libp2p/go-libp2p/p2p/net/connmgr"
	quic "github.com/libp2p/go-libp2p/p2p/transport/quic"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"
	"github.com/multiformats/go-multiaddr"
)

// Errors returned by Node methods.
var (
	// ErrClosed is returned by methods called after Close.
	ErrClosed = errors.New("p2p node closed")
	// ErrBanned is returned by Connect for a peer that is serving a ban (see Penalize).
	ErrBanned = errors.New("peer is banned")
)

// Connection manager tags.
const (
	tagBootstrap = "bootstrap"
	tagRegister  = "register"
)

// Node is a libp2p host (TCP, QUIC and the browser transports, Ed25519 identity, connection manager, ban-list
// connection gater) with mDNS and bootstrap discovery and one GossipSub router.
// Its methods are safe for concurrent use.
type Node struct {
	cfg       Config
	log       *slog.Logger
	host      host.Host
	ps        *pubsub.PubSub
	cm        *connmgr.BasicConnMgr
	gater     *banGater
	rm        network.ResourceManager
	shares    *sharingManager // the shared inbound stream limits (reserve.go)
	bootstrap []peer.AddrInfo
	notifiee  *network.NotifyBundle

	// ctx lives until Close; every goroutine the node starts is tracked by wg.
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex
	started bool
	closed  bool
	mdns    mdns.Service
	sources map[peer.ID]string        // how each peer was found
	dialing map[peer.ID]bool          // discovery dials in flight
	found   map[peer.ID]peer.AddrInfo // peers found by mDNS, redialled when lost
	topics  map[string]*Topic
	conns   map[peer.ID]*peerConns // connections of every connected peer, by direction (peerset.go)
	shedAt  map[peer.ID]time.Time  // inbound peers shed within shedBackoff, refused meanwhile
	askedAt map[peer.ID]time.Time  // when each peer was last asked for peers (askPeer)

	shedWake     chan struct{} // an inbound peer above the allowance arrived (peerset.go)
	peerSetStats peerSetCounters

	// Discovery and the address book (connect.go, discovery.go, addrbook.go).
	book       *addrBook
	bookDials  int   // address-book dials in flight, under mu
	discGate   *Gate // admission of the discovery requests served (discoveryGate)
	discStats  discoveryCounters
	keeperWake chan struct{} // new peers learned: the keeper runs a round now

	nat *natState // AutoNAT, relays, hole punching (nat.go, relay.go)

	mesh *meshTracker // the GossipSub mesh of every topic, for Topic.MeshPeers

	traffic *traffic // bytes by protocol and by peer (traffic.go)

	scoreMu sync.RWMutex
	scores  map[peer.ID]float64

	closeOnce sync.Once
	closeErr  error
}

// New builds the host and the GossipSub router. It dials nobody: call Start for that.
// It fails on an invalid Config, naming any malformed listen or bootstrap address, on
// an unreadable or corrupt identity key file, and with a *ListenError when it cannot
// listen on a listen address of a fixed port (a port in use). ctx bounds only the construction; the node
// runs until Close.
func New(ctx context.Context, cfg Config) (*Node, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	listen, err := parseListenAddrs(cfg.ListenAddrs)
	if err != nil {
		return nil, err
	}
	var hostOpts []libp2p.Option
	if !cfg.NoBrowserTransports {
		hostOpts = browserTransports()
	}
	boot, err := parseBootstrap(cfg.Bootstrap)
	if err != nil {
		return nil, err
	}
	key, err := loadOrCreateIdentity(cfg.DataDir, cfg.Logger)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	cm, err := connmgr.NewConnManager(cfg.LowWater, cfg.HighWater, connmgr.WithGracePeriod(connGracePeriod))
	if err != nil {
		return nil, fmt.Errorf("create connection manager: %w", err)
	}
	gater := newBanGater()
	rm, err := newResourceManager()
	if err != nil {
		cm.Close()
		return nil, err
	}
	tr := newTraffic(topicNames(cfg))
	nat, natOpts, err := newNAT(cfg)
	if err != nil {
		cm.Close()
		rm.Close()
		return nil, err
	}
	h, err := libp2p.New(
		libp2p.Identity(key),
		libp2p.ListenAddrs(listen...),
		// Outgoing TCP connections use ephemeral ports. With port reuse, two
		// nodes that find each other by mDNS at the same moment dial from
		// their listen ports to each other's: TCP's simultaneous open then
		// makes one connection on which both ends start a TLS client
		// handshake, and both dials fail.
		libp2p.Transport(tcp.NewTCPTransport, tcp.DisableReuseport()),
		libp2p.Transport(quic.NewTransport),
		libp2p.ChainOptions(hostOpts...), // WebTransport, WebRTC-direct: browser.go
		libp2p.ConnectionManager(cm),
		libp2p.ConnectionGater(gater),
		libp2p.ResourceManager(rm),
		libp2p.BandwidthReporter(tr),
		// AutoNAT, relay client (and service), hole punching: nat.go.
		// Hole punching works over QUIC, whose dials leave from the
		// listen port; TCP without port reuse cannot punch.
		libp2p.ChainOptions(natOpts...),
		libp2p.ChainOptions(cfg.HostOptions...),
	)
	if err == nil && !cfg.NoBrowserTransports {
		listenBrowser(h, cfg.Logger.With("component", "p2p"))
	}
	if err == nil {
		if lerr := unlistened(listen, h.Network().ListenAddresses()); lerr != nil {
			h.Close()
			err = lerr
		}
	} else if lerr := unlistened(listen, nil); lerr != nil && strings.Contains(err.Error(), "failed to listen on any addresses") {
		err = lerr
	}
	if err != nil {
		cm.Close()
		rm.Close()
		var le *ListenError
		if errors.As(err, &le) {
			return nil, err
		}
		return nil, fmt.Errorf("create libp2p host: %w", err)
	}

	n := &Node{
		cfg:     cfg,
		log:     cfg.Logger.With("component", "p2p"),
		host:    h,
		cm:      cm,
		gater:   gater,
		rm:      rm,
		shares:  rm,
		sources: make(map[peer.ID]string),
		dialing: make(map[peer.ID]bool),
		found:   make(map[peer.ID]peer.AddrInfo),
		topics:  make(map[string]*Topic),
		conns:   make(map[peer.ID]*peerConns),
		shedAt:  make(map[peer.ID]time.Time),
		askedAt: make(map[peer.ID]time.Time),
		scores:  make(map[peer.ID]float64),

		book:       openAddrBook(cfg.DataDir, cfg.Logger.With("component", "p2p")),
		keeperWake: make(chan struct{}, 1),
		shedWake:   make(chan struct{}, 1),
		mesh:       newMeshTracker(cm),
		nat:        nat,
		traffic:    tr,
	}
	n.discGate = n.discoveryGate()
	n.discStats.init()
	gater.node.Store(n)
	rm.node.Store(n)
	n.ctx, n.cancel = context.WithCancel(context.Background())
	for _, ai := range boot {
		if ai.ID == h.ID() {
			n.log.Debug("skipping bootstrap address of this node", "peer", ai.ID)
			continue
		}
		n.bootstrap = append(n.bootstrap, ai)
		n.sources[ai.ID] = SourceBootstrap
		h.Peerstore().AddAddrs(ai.ID, ai.Addrs, peerstore.PermanentAddrTTL)
		cm.Protect(ai.ID, tagBootstrap)
	}
	n.rememberBootstrap()
	n.notifiee = &network.NotifyBundle{ConnectedF: n.onConnected, DisconnectedF: n.onDisconnected}
	h.Network().Notify(n.notifiee)

	ps, err := pubsub.NewGossipSub(n.ctx, h, append(n.pubsubOptions(), cfg.PubsubOptions...)...)
	if err != nil {
		n.cancel()
		h.Network().StopNotify(n.notifiee)
		h.Close()
		rm.Close()
		return nil, fmt.Errorf("create gossipsub router: %w", err)
	}
	n.ps = ps
	n.log.Info("p2p node created", "peer", h.ID(), "network", cfg.Network, "listen", h.Network().ListenAddresses())
	return n, nil
}

// Start starts mDNS discovery (when enabled) and the bootstrap dialer, which dials every
// bootstrap peer now and redials it with backoff whenever the connection is lost. It does
// not block; the background work runs until Close. Start may be called once.
func (n *Node) Start(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return ErrClosed
	}
	if n.started {
		return errors.New("p2p node already started")
	}
	n.started = true

	if len(n.bootstrap) > 0 {
		sub, err := n.host.EventBus().Subscribe(new(event.EvtPeerConnectednessChanged))
		if err != nil {
			return fmt.Errorf("subscribe to connectedness events: %w", err)
		}
		wake := make(map[peer.ID]chan struct{}, len(n.bootstrap))
		for _, ai := range n.bootstrap {
			ch := make(chan struct{}, 1)
			wake[ai.ID] = ch
			n.goLocked(func() { n.keepConnected(ai, ch) })
		}
		n.goLocked(func() { n.watchBootstrap(sub, wake) })
	}
	if err := n.startDiscovery(); err != nil {
		return fmt.Errorf("start discovery: %w", err)
	}
	if err := n.startNAT(); err != nil {
		return err
	}
	if n.cfg.MDNS {
		svc := mdns.NewMdnsService(n.host, MDNSServiceName(n.cfg.Network), mdnsNotifee{n})
		mdnsOn := true
		if err := svc.Start(); err != nil {
			// A machine without a multicast interface (only loopback: a
			// container, an offline laptop) still runs, with bootstrap
			// peers and /nodes/register only.
			n.log.Warn("mDNS discovery is off: no interface supports it; peers come from --bootstrap and /nodes/register (run with --mdns=false to silence this)", "err", err)
			_ = svc.Close()
			mdnsOn = false
		}
		if mdnsOn {
			n.mdns = svc
			n.goLocked(n.redialFound)
		}
	}
	n.log.Info("p2p node started", "bootstrap", len(n.bootstrap), "mdns", n.mdns != nil)
	return nil
}

// goLocked runs f in a goroutine tracked by n.wg. n.mu must be held and n.closed false,
// which guarantees Close has not started waiting yet.
func (n *Node) goLocked(f func()) {
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		f()
	}()
}

// every runs f at every tick of interval and whenever wake (which may be
// nil) receives, until the node closes.
func (n *Node) every(interval time.Duration, wake <-chan struct{}, f func()) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-n.ctx.Done():
			return
		case <-t.C:
		case <-wake:
		}
		f()
	}
}

// Close stops mDNS, the bootstrap dialer and every other goroutine the node started,
// waits for them, then stops pubsub and closes the host. It is idempotent.
func (n *Node) Close() error {
	n.closeOnce.Do(func() {
		n.mu.Lock()
		n.closed = true
		svc := n.mdns
		n.mu.Unlock()
		if svc != nil {
			svc.Close() // waits for its resolver: no HandlePeerFound after this
		}
		n.cancel() // stops our loops and the pubsub router
		n.wg.Wait()
		if err := n.book.save(); err != nil {
			n.log.Warn("saving the address book failed", "err", err)
		}
		n.host.Network().StopNotify(n.notifiee)
		if err := n.host.Close(); err != nil {
			n.closeErr = fmt.Errorf("close libp2p host: %w", err)
		}
		_ = n.rm.Close()
		n.log.Info("p2p node closed")
	})
	return n.closeErr
}

// Host returns the underlying libp2p host, e.g. to register stream protocols.
func (n *Node) Host() host.Host { return n.host }

// ID returns this node's peer ID.
func (n *Node) ID() peer.ID { return n.host.ID() }

// Addrs returns the node's full multiaddrs (ending in /p2p/<id>), from its listen
// addresses with unspecified ones (0.0.0.0, ::) expanded to the interface addresses.
func (n *Node) Addrs() []multiaddr.Multiaddr {
	addrs, err := n.host.Network().InterfaceListenAddresses()
	if err != nil {
		n.log.Debug("listing interface addresses failed", "err", err)
		addrs = n.host.Addrs()
	}
	addrs = slices.DeleteFunc(slices.Clone(addrs), func(a multiaddr.Multiaddr) bool {
		_, err := a.ValueForProtocol(multiaddr.P_CIRCUIT)
		return err == nil // relayed addresses are not ours to hand out
	})
	full, err := peer.AddrInfoToP2pAddrs(&peer.AddrInfo{ID: n.host.ID(), Addrs: addrs})
	if err != nil {
		return nil
	}
	return full
}

// Connect dials the peer of addr, a multiaddr ending in /p2p/<id>, and records it with
// source "register". It fails for this node itself and for a banned peer.
func (n *Node) Connect(ctx context.Context, addr multiaddr.Multiaddr) error {
	ai, err := peer.AddrInfoFromP2pAddr(addr)
	if err != nil {
		return fmt.Errorf("invalid peer address %s (want a multiaddr ending in /p2p/<peer id>): %w", addr, err)
	}
	if ai.ID == n.host.ID() {
		return fmt.Errorf("connect %s: cannot connect to self", addr)
	}
	if n.Banned(ai.ID) {
		return fmt.Errorf("connect %s: %w", addr, ErrBanned)
	}
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return ErrClosed
	}
	n.setSourceLocked(ai.ID, SourceRegister)
	n.mu.Unlock()
	if err := n.host.Connect(ctx, *ai); err != nil {
		return fmt.Errorf("connect %s: %w", addr, err)
	}
	n.cm.TagPeer(ai.ID, tagRegister, 10)
	n.rememberRegistered(ai)
	return nil
}

// Peers returns the connected peers, sorted by ID.
func (n *Node) Peers() []PeerInfo {
	// Ask the swarm first and take n.mu afterwards: the swarm calls our notifiee, which
	// takes n.mu, so n.mu is never held while calling into the swarm.
	ids := n.host.Network().Peers()
	out := make([]PeerInfo, 0, len(ids))
	for _, id := range ids {
		conns := n.host.Network().ConnsToPeer(id)
		if len(conns) == 0 {
			continue
		}
		c := bestConn(conns)
		in, sent := n.traffic.peer(id)
		out = append(out, PeerInfo{ID: id, Addr: c.RemoteMultiaddr(), Direction: directionName(c.Stat().Direction), Limited: c.Stat().Limited,
			BytesIn: in, BytesOut: sent})
	}
	n.mu.Lock()
	for i := range out {
		src := n.sources[out[i].ID]
		if src == "" {
			src = SourceUnknown
			if out[i].Direction == "inbound" {
				src = SourceInbound
			}
		}
		out[i].Source = src
	}
	n.mu.Unlock()
	for i := range out {
		n.describe(&out[i])
	}
	slices.SortFunc(out, func(a, b PeerInfo) int { return strings.Compare(string(a.ID), string(b.ID)) })
	return out
}
