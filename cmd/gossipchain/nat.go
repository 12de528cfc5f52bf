package main

import (
	"fmt"

	"github.com/multiformats/go-multiaddr"

	"github.com/gossipchain/gossipchain/api"
	"github.com/gossipchain/gossipchain/p2p"
)

// natStatus presents the p2p node's reachability as GET /status "nat".
func natStatus(st p2p.NATStatus) api.NATStatus {
	return api.NATStatus{
		Reachability:      st.Reachability,
		ReachableAddrs:    addrStrings(st.ReachableAddrs),
		UnreachableAddrs:  addrStrings(st.UnreachableAddrs),
		AnnouncedAddrs:    addrStrings(st.Announced),
		RelayAddrs:        addrStrings(st.RelayAddrs),
		RelayService:      st.RelayService,
		RelayServing:      st.RelayServing,
		PortMap:           st.PortMap,
		HolePunchesOK:     st.HolePunchesOK,
		HolePunchesFailed: st.HolePunchesFailed,
	}
}

// addrStrings formats addrs, never returning nil (JSON [] rather than null).
func addrStrings(addrs []multiaddr.Multiaddr) []string {
	out := make([]string, 0, len(addrs))
	for _, a := range addrs {
		out = append(out, a.String())
	}
	return out
}

// natSummary is the "reachability" line of gossipchain status.
func natSummary(reach string, relays int, serving bool) string {
	s := reach
	if relays > 0 {
		s += fmt.Sprintf(", %d relay reservation(s)", relays)
	}
	if serving {
		s += ", relay service on"
	}
	return s
}
