package main

import (
	"context"
	"slices"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/multiformats/go-multiaddr"
	manet "github.com/multiformats/go-multiaddr/net"

	"github.com/gossipchain/gossipchain/api"
	"github.com/gossipchain/gossipchain/p2p"
	gsync "github.com/gossipchain/gossipchain/sync"
)

// network presents the sync service (submitting, publishing, resolving) and
// the p2p node (identity, peers, dialling) as the API's Network.
type network struct {
	*gsync.Service
	node  *p2p.Node
	light *gsync.Light // a light node's, instead of Service
}

var _ api.Network = network{}

func (n network) ID() string { return n.node.ID().String() }

func (n network) Addrs() []string {
	addrs := n.node.Addrs()
	out := make([]string, len(addrs))
	for i, a := range addrs {
		out[i] = a.String()
	}
	return out
}

func (n network) Peers() []api.PeerInfo {
	peers := n.node.Peers()
	out := make([]api.PeerInfo, len(peers))
	for i, p := range peers {
		out[i] = api.PeerInfo{ID: p.ID.String(), Direction: p.Direction, Source: p.Source, InAddrBook: p.InAddrBook,
			LatencyMS: float64(p.Latency.Microseconds()) / 1000, ListenAddrs: []string{}}
		if st, ok := n.peerStatus(p.ID); ok {
			h := st.Height
			out[i].Height = &h
			out[i].Head = st.Head.String()
			if st.Work != nil {
				out[i].TotalWork = st.Work.String()
			}
		}
		for _, a := range p.ListenAddrs {
			out[i].ListenAddrs = append(out[i].ListenAddrs, a.String())
		}
		if p.Addr != nil {
			out[i].ConnAddr = p.Addr.String()
		}
		out[i].Addr = dialable(p)
		out[i].Limited = p.Limited
		out[i].BytesIn, out[i].BytesOut = p.BytesIn, p.BytesOut
	}
	return out
}

// peerStatus is the status p sent to the sync service, or to a light
// node's header syncer.
func (n network) peerStatus(p peer.ID) (gsync.Status, bool) {
	if n.light != nil {
		return n.light.PeerStatus(p)
	}
	return n.PeerStatus(p)
}

// dialable picks the listen address of p that matches the host of its
// connection (the same IP, then the same transport), falling back to the
// connection's address only for an outbound connection, which was dialled.
// The addresses for browsers (WebTransport, WebRTC-direct) come last: a
// node dials TCP or QUIC.
func dialable(p p2p.PeerInfo) string {
	if len(p.ListenAddrs) == 0 {
		if p.Addr != nil && p.Direction == "outbound" {
			return p.Addr.String()
		}
		return ""
	}
	addrs := slices.DeleteFunc(slices.Clone(p.ListenAddrs), p2p.IsBrowserAddr)
	for _, a := range p.ListenAddrs {
		if p2p.IsBrowserAddr(a) {
			addrs = append(addrs, a)
		}
	}
	if p.Addr != nil {
		ip, err := manet.ToIP(p.Addr)
		for _, a := range addrs {
			if aip, aerr := manet.ToIP(a); err == nil && aerr == nil && aip.Equal(ip) {
				return a.String()
			}
		}
	}
	return addrs[0].String()
}

func (n network) Connect(ctx context.Context, addr multiaddr.Multiaddr) error {
	return n.node.Connect(ctx, addr)
}
