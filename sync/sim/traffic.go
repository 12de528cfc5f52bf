package sim

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// bytesSample is what a set of nodes has received, summed over the nodes:
// at their simulated endpoints (UDP payloads, QUIC's own packets included)
// and on their streams by protocol (p2p.TrafficStats: per stream protocol,
// per gossip topic and the gossip control messages).
type bytesSample struct {
	udp   float64
	proto map[string]float64
}

// sampleBytes returns the bytes the nodes have received so far.
func sampleBytes(nodes []*Node) bytesSample {
	s := bytesSample{proto: make(map[string]float64)}
	for _, nd := range nodes {
		s.udp += float64(nd.BytesReceived())
		for p, v := range nd.P2P.Traffic().Received {
			s.proto[p] += float64(v)
		}
	}
	return s
}

// since returns (s − earlier) × f: the bytes received between the two
// samples, scaled (by 1/nodes for a mean per node, by a ratio of spans).
func (s bytesSample) since(earlier bytesSample, f float64) bytesSample {
	out := bytesSample{udp: (s.udp - earlier.udp) * f, proto: make(map[string]float64, len(s.proto))}
	for p, v := range s.proto {
		out.proto[p] = (v - earlier.proto[p]) * f
	}
	return out
}

// plus returns s + o, protocol by protocol; minus s − o.
func (s bytesSample) plus(o bytesSample) bytesSample  { return s.combine(o, 1) }
func (s bytesSample) minus(o bytesSample) bytesSample { return s.combine(o, -1) }

func (s bytesSample) combine(o bytesSample, sign float64) bytesSample {
	out := bytesSample{udp: s.udp + sign*o.udp, proto: maps.Clone(s.proto)}
	if out.proto == nil {
		out.proto = make(map[string]float64)
	}
	for p, v := range o.proto {
		out.proto[p] += sign * v
	}
	return out
}

// streams returns the sum over the protocols.
func (s bytesSample) streams() float64 {
	var t float64
	for _, v := range s.proto {
		t += v
	}
	return t
}

// String lists the protocols, largest first, leaving out those within
// ±10 bytes (idle noise).
func (s bytesSample) String() string {
	keys := slices.SortedFunc(maps.Keys(s.proto), func(a, b string) int {
		return cmp.Or(cmp.Compare(s.proto[b], s.proto[a]), strings.Compare(a, b))
	})
	var parts []string
	for _, k := range keys {
		if v := s.proto[k]; v >= 10 || v <= -10 {
			parts = append(parts, fmt.Sprintf("%s %.0f", k, v))
		}
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}
