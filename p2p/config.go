package p2p

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/libp2p/go-libp2p"
	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/multiformats/go-multiaddr"
)

// DefaultListenAddrs are the addresses a Node listens on when Config.ListenAddrs is empty:
// TCP and QUIC on port 4001 of every interface (and, unless
// Config.NoBrowserTransports, WebTransport and WebRTC-direct beside QUIC).
var DefaultListenAddrs = []string{"/ip4/0.0.0.0/tcp/4001", "/ip4/0.0.0.0/udp/4001/quic-v1"}

// Defaults for the optional fields of Config.
const (
	// MaxTargetPeers is the largest TargetPeers.
	MaxTargetPeers = 32

	// DefaultBanDuration is how long Penalize refuses a peer.
	DefaultBanDuration = 10 * time.Minute

	// ValidatorTimeout bounds one run of a topic validator; a validator that is still
	// running when it expires sees its context cancelled.
	ValidatorTimeout = 5 * time.Second

	// ValidatorConcurrency is the per-topic validator throttle: the number of messages
	// that may be under validation at once before pubsub drops new ones.
	ValidatorConcurrency = 1024

	// maxNetworkNameLen keeps "gossipchain-<network>" within one DNS label (63 bytes).
	maxNetworkNameLen = 48
)

// Config configures a Node. Fields marked required must be set; the others have defaults.
type Config struct {
	// DataDir is required. The node's identity key is kept in DataDir/identity.key
	// (mode 0600), created on first start and reused afterwards.
	DataDir string

	// Network is required: the network's name (letters, digits, '-' and '_'). It is part
	// of every topic name and of the mDNS service name, so networks never mix.
	Network string

	// ListenAddrs are the multiaddrs to listen on; DefaultListenAddrs when empty.
	ListenAddrs []string

	// Bootstrap lists multiaddrs ending in /p2p/<peer id>. They are dialled by Start and
	// redialled with backoff whenever the connection is lost. A malformed entry makes
	// New fail. An entry naming this node itself is skipped.
	Bootstrap []string

	// MDNS enables discovery on the local network under the mDNS service name
	// "gossipchain-<network>".
	MDNS bool

	// LowWater and HighWater are the connection manager's watermarks. When
	// zero they derive from the peer set: LowWater is TargetPeers+MaxInbound
	// (2D by default) and HighWater that plus the inbound headroom
	// (peerset.go). Bootstrap and mesh peers are never trimmed.
	LowWater, HighWater int

	// TargetPeers is the outbound target D (DefaultTargetPeers when zero, at
	// most MaxTargetPeers): while the node has dialled fewer of its connected
	// peers, it dials peers of its address book and asks its peers for more.
	// It must not exceed LowWater.
	TargetPeers int

	// MaxInbound is the inbound allowance: the peers that dialled this node
	// that it keeps (TargetPeers when zero, so that a node has at most 2D
	// peers; plus RelayMaxReservations with RelayService, whose holders are
	// inbound peers). A node at its allowance still admits newcomers, and
	// sheds its least useful inbound peers to come back to it (peerset.go).
	// A well-connected public node may raise it.
	MaxInbound int

	// SkipAddrBook stops the node from dialling peers of its address book
	// (DataDir/peers.json), which it still keeps; bootstrap peers are dialled.
	SkipAddrBook bool

	// MaxMessageSize is required (> 0): the largest pubsub message, framing included.
	// The chain layer passes the size of the largest valid block plus overhead.
	MaxMessageSize int

	// Logger receives the node's logs; slog.Default() when nil.
	Logger *slog.Logger

	// TopicKinds are the kinds of the only topics this node accepts from
	// peers and may join, expanded by TopicName; DefaultTopicKinds when
	// empty. Subscriptions of peers to any other topic are dropped.
	TopicKinds []string

	// Announce lists multiaddrs (without /p2p/) advertised instead of the
	// listen addresses, e.g. the public address of a port forwarded by a
	// router; relayed addresses are advertised beside them. See nat.go.
	Announce []string

	// NoBrowserTransports turns off the transports a browser dials
	// (browser.go): with it false, the host also listens on WebTransport and
	// WebRTC-direct beside every QUIC listen address, on the same UDP port.
	NoBrowserTransports bool

	// NATPortMap asks the router for a port mapping (UPnP, NAT-PMP).
	NATPortMap bool

	// RelayService offers a bounded circuit relay v2 service (RelayLimits)
	// while AutoNAT finds the node publicly reachable.
	RelayService bool

	// NoNATTraversal builds the host without AutoNAT, relays and hole
	// punching (RelayService and NATPortMap are then ignored): for a network
	// where every node reaches every other directly, such as the simulated
	// network of package sync/sim, whose transport AutoNAT's dial-back hosts
	// cannot use. Production nodes leave it false.
	NoNATTraversal bool

	// HostOptions are appended to the options the host is built with
	// (libp2p.New), after the node's own, and PubsubOptions to those of the
	// GossipSub router. Both are empty in production. They inject another
	// network under the same node: package sync/sim passes a QUIC transport over
	// go-libp2p's simulated network and a tracer that counts duplicates.
	HostOptions   []libp2p.Option
	PubsubOptions []pubsub.Option

	// Tuning knobs for tests; zero means the default.
	banDuration      time.Duration // DefaultBanDuration
	redialMin        time.Duration // first bootstrap redial delay, 1s
	redialMax        time.Duration // largest bootstrap redial delay, 1min
	scoreInspectFreq time.Duration // how often Score's view is refreshed, 1s
	shedGrace        time.Duration // how long a new inbound peer is never shed, defaultShedGrace
}

