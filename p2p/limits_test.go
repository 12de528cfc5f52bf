package p2p

import (
	"testing"

	rcmgr "github.com/libp2p/go-libp2p/p2p/host/resource-manager"
)

// TestStreamLimitsFixed: the stream limits PROTOCOL.md states are those the
// resource manager enforces, on this machine as on any other (libp2p's own
// defaults scale with memory).
func TestStreamLimitsFixed(t *testing.T) {
	l := resourceLimits().ToPartialLimitConfig()
	cases := []struct {
		name string
		got  rcmgr.LimitVal
		want int
	}{
		{"inbound streams per peer", l.PeerDefault.StreamsInbound, MaxInboundStreamsPerPeer},
		{"inbound streams not negotiated", l.Transient.StreamsInbound, MaxTransientStreams},
		{"inbound streams per peer and protocol", l.ProtocolPeerDefault.StreamsInbound, MaxInboundStreamsPerProtocolPeer},
		{"inbound streams per protocol", l.ProtocolDefault.StreamsInbound, MaxInboundStreamsPerProtocol},
	}
	for _, c := range cases {
		if int(c.got) != c.want {
			t.Errorf("%s: %d, want %d", c.name, c.got, c.want)
		}
	}
	if sys := int(l.System.StreamsInbound); sys < MaxTransientStreams || sys < MaxInboundStreamsPerProtocol {
		t.Errorf("system inbound streams %d below the limits under it", sys)
	}
}
