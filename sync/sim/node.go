package sim

import (
	"context"
	"fmt"
	mrand "math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/libp2p/go-libp2p"
	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	"github.com/libp2p/go-libp2p/p2p/transport/quicreuse"
	"github.com/marcopolo/simnet"
	"github.com/quic-go/quic-go"
	"go.uber.org/fx"

	"github.com/gossipchain/gossipchain/chain"
	"github.com/gossipchain/gossipchain/chain/miner"
	"github.com/gossipchain/gossipchain/chain/store"
	"github.com/gossipchain/gossipchain/p2p"
	gsync "github.com/gossipchain/gossipchain/sync"
)

// simPort is the UDP port every simulated node listens on.
const simPort = 8000

// Node is one complete gossipchain node of a simulated network.
type Node struct {
	Index  int
	Region int
	Dir    string
	Chain  *store.Chain
	P2P    *p2p.Node
	Sync   *gsync.Service
	Miner  *miner.Miner
	// Addr is the node's multiaddr, ending in /p2p/<id>.
	Addr string

	node   *gsync.Node     // the assembly behind Chain, P2P, Sync and Miner
	joined time.Time       // virtual time of its start
	conn   *simnet.SimConn // the node's endpoint on the simulated network
	tracer *tracer
	added  sync.Map // chain.Hash → time.Time: when sync reported the block added
	closed atomic.Bool
	once   sync.Once
	err    error
}

// startNode builds and starts one node with the assembly of every node
// (sync.NewNode) on the simulated network.
func startNode(ctx context.Context, nw *Network, idx, region int, ip net.IP, boot []*Node, seed uint64, seedChain string) (*Node, error) {
	dir := nw.nodeDir(idx)
	if err := writeIdentity(dir, seed); err != nil {
		return nil, err
	}
	if seedChain != "" {
		if err := copyStore(seedChain, filepath.Join(dir, "chain.db")); err != nil {
			return nil, fmt.Errorf("copy the seed chain: %w", err)
		}
	}
	nd := &Node{Index: idx, Region: region, Dir: dir, joined: time.Now(), tracer: newTracer(gsync.BlocksTopicName(nw.cfg.Params.Name))}
	params := nw.cfg.Params
	log := nw.cfg.Logger.With("sim_node", idx)
	var bootAddrs []string
	for _, b := range boot {
		bootAddrs = append(bootAddrs, b.Addr)
	}
	listen := fmt.Sprintf("/ip4/%s/udp/%d/quic-v1", ip, simPort)
	n, err := gsync.NewNode(ctx, gsync.NodeConfig{
		Params:  params,
		DataDir: dir,
		Logger:  log,
		// The identity is written before the chain store is created.
		Store: func(c *store.Config) { c.Now, c.RefuseNew = nw.chainNow, false },
		P2P: p2p.Config{
			ListenAddrs: []string{listen},
			Bootstrap:   bootAddrs,
			TargetPeers: nw.cfg.TargetPeers,
			// Every simulated node is reachable at its listen address;
			// AutoNAT's dial-back hosts would need real sockets.
			NoNATTraversal: true,
			// Browsers have no place in the simulated network; their
			// transports' certificates cost every node a key and a signing.
			NoBrowserTransports: true,
			HostOptions: []libp2p.Option{
				simTransport(nw.sn, simnet.NodeBiDiLinkSettings{
					Uplink:   simnet.LinkSettings{BitsPerSecond: nw.cfg.Bandwidth},
					Downlink: simnet.LinkSettings{BitsPerSecond: nw.cfg.Bandwidth},
				}, &nd.conn),
				// Identify's address discovery stalls synctest (as noted by
				// go-libp2p's x/simlibp2p); the listen address is public.
				libp2p.DisableIdentifyAddressDiscovery(),
			},
			PubsubOptions: []pubsub.Option{pubsub.WithRawTracer(nd.tracer)},
		},
		Sync: gsync.Config{OnBlock: nd.noteBlock},
		WrapChain: func(c *store.Chain) gsync.Chain {
			return &costChain{Chain: c, ctx: ctx, validate: nw.cfg.ValidateCost, store: nw.cfg.StoreCost}
		},
		MinerThreads: 1,
	})
	if err != nil {
		return nil, err
	}
	nd.node = n
	nd.Chain, nd.P2P, nd.Sync, nd.Miner = n.Chain, n.P2P, n.Sync, n.Miner
	nd.Addr = listen + "/p2p/" + n.P2P.ID().String()
	if err := n.Start(ctx); err != nil {
		nd.Close()
		return nil, err
	}
	return nd, nil
}

// Close stops the node (sync, p2p, chain, as every node closes);
// its endpoint then drops every packet. It is idempotent.
func (nd *Node) Close() error {
	nd.once.Do(func() {
		nd.closed.Store(true)
		nd.err = nd.node.Close()
	})
	return nd.err
}

// noteBlock records when sync added a block (gossiped, or the last of a
// fetched batch).
func (nd *Node) noteBlock(ev gsync.BlockEvent) {
	h := ev.Head.Hash // a fetched batch names no block: its last is the head
	if ev.Block != nil {
		h = ev.Block.Hash
	}
	nd.added.LoadOrStore(h, time.Now())
}

// Added returns when sync reported block h added (the last block of a
// fetched batch, or a gossiped one once stored).
func (nd *Node) Added(h chain.Hash) (time.Time, bool) {
	v, ok := nd.added.Load(h)
	if !ok {
		return time.Time{}, false
	}
	return v.(time.Time), true
}

// Running says whether the node has not been closed.
func (nd *Node) Running() bool { return !nd.closed.Load() }

