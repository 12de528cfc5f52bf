package chain

import (
	"bytes"
	"crypto/ed25519"
	"encoding/binary"
	"encoding/hex"
	"fmt"

	"github.com/libp2p/go-libp2p/core/crypto"
)

// SignatureSize is the size of a transaction signature (Ed25519).
const SignatureSize = ed25519.SignatureSize

// Signature is an Ed25519 signature R || S. The zero value means "not
// signed": a transaction of an open network carries none.
type Signature [SignatureSize]byte

// IsZero reports whether s is the zero value (no signature).
func (s Signature) IsZero() bool { return s == Signature{} }

// String returns the signature as 128 lower-case hex characters.
func (s Signature) String() string { return hex.EncodeToString(s[:]) }

// MarshalText implements encoding.TextMarshaler.
func (s Signature) MarshalText() ([]byte, error) { return hex.AppendEncode(nil, s[:]), nil }

// UnmarshalText implements encoding.TextUnmarshaler (ParseSignature).
func (s *Signature) UnmarshalText(text []byte) error {
	v, err := ParseSignature(string(text))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// ParseSignature parses 128 hex characters (either case).
func ParseSignature(text string) (Signature, error) {
	var s Signature
	if len(text) != 2*SignatureSize {
		return s, fmt.Errorf("signature must be %d hex characters, got %d", 2*SignatureSize, len(text))
	}
	if _, err := hex.Decode(s[:], []byte(text)); err != nil {
		return s, fmt.Errorf("signature is not hex: %w", err)
	}
	return s, nil
}

// SigningDomain starts the bytes a transaction signature covers, so that
// a signature of gossipchain is never valid for anything else.
// Version 2 covers the fee: a signature of version 1 (no fee) never
// verifies.
const SigningDomain = "gossipchain/tx-signature/2"

// SigningBytes returns what the signature of tx covers on the network whose
// genesis hash is genesis:
//
//	SigningDomain (26 bytes, ASCII) || genesis hash (32) || the unsigned
//	canonical encoding of tx (2.1 of PROTOCOL.md: no flag, no fee, no
//	signature) || fee (uint64, big-endian)
//
// The genesis commits to every network parameter, so a transaction signed
// for one network is invalid on every other; the nonce, the sender's
// account sequence, makes it invalid a second time on the same network.
func (tx *Transaction) SigningBytes(genesis Hash) []byte {
	b := make([]byte, 0, len(SigningDomain)+HashSize+tx.unsignedSize()+8)
	b = append(b, SigningDomain...)
	b = append(b, genesis[:]...)
	b = tx.appendUnsigned(b)
	return binary.BigEndian.AppendUint64(b, tx.Fee)
}

// Sign signs tx with key for the network whose genesis hash is genesis:
// it sets the signature and recomputes the id. The key must be Ed25519 and
// tx.Sender its address.
func (tx *Transaction) Sign(key crypto.PrivKey, genesis Hash) error {
	addr, err := AddressOf(key)
	if err != nil {
		return err
	}
	if tx.Sender != addr {
		return fmt.Errorf("sign: the sender %q is not the key's address %s", tx.Sender, addr)
	}
	sig, err := key.Sign(tx.SigningBytes(genesis))
	if err != nil {
		return fmt.Errorf("sign: %w", err)
	}
	if len(sig) != SignatureSize {
		return fmt.Errorf("sign: a signature of %d bytes", len(sig))
	}
	copy(tx.Signature[:], sig)
	tx.ID = tx.ComputeID()
	return nil
}

// SignTransaction builds and signs a transaction of a signed network: from
// the key's address to recipient, amount, with nonce the sender's account
// sequence (Account.PendingNonce of the node it goes to) and no fee.
func SignTransaction(key crypto.PrivKey, recipient string, amount, nonce uint64, genesis Hash) (Transaction, error) {
	return SignTransactionFee(key, recipient, amount, 0, nonce, genesis)
}

// SignTransactionFee is SignTransaction for a transaction paying fee to
// the miner of its block.
func SignTransactionFee(key crypto.PrivKey, recipient string, amount, fee, nonce uint64, genesis Hash) (Transaction, error) {
	sender, err := AddressOf(key)
	if err != nil {
		return Transaction{}, err
	}
	tx := Transaction{Sender: sender, Recipient: recipient, Amount: amount, Nonce: nonce, Fee: fee}
	if err := tx.CheckFields(); err != nil {
		return Transaction{}, err
	}
	if _, err := PublicKeyOf(recipient); err != nil {
		return Transaction{}, RuleErrorf(ErrBadTransaction, "recipient %q: %v", recipient, err)
	}
	if err := tx.Sign(key, genesis); err != nil {
		return Transaction{}, err
	}
	return tx, nil
}

// The verification rule of the network. A signature (R || S) of public key
// A over message M is valid exactly when:
//
//  1. A is a canonical encoding: its low 255 bits, read little-endian, are
//     below p = 2^255 - 19 (y < p);
//  2. A is not one of the ten encodings of a point of small order listed in
//     smallOrderKeys (the eight points of order 1, 2, 4 and 8 in canonical
//     form, and the two with x = 0 written with the sign bit set);
//  3. crypto/ed25519.Verify(A, M, R || S) of Go's standard library accepts:
//     S < L (the group order; a non-canonical S is refused), k =
//     SHA-512(R || A || M) mod L, and the canonical encoding of
//     [S]B - [k]A equals R byte for byte (cofactorless; so a non-canonical
//     R is refused, a small-order R is accepted when the equation holds).
//
// Rules 1 and 2 make the address a function of the point (one address per
// key) and refuse keys for which a signature of any message can be forged
// without a private key (with A of small order, [k]A takes at most 8
// values). They follow the public key checks of ZIP 215's strict variant
// and libsodium's crypto_sign_verify_detached.
func VerifySignature(pub ed25519.PublicKey, msg []byte, sig Signature) error {
	if err := checkSigningKey(pub); err != nil {
		return err
	}
	if !ed25519.Verify(pub, msg, sig[:]) {
		return RuleErrorf(ErrBadSignature, "signature does not verify")
	}
	return nil
}

// checkSigningKey applies rules 1 and 2 of VerifySignature to pub.
func checkSigningKey(pub ed25519.PublicKey) error {
	if len(pub) != ed25519.PublicKeySize {
		return RuleErrorf(ErrBadSignature, "public key of %d bytes", len(pub))
	}
	if !canonicalY(pub) {
		return RuleErrorf(ErrBadSignature, "public key is not canonically encoded")
	}
	for i := range smallOrderKeys {
		if bytes.Equal(pub, smallOrderKeys[i][:]) {
			return RuleErrorf(ErrBadSignature, "public key is a point of small order")
		}
	}
	return nil
}

// canonicalY reports whether the low 255 bits of the little-endian
// encoding are below p = 2^255 - 19.
func canonicalY(enc []byte) bool {
	// p is ed ff … ff 7f little-endian; y >= p only if bytes 1..30 are
	// 0xff, byte 31 (without the sign bit) is 0x7f and byte 0 is >= 0xed.
	if enc[31]&0x7f != 0x7f {
		return true
	}
	for i := 30; i >= 1; i-- {
		if enc[i] != 0xff {
			return true
		}
	}
	return enc[0] < 0xed
}

// smallOrderKeys are the encodings of the points of small order that rule 2
// refuses (libsodium's blocklist, restricted to canonical y).
var smallOrderKeys = [...][32]byte{
	hex32("0100000000000000000000000000000000000000000000000000000000000000"), // order 1 (the identity)
	hex32("0100000000000000000000000000000000000000000000000000000000000080"), // the identity, sign bit set
	hex32("ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"), // order 2
	hex32("ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"), // order 2, sign bit set
	hex32("0000000000000000000000000000000000000000000000000000000000000000"), // order 4
	hex32("0000000000000000000000000000000000000000000000000000000000000080"), // order 4
	hex32("c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a"), // order 8
	hex32("c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa"), // order 8
	hex32("26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05"), // order 8
	hex32("26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85"), // order 8
}

func hex32(s string) [32]byte {
	var out [32]byte
	h, err := ParseHash(s)
	if err != nil {
		panic(err)
	}
	copy(out[:], h[:])
	return out
}

// Verify checks the signature of tx (which must be signed) on the network of
// genesis: the sender's key is recovered from its address.
func (tx *Transaction) Verify(genesis Hash) error {
	pub, err := PublicKeyOf(tx.Sender)
	if err != nil {
		return RuleErrorf(ErrBadTransaction, "sender %q: %v", tx.Sender, err)
	}
	if err := VerifySignature(pub, tx.SigningBytes(genesis), tx.Signature); err != nil {
		return RuleErrorf(ErrBadSignature, "transaction %s: %v", tx.ID, err)
	}
	return nil
}
