package p2p

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p"
	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/peer"
)

// TestSubscriptionFilter: a peer announcing made-up topics, one RPC at a time
// or hundreds in one RPC, leaves no trace of them in the node's router, while
// its subscription to this network's topic is still known.
func TestSubscriptionFilter(t *testing.T) {
	n := newNode(t, testConfig(t))
	if _, err := n.Join("blocks", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := n.Join("/made-up/topic", nil); err == nil {
		t.Fatalf("joined a topic outside the network's list")
	}

	h, err := libp2p.New(libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	ps, err := pubsub.NewGossipSub(context.Background(), h)
	if err != nil {
		t.Fatal(err)
	}
	// Hundreds of topics in the first RPC (the hello): ignored whole.
	var madeUp []string
	for i := range 10 * MaxSubscriptionsPerRPC {
		name := fmt.Sprintf("/gossipchain/%s/made-up-%d/1", testNetwork, i)
		relay(t, ps, name)
		madeUp = append(madeUp, name)
	}
	blocks := TopicName(testNetwork, "blocks")
	bt, err := ps.Join(blocks) // joined, not announced: only to see the node's subscription
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Connect(context.Background(), peer.AddrInfo{ID: n.ID(), Addrs: n.Host().Addrs()}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the hellos exchanged", func() bool { return slices.Contains(bt.ListPeers(), n.ID()) })
	// Then one topic per RPC, and the network's own last.
	for i := range 200 {
		name := fmt.Sprintf("/gossipchain/%s/later-%d/1", testNetwork, i)
		relay(t, ps, name)
		madeUp = append(madeUp, name)
	}
	if _, err := bt.Relay(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the attacker known on the network's topic", func() bool {
		return slices.Contains(n.ps.ListPeers(blocks), h.ID())
	})
	for _, name := range madeUp {
		if peers := n.ps.ListPeers(name); len(peers) != 0 {
			t.Fatalf("router tracks made-up topic %s", name)
		}
	}
}

// relay joins and relays topic name: ps announces the subscription.
func relay(t *testing.T, ps *pubsub.PubSub, name string) {
	t.Helper()
	tp, err := ps.Join(name)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tp.Relay(); err != nil {
		t.Fatal(err)
	}
}
