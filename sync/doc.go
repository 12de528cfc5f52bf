// Package sync joins the chain to the network. It owns what travels between
// gossipchain nodes once they are connected: block and transaction gossip, the
// status exchange, the chain-exchange protocol, the orphan pool, and adopting
// a heavier chain. It imports chain and p2p; chain knows no network and p2p
// knows bytes and peers, not blocks. The package name shadows the standard
// library's sync, which is imported here as gosync; importers usually name
// this package gsync.
//
// A node is assembled in one place, NewNode: it opens the chain store,
// builds the p2p host (with MaxMessageSize), the Service and the miner,
// starts the Service before the host and closes them in reverse. The
// command, the simulator (sync/sim) and the tests all build their nodes
// with it.
//
// A Service is built with New from the Chain it consumes (a *store.Chain,
// or a wrapper of one) and a p2p.Node, started with Start and stopped with
// Close:
//
//   - Gossip. It joins the topics BlocksTopicName(network) (unsigned
//     blocks, "/gossipchain/<network>/blocks/3") and
//     p2p.TopicName(network, "txs"). Every message is the 32-byte
//     content id (block hash, transaction id) followed by the binary encoding
//     of the block or transaction. The topic validators check the size before
//     decoding, check the id against the decoded content and add the content
//     to the chain or pending pool, so that only what was added is forwarded:
//     added → accept; already known, stale (StaleDepth blocks below the head)
//     or parent unknown → ignore; a broken rule → reject, which lowers the
//     sender's gossip score. A block whose parent is unknown is kept in the
//     orphan pool (bounded in count, bytes, blocks per peer and age) and the
//     missing blocks are fetched from the peer that sent it; orphans connect
//     as soon as their parent is added. A block too far ahead of the local
//     clock is ignored without penalty and waits in the same pool until it
//     is valid (MaxFutureWait); a valid side block refused by the chain's
//     side-branch policy is ignored; a transaction counts against the pool
//     share of the peer that forwarded it (store.Chain.AddTransactionFrom). SubmitTransaction, SubmitBlock and PublishBlock publish
//     what this node produces.
//
//   - Status (StatusProtocol). Whenever a peer connects, both ends send each
//     other their status: genesis hash, head hash, height and cumulative work.
//     A peer with another genesis is disconnected; a peer with more work is
//     synced from. Statuses are exchanged again every StatusInterval, and with
//     every peer after a sync moved our head, so that a node that missed a
//     gossiped block, or a lighter neighbour, catches up.
//
//   - Chain exchange (BlocksProtocol). A request carries a block locator and
//     a block count; the server answers with its main-chain blocks after the
//     first locator hash on its main chain, in bounded batches. The client
//     checks every reply (no longer than asked, starts after a locator hash,
//     every block links to the one before) and adds the blocks with
//     chain.AddFetchedBlocks, which validates each of them fully. A session
//     is bounded by SessionTimeout and by MaxNoProgress replies in a row that
//     bring nothing new; a peer whose replies make no progress, or end its
//     chain below the work its status claimed, is penalised. A server reads
//     a request within RequestReadTimeout, writes each part of its reply
//     within StallTimeout, and serves MaxServing requests at once,
//     MaxServingPerPeer of one peer. A peer that breaks
//     the protocol or serves an invalid block is penalised (disconnected and
//     banned by p2p.Node.Penalize); a peer that stalls meets the request
//     deadline and another peer is tried. The same protocol serves a whole
//     chain from the genesis (locator = [genesis]).
//
//   - Resolve asks every connected peer for its status and syncs from the
//     heaviest: the tutorial's /nodes/resolve.
//
//   - Pool exchange (PoolProtocol, poolx.go). When a peer is identified, each
//     end asks the other for the ids of its pending transactions and fetches
//     the ones it lacks in batches of MaxPoolFetch, added as gossiped ones.
//     Ids newly pending (received, submitted, returned by a reorganisation)
//     and ids pending for PoolRebroadcast are announced to every peer, which
//     fetches what it lacks: gossip would drop an id already in pubsub's
//     seen-cache. Per-peer budgets, bounded frames and deadlines as for the
//     other protocols. The ids peers name cost them, not this node
//     (poolfetch.go): a check per id that does not grow with the chain,
//     a budget of ids per second shared by every peer with as much again
//     reserved for peers this node dialled or that delivered, a bounded set
//     of ids to fetch that sheds the largest holder's, every request on a
//     fixed pool of workers, and a penalty for a peer that names more than
//     it delivers.
//
// PROTOCOL.md at the root of the repository documents every message byte by
// byte, with its limits and status codes.
package sync
