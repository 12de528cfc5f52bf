package api

// NATStatus is what the node believes about its reachability, in GET
// /status as "nat".
type NATStatus struct {
	// Reachability is AutoNAT's verdict: "public", "private" or "unknown".
	Reachability string `json:"reachability"`
	// ReachableAddrs and UnreachableAddrs are the addresses AutoNAT v2
	// confirmed from other peers.
	ReachableAddrs   []string `json:"reachable_addrs"`
	UnreachableAddrs []string `json:"unreachable_addrs"`
	// AnnouncedAddrs are the addresses advertised to peers (the listen
	// addresses, or --announce, and the relayed addresses).
	AnnouncedAddrs []string `json:"announced_addrs"`
	// RelayAddrs are the relayed addresses: one per relay holding a
	// reservation for this node and per transport of that relay.
	RelayAddrs []string `json:"relay_addrs"`
	// RelayService: --relay-service was given; RelayServing: the service
	// runs (only while the node is publicly reachable).
	RelayService bool `json:"relay_service"`
	RelayServing bool `json:"relay_serving"`
	// PortMap: --nat-portmap was given.
	PortMap bool `json:"port_map"`
	// HolePunchesOK and HolePunchesFailed count the hole punches that
	// ended with a direct connection and those that did not.
	HolePunchesOK     int64 `json:"hole_punches_ok"`
	HolePunchesFailed int64 `json:"hole_punches_failed"`
}
