package p2p

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	pb "github.com/libp2p/go-libp2p-pubsub/pb"
	"github.com/libp2p/go-libp2p/core/peer"
)

// ContentIDSize is the size of the content id (block hash or transaction id) that starts
// every gossip message.
const ContentIDSize = 32

// Gossip queue sizes, for bursts: with pubsub's default of 32, about 5% of 200 messages
// published at once across 10 hosts were lost.
const (
	peerOutboundQueueSize = 4096
	validateQueueSize     = 4096
)

// ErrShortMessage is returned for a gossip message shorter than its content id.
var ErrShortMessage = errors.New("gossip message shorter than its 32-byte content id")

// TopicVersions is the current version of each topic kind. A change of message format
// is a new version number, never an edit of an old one: blocks/2 carried header-version-2
// blocks signed by their publisher, txs/1 signed transactions; blocks/3 and txs/2 carry
// the same payloads unsigned (see SignaturePolicy). A kind not listed is version 1.
var TopicVersions = map[string]int{"blocks": 3, "txs": 2}

// TopicName returns the name of a gossip topic: "/gossipchain/<network>/<kind>/<v>",
// v from TopicVersions, e.g. TopicName("devnet", "blocks") is
// "/gossipchain/devnet/blocks/3".
func TopicName(network, kind string) string {
	v, ok := TopicVersions[kind]
	if !ok {
		v = 1
	}
	return "/gossipchain/" + network + "/" + kind + "/" + strconv.Itoa(v)
}

// SignaturePolicy returns the pubsub options of gossipchain's message policy, shared by
// every router that takes part in the topics: messages carry no author, sequence
// number, key or signature (pubsub.StrictNoSign with pubsub.WithNoAuthor), and a message
// that carries any of them is rejected, counting as an invalid delivery against the peer
// that forwarded it. Message ids are content ids (MessageID) and every message is
// validated by its content, so a publisher signature would add nothing but an Ed25519
// signing per publish and a verification per hop.
func SignaturePolicy() []pubsub.Option {
	return []pubsub.Option{
		pubsub.WithMessageSignaturePolicy(pubsub.StrictNoSign),
		pubsub.WithNoAuthor(),
	}
}

// Frame builds a gossip message: the content id followed by the payload.
func Frame(id [ContentIDSize]byte, payload []byte) []byte {
	msg := make([]byte, 0, ContentIDSize+len(payload))
	msg = append(msg, id[:]...)
	return append(msg, payload...)
}

// Unframe splits a gossip message into its content id and payload (which aliases data).
func Unframe(data []byte) (id [ContentIDSize]byte, payload []byte, err error) {
	if len(data) < ContentIDSize {
		return id, nil, ErrShortMessage
	}
	copy(id[:], data[:ContentIDSize])
	return id, data[ContentIDSize:], nil
}

