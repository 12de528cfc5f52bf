package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/libp2p/go-libp2p/core/event"
	lpnet "github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gossipchain/gossipchain/p2p"
)

// peerNote is told of every peer that connects or is lost.
type peerNote func(id, state, direction, source string)

// watchPeers logs, at INFO, every peer that connects (with its direction
// and how it was found) and every peer lost, and tells note. It returns a
// function that stops it and waits for it.
func watchPeers(ctx context.Context, node *p2p.Node, log *slog.Logger, note peerNote) (stop func(), err error) {
	sub, err := node.Host().EventBus().Subscribe(new(event.EvtPeerConnectednessChanged))
	if err != nil {
		return nil, fmt.Errorf("subscribe to peer events: %w", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-ctx.Done():
				return
			case e, ok := <-sub.Out():
				if !ok {
					return
				}
				ev := e.(event.EvtPeerConnectednessChanged)
				switch ev.Connectedness {
				case lpnet.Connected:
					dir, src, addr := describePeer(node, ev.Peer)
					log.Info("peer connected", "peer", ev.Peer, "direction", dir, "source", src, "addr", addr)
					note(ev.Peer.String(), "connected", dir, src)
				case lpnet.NotConnected:
					log.Info("peer lost", "peer", ev.Peer)
					note(ev.Peer.String(), "lost", "", "")
				}
			}
		}
	}()
	return func() {
		cancel()
		sub.Close()
		<-done
	}, nil
}

// describePeer returns a connected peer's direction, source and remote
// address.
func describePeer(node *p2p.Node, id peer.ID) (direction, source, addr string) {
	for _, p := range node.Peers() {
		if p.ID == id {
			if p.Addr != nil {
				addr = p.Addr.String()
			}
			return p.Direction, p.Source, addr
		}
	}
	return "unknown", p2p.SourceUnknown, ""
}
