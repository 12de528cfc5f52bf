// Package proof is what a full node hands to anyone who would rather check
// than trust it: the proof that a transaction is in a block, and the proof
// of an account's balance and next nonce (or of its absence) after a
// block, each carrying the header it is checked against.
//
// It keeps no state and imports only the values package chain and its
// commitments (chain/merkle for the transaction root, chain/smt for the
// account-state map). The node's store builds proofs (store.Chain.TxProof
// and AccountProof), package sync serves and fetches them over
// /gossipchain/proofs/1.0.0, the HTTP API serves the same bytes in hex, and
// `gossipchain verify` reads them. PROTOCOL.md section 13 is the
// specification; testdata/proofs.json holds vectors written by an
// independent generator.
//
// # Binary forms
//
// All integers are big-endian; nothing may follow the last field. A
// decoder refuses a short or long input, an unknown type byte, a header
// that chain.DecodeHeader refuses, and every field outside its range, so
// that each proof has exactly one encoding.
//
// Transaction proof (type 0x01): transaction T is at position m of the
// block whose header is H.
//
//	size  field
//	1     type = 0x01
//	136   H: the block header (PROTOCOL.md 2.2, version 3)
//	4     m: the transaction's position in the block, m < H.tx_count
//	2     L: length of T, 1..348
//	L     T: the transaction as the block's binary form carries it
//	1     k: the number of path hashes, the RFC 6962 path length of
//	      (m, H.tx_count), at most 11
//	32*k  the inclusion path, leaf's sibling first (merkle.InclusionProof)
//
// [Tx.Verify] checks id = SHA-256(T), that T decodes as a canonical
// transaction, and merkle.VerifyInclusion(H.tx_root, m, H.tx_count, id,
// path). The largest is 844 bytes. A block of more than 2,048
// transactions (possible only on a network that raises MaxBlockTxs) has
// transactions whose path is longer than 11 hashes: they have no proof.
//
// Account proof (type 0x02): the account of address A after the block
// whose header is H.
//
//	size  field
//	1     type = 0x02
//	136   H: the block header
//	52    A: the address (the peer-ID text, ASCII)
//	8     balance
//	8     next nonce
//	2     P: length of the map proof, 3..8291
//	P     the account-state map proof (PROTOCOL.md 10.8, chain/smt encoding)
//
// [Account.Verify] checks that A is an address (chain.PublicKeyOf) and,
// with key = chain.AccountKey(A), smt.Verify against H.state_root: the
// absence of the key when balance and next nonce are both zero, else the
// inclusion of chain.AccountValueHash(balance, next nonce). The largest
// is 8,498 bytes. An open network has no account state and no account
// proofs.
//
// # What a proof does not say
//
// A proof is checked against its own header. That the header is on the
// heaviest chain, and how deep, is for the caller to check against the
// header chain it follows; Verify returns the header for that purpose.
// Every failure of a decoder or a Verify method wraps [ErrBadProof].
package proof
