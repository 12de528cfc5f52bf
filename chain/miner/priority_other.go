//go:build !linux

package miner

// atLowPriority runs search; outside Linux the search runs at the node's
// priority.
func atLowPriority(search func()) { search() }
