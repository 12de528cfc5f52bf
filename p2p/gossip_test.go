package p2p

import (
	"context"
	"crypto/sha256"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p"
	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/peer"
)

func acceptAll(context.Context, peer.ID, *pubsub.Message) pubsub.ValidationResult {
	return pubsub.ValidationAccept
}

func rejectAll(context.Context, peer.ID, *pubsub.Message) pubsub.ValidationResult {
	return pubsub.ValidationReject
}

// inbox collects the messages delivered to one subscription, by message id.
type inbox struct {
	mu  sync.Mutex
	got map[string]int
}

func subscribe(t *testing.T, topic *Topic) *inbox {
	t.Helper()
	sub, err := topic.Subscribe()
	if err != nil {
		t.Fatalf("Subscribe: %v", err)
	}
	in := &inbox{got: make(map[string]int)}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			m, err := sub.Next(ctx)
			if err != nil {
				return
			}
			in.mu.Lock()
			in.got[MessageID(m.Data)]++
			in.mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		cancel()
		sub.Cancel()
		<-done
	})
	return in
}

func (in *inbox) count(id string) int {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.got[id]
}

// message builds a framed gossip message whose content id is the hash of payload.
func message(payload string) []byte {
	return Frame(sha256.Sum256([]byte(payload)), []byte(payload))
}

// waitTopicPeers waits until every node sees its neighbours in the line as topic peers.
func waitTopicPeers(t *testing.T, nodes []*Node, topics []*Topic) {
	t.Helper()
	for i, topic := range topics {
		var want []peer.ID
		if i > 0 {
			want = append(want, nodes[i-1].ID())
		}
		if i < len(nodes)-1 {
			want = append(want, nodes[i+1].ID())
		}
		waitFor(t, 10*time.Second, fmt.Sprintf("node %d to see its neighbours on the topic", i), func() bool {
			got := topic.ListPeers()
			for _, p := range want {
				if !slices.Contains(got, p) {
					return false
				}
			}
			return true
		})
	}
}

// waitMesh waits until the mesh carries messages from the first node to every other:
// gossipsub forms its mesh at its first heartbeat, and a message relayed before that only
// reaches the publisher's direct neighbours. It publishes a fresh probe every 300ms until
// every node has received one.
func waitMesh(t *testing.T, topics []*Topic, inboxes []*inbox) {
	t.Helper()
	var probes []string
	deadline := time.Now().Add(20 * time.Second)
	for i := 0; ; i++ {
		probe := message(fmt.Sprint("probe ", i))
		if err := topics[0].Publish(t.Context(), probe); err != nil {
			t.Fatalf("Publish probe: %v", err)
		}
		probes = append(probes, MessageID(probe))
		time.Sleep(300 * time.Millisecond)
		if everyoneGotOne(inboxes, probes) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("timed out waiting for the mesh to form")
		}
	}
}

func everyoneGotOne(inboxes []*inbox, ids []string) bool {
	for _, in := range inboxes {
		got := false
		for _, id := range ids {
			if in.count(id) > 0 {
				got = true
				break
			}
		}
		if !got {
			return false
		}
	}
	return true
}

