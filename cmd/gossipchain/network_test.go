package main

import (
	"testing"

	"github.com/multiformats/go-multiaddr"

	"github.com/gossipchain/gossipchain/p2p"
)

// TestDialablePrefersNodeTransports: of a peer's listen addresses on the IP
// of its connection, /peers names a TCP or QUIC one before the addresses
// for browsers, whatever the order identify gave.
func TestDialablePrefersNodeTransports(t *testing.T) {
	const hash = "/certhash/uEiAtcRZCtyawRAFifKn7rDL1yFMPsZA8xNsCJYcXkhpIgQ"
	p := p2p.PeerInfo{
		Addr:      multiaddr.StringCast("/ip4/10.0.0.2/udp/4001/quic-v1"),
		Direction: "outbound",
		ListenAddrs: []multiaddr.Multiaddr{
			multiaddr.StringCast("/ip4/10.0.0.2/udp/4001/webrtc-direct" + hash),
			multiaddr.StringCast("/ip4/10.0.0.2/udp/4001/quic-v1/webtransport" + hash),
			multiaddr.StringCast("/ip4/10.0.0.2/udp/4001/quic-v1"),
		},
	}
	if got, want := dialable(p), "/ip4/10.0.0.2/udp/4001/quic-v1"; got != want {
		t.Errorf("dialable = %s, want %s", got, want)
	}
	p.ListenAddrs = p.ListenAddrs[:1]
	if got, want := dialable(p), p.ListenAddrs[0].String(); got != want {
		t.Errorf("with only a browser address: dialable = %s, want %s", got, want)
	}
}
