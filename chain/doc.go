// Package chain is what every gossipchain node agrees on: the values of a
// chain, their encodings and the rules that judge them. PROTOCOL.md is the
// specification (sections 2 and 10) and testdata/ holds its vectors; this
// package implements them, and its comments say where each part is
// specified rather than repeat it.
//
// It keeps no state and imports no storage, no network and no other
// gossipchain package. (It imports libp2p's key and peer ID encodings,
// core/crypto and core/peer, because an address of the signed ledger is
// the peer ID of a key.) Everything that reaches a node, from a peer, the
// HTTP API, its own miner or its disk at start-up, is judged by these same
// rules.
//
// # What it owns
//
//   - Values: [Block], [Transaction], [Hash], [Signature] and [Timestamp]
//     (whole microseconds since the Unix epoch; in JSON, seconds with six
//     decimals, [ParseTimestamp]).
//   - Encodings (PROTOCOL.md 2): the canonical transaction, which is also
//     its wire form and whose SHA-256 is its id (2.1;
//     [Transaction.AppendBinary], [DecodeTransaction]); the signed
//     transaction (2.4); the 96-byte header, version [HeaderVersion] = 2:
//     previous_hash, tx_root ([TxRoot]), version, index, timestamp, bits
//     (the compact target) and proof, whose SHA-256 is the block hash
//     (2.2; [Block.Header], [Block.ComputeHash]); the binary block (2.3;
//     [Block.AppendBinary], [DecodeBlock]); and the strict JSON of the
//     HTTP API ([DecodeBlockJSON], [DecodeTransactionJSON],
//     [Block.AppendJSON]).
//   - Compact targets and work (10.1): [Compact], [PowTarget],
//     [TargetWork], [AddWork], [ZeroBitsTarget] (a difficulty of d leading
//     zero bits as a target).
//   - Parameters and genesis (10.2, 10.5): [Params] and its canonical set
//     [NetParams], whose [NetParams.Commitment] is the genesis's
//     previous_hash; [NewParams] (fixed), [NewRetargetParams] and
//     [DefaultParams] (retargeting); [Params.Genesis]. [Settings] names how
//     two parameter sets differ by the flags of the gossipchain command,
//     and [GuessNetParams] finds the set near ours that gives a genesis.
//   - Retargeting and timestamps (10.3, 10.4): [ASERT] (aserti3-2d),
//     [NetParams.NextTarget] and [Params.NextBits] (the target a child
//     must carry), [TimeMark], [MedianTime], [FutureLimit],
//     [NetParams.CheckTimestamp]. Why this rule, and how it answers
//     timestamp attacks, is explained at the top of retarget.go.
//   - Validation (10.6): [Params.CheckBlockSanity] (the rules without the
//     parent), [Params.CheckBlockContext] (the rules with it, given the
//     parent's [Parent] entry, which [Params.ParentOf] derives) and
//     [Transaction.Check].
//   - The signed ledger's rules (2.4, 10.7): addresses ([AddressOf],
//     [PublicKeyOf], the address rule with no curve check; [CheckSpendable],
//     the admission policy that refuses to pay a key that can never sign;
//     key files with [LoadKey] and [SaveKey]), signatures
//     ([SignTransaction], [VerifySignature]: the network's verification
//     rule), the form of a signed network's transactions
//     ([Params.CheckLedgerFields]) and the spend rule ([CheckSpend],
//     [Credit]).
//   - Errors: a broken rule is a *[RuleError] whose [ErrorCode] is named
//     as in PROTOCOL.md 10.6 (errors.Is(err, ErrBadProof) matches it;
//     [RuleCode], [IsRuleError]): the sender sent something invalid. The
//     outcomes that are not broken rules are plain errors:
//     [ErrKnownBlock] (ignore), [ErrUnknownParent] (an orphan: fetch its
//     parent), [ErrKnownTransaction], [ErrPoolFull], [ErrNotFound],
//     [ErrWrongNetwork]. A block refused with [ErrTimeTooNew] becomes
//     valid once the receiver's clock catches up (10.4), so callers keep
//     it apart from the other rule errors.
//
// # What it leaves to others
//
//   - chain/store keeps this node's copy: Open, the Chain, fork choice by
//     cumulative work and reorganisation, the pending pool, the signed
//     ledger's accounts and undo data, the indexes, the migration of older
//     stores and the store checks. Its documentation states the bbolt
//     layout, the lock order and the two phases of a write.
//   - chain/miner assembles blocks on the head and searches their proof of
//     work (chain/miner/internal/powhash).
//   - chain/chaintest builds parameters, keys, transactions and mined
//     blocks for tests and tools.
//   - sync carries blocks and transactions between peers over p2p (gossip,
//     chain exchange, pool exchange), and api serves the chain over HTTP;
//     both read the outcome of what they hand the store from the errors
//     above.
package chain