func TestGossipLine(t *testing.T) {
	const count = 5
	nodes := newNodes(t, count)
	for i := 1; i < count; i++ {
		connect(t, nodes[i-1], nodes[i])
	}
	topics := make([]*Topic, count)
	inboxes := make([]*inbox, count)
	for i, n := range nodes {
		topic, err := n.Join(TopicName(testNetwork, "blocks"), acceptAll)
		if err != nil {
			t.Fatalf("Join: %v", err)
		}
		topics[i] = topic
		inboxes[i] = subscribe(t, topic)
	}
	waitTopicPeers(t, nodes, topics)
	waitMesh(t, topics, inboxes)

	// One end to everybody.
	first := message("block 1")
	if err := topics[0].Publish(t.Context(), first); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	for i, in := range inboxes {
		waitFor(t, 15*time.Second, fmt.Sprintf("node %d to receive the message", i), func() bool {
			return in.count(MessageID(first)) > 0
		})
	}

	// The same content from both ends: one delivery per node.
	second := message("block 2")
	var wg sync.WaitGroup
	for _, i := range []int{0, count - 1} {
		wg.Go(func() {
			if err := topics[i].Publish(t.Context(), second); err != nil {
				t.Errorf("Publish from node %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	for i, in := range inboxes {
		waitFor(t, 15*time.Second, fmt.Sprintf("node %d to receive the second message", i), func() bool {
			return in.count(MessageID(second)) > 0
		})
	}
	// Give duplicates time to show up: gossip runs every heartbeat (1s).
	time.Sleep(2 * time.Second)
	for i, in := range inboxes {
		for _, m := range [][]byte{first, second} {
			if got := in.count(MessageID(m)); got != 1 {
				t.Errorf("node %d: message %s delivered %d times, want 1", i, MessageID(m)[:8], got)
			}
		}
	}

	// Publishing again what was already delivered is a no-op.
	if err := topics[2].Publish(t.Context(), first); err != nil {
		t.Errorf("republish: %v", err)
	}
	time.Sleep(500 * time.Millisecond)
	if got := inboxes[2].count(MessageID(first)); got != 1 {
		t.Errorf("republished message delivered %d times, want 1", got)
	}
}

func TestInvalidMessagesLowerScore(t *testing.T) {
	nodes := newNodes(t, 2)
	sender, receiver := nodes[0], nodes[1]
	connect(t, sender, receiver)
	// The sender's own validator runs on Publish, so it accepts; the receiver rejects.
	st, err := sender.Join("blocks", acceptAll)
	if err != nil {
		t.Fatal(err)
	}
	rt, err := receiver.Join("blocks", rejectAll)
	if err != nil {
		t.Fatal(err)
	}
	in := subscribe(t, rt)
	waitTopicPeers(t, nodes, []*Topic{st, rt})
	if s := receiver.Score(sender.ID()); s < 0 {
		t.Fatalf("score before any message: %v", s)
	}

	const invalid = 5
	for i := range invalid {
		if err := st.Publish(t.Context(), message(fmt.Sprint("bad block ", i))); err != nil {
			t.Fatalf("Publish: %v", err)
		}
	}
	waitFor(t, 10*time.Second, "the sender's score to fall below the graylist threshold", func() bool {
		return receiver.Score(sender.ID()) < GraylistThreshold
	})
	t.Logf("sender's score after %d invalid messages: %v", invalid, receiver.Score(sender.ID()))
	for i := range invalid {
		if got := in.count(MessageID(message(fmt.Sprint("bad block ", i)))); got != 0 {
			t.Errorf("rejected message %d delivered %d times", i, got)
		}
	}
	if s := sender.Score(receiver.ID()); s < 0 {
		t.Errorf("receiver's score at the sender: got %v, want >= 0", s)
	}
}

func TestJoin(t *testing.T) {
	n := newNode(t, testConfig(t))
	topic, err := n.Join("txs", nil)
	if err != nil {
		t.Fatalf("Join: %v", err)
	}
	if got, want := topic.Name(), TopicName(testNetwork, "txs"); got != want {
		t.Errorf("topic name: got %q, want %q", got, want)
	}
	if _, err := n.Join(TopicName(testNetwork, "txs"), nil); err == nil {
		t.Error("second Join of a topic: got nil error")
	}
	if err := topic.Publish(t.Context(), []byte("short")); err == nil {
		t.Error("Publish of a message shorter than its content id: got nil error")
	}
	big := make([]byte, n.cfg.MaxMessageSize+1)
	if err := topic.Publish(t.Context(), big); err == nil {
		t.Error("Publish of an oversized message: got nil error")
	}
	// Our own validator rejecting our own message makes Publish fail.
	bt, err := n.Join("blocks", rejectAll)
	if err != nil {
		t.Fatal(err)
	}
	if err := bt.Publish(t.Context(), message("x")); err == nil {
		t.Error("Publish rejected by the local validator: got nil error")
	}
}

// TestSignedMessagesRejected: a router that signs its messages (pubsub's default
// StrictSign, as the routers of blocks/2 and txs/1 did) meets, on the current topics, a
// reject for every message, counted against it as the forwarding peer, while the same
// kind of message from a router with SignaturePolicy is delivered.
func TestSignedMessagesRejected(t *testing.T) {
	n := newNode(t, testConfig(t))
	topic, err := n.Join("blocks", acceptAll)
	if err != nil {
		t.Fatal(err)
	}
	in := subscribe(t, topic)

	raw := func(opts ...pubsub.Option) (peer.ID, *pubsub.Topic) {
		h, err := libp2p.New(libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { h.Close() })
		ps, err := pubsub.NewGossipSub(context.Background(), h,
			append(opts, pubsub.WithMessageIdFn(pubsubMessageID), pubsub.WithFloodPublish(true))...)
		if err != nil {
			t.Fatal(err)
		}
		tp, err := ps.Join(TopicName(testNetwork, "blocks"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tp.Relay(); err != nil {
			t.Fatal(err)
		}
		if err := h.Connect(context.Background(), peer.AddrInfo{ID: n.ID(), Addrs: n.Host().Addrs()}); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 10*time.Second, "topic peers known", func() bool {
			return slices.Contains(tp.ListPeers(), n.ID()) && slices.Contains(topic.ListPeers(), h.ID())
		})
		return h.ID(), tp
	}
	signer, signed := raw()
	_, unsigned := raw(SignaturePolicy()...)

	const count = 5
	for i := range count {
		if err := signed.Publish(t.Context(), message(fmt.Sprint("signed ", i))); err != nil {
			t.Fatalf("Publish: %v", err)
		}
		if err := unsigned.Publish(t.Context(), message(fmt.Sprint("unsigned ", i))); err != nil {
			t.Fatalf("Publish: %v", err)
		}
	}
	waitFor(t, 10*time.Second, "every unsigned message delivered", func() bool {
		for i := range count {
			if in.count(MessageID(message(fmt.Sprint("unsigned ", i)))) != 1 {
				return false
			}
		}
		return true
	})
	waitFor(t, 10*time.Second, "the signer's score below the graylist threshold", func() bool {
		return n.Score(signer) < GraylistThreshold
	})
	for i := range count {
		if got := in.count(MessageID(message(fmt.Sprint("signed ", i)))); got != 0 {
			t.Errorf("signed message %d delivered %d times", i, got)
		}
	}
}

// TestMeshPeers: a topic's mesh holds a connected subscriber once the router
// has grafted it, and loses it when the peer goes.
func TestMeshPeers(t *testing.T) {
	nodes := newNodes(t, 2)
	a, b := nodes[0], nodes[1]
	ta, tb := join(t, a, "blocks", nil), join(t, b, "blocks", nil)
	if got := ta.MeshPeers(); len(got) != 0 {
		t.Fatalf("mesh of an unconnected node: %v", got)
	}
	connect(t, a, b)
	waitFor(t, 30*time.Second, "each node in the other's mesh", func() bool {
		return slices.Equal(ta.MeshPeers(), []peer.ID{b.ID()}) && slices.Equal(tb.MeshPeers(), []peer.ID{a.ID()})
	})
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "the stopped peer out of the mesh", func() bool {
		return len(ta.MeshPeers()) == 0
	})
}
