package chain

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"math/big"
)

// The address rule of a signed network (PROTOCOL.md 2.4, "Addresses"). A
// string is an address exactly when it is the base58btc text of the 38
// bytes 00 24 08 01 12 20 || K for some 32 bytes K (the libp2p peer ID of
// the Ed25519 key K); K is its key. There is no curve check: a block may pay
// any such K, so that every implementation decides it identically from the
// text alone. Whether K can ever sign is the verification rule's concern
// (VerifySignature), and refusing to pay a K that never can is a node's
// policy (CheckSpendable), never a block rule.

// AddressLen is the length of every address; AddressPrefix starts every
// one (the base58btc of the multihash and key type bytes).
const (
	AddressLen    = 52
	AddressPrefix = "12D3KooW"
)

// addressBytes starts the 38 bytes an address encodes: the identity
// multihash (code 0x00, length 0x24) of the protobuf PublicKey {Type:
// Ed25519 (field 1 = 1), Data (field 2, 32 bytes)}.
var addressBytes = [6]byte{0x00, 0x24, 0x08, 0x01, 0x12, 0x20}

// ErrNotAddress: the string is not the address of an Ed25519 key.
var ErrNotAddress = errors.New("not an address (the peer ID of an Ed25519 key)")

// ErrUnspendable: the address is valid, but no signature by its key can
// ever verify, so whatever is paid to it is lost. It is a node's admission
// policy (CheckSpendable), never a block rule.
var ErrUnspendable = errors.New("no signature of this address's key can ever verify: what is sent to it is lost")

// base58Digits maps a byte to its base58btc digit (Bitcoin's alphabet), or
// to -1.
var base58Digits = func() (d [256]int8) {
	const alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
	for i := range d {
		d[i] = -1
	}
	for i := 0; i < len(alphabet); i++ {
		d[alphabet[i]] = int8(i)
	}
	return d
}()

// PublicKeyOf recovers the key of an address, or fails with ErrNotAddress.
// It does not apply the verification rule's key checks (VerifySignature).
func PublicKeyOf(addr string) (ed25519.PublicKey, error) {
	// The length and the prefix fix one leading '1' (one zero byte) and a
	// first digit that is not '1', so the text is the one base58 form of
	// the bytes it decodes to: no other text is the address of the key.
	if len(addr) != AddressLen || addr[:len(AddressPrefix)] != AddressPrefix {
		return nil, ErrNotAddress
	}
	var b [6 + ed25519.PublicKeySize]byte
	for i := 0; i < len(addr); i++ {
		d := base58Digits[addr[i]]
		if d < 0 {
			return nil, fmt.Errorf("%w: %q is not a base58 digit", ErrNotAddress, addr[i])
		}
		carry := int(d)
		for j := len(b) - 1; j >= 0; j-- {
			carry += int(b[j]) * 58
			b[j] = byte(carry)
			carry >>= 8
		}
		if carry != 0 {
			return nil, fmt.Errorf("%w: more than %d bytes", ErrNotAddress, len(b))
		}
	}
	if [6]byte(b[:6]) != addressBytes {
		return nil, fmt.Errorf("%w: not the peer ID of an Ed25519 key (starts %x)", ErrNotAddress, b[:6])
	}
	return ed25519.PublicKey(b[6:]), nil
}

// CheckSpendable checks an address against the admission policy of
// payments: its key must be one that the verification rule could ever
// accept (rules 1 and 2 of VerifySignature) and a point of the curve. A
// valid address that fails gives ErrUnspendable; a string that is no
// address, ErrNotAddress. A block that pays such an address is valid.
func CheckSpendable(addr string) error {
	pub, err := PublicKeyOf(addr)
	if err != nil {
		return err
	}
	if err := checkSigningKey(pub); err != nil {
		return fmt.Errorf("%w (%v)", ErrUnspendable, err)
	}
	if !onCurve(pub) {
		return fmt.Errorf("%w (the key is not a point of the curve)", ErrUnspendable)
	}
	return nil
}

// The curve: -x² + y² = 1 + d·x²·y² over the field of p = 2^255 - 19,
// d = -121665/121666.
var (
	curveP = new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 255), big.NewInt(19))
	curveD = func() *big.Int {
		inv := new(big.Int).ModInverse(big.NewInt(121666), curveP)
		d := new(big.Int).Mul(big.NewInt(-121665), inv)
		return d.Mod(d, curveP)
	}()
)

// onCurve reports whether a canonical encoding (y < p) has an x on the
// curve: x² = (y² - 1) / (d·y² + 1) is a square modulo p.
func onCurve(enc []byte) bool {
	le := make([]byte, len(enc))
	for i, c := range enc {
		le[len(enc)-1-i] = c
	}
	le[0] &= 0x7f // the sign bit of x
	y := new(big.Int).SetBytes(le)
	y2 := new(big.Int).Mul(y, y)
	u := new(big.Int).Sub(y2, big.NewInt(1))
	v := new(big.Int).Mul(curveD, y2)
	v.Add(v, big.NewInt(1)).Mod(v, curveP)
	x2 := u.Mul(u, new(big.Int).ModInverse(v, curveP))
	x2.Mod(x2, curveP)
	return big.Jacobi(x2, curveP) >= 0
}
