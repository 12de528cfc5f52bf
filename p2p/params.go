package p2p

import pubsub "github.com/libp2p/go-libp2p-pubsub"

// GossipSub parameters of every node; every router of a network must use
// the same ones (PROTOCOL.md section 3, "Router parameters", says what each costs and
// buys). The rest are go-libp2p-pubsub's defaults (heartbeat 1 s, history of
// 5 heartbeats, ...), which PROTOCOL.md lists too.
const (
	// MeshD, MeshDlo and MeshDhi: the mesh degree a node aims at, and the
	// bounds below which it grafts and above which it prunes. Each mesh
	// peer costs every message one full copy: a node receives a message
	// about once per mesh peer.
	MeshD   = 4
	MeshDlo = 3
	MeshDhi = 6
	// MeshDscore: peers kept by score when an oversubscribed mesh is pruned.
	MeshDscore = 2
	// MeshDout: outbound peers a mesh keeps (below MeshDlo and MeshD/2).
	MeshDout = 1
	// GossipDlazy and GossipFactor: each heartbeat a node sends IHAVE to
	// max(GossipDlazy, GossipFactor × its non-mesh topic peers) peers
	// outside the mesh, listing the ids of the last GossipHistory heartbeats.
	GossipDlazy   = 3
	GossipFactor  = 0.15
	GossipHistory = 2
	// IDontWantThreshold: a node that receives a message of at least this
	// many bytes tells its other mesh peers at once (IDONTWANT, before
	// validating it), so that those that have not forwarded theirs yet skip
	// it. go-libp2p-pubsub's default, 1 KiB, is larger than most blocks.
	IDontWantThreshold = 128
	// PeerExchange: whether a node's prunes carry peers (PX). Off: the
	// router dials every peer of an accepted PX at once, outside the bounded
	// peer set, which grew the nodes' outbound peers to two or three times
	// D; the discovery protocol feeds the address book, and the connection
	// keeper dials from it only while the node lacks outbound peers.
	PeerExchange = false
)

// GossipSubParams returns go-libp2p-pubsub's default parameters with
// gossipchain's mesh degree, gossip and IDONTWANT settings in place.
func GossipSubParams() pubsub.GossipSubParams {
	p := pubsub.DefaultGossipSubParams()
	p.D, p.Dlo, p.Dhi, p.Dscore, p.Dout = MeshD, MeshDlo, MeshDhi, MeshDscore, MeshDout
	p.Dlazy, p.GossipFactor, p.HistoryGossip = GossipDlazy, GossipFactor, GossipHistory
	p.IDontWantMessageThreshold = IDontWantThreshold
	return p
}
