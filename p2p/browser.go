package p2p

import (
	"log/slog"
	"slices"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/host"
	libp2pwebrtc "github.com/libp2p/go-libp2p/p2p/transport/webrtc"
	webtransport "github.com/libp2p/go-libp2p/p2p/transport/webtransport"
	"github.com/multiformats/go-multiaddr"
)

// This file holds the transports a browser can dial: WebTransport (over
// HTTP/3, on the QUIC port) and WebRTC-direct (over UDP, on the QUIC port
// too). A browser reaches a node only with these: it can open no TCP or raw
// QUIC connection. Their certificates are self-signed; a browser accepts
// one because the multiaddr it dials names its hash (/certhash/), which
// go-libp2p's certificate manager rotates (a WebTransport certificate is
// derived from the node's key and a 14-day period; the next one's hash is
// announced beside it from half way through). WebRTC-direct derives its certificate from the node's identity
// key, so its /certhash/ survives restarts. Connections of both go through
// the host's resource manager and connection gater like any other: the
// inbound allowance and the bans hold for browsers too.

// browserTransports are the host options adding the browser transports.
func browserTransports() []libp2p.Option {
	return []libp2p.Option{
		libp2p.Transport(webtransport.New),
		libp2p.Transport(libp2pwebrtc.New),
	}
}

// listenBrowser makes the host listen, beside every QUIC address it
// listens on (…/udp/P/quic-v1, P the port it got, also when asked for port
// 0), on its WebTransport address (…/udp/P/quic-v1/webtransport) and its
// WebRTC-direct address (…/udp/P/webrtc-direct): the three share one UDP
// socket. A sibling the host cannot listen on is logged, not fatal: the
// node still serves every other transport.
func listenBrowser(h host.Host, log *slog.Logger) {
	listening := h.Network().ListenAddresses()
	var want []multiaddr.Multiaddr
	for _, m := range listening {
		rest, last := multiaddr.SplitLast(m)
		if last == nil || last.Protocol().Code != multiaddr.P_QUIC_V1 {
			continue
		}
		wt := m.Encapsulate(multiaddr.StringCast("/webtransport"))
		rtc := rest.Encapsulate(multiaddr.StringCast("/webrtc-direct"))
		for _, a := range []multiaddr.Multiaddr{wt, rtc} {
			if !containsAddr(listening, a) && !containsAddr(want, a) {
				want = append(want, a)
			}
		}
	}
	for _, a := range want {
		if err := h.Network().Listen(a); err != nil {
			log.Warn("browsers cannot dial this node at an address", "addr", a, "err", err)
		}
	}
}

// IsBrowserAddr reports whether a browser can dial m: a WebTransport or
// WebRTC-direct address carrying its certificate hash.
func IsBrowserAddr(m multiaddr.Multiaddr) bool {
	if _, err := m.ValueForProtocol(multiaddr.P_CERTHASH); err != nil {
		return false
	}
	for _, code := range []int{multiaddr.P_WEBTRANSPORT, multiaddr.P_WEBRTC_DIRECT} {
		if _, err := m.ValueForProtocol(code); err == nil {
			return true
		}
	}
	return false
}

// BrowserAddrs returns the node's full multiaddrs (ending in /p2p/<id>)
// that a browser can dial: its WebTransport and WebRTC-direct addresses
// with their current /certhash/ components. It is empty when the browser
// transports are off (Config.NoBrowserTransports) or nothing listens on
// QUIC. The certificate hashes of WebTransport change as its certificates
// rotate: a browser reads them anew before it dials.
func (n *Node) BrowserAddrs() []multiaddr.Multiaddr {
	return slices.DeleteFunc(n.Addrs(), func(m multiaddr.Multiaddr) bool { return !IsBrowserAddr(m) })
}

// stripCertHashes returns m without its /certhash/ components, which a
// listener adds to the address it was given.
func stripCertHashes(m multiaddr.Multiaddr) multiaddr.Multiaddr {
	var out multiaddr.Multiaddr
	for _, c := range m {
		if c.Protocol().Code != multiaddr.P_CERTHASH {
			out = append(out, c)
		}
	}
	return out
}