// BytesReceived returns the bytes the node's endpoint has received.
func (nd *Node) BytesReceived() int {
	if nd.conn == nil {
		return 0
	}
	return nd.conn.Stats().BytesRcvd
}

// Duplicates returns the duplicate block messages the node's router dropped.
func (nd *Node) Duplicates() int64 { return nd.tracer.dups.Load() }

// MeshDegree returns the node's gossipsub mesh degree on the blocks topic.
func (nd *Node) MeshDegree() int { return len(nd.P2P.MeshPeers(gsync.BlocksTopic)) }

// Mine mines one block on the node's head and publishes it, returning it.
// Proof of work takes CPU time but no virtual time.
func (nd *Node) Mine(ctx context.Context) (*chain.Block, error) {
	b, _, err := nd.Miner.MineBlock(ctx)
	if err != nil {
		return nil, fmt.Errorf("node %d: mine: %w", nd.Index, err)
	}
	if err := nd.Sync.PublishBlock(ctx, b); err != nil {
		return nil, fmt.Errorf("node %d: publish: %w", nd.Index, err)
	}
	return b, nil
}

// simTransport makes the host's QUIC transport use an endpoint of sn, kept
// in *conn, instead of a UDP socket (as go-libp2p's x/simlibp2p does).
func simTransport(sn *simnet.Simnet, link simnet.NodeBiDiLinkSettings, conn **simnet.SimConn) libp2p.Option {
	sel := &sourceIP{}
	return libp2p.QUICReuse(
		func(l fx.Lifecycle, statelessResetKey quic.StatelessResetKey, tokenKey quic.TokenGeneratorKey, opts ...quicreuse.Option) (*quicreuse.ConnManager, error) {
			cm, err := quicreuse.NewConnManager(statelessResetKey, tokenKey, opts...)
			if err != nil {
				return nil, err
			}
			// A connection manager passed in is not closed by the host.
			l.Append(fx.StopHook(cm.Close))
			return cm, nil
		},
		quicreuse.OverrideSourceIPSelector(func() (quicreuse.SourceIPSelector, error) { return sel, nil }),
		quicreuse.OverrideListenUDP(func(_ string, addr *net.UDPAddr) (net.PacketConn, error) {
			sel.ip.Store(&addr.IP)
			c := sn.NewEndpoint(addr, link)
			*conn = c
			return c, nil
		}),
	)
}

// sourceIP answers the node's own IP for every destination.
type sourceIP struct{ ip atomic.Pointer[net.IP] }

func (s *sourceIP) PreferredSourceIPForDestination(*net.UDPAddr) (net.IP, error) {
	return *s.ip.Load(), nil
}

// writeIdentity writes a node identity derived from seed to dir, so that a
// run's peer IDs are reproducible.
func writeIdentity(dir string, seed uint64) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create data directory: %w", err)
	}
	var s [32]byte
	for i := range 4 {
		for j := range 8 {
			s[8*i+j] = byte(seed >> (8 * j))
		}
		seed = seed*6364136223846793005 + 1442695040888963407
	}
	key, _, err := crypto.GenerateEd25519Key(mrand.NewChaCha8(s))
	if err != nil {
		return fmt.Errorf("generate identity: %w", err)
	}
	data, err := crypto.MarshalPrivateKey(key)
	if err != nil {
		return fmt.Errorf("marshal identity: %w", err)
	}
	return os.WriteFile(filepath.Join(dir, p2p.IdentityFile), data, 0o600)
}

// copyStore copies the store at from to the path to, with the files and
// directories the store keeps beside its file (their names start with the
// store's, as the block segments in <path>.blocks do).
func copyStore(from, to string) error {
	entries, err := os.ReadDir(filepath.Dir(from))
	if err != nil {
		return err
	}
	base := filepath.Base(from)
	for _, e := range entries {
		suffix, ok := strings.CutPrefix(e.Name(), base)
		if !ok {
			continue
		}
		src, dst := filepath.Join(filepath.Dir(from), e.Name()), to+suffix
		if e.IsDir() {
			err = os.CopyFS(dst, os.DirFS(src))
		} else {
			err = copyFile(src, dst)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func copyFile(from, to string) error {
	data, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	return os.WriteFile(to, data, 0o600)
}

// tracer counts the duplicate block messages of one node's router.
type tracer struct {
	topic string
	dups  atomic.Int64
}

func newTracer(topic string) *tracer { return &tracer{topic: topic} }

func (t *tracer) DuplicateMessage(m *pubsub.Message) {
	if m.GetTopic() == t.topic {
		t.dups.Add(1)
	}
}

func (t *tracer) Graft(peer.ID, string)                                {}
func (t *tracer) Prune(peer.ID, string)                                {}
func (t *tracer) OnClosedOutboundStream(peer.ID)                       {}
func (t *tracer) OnNewOutboundStream(peer.ID, protocol.ID)             {}
func (t *tracer) Join(string)                                          {}
func (t *tracer) Leave(string)                                         {}
func (t *tracer) ValidateMessage(*pubsub.Message)                      {}
func (t *tracer) DeliverMessage(*pubsub.Message)                       {}
func (t *tracer) RejectMessage(*pubsub.Message, string)                {}
func (t *tracer) ThrottlePeer(peer.ID)                                 {}
func (t *tracer) RecvRPC(*pubsub.RPC)                                  {}
func (t *tracer) SendRPC(*pubsub.RPC, peer.ID)                         {}
func (t *tracer) SendRPCCompleted(*pubsub.RPC, peer.ID, time.Duration) {}
func (t *tracer) DropRPC(*pubsub.RPC, peer.ID)                         {}
func (t *tracer) UndeliverableMessage(*pubsub.Message)                 {}
