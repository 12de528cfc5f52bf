// Package headerchain is a light node's copy of the chain: block headers
// only, in one bbolt file, following the heaviest valid header chain.
//
// It sits beside chain/store, the full node's copy, and like it depends
// only on chain and bbolt: it shares none of the store's segments, pool,
// ledger or indexes, only chain's rules. A header is accepted after
// exactly the checks a full node makes on a block without its body:
// chain.Params.CheckHeaderSanity (index, target range, hash, proof of
// work, future limit) and chain.Params.CheckBlockContext (parent, index,
// the retargeting rule's bits, median time past). The heaviest chain wins;
// on a tie the one seen first stays; a heavier side branch becomes the
// main chain (a reorganisation). A checkpoint HEIGHT:HASH, if given, must
// be on the heaviest chain: when it is not, Open and Add say so with
// ErrCheckpointConflict.
//
// Layout: bucket "main" maps a big-endian height to the record of the
// main-chain header at that height (the heaviest chain, genesis to head),
// bucket "side" maps a hash to the record of a side-branch header, and
// bucket "meta" holds the genesis hash and the head hash. A record is the
// header (chain.HeaderSize bytes), its time mark and its parent's (8 bytes
// each), then the cumulative work up to it, big-endian in as few bytes as
// it takes (1 to 32).
package headerchain