// defaultShedGrace is how long a new inbound peer is safe from shedding: the
// time to join the gossip meshes (a heartbeat, 1 s) and show its use.
const defaultShedGrace = 10 * time.Second

// withDefaults returns a copy of c with every optional field filled in.
func (c Config) withDefaults() Config {
	if len(c.ListenAddrs) == 0 {
		c.ListenAddrs = append([]string(nil), DefaultListenAddrs...)
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if len(c.TopicKinds) == 0 {
		c.TopicKinds = append([]string(nil), DefaultTopicKinds...)
	}
	if c.TargetPeers == 0 {
		c.TargetPeers = DefaultTargetPeers
	}
	if c.MaxInbound == 0 {
		c.MaxInbound = c.TargetPeers
		if c.RelayService && !c.NoNATTraversal {
			c.MaxInbound += RelayMaxReservations // the holders are inbound peers
		}
	}
	if c.LowWater == 0 {
		c.LowWater = c.TargetPeers + c.MaxInbound
	}
	if c.HighWater == 0 {
		c.HighWater = c.LowWater + inboundHeadroom(c.MaxInbound)
	}
	if c.shedGrace <= 0 {
		c.shedGrace = defaultShedGrace
	}
	if c.banDuration <= 0 {
		c.banDuration = DefaultBanDuration
	}
	if c.redialMin <= 0 {
		c.redialMin = time.Second
	}
	if c.redialMax <= 0 {
		c.redialMax = time.Minute
	}
	if c.redialMax < c.redialMin {
		c.redialMax = c.redialMin
	}
	if c.scoreInspectFreq <= 0 {
		c.scoreInspectFreq = time.Second
	}
	return c
}

// validate checks the required fields of a Config that went through withDefaults.
func (c Config) validate() error {
	if c.DataDir == "" {
		return errors.New("p2p config: DataDir is required")
	}
	if err := checkNetworkName(c.Network); err != nil {
		return fmt.Errorf("p2p config: %w", err)
	}
	if c.MaxMessageSize <= 0 {
		return fmt.Errorf("p2p config: MaxMessageSize must be > 0, got %d", c.MaxMessageSize)
	}
	if c.LowWater < 0 || c.HighWater < 0 || c.LowWater > c.HighWater {
		return fmt.Errorf("p2p config: watermarks must satisfy 0 <= LowWater <= HighWater, got %d and %d",
			c.LowWater, c.HighWater)
	}
	if _, err := parseAnnounce(c.Announce); err != nil {
		return fmt.Errorf("p2p config: %w", err)
	}
	if c.TargetPeers < 0 || c.TargetPeers > min(c.LowWater, MaxTargetPeers) {
		return fmt.Errorf("p2p config: TargetPeers must satisfy 0 <= TargetPeers <= LowWater (%d) and <= %d, got %d",
			c.LowWater, MaxTargetPeers, c.TargetPeers)
	}
	if c.MaxInbound < 0 {
		return fmt.Errorf("p2p config: MaxInbound must be >= 0, got %d", c.MaxInbound)
	}
	return nil
}

func checkNetworkName(name string) error {
	if name == "" {
		return errors.New("network name is required")
	}
	if len(name) > maxNetworkNameLen {
		return fmt.Errorf("network name %q is longer than %d bytes", name, maxNetworkNameLen)
	}
	for _, r := range name {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_'
		if !ok {
			return fmt.Errorf("network name %q may only hold letters, digits, '-' and '_'", name)
		}
	}
	return nil
}

// parseListenAddrs parses every listen address, naming the first bad one.
func parseListenAddrs(addrs []string) ([]multiaddr.Multiaddr, error) {
	out := make([]multiaddr.Multiaddr, 0, len(addrs))
	for _, s := range addrs {
		m, err := multiaddr.NewMultiaddr(s)
		if err != nil {
			return nil, fmt.Errorf("invalid listen address %q: %w", s, err)
		}
		out = append(out, m)
	}
	return out, nil
}

// parseBootstrap parses bootstrap multiaddrs, naming the first bad one, and merges the
// addresses of the same peer into one AddrInfo (in the order peers first appear).
func parseBootstrap(addrs []string) ([]peer.AddrInfo, error) {
	var out []peer.AddrInfo
	index := make(map[peer.ID]int)
	for _, s := range addrs {
		m, err := multiaddr.NewMultiaddr(s)
		if err != nil {
			return nil, fmt.Errorf("invalid bootstrap address %q: %w", s, err)
		}
		ai, err := peer.AddrInfoFromP2pAddr(m)
		if err != nil {
			return nil, fmt.Errorf("invalid bootstrap address %q (want a multiaddr ending in /p2p/<peer id>): %w", s, err)
		}
		if i, ok := index[ai.ID]; ok {
			out[i].Addrs = append(out[i].Addrs, ai.Addrs...)
			continue
		}
		index[ai.ID] = len(out)
		out = append(out, *ai)
	}
	return out, nil
}
