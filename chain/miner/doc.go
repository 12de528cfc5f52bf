// Package miner mines blocks: [Miner.MineBlock] takes a block template on
// the head, searches its proof of work on several cores and adds the block
// it finds to the chain, through AddBlock like any other block.
//
// It consumes the small [Chain] interface, which *store.Chain satisfies:
// the network's parameters, the head-change channel, the template
// (store.Chain.BlockTemplate: pending transactions first come, first
// served within the block limits, then the reward to the miner's address;
// the timestamp is the local clock, never before the median time nor past
// the future limit; bits is the target the retargeting rule requires) and
// AddBlock.
//
// The search runs on Config.Threads goroutines (default: every CPU), each
// taking chunks of 65,536 consecutive proofs. On Linux each runs on an OS
// thread of its own at the lowest priority (nice 19), ended with the
// search: on a busy core the node's other work (HTTP, gossip, validation)
// and other programs go first, while a search alone on an idle core runs at
// full speed; elsewhere the search runs at the node's priority. The searcher
// (chain/miner/internal/powhash, SHA-NI assembly where the CPU has it)
// filters on the leading zero bits of the target, and each hit is checked
// against the full 256-bit target (PROTOCOL.md 2.2, 10.1). Between chunks a
// thread stops when a proof is found, the context is cancelled or the head
// changes; on a new head, or when the mined block lands on a side branch
// because the head moved meanwhile, the miner starts again on the new head.
// Calls of MineBlock are serialised, so concurrent callers mine one block
// after another.
package miner
