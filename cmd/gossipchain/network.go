package main

import (
	"context"

	"github.com/multiformats/go-multiaddr"

	"github.com/gossipchain/gossipchain/api"
	"github.com/gossipchain/gossipchain/p2p"
	gsync "github.com/gossipchain/gossipchain/sync"
)

// network presents the sync service (submitting, publishing, resolving) and
// the p2p node (identity, peers, dialling) as the API's Network.
type network struct {
	*gsync.Service
	node *p2p.Node
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
		out[i] = api.PeerInfo{ID: p.ID.String(), Direction: p.Direction, Source: p.Source}
		if st, ok := n.PeerStatus(p.ID); ok {
			h := st.Height
			out[i].Height = &h
		}
		if p.Addr != nil {
			out[i].Addr = p.Addr.String()
		}
	}
	return out
}

func (n network) Connect(ctx context.Context, addr multiaddr.Multiaddr) error {
	return n.node.Connect(ctx, addr)
}
