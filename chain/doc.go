// Package chain is the consensus core of gossipchain: blocks and
// transactions, their canonical encodings and hashes, proof of work,
// validation, fork choice and reorganisation, the pending pool, the on-disk
// store and the miner.
//
// It knows no network and no HTTP: it imports neither libp2p's networking
// nor net/http nor any other gossipchain package. (It imports libp2p's key
// and peer ID encodings, core/crypto and core/peer, because an address of
// the signed ledger is the peer ID of a key.) The network layer (sync) hands it
// blocks and transactions from peers and reads the outcome from the
// returned errors; the HTTP layer (api) reads the chain and submits
// transactions and blocks through the same calls. Everything that reaches
// the chain, from a peer, the API, the local miner or the disk on start-up,
// goes through the same validation.
//
// # Entry points
//
// [Open] opens (or creates) a node's store for one network's [Params] and
// returns a [Chain], safe for concurrent use:
//
//   - writes: [Chain.AddBlock], [Chain.AddBlocks] (a batch in one disk
//     transaction, the call for catching up), [Chain.AddBlockThen] (a hook
//     once the block is valid, before it is written: where a node relays
//     it), [Chain.AddTransaction], [Chain.AddTransactionAsync] (valid and
//     pending now, durable when its channel says so);
//   - reads: [Chain.Head] (lock-free), [Chain.HeadChanged],
//     [Chain.BlockByHeight], [Chain.BlockByHash], [Chain.HasBlock],
//     [Chain.IsMain], [Chain.MainChain], [Chain.RawMainChain],
//     [Chain.RawMainChainHashed] and [Chain.MainChainJSON] (a range of the
//     main chain from one snapshot, the stored encodings without copying),
//     [Chain.Pending], [Chain.PendingCount], [Chain.FindTransaction];
//   - for chain exchange: [Chain.Locator] and [Chain.LocateFork].
//
// [NewMiner] builds a [Miner] whose [Miner.MineBlock] assembles a block from
// the pool, searches its proof on several cores and adds it to the chain.
// Decoders for data from outside: [DecodeBlock] and [DecodeTransaction]
// (binary), [DecodeBlockJSON] and [DecodeTransactionJSON] (strict JSON).
//
// # Ledgers
//
// A network's ledger mode ([Params.Ledger], committed to by its genesis)
// is [LedgerOpen], the tutorial's free-form senders, or [LedgerSigned]:
// accounts whose addresses are libp2p peer IDs of Ed25519 keys
// ([AddressOf], [PublicKeyOf], key files with [LoadKey] and [SaveKey] in
// the format of a node's identity.key), transactions signed by their
// sender ([SignTransaction], [Transaction.Sign], [VerifySignature] states
// the verification rule) whose nonce is the sender's account sequence,
// balances that rewards credit, and per-block undo data (ledger.go). On a
// signed network [Chain.Account] gives an address's balance, next nonce
// and pending transactions, [Chain.AccountTransactions] pages its history
// through an address index (addrindex.go), and admission, block assembly
// and validation refuse what breaks the ledger's rules with the codes
// [ErrSignatureRequired], [ErrBadSignature], [ErrBadNonce] and
// [ErrInsufficientBalance] (compare with errors.Is).
//
// # Data model and JSON
//
// The JSON shapes are the tutorial's ("Learn Blockchains by Building One")
// plus what the hash needs. A transaction:
//
//	{"id": "<64 hex>", "sender": "alice", "recipient": "bob", "amount": 5, "nonce": 4185937207135744}
//
// amount is a positive integer of at most [MaxAmount] = 2^53-1 (exact in
// every JSON implementation); nonce is any uint64 that tells two otherwise
// equal payments apart ([NewTransaction] draws 53 random bits, so that it
// too is exact as a float64); id is the SHA-256 of the canonical encoding
// below and so commits to every other field. The mining reward is a
// transaction from [RewardSender] "0" to the miner, of the network's
// reward, whose nonce is the block's index.
//
// A block (the devnet genesis, as /chain serves it):
//
//	{"index": 1, "timestamp": 1704067200.000000,
//	 "transactions": [{"id": "fda57fccabf8c5ed344d8d3e35bdadbc86084b0bcdbe1f4194610826c65da225",
//	                   "sender": "0", "recipient": "gossipchain:devnet", "amount": 1, "nonce": 1}],
//	 "proof": 0,
//	 "previous_hash": "0000000000000000000000000000000000000000000000000000000000000000",
//	 "difficulty": 20,
//	 "tx_root": "fde56062c207411c3878e489415412f42150b3196d0d389619ff7e0f48c01f44",
//	 "hash": "cfc27b70fa09eec81368dea45c3ec4a6811d575315e5f923a548863cd91fb615"}
//
// The genesis has index 1; hashes are 64 lower-case hex characters (either
// case is read). "hash" is the block hash as its producer states it;
// validation recomputes it.
//
// Timestamps ([Timestamp]) are whole microseconds since the Unix epoch. In
// JSON they are Unix seconds with a fractional part, as in the tutorial:
// encoding always writes exactly six fractional digits
// ("1704067260.123456"); decoding accepts a plain decimal number with at
// most six fractional digits, an optional leading '-', no exponent, no
// leading zero and no quotes ([ParseTimestamp]). So every timestamp
// survives any number of JSON round trips exactly, and every node hashes
// the same value.
//
// JSON decoding of blocks and transactions is strict: the object must have
// exactly the documented keys, each once, spelled exactly (encoding/json's
// case-insensitive matching is not used), none null; numbers must be
// integers of the field's type (no fraction, exponent, sign or overflow);
// nothing but white space may follow the value; a block's transactions
// are counted as they are decoded and refused past the limit. Every such
// failure is a [RuleError] with code [ErrMalformed] (or [ErrTooLarge] for
// the count).
// Decoding keeps the stated hash and ids; validation judges them. The hash
// depends only on the decoded values, never on the JSON's spacing or key
// order.
//
// # Canonical encodings
//
// All integers are big-endian; a Timestamp is written as the two's
// complement uint64 of its int64 value.
//
// A transaction's canonical encoding (also its binary wire form) is
//
//	size      field
//	2         n = byte length of sender (at most MaxAddressLen = 128)
//	n         sender, UTF-8
//	2         m = byte length of recipient (at most 128)
//	m         recipient, UTF-8
//	8         amount
//	8         nonce
//
// and its id is SHA-256 of those 20+n+m bytes. A signed transaction (the
// signed ledger) sets bit 15 of the sender length (0x8000 | n) and has its
// 64-byte signature after the nonce; its id covers the signature too
// (PROTOCOL.md 2.4). The id itself is never encoded: decoders compute it. Example: alice → bob, amount 5, nonce 1 is
// 0005 616c696365 0003 626f62 0000000000000005 0000000000000001, id
// e0abb7064f3b820b2a268eb32d32b924462d22fdfe6e66eca6394522a6946b6d.
//
// The transaction commitment tx_root ([TxRoot]) is SHA-256 over the
// uint32 number of transactions followed by each transaction's 32-byte id,
// in block order: 4 + 32·count bytes. It commits to the order and, through
// the ids, to every field of every transaction.
//
// The header ([Block.Header]) is exactly [HeaderSize] = 96 bytes:
//
//	offset size field
//	0      32   previous_hash
//	32     32   tx_root
//	64     4    version, uint32, HeaderVersion = 1
//	68     8    index, uint64
//	76     8    timestamp, int64 Unix microseconds
//	84     4    difficulty, uint32
//	88     8    proof, uint64
//
// and the block hash is SHA-256 of those 96 bytes ([Block.ComputeHash]).
// The header covers every field of the block, the transactions through
// tx_root, so changing any byte of a block changes its hash, breaks its
// proof, and breaks the previous_hash of every later block. The first 64
// bytes are the first SHA-256 block and do not change while a miner tries
// proofs; the proof sits in the second (final, padded) SHA-256 block, so
// that each attempt costs one compression (see the internal powhash
// package).
//
// The binary encoding of a block ([Block.AppendBinary], [DecodeBlock]),
// used on the wire and in the store, is
//
//	size  field
//	96    the header above
//	4     count, uint32: the number of transactions
//	...   count canonical transaction encodings, back to back
//
// with nothing after them. The stated hash and the ids are not encoded:
// [DecodeBlock] computes them. The encoding is a bijection: a decoded
// block re-encodes to the same bytes. Decoding refuses another header
// version, a count above its limit (at most [MaxTxsLimit]), more
// transactions than the remaining bytes can hold, an address longer than
// 128 bytes, truncation and trailing bytes.
//
// # Proof of work and parameters
//
// A block meets the proof of work when its hash, read as a 256-bit
// big-endian integer, is at most the target of its header's compact form
// bits ([Compact], Bitcoin's nBits; [PowTarget] compares all 256 bits).
// The proof covers the whole block, so a proof copied from another block
// is worthless. The work of a block is floor(2^256 ÷ (target+1)) expected
// attempts ([TargetWork], [AddWork]); a chain's cumulative work is the sum
// of its blocks', kept with every block in the store.
//
// [Params] are a network's consensus parameters, the same set as
// [NetParams] ([Params.Net]): name, target block time, half-life, initial
// and maximum target, difficulty mode (retargeting or fixed), reward and
// block limits. [NewParams] makes a fixed network of d leading zero bits
// (the compact of [ZeroBitsTarget](d)); [NewRetargetParams] and
// [DefaultParams] a retargeting one. The genesis ([Params.Genesis]) is
// fixed by them: index 1, timestamp [GenesisTimestamp]
// (2024-01-01T00:00:00Z), previous_hash = [NetParams.Commitment] (so
// every parameter changes the genesis hash), bits = the initial target,
// proof 0, and one reward transaction to "gossipchain:<name>"
// ([Params.GenesisRecipient]) with the network's reward and nonce 1. The
// genesis need not meet the proof of work: it is compared, not validated.
//
// # Difficulty retargeting
//
// The target follows the hash rate toward a target block time. The
// parts: [Compact] (the header's compact target), [TargetWork] and
// [AddWork], [PowTarget], [ASERT] (the aserti3-2d formula of Bitcoin
// Cash, integer arithmetic only), [NetParams.NextTarget] and [TimeMark]
// (the rule; [Params.NextBits] applies it to a stored parent, whose
// [Parent] entry holds its time marks and cumulative work),
// [NetParams.CheckTimestamp] and [FutureLimit] (the timestamp rules), and
// [NetParams] (every consensus parameter, with the canonical encoding a
// genesis commits to). PROTOCOL.md specifies them; testdata/ holds
// vectors.
//
// The rule. Block n+1 requires target(n) · 2^((solve(n) − T)/H) in
// aserti3-2d's fixed point, where T is the target block time, H the
// half-life, and solve(n) the time by which block n advanced the latest
// timestamp of its chain (its time mark), at least 0 and at most 6·T. The
// genesis and its child carry the initial target, and the genesis's
// timestamp never counts. Over a run of blocks the exponents add up, so
// the target is aserti3-2d's: 2^((mark − anchor time − T·blocks)/H) from
// any block taken as anchor; the difference is only that no single block
// advances the schedule by more than 5·T.
//
// Why ASERT, and why from the parent. Bitcoin retargets every 2016 blocks
// by the ratio of the window's time span to two weeks, clamped to 4×.
// After a 10× rise in hash rate its next retarget comes 10× early and
// corrects 4×, the one after 2.5×: about 1,000 block times at the wrong
// rate. After a 10× drop the first retarget waits 2016 slow blocks, about
// 20,000 block times. LWMA (a linearly weighted moving average of the last
// N solve times) follows in about N blocks but weighs each timestamp by
// its position in the window and must clamp solve times, which opens
// exploits, and it needs N past timestamps. ASERT needs the parent alone
// and is exact: a timestamp acts only through how far the chain's time is
// ahead of or behind the schedule. With H = 60·T, the simulation in the
// tests settles a 10× rise in 2 half-lives (120 block times; the mean
// over 20 seeds of log2(target / equilibrium) within log2(4/3) from then
// on) and a 10× drop in 7.2 half-lives (432 block times). A drop cannot be
// much faster under any rule with this half-life: a target rises at most
// 2× per half-life that blocks run late, so log2(10) = 3.3 half-lives at
// the least; the cap on solve times (a 10·T block counts as 6·T) slows it
// to 7. That is the price of the anchoring below.
//
// The anchor. BCH anchors its schedule at a fixed block whose timestamp
// was buried under years of work. Here every genesis has the timestamp
// 2024-01-01, so a schedule anchored there would let a fresh network mine
// at the easiest target until it had caught up with the years since; one
// anchored at an early block would let that block's miner choose an old
// timestamp (the rules allow any time after the genesis) with the same
// effect. Applied from each parent with the 6·T cap, the jump from old
// early timestamps to the clock counts as at most 6·T: a fresh network
// starts at the initial target however old its genesis, and old early
// timestamps put the chain about 6 blocks ahead of the schedule at most
// (TestRetargetFreshNetworkStartsAtInitialTarget,
// TestRetargetOldTimestampsAtTheStart).
//
// Choosing the half-life. The target moves one bit for every H/T blocks
// the chain runs ahead of or behind its schedule, so a 10× rise in hash
// rate is paid for with log2(10)·H/T extra blocks (199 at H = 60·T,
// measured 198) before the target has caught up, and a 10× drop with at
// least as many missing (measured 308 with the cap). At a steady hash
// rate the target's noise is about 0.83/√(H/T) bits (0.107 at H = 60·T)
// and the mean interval is within 0.1% of T. A shorter half-life follows
// faster and costs fewer blocks, and is noisier.
//
// Timestamp attacks. A timestamp before the chain's time mark counts as
// an instant block (the target gets harder), and the next block counts
// from the mark, not from the old timestamp, so old timestamps never make
// a block easier and, unlike with signed solve times, cannot drag the
// count back either. A timestamp in the future advances the mark once;
// the blocks after it count nothing until the clock has caught up, so the
// most a miner gains is the future limit, once: FutureLimitBlocks = 5
// blocks (TestRetargetFutureTimestamps; measured 3.7). Bitcoin's timewarp
// (a majority stamps blocks at the median time so that the retarget sees
// a long window, then jumps to the future) gains nothing: the old stamps
// count as instant blocks, the jump as at most the future limit
// (TestRetargetTimewarp: no lead at all; a third of the blocks leave the
// mean interval within 5% of the target, two thirds can only slow the
// chain, by 12%).
//
// Timestamp rules ([NetParams.CheckTimestamp]): a block's timestamp is
// not before the median of its parent's and ancestors' timestamps
// ([MedianTime], 11 blocks), which keeps a minority from rewinding the
// chain's time; and it is at most [FutureLimit] ahead of the local clock:
// 5 target block times, at least 2 s (for unsynchronised clocks), at
// most protocol 1's 2 hours. Two hours would be 7,200 blocks of lead at a 1 s
// block time; 5 block times is 5. Blocks from a node whose clock runs
// more than the limit ahead are refused as too new until the receivers'
// clocks catch up.
//
// # Consensus rules
//
// A block is checked in this order; the first broken rule is returned as a
// *[RuleError] whose Code is the [ErrorCode] after the arrow (errors.Is(err,
// chain.ErrBadProof) matches it, [RuleCode] extracts it, [IsRuleError]
// tells a rule error from the outcomes further down). The context-free
// checks ([Params.CheckBlockSanity]):
//
//  1. index 0 → [ErrBadIndex]; index 1 is the genesis: the network's own is
//     the outcome [ErrKnownBlock], any other → [ErrBadGenesis]
//  2. at most MaxBlockTxs transactions → [ErrTooLarge]
//  3. at least one transaction (the reward) → [ErrBadReward]
//  4. binary encoding of at most MaxBlockSize bytes → [ErrTooLarge]
//  5. bits decode to a target in [1, the network's maximum target] →
//     [ErrBadDifficulty]
//  6. the stated hash equal to the computed hash → [ErrBadHash]
//  7. the hash is at most the target, all 256 bits → [ErrBadProof]
//  8. timestamp at most [FutureLimit] (5 target block times, at least 2 s)
//     ahead of the local clock → [ErrTimeTooNew]; such a block becomes valid
//     once the clock catches up, so callers keep it apart from the others
//  9. tx_root equal to TxRoot of the transactions → [ErrBadTxRoot]
//  10. every transaction well-formed → [ErrBadTransaction]: sender and
//     recipient non-empty, at most 128 bytes of valid UTF-8 made of
//     printable characters (unicode.IsPrint); amount from 1 to MaxAmount;
//     id equal to the SHA-256 of its encoding
//  11. exactly one reward, and it is the last transaction → [ErrBadReward]
//     (a last transaction not from "0", or one from "0" anywhere else; so
//     no ordinary transaction has sender "0")
//  12. no transaction id twice in the block → [ErrDuplicateTx]
//  13. the reward's amount is the network's reward, and its nonce is the
//     block index → [ErrBadReward]
//
// With the ledger's form checked with rule 10 (an open network signs
// nothing; a signed one signs every transaction but the reward, from and
// to addresses → [ErrSignatureRequired], [ErrBadTransaction],
// [ErrBadReward]), and on a signed network, after rule 13, every
// signature not in the signature cache verified → [ErrBadSignature].
// When a block of a signed network joins the main chain its transactions
// are applied to the accounts in order: nonce the sender's next →
// [ErrBadNonce], balance covering the amount → [ErrInsufficientBalance]
// (PROTOCOL.md 10.6, rules 11a, 14a and 20 to 22).
//
// Rules 10 to 12 are checked transaction by transaction, in block order.
// Then the checks that need the parent ([Params.CheckBlockContext] and the
// store):
//
//  14. the parent (the block named by previous_hash) is stored, else the
//     outcome [ErrUnknownParent]: the block is an orphan and is not stored;
//     the caller may fetch the parent and try again
//  15. previous_hash is the parent's hash → [ErrBadPrevHash] (true by
//     construction when the parent was found by it)
//  16. index = parent index + 1 → [ErrBadIndex]; then bits = the target
//     the retargeting rule gives after the parent ([Params.NextBits]) →
//     [ErrBadDifficulty]
//  17. timestamp not before the median ([MedianTime]) of the timestamps of
//     the parent and its ancestors, [MedianTimeBlocks] = 11 blocks in all
//     (fewer near the genesis) → [ErrTimeTooOld]
//  18. no transaction id of the block appears in any of its ancestors (on
//     its own branch) → [ErrDuplicateTx]; rewards are unique by
//     construction, since a reward's id commits to its nonce, the index
//
// A block that is already stored, on any branch, is the outcome
// [ErrKnownBlock] (found after the context-free checks). These outcomes
// map onto gossip validation: a RuleError means the sender sent something
// invalid (reject, penalise); ErrKnownBlock means ignore; ErrUnknownParent
// means ignore and fetch the parent. Decoders report [ErrMalformed], and
// [ErrTooLarge] for transaction counts and binary addresses over their
// bounds.
//
// The stored main chain is checked again by [Open]: each block is the one
// its key names and meets the context-free rules (with the future limit
// relaxed by a year, so that a clock set back does not refuse a store),
// links to the block before and respects the median time, and the
// transaction index holds exactly the main chain's transactions. A store
// of another network is refused with [ErrWrongNetwork], a corrupt one with
// an error naming the first problem; either way the store is left
// untouched.
//
// # Fork choice and reorganisation
//
// The chain keeps every valid block, on the main chain or a side branch.
// The main chain is the branch with the most cumulative work (not the
// highest: a shorter branch of harder blocks wins). On a tie the head stays: the branch
// seen first wins. A block that extends the head is [Extended]; one on a
// side branch with no more work is stored as [SideBranch]; one whose
// branch now has more work makes the chain reorganise ([Reorganized]):
// the main chain is rolled back to the common ancestor, the branch is
// applied, the transactions of the abandoned blocks (rewards excepted) go
// back to the front of the pending pool, oldest first, unless the new
// main chain holds them, and the pool drops whatever the new main chain
// holds. [AddResult] reports the status, the new head, the transactions
// returned to the pool and the number of blocks abandoned; a reorganisation
// is logged. Everything a call changes (blocks, main-chain index,
// transaction index, head, pool) is written in one store transaction, and
// [Chain.HeadChanged] channels are closed once it has committed.
//
// [Chain.AddBlocks] applies a batch in order in one store transaction (one
// disk sync): known blocks, the genesis included, are skipped; it stops at
// the first orphan or invalid block, keeps the blocks before it and
// returns their number with that block's error. Within a batch, a side
// branch arriving in order is followed incrementally rather than walked
// back to the main chain for every block. Catching up should use it: a
// single AddBlock costs one disk sync.
//
// # Pending pool
//
// The pool holds transactions waiting for a block, first come, first
// served ([Chain.Pending] lists them in that order; the miner takes them
// in that order). It is deduplicated by id, bounded in count
// (Config.PoolMaxCount, default 50,000) and in bytes of canonical encoding
// (Config.PoolMaxBytes, default 32 MiB): a transaction over a bound is
// [ErrPoolFull]; on a reorganisation the bound wins and returned
// transactions that do not fit are dropped. [Chain.AddTransaction]
// validates the transaction (the rules of item 10 above, and sender not
// "0"), refuses one that is pending or in the main chain with
// [ErrKnownTransaction], and returns nil only once the transaction is on
// disk (concurrent submissions share a disk sync: a group commit that
// starts as soon as the previous one ends, with no waiting window). On [Open] the pool is
// reloaded in order, and entries that are corrupt, invalid, duplicated or
// already in the main chain are deleted.
//
// # Store
//
// The store is one bbolt file (Config.Path, for example
// <datadir>/chain.db), fsynced on every commit, in format 3 (store.go,
// hashindex.go, ledger.go, addrindex.go; migrate.go: a format-1 store of
// protocol 1 is set aside on open as chain.db.protocol1 and a new chain
// starts, with its valid pending transactions re-admitted; a format-2
// store, format 3 without the ledger's buckets, is upgraded in place). Integers in keys
// are big-endian, so cursors visit them in order. Buckets:
//
//	meta     "version" → uint64 layout version (3)
//	         "network" → the network name
//	         "genesis" → the genesis hash (32 bytes)
//	         "head"    → the head hash (32 bytes)
//	         "verified" → height (8) || hash (32): checked up to here
//	         "indexed" → height (8): the index runs cover the main chain to here
//	chain    height (8) → hash (32) || entry (48) || binary length (4) ||
//	         binary block || JSON block, main chain only: appends go to the end
//	side     block hash (32) → entry (48) || binary block, blocks off the
//	         main chain
//	hashix   run number (8) → sorted run of (block hash prefix (8), height (4))
//	txix     run number (8) → sorted run of (transaction id prefix (8), height (4))
//	pool     sequence (8) → canonical transaction encoding; the sequence is
//	         an int64 with its sign bit flipped, so that returned
//	         transactions (negative, decreasing) sort before new ones
//	         (increasing from 0)
//	accounts address → balance (8) || next nonce (8), signed ledger only
//	undo     height (8) → the prior state of each account the main-chain
//	         block touched: uint32 count, then uint8 length || address ||
//	         balance (8) || next nonce (8); signed ledger only
//	addrix   run number (8) → sorted run of (SHA-256(address) prefix (8),
//	         height (4)), one entry per address a main-chain block
//	         involves; signed ledger only
//
// An entry is cumulative work (32, big-endian) || time mark (8) || the
// parent's time mark (8): what validating a child needs of its parent.
//
// Opening checks the file's meta pages before bbolt maps it, then only the
// blocks past "verified" and above "indexed" (whose index entries it keeps
// in memory); other blocks are checked when read. Damage gives an error
// naming the file, never a panic.
//
// Opening recomputes the entries of the blocks it checks and compares. A
// block
// whose insertion returned no error is on disk and survives kill -9 (the
// kill test runs a writer in a child process and kills it at random
// moments); a transaction for which AddTransaction returned nil likewise.
//
// # Concurrency
//
// Writers (blocks and the pool's membership) take one lock, one at a
// time. Readers do not take it: [Chain.Head] is an atomic load, and reads
// run in their own bbolt read transaction, so a range from
// [Chain.MainChain] is one consistent snapshot. Its callback must not call
// the Chain (a nested read can deadlock with a writer growing the file)
// and should be quick.
//
// # Miner
//
// [Miner.MineBlock] takes the pending transactions first come, first
// served within the block limits, appends the reward to its address, sets
// the timestamp to the local clock (or the median time, if the clock is
// behind it), and searches proofs on MinerConfig.Threads goroutines
// (default: every CPU) in chunks of 65,536 attempts. It starts again on
// a new head, stops within a chunk when its context is cancelled, and
// adds the block it finds through AddBlock, like any other block.
// Calls are serialised.
package chain
