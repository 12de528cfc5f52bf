package api

import "github.com/gossipchain/gossipchain/api/client"

// NATStatus is what the node believes about its reachability, in GET
// /status as "nat".
type NATStatus = client.NATStatus
