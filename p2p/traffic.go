package p2p

import (
	"maps"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	pb "github.com/libp2p/go-libp2p-pubsub/pb"
	"github.com/libp2p/go-libp2p/core/metrics"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// Traffic labels that are not a stream protocol or a topic name.
const (
	// TrafficGossipControl is the gossip bytes that carry no message of a
	// topic: control messages (IHAVE, IWANT, IDONTWANT, GRAFT, PRUNE),
	// subscriptions and the framing of every RPC.
	TrafficGossipControl = "gossip-control"
	// TrafficGossipOther is the gossip messages of topics this node does not
	// carry (dropped on arrival).
	TrafficGossipOther = "gossip-other-topics"
	// TrafficUnnegotiated is the bytes of streams before their protocol is
	// agreed (multistream-select).
	TrafficUnnegotiated = "unnegotiated"
)

// TrafficStats are the bytes this node's streams carried since it started,
// by protocol: the stream protocol ID (e.g. "/ipfs/id/1.0.0"), or for
// gossip the topic name of the messages of each topic (their protobuf
// encoding) and TrafficGossipControl for the rest of the gossip RPCs. Bytes
// are those of the streams, above the transport's encryption and
// multiplexing, which add a few percent.
type TrafficStats struct {
	Received, Sent map[string]uint64
}

// TotalReceived is the sum of Received over every protocol.
func (s TrafficStats) TotalReceived() uint64 { return sum(s.Received) }

// TotalSent is the sum of Sent over every protocol.
func (s TrafficStats) TotalSent() uint64 { return sum(s.Sent) }

func sum(m map[string]uint64) uint64 {
	var t uint64
	for _, v := range m {
		t += v
	}
	return t
}

func (l *labelCounts) totalIn() uint64 {
	l.mu.RLock()
	defer l.mu.RUnlock()
	var t uint64
	for _, c := range l.m {
		t += c.in.Load()
	}
	return t
}

// byteCount is a pair of monotonic counters.
type byteCount struct{ in, out atomic.Uint64 }

// labelCounts are byte counters by label, for a bounded set of labels.
type labelCounts struct {
	mu sync.RWMutex
	m  map[string]*byteCount
}

func (l *labelCounts) get(label string) *byteCount {
	l.mu.RLock()
	c := l.m[label]
	l.mu.RUnlock()
	if c != nil {
		return c
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.m == nil {
		l.m = make(map[string]*byteCount)
	}
	if c = l.m[label]; c == nil {
		c = new(byteCount)
		l.m[label] = c
	}
	return c
}

func (l *labelCounts) snapshot(in, out map[string]uint64) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	for k, c := range l.m {
		in[k] += c.in.Load()
		out[k] += c.out.Load()
	}
}

// traffic counts bytes by protocol and by connected peer. It is the host's
// bandwidth reporter (metrics.Reporter, fed by every stream read and write)
// and a pubsub.RawTracer that splits the gossip streams by topic. Unlike
// libp2p's metrics.BandwidthCounter it keeps plain totals, which never go
// down (a Prometheus counter must not), and forgets a peer when its last
// connection closes, so its memory is bounded by the peer set.
type traffic struct {
	topics map[string]bool // the topic names that get their own label

	protocols labelCounts // stream protocols other than gossip, and gossip labels
	peerMu    sync.RWMutex
	peers     map[peer.ID]*byteCount // connected peers only
}

func newTraffic(topics []string) *traffic {
	t := &traffic{topics: make(map[string]bool), peers: make(map[peer.ID]*byteCount)}
	for _, name := range topics {
		t.topics[name] = true
		t.protocols.get(name) // every topic has a series from the start
	}
	t.protocols.get(TrafficGossipControl)
	return t
}

// isGossip reports whether proto is a pubsub stream, whose bytes the tracer
// half of traffic counts by topic.
func isGossip(proto protocol.ID) bool {
	return strings.HasPrefix(string(proto), "/meshsub/") || strings.HasPrefix(string(proto), "/floodsub/")
}

func (t *traffic) count(proto protocol.ID, p peer.ID, n int64, in bool) {
	if n <= 0 {
		return
	}
	t.peerMu.RLock()
	pc := t.peers[p]
	t.peerMu.RUnlock()
	if pc != nil {
		add(pc, uint64(n), in)
	}
	if isGossip(proto) {
		return
	}
	label := string(proto)
	if label == "" {
		label = TrafficUnnegotiated
	}
	add(t.protocols.get(label), uint64(n), in)
}

func add(c *byteCount, n uint64, in bool) {
	if in {
		c.in.Add(n)
	} else {
		c.out.Add(n)
	}
}

// connected starts counting p's bytes; disconnected forgets them.
func (t *traffic) connected(p peer.ID) {
	t.peerMu.Lock()
	defer t.peerMu.Unlock()
	if t.peers[p] == nil {
		t.peers[p] = new(byteCount)
	}
}

func (t *traffic) disconnected(p peer.ID) {
	t.peerMu.Lock()
	defer t.peerMu.Unlock()
	delete(t.peers, p)
}

// peer returns the bytes received from and sent to p while connected.
func (t *traffic) peer(p peer.ID) (in, out uint64) {
	t.peerMu.RLock()
	defer t.peerMu.RUnlock()
	if c := t.peers[p]; c != nil {
		return c.in.Load(), c.out.Load()
	}
	return 0, 0
}

func (t *traffic) stats() TrafficStats {
	s := TrafficStats{Received: make(map[string]uint64), Sent: make(map[string]uint64)}
	t.protocols.snapshot(s.Received, s.Sent)
	return s
}

// rpc counts one gossip RPC: each message under its topic's label, the rest
// (control, subscriptions, the length prefix) as TrafficGossipControl.
func (t *traffic) rpc(rpc *pb.RPC, in bool) {
	size := proto.Size(rpc)
	total := uint64(protowire.SizeBytes(size))
	for _, m := range rpc.GetPublish() {
		label := m.GetTopic()
		if !t.topics[label] {
			label = TrafficGossipOther
		}
		n := uint64(protoFieldSize(proto.Size(m)))
		add(t.protocols.get(label), n, in)
		total -= min(n, total)
	}
	add(t.protocols.get(TrafficGossipControl), total, in)
}

// protoFieldSize is the size of an embedded protobuf message of n bytes:
// its tag (one byte for the fields of an RPC), length and body.
func protoFieldSize(n int) int { return 1 + protowire.SizeBytes(n) }

// metrics.Reporter: the swarm calls the stream methods on every read and write.

func (t *traffic) LogSentMessage(int64) {}
func (t *traffic) LogRecvMessage(int64) {}
func (t *traffic) LogSentMessageStream(n int64, proto protocol.ID, p peer.ID) {
	t.count(proto, p, n, false)
}
func (t *traffic) LogRecvMessageStream(n int64, proto protocol.ID, p peer.ID) {
	t.count(proto, p, n, true)
}
func (t *traffic) GetBandwidthForPeer(p peer.ID) metrics.Stats {
	in, out := t.peer(p)
	return metrics.Stats{TotalIn: int64(in), TotalOut: int64(out)}
}
func (t *traffic) GetBandwidthForProtocol(proto protocol.ID) metrics.Stats {
	s := t.stats()
	return metrics.Stats{TotalIn: int64(s.Received[string(proto)]), TotalOut: int64(s.Sent[string(proto)])}
}
func (t *traffic) GetBandwidthTotals() metrics.Stats {
	s := t.stats()
	return metrics.Stats{TotalIn: int64(s.TotalReceived()), TotalOut: int64(s.TotalSent())}
}
func (t *traffic) GetBandwidthByPeer() map[peer.ID]metrics.Stats {
	t.peerMu.RLock()
	ids := maps.Keys(t.peers)
	t.peerMu.RUnlock()
	out := make(map[peer.ID]metrics.Stats)
	for id := range ids {
		out[id] = t.GetBandwidthForPeer(id)
	}
	return out
}
func (t *traffic) GetBandwidthByProtocol() map[protocol.ID]metrics.Stats {
	s := t.stats()
	out := make(map[protocol.ID]metrics.Stats, len(s.Received))
	for k := range s.Received {
		out[protocol.ID(k)] = metrics.Stats{TotalIn: int64(s.Received[k]), TotalOut: int64(s.Sent[k])}
	}
	for k := range s.Sent {
		out[protocol.ID(k)] = metrics.Stats{TotalIn: int64(s.Received[k]), TotalOut: int64(s.Sent[k])}
	}
	return out
}

// Reset and TrimIdle do nothing: the totals live as long as the node.
func (t *traffic) Reset()             {}
func (t *traffic) TrimIdle(time.Time) {}

var _ metrics.Reporter = (*traffic)(nil)

// trafficTracer is the pubsub.RawTracer half of traffic: the router reports
// every RPC it reads, and every RPC its writers finish sending.
type trafficTracer struct {
	tracerBase
	*traffic
}

func (t trafficTracer) RecvRPC(rpc *pubsub.RPC) { t.rpc(&rpc.RPC, true) }
func (t trafficTracer) SendRPCCompleted(rpc *pubsub.RPC, _ peer.ID, _ time.Duration) {
	t.rpc(&rpc.RPC, false)
}

var _ pubsub.RawTracer = trafficTracer{}
