package p2p

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/multiformats/go-multiaddr"
)

// freeUDPPort returns a UDP port of 127.0.0.1 that was free a moment ago.
func freeUDPPort(t *testing.T) int {
	t.Helper()
	c, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

// quicConfig is a test node listening on QUIC (and so, by default, on the
// browser transports) at 127.0.0.1:port.
func quicConfig(t *testing.T, port int) Config {
	cfg := testConfig(t)
	cfg.ListenAddrs = []string{fmt.Sprintf("/ip4/127.0.0.1/udp/%d/quic-v1", port)}
	return cfg
}

// browserAddr returns n's browser address of the transport named by
// marker ("/webtransport", "/webrtc-direct"), failing the test without one.
func browserAddr(t *testing.T, n *Node, marker string) multiaddr.Multiaddr {
	t.Helper()
	for _, a := range n.BrowserAddrs() {
		if strings.Contains(a.String(), marker+"/") {
			return a
		}
	}
	t.Fatalf("no %s address among the browser addresses %v", marker, n.BrowserAddrs())
	return nil
}

// TestBrowserListeners: a node listening on QUIC port P (a fixed port, or
// the port it got for port 0) also listens on WebTransport and
// WebRTC-direct on P, and lists them, with their certificate hashes and its
// peer id, as its browser addresses.
func TestBrowserListeners(t *testing.T) {
	for _, asked := range []int{freeUDPPort(t), 0} {
		n := newNode(t, quicConfig(t, asked))
		port := asked
		for _, a := range n.Host().Network().ListenAddresses() {
			if v, err := a.ValueForProtocol(multiaddr.P_UDP); err == nil && strings.HasSuffix(a.String(), "/quic-v1") {
				fmt.Sscan(v, &port)
			}
		}
		for _, marker := range []string{"/webtransport", "/webrtc-direct"} {
			s := browserAddr(t, n, marker).String()
			want := fmt.Sprintf("/ip4/127.0.0.1/udp/%d/", port)
			if !strings.HasPrefix(s, want) || !strings.Contains(s, "/certhash/") || !strings.HasSuffix(s, "/p2p/"+n.ID().String()) {
				t.Errorf("port %d: browser address %s, want %s…%s/certhash/…/p2p/%s", asked, s, want, marker, n.ID())
			}
		}
		if got := len(n.BrowserAddrs()); got != 2 {
			t.Errorf("port %d: %d browser addresses %v, want 2 (one per transport)", asked, got, n.BrowserAddrs())
		}
	}
}

// TestBrowserTransportsOff: with NoBrowserTransports the node listens on
// QUIC alone and has no browser address.
func TestBrowserTransportsOff(t *testing.T) {
	cfg := quicConfig(t, 0)
	cfg.NoBrowserTransports = true
	n := newNode(t, cfg)
	if got := n.BrowserAddrs(); len(got) != 0 {
		t.Errorf("browser addresses %v with the browser transports off, want none", got)
	}
	for _, a := range n.Host().Network().ListenAddresses() {
		if strings.Contains(a.String(), "webtransport") || strings.Contains(a.String(), "webrtc") {
			t.Errorf("listening on %s with the browser transports off", a)
		}
	}
}

// dialBrowserAddr makes leaf dial hub's address of marker, and reports the
// error.
func dialBrowserAddr(t *testing.T, leaf, hub *Node, marker string) error {
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	return leaf.Connect(ctx, browserAddr(t, hub, marker))
}

// TestWebTransportGossip: a Go WebTransport dialer (go-libp2p's transport
// as a client) connects to a node's WebTransport address; the node lists it
// among its peers with that transport, and a block gossiped by the node
// reaches it over that connection.
func TestWebTransportGossip(t *testing.T) {
	hub := newNode(t, quicConfig(t, 0))
	leaf := newNode(t, testConfig(t)) // TCP only: it dials, it does not listen on QUIC
	hubTopic := join(t, hub, "blocks", nil)
	got := make(chan []byte, 1)
	leafTopic := join(t, leaf, "blocks", nil)
	sub, err := leafTopic.Subscribe()
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		msg, err := sub.Next(t.Context())
		if err == nil {
			got <- msg.Data
		}
	}()
	if err := dialBrowserAddr(t, leaf, hub, "/webtransport"); err != nil {
		t.Fatalf("WebTransport dial: %v", err)
	}
	var seen PeerInfo
	waitFor(t, 10*time.Second, "the hub to list the leaf", func() bool {
		for _, p := range hub.Peers() {
			if p.ID == leaf.ID() {
				seen = p
				return true
			}
		}
		return false
	})
	if !strings.Contains(seen.Addr.String(), "/webtransport") || seen.Direction != "inbound" {
		t.Errorf("hub lists the leaf at %s, %s; want an inbound WebTransport connection", seen.Addr, seen.Direction)
	}
	waitFor(t, 20*time.Second, "the leaf in the hub's mesh", func() bool {
		for _, p := range hubTopic.MeshPeers() {
			if p == leaf.ID() {
				return true
			}
		}
		return false
	})
	msg := fmt.Appendf(nil, "%032d over webtransport", 7)
	if err := hubTopic.Publish(t.Context(), msg); err != nil {
		t.Fatal(err)
	}
	select {
	case data := <-got:
		if string(data) != string(msg) {
			t.Errorf("leaf received %q, want %q", data, msg)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the gossiped message did not reach the WebTransport peer within 20s")
	}
}

// TestBrowserTransportsGated: the inbound allowance and the bans hold for
// WebTransport and WebRTC-direct dials as for any other: a hub with an
// allowance of 1 keeps at most the allowance plus its headroom of inbound
// WebTransport peers, and a banned peer is refused on both transports.
func TestBrowserTransportsGated(t *testing.T) {
	checkInboundGated(t, quicConfig(t, 0), func(leaf, hub *Node) error {
		return dialBrowserAddr(t, leaf, hub, "/webtransport")
	})

	hub := newNode(t, quicConfig(t, 0))
	banned := newNode(t, testConfig(t))
	hub.Penalize(banned.ID(), "test")
	for _, marker := range []string{"/webtransport", "/webrtc-direct"} {
		// The dialer may finish its handshake before the hub's gater
		// closes the connection: what counts is that none stays.
		_ = dialBrowserAddr(t, banned, hub, marker)
		waitFor(t, 20*time.Second, "the banned peer disconnected over "+marker, func() bool {
			return !connected(banned, hub) && !connected(hub, banned)
		})
		for _, p := range hub.Peers() {
			if p.ID == banned.ID() {
				t.Errorf("the hub lists the banned peer, connected over %s", p.Addr)
			}
		}
	}
}
