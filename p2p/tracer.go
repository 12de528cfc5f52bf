package p2p

import (
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
)

// tracerBase is a pubsub.RawTracer that ignores every event. The node's
// tracers (meshTracker, trafficTracer) embed it and implement only the
// events they follow. The router calls a tracer from its event loop (and
// SendRPCCompleted from its writers), so every method must return quickly.
type tracerBase struct{}

func (tracerBase) AddPeer(peer.ID, protocol.ID)                         {}
func (tracerBase) RemovePeer(peer.ID)                                   {}
func (tracerBase) Join(string)                                          {}
func (tracerBase) Leave(string)                                         {}
func (tracerBase) Graft(peer.ID, string)                                {}
func (tracerBase) Prune(peer.ID, string)                                {}
func (tracerBase) ValidateMessage(*pubsub.Message)                      {}
func (tracerBase) DeliverMessage(*pubsub.Message)                       {}
func (tracerBase) RejectMessage(*pubsub.Message, string)                {}
func (tracerBase) DuplicateMessage(*pubsub.Message)                     {}
func (tracerBase) ThrottlePeer(peer.ID)                                 {}
func (tracerBase) RecvRPC(*pubsub.RPC)                                  {}
func (tracerBase) SendRPC(*pubsub.RPC, peer.ID)                         {}
func (tracerBase) SendRPCCompleted(*pubsub.RPC, peer.ID, time.Duration) {}
func (tracerBase) DropRPC(*pubsub.RPC, peer.ID)                         {}
func (tracerBase) UndeliverableMessage(*pubsub.Message)                 {}
func (tracerBase) OnNewOutboundStream(peer.ID, protocol.ID)             {}
func (tracerBase) OnClosedOutboundStream(peer.ID)                       {}

var _ pubsub.RawTracer = tracerBase{}
