package main

import (
	"fmt"
	"strings"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/multiformats/go-multiaddr"

	"github.com/gossipchain/gossipchain/api"
	"github.com/gossipchain/gossipchain/p2p"
)

// natStatus presents the reachability of the p2p node of peer ID id as GET
// /status "nat".
func natStatus(st p2p.NATStatus, id peer.ID) api.NATStatus {
	full, err := peer.AddrInfoToP2pAddrs(&peer.AddrInfo{ID: id, Addrs: st.Announced})
	if err != nil {
		full = nil
	}
	return api.NATStatus{
		Reachability:      st.Reachability,
		ReachableAddrs:    addrStrings(st.ReachableAddrs),
		UnreachableAddrs:  addrStrings(st.UnreachableAddrs),
		AnnouncedAddrs:    addrStrings(st.Announced),
		AnnouncedP2PAddrs: addrStrings(full),
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

// natSummary is the "reachability" line of gossipchain status: AutoNAT's
// verdict, the relays holding a reservation (relayAddrs has one address per
// relay and transport) and whether the relay service runs.
func natSummary(reach string, relayAddrs []string, serving bool) string {
	s := reach
	relays := map[string]bool{}
	for _, a := range relayAddrs {
		if before, _, ok := strings.Cut(a, "/p2p-circuit"); ok {
			relays[before[strings.LastIndex(before, "/p2p/")+1:]] = true
		}
	}
	if len(relays) > 0 {
		s += fmt.Sprintf(", relay reservations on %d relay(s)", len(relays))
	}
	if serving {
		s += ", relay service on"
	}
	return s
}
