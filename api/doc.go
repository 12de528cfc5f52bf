// Package api is the node's HTTP API: it decodes requests, calls the chain,
// the network and the miner through the small interfaces Chain, Network and
// Miner, and encodes the answers. It holds no chain logic.
//
// The tutorial's endpoints keep its shapes, status codes and messages, so its
// curl walkthrough works unchanged:
//
//	POST /transactions/new  {"sender","recipient","amount"}
//	    201 {"message": "Transaction will be added to Block N", "id"}
//	    N is the head's height + 1. 400 {"error": "Missing values"} when a
//	    field is missing or null; 400 for malformed JSON, wrong types, unknown
//	    fields, trailing data, an amount that is not an integer from 1 to
//	    2^53-1, or a sender "0" (reserved for rewards); 409 already known;
//	    413 body over the limit; 503 pending pool full. On a signed network
//	    400 {"error", "rule": "signature_required"} saying to use
//	    gossipchain send or POST /transactions.
//	GET|POST /mine
//	    200 {"message": "New Block Forged", "index", "transactions", "proof",
//	    "previous_hash", "hash"}; the block is added and published. Mining
//	    is serialised by the miner, and restarts when a new head arrives.
//	    503 when cancelled (shutdown) or past the mining timeout. With
//	    ?blocks=N (1..MaxMineBlocks) N blocks, each within the timeout:
//	    200 {"message": "New Blocks Forged", "blocks", "height", "head"}.
//	GET /chain
//	    200 {"chain": [blocks], "length": N}: the whole main chain from the
//	    genesis (index 1), streamed batch by batch; "length" is the number of
//	    blocks, that is the height. With ?from=I&limit=L (from >= 1, default
//	    1; limit 1..10000, default 1000) one page starting at index I, and
//	    "length" is still the height of the whole chain. 400 for bad values.
//	    Should the main chain be reorganised below the blocks already
//	    written, the stream ends early: what is served always links up.
//	POST /nodes/register  {"nodes": [...]}
//	    201 {"message": "New nodes have been added", "total_nodes": [...]}
//	    with the multiaddrs (remote address + /p2p/ id) of every connected
//	    peer. An entry is a multiaddr ending in /p2p/<id>, or another node's
//	    HTTP URL (http://host:port, or host:port as the tutorial allows),
//	    whose GET /status gives its multiaddrs; those on the URL's host are
//	    dialled first. 400 {"error": "Error: Please supply a valid list of
//	    nodes"} without a non-empty list of strings; 400 naming each entry
//	    that cannot be parsed, fetched, or dialled, or that is on another
//	    network.
//	GET /nodes/resolve
//	    200 {"message": "Our chain was replaced", "new_chain": [...]} or
//	    {"message": "Our chain is authoritative", "chain": [...]}, after
//	    asking every connected peer for a heavier chain. 502 when resolving
//	    fails, 504 past the timeout.
//
// Inspection and submission:
//
//	GET /status  {"peer_id", "addrs" (full multiaddrs with /p2p/),
//	    "network", "genesis", "height", "head", "head_timestamp",
//	    "total_work" (decimal string), "peers", "pending", "mining",
//	    "difficulty", "params" (the consensus parameters, "ledger" among
//	    them: open or signed), "miner_address", "hash_rate", "syncing",
//	    "target_height", "version"}; "mining" is true while any search
//	    runs (continuous or GET /mine), "hash_rate" is 0 when none does
//	GET /peers  [{"id", "addr", "direction", "source", "height"}]
//	GET /forks  the side and abandoned branches seen since the start
//	GET /blocks/recent?limit=&to=  the latest main-chain blocks in brief
//	    (index, hash, previous_hash, timestamp, bits, size, miner,
//	    transactions), newest first (recent.go)
//	GET /addresses/{address}?limit=&scan=  an address's history
//	GET /events  Server-Sent Events (events.go)
//	GET /  the explorer (package explorer)
//	GET /blocks/{id}  a block by index (decimal, main chain) or hash (64
//	    hex, any branch), as in /chain; 404 unknown, 400 neither form
//	GET /transactions/pending?limit=  {"transactions", "total"}
//	POST /transactions  a signed transaction {"sender", "recipient",
//	    "amount", "nonce", "signature"} (an "id", as GET /transactions/{id}
//	    serves it, is checked when given), on a signed network:
//	    201 {"message": "Transaction will be added to Block N", "id",
//	    "nonce"}; 400 {"error", "rule"} for a missing field, a malformed
//	    value or a broken rule, the rule among bad_transaction (not an
//	    address, wrong id), bad_signature (does not verify: another
//	    network's genesis, a changed field), bad_nonce (not the sender's
//	    pending_nonce), insufficient_balance; 409 already known (pending or
//	    in a block); 413 body over the limit; 503 pool or the sender's
//	    share of it full. On an open network 400: use /transactions/new.
//	POST /transactions/batch  {"transactions": [...]}, up to 1,000, each
//	    as /transactions/new (or /transactions on a signed network) takes
//	    it; 200 {"accepted", "results": [{"status", "message", "id",
//	    "nonce", "error", "rule"}]} in order, once the accepted ones are on
//	    disk in one commit; 400 not a batch or empty; 413 over 1,000 or
//	    1 MiB (batch.go).
//	GET /accounts/{address}  {"address", "balance", "next_nonce",
//	    "pending", "pending_spend", "pending_nonce", "pending_transactions",
//	    "height", "head"}: balance and next nonce at the head, the
//	    sender's pending transactions (count, total amount and fees, the
//	    list in nonce order, each with its "fee") and the nonce of its
//	    next one;
//	    an unused address has a zero account; 400 not an address
//	GET /accounts/{address}/transactions?limit=&cursor=  {"address",
//	    "transactions": [{"direction", "block_index", "block_hash",
//	    "transaction", "fees"}], "next_cursor"}: the main-chain history
//	    ("fees": a reward's share of its block's fees), newest
//	    first, limit 1..1000 (default 100); next_cursor ("" on the last
//	    page) is the cursor of the next page; 400 bad cursor or address.
//	    Both account endpoints answer 404 on an open network, which keeps
//	    no accounts (GET /addresses/{address} lists its transactions).
//	GET /fees  {"unit", "min_relay_fee_rate", "typical_size", "pending",
//	    "recent_blocks", "estimates": [{"blocks", "fee_rate", "fee"}]}: the
//	    fee rate (per 1000 bytes) and the fee of a typical transfer for
//	    inclusion within 1, 3 and 10 blocks (fees.go); 404 on an open
//	    network, whose ledger has no fees.
//	GET /transactions/{id}  {"transaction", "status": "pending"|"confirmed",
//	    "block_index", "block_hash", "confirmations"}; 404 unknown
//	POST /blocks  a block in the JSON of /chain, validated exactly like a
//	    gossiped block and published when accepted:
//	    201 {"status": "extended"|"reorganized"|"side_branch", ...};
//	    200 "known"; 202 "orphan" (parent unknown: held while its ancestors
//	    are fetched from peers); 400 {"error", "rule"} for an invalid block;
//	    413 over four times the network's block size limit
//	GET /proof/tx/{id}, GET /proof/account/{address}?at=HEIGHT|HASH  a
//	    full node's proofs (PROTOCOL.md 13) with their JSON; GET /headers?
//	    from=&count=  main-chain headers, 136 bytes each, at most 2000
//	    (proof.go, headers.go); 501 from a Chain that is no Prover or
//	    HeaderReader.
//	GET /metrics  Prometheus text format: chain height and work, pending
//	    transactions, peers, mining hash rate, blocks mined and submitted
//	    here, gossip and chain-exchange counters (blocks accepted and
//	    rejected by reason among them), HTTP requests by route and code, Go
//	    runtime and process metrics.
//
// Every answer is JSON, redirects included ({"message", "location"}), and
// ?pretty indents it. With Config.CORS, answers carry CORS headers for that
// origin. Every error is {"error": "..."} (with "rule" for a broken consensus
// rule): 404 for an unknown path, 405 with Allow for a wrong method, 413 for
// a body over its limit, 500 should a handler fail or panic. Every body is
// size-limited; the http.Server that Serve runs has read, write and idle
// timeouts, which the handlers that mine, resolve, register or stream
// extend for themselves.
package api
