package p2p

import (
	"strings"
	"testing"
	"time"
)

// TestTrafficByProtocol: two connected nodes count the bytes of a gossip
// message under its topic's name on both sides (at least its size), the
// rest of gossip as control, identify under its protocol ID, and each
// other's bytes per peer; every received figure of one side is matched by
// the sent figure of the other within the framing.
func TestTrafficByProtocol(t *testing.T) {
	nodes := newNodes(t, 2)
	a, b := nodes[0], nodes[1]
	ta, tb := join(t, a, "blocks", acceptAll), join(t, b, "blocks", acceptAll)
	in := subscribe(t, tb)
	connect(t, a, b)
	waitFor(t, 10*time.Second, "b in a's mesh", func() bool { return len(ta.MeshPeers()) == 1 })

	payload := strings.Repeat("x", 1000)
	msg := message(payload)
	if err := ta.Publish(t.Context(), msg); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "delivery", func() bool { return in.count(MessageID(msg)) == 1 })

	topic := TopicName(testNetwork, "blocks")
	waitFor(t, 10*time.Second, "the message counted on both sides", func() bool {
		return b.Traffic().Received[topic] >= uint64(len(msg)) && a.Traffic().Sent[topic] >= uint64(len(msg))
	})
	sa, sb := a.Traffic(), b.Traffic()
	if got := sb.Received[topic]; got > uint64(len(msg))+100 {
		t.Errorf("b received %d bytes on %s for one message of %d bytes", got, topic, len(msg))
	}
	for _, s := range []TrafficStats{sa, sb} {
		if s.Received[TrafficGossipControl] == 0 || s.Sent[TrafficGossipControl] == 0 {
			t.Errorf("no gossip control bytes counted: %v", s)
		}
		if s.Received["/ipfs/id/1.0.0"] == 0 {
			t.Errorf("no identify bytes counted: %v", s)
		}
		for k := range s.Received {
			if strings.HasPrefix(k, "/meshsub/") {
				t.Errorf("gossip counted under its stream protocol %s besides its topics", k)
			}
		}
	}
	if b.BytesReceived() < sb.TotalReceived() { // read later, never less
		t.Errorf("BytesReceived %d below the total of Traffic %d", b.BytesReceived(), sb.TotalReceived())
	}
	var peerIn uint64
	for _, p := range b.Peers() {
		if p.ID == a.ID() {
			peerIn = p.BytesIn
		}
	}
	if peerIn < uint64(len(msg)) {
		t.Errorf("b's /peers entry of a: %d bytes in, want at least the message's %d", peerIn, len(msg))
	}
}