// MessageID is the pubsub message id of a gossip message: the hex of its 32-byte content
// id, so the same block or transaction published by several nodes has a single id and is
// delivered once. A message too short to carry a content id gets the hex of its SHA-256
// (it is rejected by validation anyway).
func MessageID(data []byte) string {
	if len(data) >= ContentIDSize {
		return hex.EncodeToString(data[:ContentIDSize])
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

func pubsubMessageID(m *pb.Message) string { return MessageID(m.GetData()) }

// pubsubOptions are the options of the node's single GossipSub router; doc.go explains
// each choice.
func (n *Node) pubsubOptions() []pubsub.Option {
	return append(SignaturePolicy(),
		pubsub.WithLogger(n.cfg.Logger.With("component", "pubsub")),
		pubsub.WithRawTracer(n.mesh),
		pubsub.WithRawTracer(trafficTracer{traffic: n.traffic}),
		pubsub.WithMessageIdFn(pubsubMessageID),
		pubsub.WithPeerExchange(PeerExchange),
		pubsub.WithGossipSubParams(GossipSubParams()),
		pubsub.WithFloodPublish(true),
		pubsub.WithMaxMessageSize(n.cfg.MaxMessageSize),
		pubsub.WithSubscriptionFilter(n.subscriptionFilter()),
		pubsub.WithPeerOutboundQueueSize(peerOutboundQueueSize),
		pubsub.WithValidateQueueSize(validateQueueSize),
		pubsub.WithPeerScore(PeerScoreParams(), PeerScoreThresholds()),
		// must follow WithPeerScore
		pubsub.WithPeerScoreInspect(pubsub.PeerScoreInspectFn(n.storeScores), n.cfg.scoreInspectFreq),
	)
}

// storeScores receives the router's periodic score snapshot.
func (n *Node) storeScores(scores map[peer.ID]float64) {
	n.scoreMu.Lock()
	n.scores = scores
	n.scoreMu.Unlock()
}

// Score returns p's gossipsub score as last sampled from the router (every second by
// default), or 0 for a peer the router does not know.
func (n *Node) Score(p peer.ID) float64 {
	n.scoreMu.RLock()
	defer n.scoreMu.RUnlock()
	return n.scores[p]
}

// Topic is a joined gossip topic.
type Topic struct {
	name    string
	maxSize int
	t       *pubsub.Topic
	mesh    *meshTracker
}

// Join joins a gossip topic and returns it; from then on the node takes part in the
// topic's mesh and relays its messages. name is either a full topic name (starting with
// "/", as built by TopicName) or a kind such as "blocks", which is expanded to
// TopicName(network, kind). The topic gets the score parameters of TopicScoreParams.
// Joining a topic twice is an error.
//
// validator decides on every message before it is delivered or forwarded:
// ValidationAccept; ValidationIgnore (drop without penalty: already known, parent
// unknown, invalid only in our context); ValidationReject (drop and lower the
// forwarder's score: invalid in any context). A nil validator accepts every message.
// Messages shorter than the content id are always rejected before it is called. It runs
// with a timeout of ValidatorTimeout, for at most ValidatorConcurrency messages at once
// per topic. It is also called, once and synchronously, on our own Publish with from set
// to the node's ID; a reject or ignore then makes Publish fail.
func (n *Node) Join(name string, validator pubsub.ValidatorEx) (*Topic, error) {
	if !strings.HasPrefix(name, "/") {
		name = TopicName(n.cfg.Network, name)
	}
	// Reserve the name under n.mu, then talk to pubsub without holding it.
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return nil, ErrClosed
	}
	if _, ok := n.topics[name]; ok {
		n.mu.Unlock()
		return nil, fmt.Errorf("join topic %s: already joined", name)
	}
	n.topics[name] = nil
	n.mu.Unlock()

	topic, err := n.join(name, validator)
	n.mu.Lock()
	if err != nil {
		delete(n.topics, name)
	} else {
		n.topics[name] = topic
	}
	n.mu.Unlock()
	return topic, err
}

// join does the work of Join for a reserved topic name, undoing it on failure.
func (n *Node) join(name string, validator pubsub.ValidatorEx) (topic *Topic, err error) {
	v := func(ctx context.Context, from peer.ID, m *pubsub.Message) pubsub.ValidationResult {
		if len(m.GetData()) < ContentIDSize {
			return pubsub.ValidationReject
		}
		if validator == nil {
			return pubsub.ValidationAccept
		}
		return validator(ctx, from, m)
	}
	err = n.ps.RegisterTopicValidator(name, v,
		pubsub.WithValidatorTimeout(ValidatorTimeout),
		pubsub.WithValidatorConcurrency(ValidatorConcurrency))
	if err != nil {
		return nil, fmt.Errorf("register validator for topic %s: %w", name, err)
	}
	defer func() {
		if err != nil {
			_ = n.ps.UnregisterTopicValidator(name)
		}
	}()
	t, err := n.ps.Join(name)
	if err != nil {
		return nil, fmt.Errorf("join topic %s: %w", name, err)
	}
	if err := t.SetScoreParams(TopicScoreParams()); err != nil {
		_ = t.Close()
		return nil, fmt.Errorf("set score parameters of topic %s: %w", name, err)
	}
	// Relay: a joined node always takes part in the topic's mesh and forwards messages,
	// whether or not anyone reads them through Subscribe.
	if _, err := t.Relay(); err != nil {
		_ = t.Close()
		return nil, fmt.Errorf("relay topic %s: %w", name, err)
	}
	return &Topic{name: name, maxSize: n.cfg.MaxMessageSize, t: t, mesh: n.mesh}, nil
}

// Name returns the full topic name.
func (t *Topic) Name() string { return t.name }

// Publish validates data with the topic's validator (see Node.Join) and sends it to every
// topic peer whose score is above the publish threshold (flood publishing). data must
// start with its 32-byte content id (see Frame). Publishing a message that this node has
// already delivered (same content id) is a no-op.
func (t *Topic) Publish(ctx context.Context, data []byte) error {
	if len(data) < ContentIDSize {
		return fmt.Errorf("publish to %s: %w", t.name, ErrShortMessage)
	}
	if len(data) > t.maxSize {
		return fmt.Errorf("publish to %s: message of %d bytes exceeds the maximum of %d", t.name, len(data), t.maxSize)
	}
	if err := t.t.Publish(ctx, data); err != nil {
		return fmt.Errorf("publish to %s: %w", t.name, err)
	}
	return nil
}

// Subscribe returns a new subscription to the topic's validated messages; read them with
// its Next(ctx) and release it with Cancel. Each message is delivered once per
// subscription, including the ones this node publishes itself (their ReceivedFrom is
// the node's own ID), so a handler can tell them apart and skip what it already has.
// opts are pubsub's, e.g. pubsub.WithBufferSize for a topic whose messages come in
// bursts.
func (t *Topic) Subscribe(opts ...pubsub.SubOpt) (*pubsub.Subscription, error) {
	sub, err := t.t.Subscribe(opts...)
	if err != nil {
		return nil, fmt.Errorf("subscribe to %s: %w", t.name, err)
	}
	return sub, nil
}

// ListPeers returns the connected peers known to be subscribed to the topic.
func (t *Topic) ListPeers() []peer.ID { return t.t.ListPeers() }

// MeshPeers returns the peers in this node's GossipSub mesh of the topic: those
// it forwards every message to at once. A peer that has subscribed enters the
// mesh at a heartbeat of the router; a message forwarded before then reaches
// it by the gossip of a later heartbeat, or not at all if that heartbeat is
// the one that grafts it (it then has the block from the next one's parent
// link, by chain exchange).
func (t *Topic) MeshPeers() []peer.ID { return t.mesh.peers(t.name) }

// MeshPeers returns the peers in this node's GossipSub mesh of the topic name,
// a full topic name or a kind as Join takes it (see Topic.MeshPeers).
func (n *Node) MeshPeers(name string) []peer.ID {
	if !strings.HasPrefix(name, "/") {
		name = TopicName(n.cfg.Network, name)
	}
	return n.mesh.peers(name)
}
