package p2p

import (
	"net"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/peer"
)

// Peer score thresholds; PROTOCOL.md section 3 states them and explains the choices.
const (
	GossipThreshold   = -20
	PublishThreshold  = -50
	GraylistThreshold = -80
	// AcceptPXThreshold is above any score a peer can reach (topic scores are
	// capped at 10 and the application score is 0): a PX that another
	// implementation sends is never dialled (PeerExchange).
	AcceptPXThreshold           = 1000
	OpportunisticGraftThreshold = 1
)

// scoreDecayInterval is how often score counters decay; pubsub.ScoreParameterDecay
// assumes one second.
const scoreDecayInterval = time.Second

// PeerScoreThresholds returns the gossipsub score thresholds of every node.
func PeerScoreThresholds() *pubsub.PeerScoreThresholds {
	return &pubsub.PeerScoreThresholds{
		GossipThreshold:             GossipThreshold,
		PublishThreshold:            PublishThreshold,
		GraylistThreshold:           GraylistThreshold,
		AcceptPXThreshold:           AcceptPXThreshold,
		OpportunisticGraftThreshold: OpportunisticGraftThreshold,
	}
}

// PeerScoreParams returns the router-wide gossipsub score parameters. Topic parameters
// are added by Node.Join (TopicScoreParams).
func PeerScoreParams() *pubsub.PeerScoreParams {
	return &pubsub.PeerScoreParams{
		Topics: make(map[string]*pubsub.TopicScoreParams),
		// The positive part of the topic scores is capped, so a peer can never bank
		// enough good behaviour to shrug off invalid messages.
		TopicScoreCap: 10,

		// P5: no application-specific score.
		AppSpecificScore:  func(peer.ID) float64 { return 0 },
		AppSpecificWeight: 0,

		// P6: IP colocation. Loopback is exempt, so a devnet of many nodes on
		// 127.0.0.1 is not penalised; beyond 10 peers from one other IP each further
		// peer costs quadratically.
		IPColocationFactorWeight:    -10,
		IPColocationFactorThreshold: 10,
		IPColocationFactorWhitelist: loopbackNets(),

		// P7: protocol misbehaviour (re-graft during backoff, broken IWANT promises),
		// forgiven up to 6 events, decaying over 10 minutes.
		BehaviourPenaltyWeight:    -1,
		BehaviourPenaltyThreshold: 6,
		BehaviourPenaltyDecay:     pubsub.ScoreParameterDecay(10 * time.Minute),

		DecayInterval: scoreDecayInterval,
		DecayToZero:   pubsub.DefaultDecayToZero,
		// A peer that disconnects and comes back keeps its score for an hour.
		RetainScore: time.Hour,
	}
}

// TopicScoreParams returns the score parameters of every gossip topic (blocks and
// transactions are both low-traffic topics).
func TopicScoreParams() *pubsub.TopicScoreParams {
	return &pubsub.TopicScoreParams{
		TopicWeight: 1,

		// P1: time in mesh, +0.05 per minute up to +3 after an hour.
		TimeInMeshWeight:  0.05,
		TimeInMeshQuantum: time.Minute,
		TimeInMeshCap:     60,

		// P2: first deliveries, +0.5 each up to +5, decaying over an hour.
		FirstMessageDeliveriesWeight: 0.5,
		FirstMessageDeliveriesDecay:  pubsub.ScoreParameterDecay(time.Hour),
		FirstMessageDeliveriesCap:    10,

		// P3 and P3b: mesh delivery rate penalties off. Blocks come minutes apart, so a
		// healthy mesh peer has nothing to deliver most of the time.
		MeshMessageDeliveriesWeight: 0,
		MeshFailurePenaltyWeight:    0,

		// P4: invalid messages, -10 × count², decaying over an hour: 3 invalid
		// messages from a fresh peer (4 from one at the cap) graylist it.
		InvalidMessageDeliveriesWeight: -10,
		InvalidMessageDeliveriesDecay:  pubsub.ScoreParameterDecay(time.Hour),
	}
}

func loopbackNets() []*net.IPNet {
	var nets []*net.IPNet
	for _, s := range []string{"127.0.0.0/8", "::1/128"} {
		_, n, err := net.ParseCIDR(s)
		if err != nil {
			panic(err) // constant input
		}
		nets = append(nets, n)
	}
	return nets
}
