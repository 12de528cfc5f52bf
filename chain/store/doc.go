// Package store is this node's copy of the chain: every valid block it has
// seen, the main chain of most work, the pending pool and, on a signed
// network, the accounts, kept in a bbolt file and block files beside it.
// What is valid is package chain's to say (PROTOCOL.md 10); this package
// decides what to keep and keeps it.
//
// [Open] opens or creates the store of one network and returns a [Chain],
// safe for concurrent use. Blocks enter through [Chain.AddBlock],
// [Chain.AddBlocks] (a batch in one store transaction, for catching up),
// [Chain.AddBlockThen] (a hook once the block is valid, before it is
// written: where a node relays it), [Chain.AddUnrequestedBlock] and
// [Chain.AddFetchedBlocks] (the side-branch policy of sidebranch.go);
// transactions through [Chain.AddTransaction] and its Async and From forms
// (pool.go, poolquota.go). Fork choice follows the most cumulative work; on
// a tie the head stays. A reorganisation rolls the main chain back to the
// fork, applies the branch (on a signed network after a trial on a copy of
// the accounts), returns the abandoned blocks' transactions to the front
// of the pool unless the new main chain holds them, and checks the pool
// against the new accounts; [AddResult] reports it.
//
// # Layout
//
// A bbolt file (Config.Path, e.g. <datadir>/chain.db), format 6, fsynced
// on every commit, and beside it the block bodies in append-only segment
// files, <Config.Path>.blocks/<number>.seg (segment.go): records of length
// (4) || CRC-32C (4) || binary block, a new segment every 64 MiB. Every
// block, main chain or side, is written there once, in the order it
// arrives; the bbolt file holds its stub. The records past "segend" are
// the log of the single blocks acknowledged since the last commit (see
// the two phases of a write). Every integer is big-endian, so
// cursors visit heights, run numbers and sequences in order. Buckets
// (store.go):
//
//	meta      "version"  → uint64 6
//	          "network"  → the network name
//	          "genesis"  → the genesis hash (32)
//	          "params"   → the network's parameters (chain.NetParams.AppendBinary),
//	                       to name the one a refused node differs in; added
//	                       within format 3 (network.go)
//	          "head"     → the head hash (32), as of the last commit
//	          "verified" → height (8) || hash (32): checked up to here
//	          "indexed"  → height (8): the index runs cover the main chain to here
//	          "segend"   → segment (4) || offset (4): the end of the bodies
//	                       this commit refers to
//	chain     height (8) → hash (32) || entry (48) || location (12); main
//	          chain only, so adding a block appends (a record written in
//	          format 5 also carries the header, 136 more bytes)
//	side      block hash (32) → stub; blocks off the main chain
//	hashix    run number (8) → a bucket: "run" → entries of block hash
//	          prefix (8) || height (4); "bloom" → the filter of the prefixes
//	txix      the same, keyed by transaction id prefix
//	pool      sequence (8) → the transaction's encoding (PROTOCOL.md 2.1, 2.4);
//	          the sequence is an int64 with its sign bit flipped, so that
//	          returned transactions (negative, decreasing) come before new
//	          ones (increasing from 0)
//	accounts  address → balance (8) || next nonce (8); an account back at
//	          zero is deleted (signed ledger only, ledger.go)
//	undo      height (8) → uint32 count, then per account the block touched
//	          uint8 length || address || prior balance (8) || prior next
//	          nonce (8) (signed ledger only)
//	addrix    like hashix, keyed by SHA-256(address) prefix; one entry per
//	          address a main-chain block involves (signed ledger only,
//	          addrindex.go)
//	smt       node hash (32) → an account-state map node (65), a leaf
//	          followed by the balance (8) and next nonce (8) it commits to
//	          (signed ledger only, state.go); never deleted
//	roots     height (8) → the state root after the main-chain block
//	          (signed ledger only); created on open in a store that lacks
//	          them, from the accounts and the undo data
//
// A stub is entry (48) || the body's location, segment (4) || offset (4)
// || length (4) || the block's header (chain.HeaderSize). An entry is
// cumulative work (32) || time mark (8) || the parent's time mark (8):
// what validating a child needs of its parent ([chain.Parent]). A
// main-chain record holds no header: the body begins with it, and is read
// for it (the segments are in the page cache). A reorganisation moves
// stubs between chain and side; bodies never move.
// The JSON encoding of a block is rendered when it is asked for.
// The index runs (hashindex.go) are sorted by prefix then height and
// merged four at a time up to a few MB; a run number is never reused. A
// filter has 10 bits per entry in 64-byte lines, 6 of them set per entry
// within one line. The
// entries above "indexed" live only in memory (the tails) and are rebuilt
// from their blocks on open. An index hit is a hint, confirmed against the
// block it names. The duplicate-transaction check of a new block asks
// one in-memory filter of every transaction id in the index first
// (dupfilter.go, 1.25 to 2.5 bytes per id, built on open by a goroutine
// the Chain owns), so that a new id costs one cache line at any chain
// length; only a "maybe" reads the runs. Format 1 (buckets blocks, main, txindex; protocol 1) is
// set aside as chain.db.protocol1, and formats 2 to 4 (headers of version
// 2) as chain.db.protocol2 with their segments as
// chain.db.protocol2.blocks; a new chain starts with the old store's valid
// pending transactions, and one WARN line names where the old store went
// (migrate.go). Format 5 is upgraded in place to format 6 by its version
// alone, with one INFO line: its records keep their header copies. Before bbolt maps the file, Open reads its meta pages
// itself (storecheck.go); it then reads the records past "segend" up to
// the first that is torn, fails its checksum or does not decode, cuts the
// segments there, checks the blocks past "verified" and above "indexed",
// and adds the blocks of those records that extend the head one after
// another again through the add path, in one commit, their bodies where
// they are (replay.go, one log line): single blocks acknowledged before
// their commit, or a batch on the head whose commit a crash cut off. From
// the first record that does not extend them (a side block or a
// reorganisation whose commit was cut off, never acknowledged) the
// segments are cut. Then it reads the pool. Damage is an error naming the
// file, never a panic.
// A meta page that bbolt would pass over (damaged, or a stale copy), while
// the block files hold records past the end the other page's commit
// recorded, may be a lost commit: Open refuses it (ErrRolledBack) unless
// Config.AcceptRollback accepts it, and then replays as above
// (rollback.go).
//
// # Locks
//
// In this order, never the reverse:
//
//  1. Chain.mu serialises the writers: adding blocks, changing the pool's
//     membership, pruning side blocks; Account, BlockTemplate and
//     SideBlocks take it to read a consistent state. Other readers do not.
//  2. defers.mu: a reader holds it shared only while it begins its read
//     transaction and takes the pending changes that go with it
//     (Chain.view); the commit of the pending changes holds it, under
//     Chain.mu, around its write transaction.
//  3. The store's write transaction: blocks are written under Chain.mu.
//     The pool's group committer and its fairness eviction (poolquota.go)
//     write pool entries without it, and take Chain.mu only once their
//     transaction has ended.
//     Read transactions may be opened under Chain.mu.
//  4. pool.mu, or one of the index locks (runIndex.mu, addrIndex.mu),
//     never both: taken inside a store transaction or under Chain.mu, and
//     alone by readers. The index tails change only after a commit (or a
//     single block's fsync, see below), under Chain.mu.
//
// The notify lock (the HeadChanged channel), committer.mu (taken under
// Chain.mu so that entries queue in pool order) and the signature cache's
// lock and the pending account-state nodes' lock (nodeLog.mu) are
// leaves. A read transaction pins bbolt's memory map, so a
// callback of MainChain, RawMainChain or MainChainJSON must not call the
// Chain (a nested read can deadlock with a writer growing the file) and
// should be quick.
//
// # The two phases of a write
//
// A single block that extends the head (a mined or gossiped block;
// deferred.go) writes only its segment record: appended, fsynced (one
// fsync, a page or two), and the block is acknowledged. Its bbolt changes
// (its main-chain record, the head, "verified", "segend", the pool entries
// it confirms or, on a signed network, makes invalid, and there its undo
// data, the accounts it changed, its state root and the account-state
// nodes it created) join the pending changes in memory
// (Chain.pend), which readers consult before bbolt; its index entries go
// to the tails as usual. The pending changes are written in one ordinary
// commit once there are 64 of them or the oldest is 10 minutes old (a
// goroutine the Chain owns), before any other write of blocks (a batch, a
// side block, a reorganisation, a block that would flush the tails), and
// on Close. A commit never refers to a body not yet fsynced; a kill before
// it loses nothing, since Open replays the records past "segend" (before
// it reads the pool, which it checks against the accounts they leave).
// Everything else takes the path below.
//
// Adding blocks (add.go) first stages everything in one store transaction,
// under Chain.mu: the bodies appended to the segments (buffered, then
// written and fsynced at the end of the transaction, before it commits),
// the block records and side blocks, on a signed network
// the undo data and the changed accounts, the head and "verified", the
// index runs and "indexed" when the tails are full or a reorganisation
// reached below "indexed", and the pool's bucket (what the new main chain
// holds leaves it, and on a signed network what the new accounts make
// invalid; returned transactions go to its front). Memory is not
// touched: the writer collects what it will have to learn. If the
// transaction fails, that is dropped, the segments are cut back to the
// last committed end and nothing changed.
//
// Once the transaction has committed, the writer publishes, still under
// Chain.mu: the new index entries go into the tails, or after a flush the
// run directory is read from the committed store and replaces them (a
// reader that missed both reads again); the side-block index; the pool in
// memory; the median-time window and the head's entry; then the head
// pointer (an atomic, which Chain.Head loads without a lock) and the close
// of the HeadChanged channel. So the head in memory never runs ahead of
// the disk, and a block whose AddBlock returned no error survives kill -9
// (kill_test.go).
//
// The pool goes the other way: a transaction enters the pool in memory
// under Chain.mu, so that it is relayed as soon as it is valid, and the
// committer writes it in the next group commit (concurrent submissions
// share one fsync, with no waiting window). AddTransaction returns once it
// is on disk; a failed write takes it out of the pool again.
package store
