package p2p

import (
	"testing"

	rcmgr "github.com/libp2p/go-libp2p/p2p/host/resource-manager"
)

// TestStreamLimitsFixed: the stream limits PROTOCOL.md states are those the
// resource manager enforces, on this machine as on any other (libp2p's own
// defaults scale with memory): the per-peer ones in libp2p's scopes, the
// global ones in the shared limits, with libp2p's at backstop times them.
func TestStreamLimitsFixed(t *testing.T) {
	l := resourceLimits().ToPartialLimitConfig()
	cases := []struct {
		name string
		got  rcmgr.LimitVal
		want int
	}{
		{"inbound streams per peer", l.PeerDefault.StreamsInbound, MaxInboundStreamsPerPeer},
		{"inbound streams not negotiated (libp2p's backstop)", l.Transient.StreamsInbound, backstop * MaxTransientStreams},
		{"inbound streams per peer and protocol", l.ProtocolPeerDefault.StreamsInbound, MaxInboundStreamsPerProtocolPeer},
		{"inbound streams per protocol (libp2p's backstop)", l.ProtocolDefault.StreamsInbound, backstop * MaxInboundStreamsPerProtocol},
	}
	for _, c := range cases {
		if int(c.got) != c.want {
			t.Errorf("%s: %d, want %d", c.name, c.got, c.want)
		}
	}
	rm := newSharingManager(nil)
	if rm.transient.limit != MaxTransientStreams || rm.protocolPool("/x").limit != MaxInboundStreamsPerProtocol {
		t.Errorf("shared limits %d and %d, want %d and %d", rm.transient.limit, rm.protocolPool("/x").limit, MaxTransientStreams, MaxInboundStreamsPerProtocol)
	}
	if sys := int(l.System.StreamsInbound); sys < backstop*MaxTransientStreams || sys < backstop*MaxInboundStreamsPerProtocol {
		t.Errorf("system inbound streams %d below the limits under it", sys)
	}
}
