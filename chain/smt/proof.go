package smt

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// ErrBadProof is wrapped by every error of [Verify] and [DecodeProof].
var ErrBadProof = errors.New("smt: proof does not verify")

// ProofKind says where the path of a proof ends.
type ProofKind byte

// The three ends of a path (the first byte of an encoded proof).
const (
	// Included: the path ends in the key's own leaf.
	Included ProofKind = 0
	// AbsentEmpty: the path ends in an empty subtree.
	AbsentEmpty ProofKind = 1
	// AbsentOther: the path ends in the leaf of another key, which the
	// proof carries.
	AbsentOther ProofKind = 2
)

// MaxProofSize is the size of the longest encoded proof: 256 levels, all
// of them with a sibling, ending in another key's leaf.
const MaxProofSize = 3 + 32 + 256*HashSize + 2*HashSize

// Proof is the path from a root towards a key (the package doc specifies
// its encoding).
type Proof struct {
	Kind ProofKind
	// Siblings holds the sibling of the path at each depth, from the
	// root down; Empty for an empty subtree.
	Siblings []Hash
	// OtherKey and OtherValue are the leaf the path ends in, for
	// AbsentOther only.
	OtherKey, OtherValue Hash
}

// Prove returns the proof of key in the map whose root is root: its
// inclusion if the map holds key, else its absence. It reads one node a
// level.
func Prove(r NodeReader, root, key Hash) (Proof, error) {
	var p Proof
	h := root
	for depth := 0; ; depth++ {
		if h == Empty {
			p.Kind = AbsentEmpty
			return p, nil
		}
		n, err := get(r, h)
		if err != nil {
			return Proof{}, err
		}
		if n.leaf {
			if n.a != key {
				p.Kind, p.OtherKey, p.OtherValue = AbsentOther, n.a, n.b
			}
			return p, nil
		}
		if depth >= 8*HashSize {
			return Proof{}, fmt.Errorf("smt: node %x is an internal node below the deepest level", h)
		}
		if bit(key, depth) == 0 {
			h = n.a
			p.Siblings = append(p.Siblings, n.b)
		} else {
			h = n.b
			p.Siblings = append(p.Siblings, n.a)
		}
	}
}

// AppendBinary appends the encoding of p to b.
func (p Proof) AppendBinary(b []byte) ([]byte, error) {
	if len(p.Siblings) > 8*HashSize {
		return b, fmt.Errorf("smt: proof of %d levels, at most %d", len(p.Siblings), 8*HashSize)
	}
	b = append(b, byte(p.Kind))
	b = binary.BigEndian.AppendUint16(b, uint16(len(p.Siblings)))
	bitmap := len(b)
	b = append(b, make([]byte, (len(p.Siblings)+7)/8)...)
	for i, s := range p.Siblings {
		if s != Empty {
			b[bitmap+i/8] |= 0x80 >> (i % 8)
			b = append(b, s[:]...)
		}
	}
	if p.Kind == AbsentOther {
		b = append(b, p.OtherKey[:]...)
		b = append(b, p.OtherValue[:]...)
	}
	return b, nil
}

// MarshalBinary returns the encoding of p.
func (p Proof) MarshalBinary() ([]byte, error) { return p.AppendBinary(nil) }

// DecodeProof decodes a proof, refusing every encoding but the canonical
// one (the package doc lists the rules). No valid proof is longer than
// MaxProofSize, the limit to read from a peer before decoding.
func DecodeProof(data []byte) (Proof, error) {
	bad := func(format string, args ...any) (Proof, error) {
		return Proof{}, fmt.Errorf("%w: "+format, append([]any{ErrBadProof}, args...)...)
	}
	if len(data) < 3 {
		return bad("%d bytes, shorter than a proof", len(data))
	}
	p := Proof{Kind: ProofKind(data[0])}
	if p.Kind > AbsentOther {
		return bad("kind %d", p.Kind)
	}
	n := int(binary.BigEndian.Uint16(data[1:3]))
	if n > 8*HashSize {
		return bad("%d levels, at most %d", n, 8*HashSize)
	}
	rest := data[3:]
	if len(rest) < (n+7)/8 {
		return bad("bitmap cut short")
	}
	bitmap, rest := rest[:(n+7)/8], rest[(n+7)/8:]
	if n%8 != 0 && bitmap[len(bitmap)-1]&(0xff>>(n%8)) != 0 {
		return bad("bitmap bits set beyond level %d", n)
	}
	p.Siblings = make([]Hash, n)
	for i := range p.Siblings {
		if bitmap[i/8]&(0x80>>(i%8)) == 0 {
			continue
		}
		if len(rest) < HashSize {
			return bad("sibling %d cut short", i)
		}
		p.Siblings[i] = Hash(rest[:HashSize])
		rest = rest[HashSize:]
		if p.Siblings[i] == Empty {
			return bad("sibling %d is marked but empty", i)
		}
	}
	if n > 0 && p.Siblings[n-1] == Empty {
		return bad("the deepest sibling is empty")
	}
	if p.Kind == AbsentOther {
		if len(rest) < 2*HashSize {
			return bad("other leaf cut short")
		}
		p.OtherKey, p.OtherValue = Hash(rest[:HashSize]), Hash(rest[HashSize:2*HashSize])
		rest = rest[2*HashSize:]
	}
	if len(rest) != 0 {
		return bad("%d bytes after the proof", len(rest))
	}
	return p, nil
}

// Verify checks that proof, an encoded [Proof], proves that the map whose
// root is root maps key to *value, or holds no key when value is nil. It
// returns nil when it does and an error wrapping [ErrBadProof] that says
// why when it does not.
func Verify(root, key Hash, value *Hash, proof []byte) error {
	p, err := DecodeProof(proof)
	if err != nil {
		return err
	}
	return p.Verify(root, key, value)
}

// Verify checks a decoded proof as the function [Verify] does.
func (p Proof) Verify(root, key Hash, value *Hash) error {
	n := len(p.Siblings)
	var h Hash
	switch {
	case n > 8*HashSize:
		return fmt.Errorf("%w: %d levels, at most %d", ErrBadProof, n, 8*HashSize)
	case value != nil && p.Kind != Included:
		return fmt.Errorf("%w: a proof of absence, inclusion claimed", ErrBadProof)
	case value == nil && p.Kind == Included:
		return fmt.Errorf("%w: a proof of inclusion, absence claimed", ErrBadProof)
	case p.Kind == Included:
		h = LeafHash(key, *value)
	case p.Kind == AbsentEmpty:
		h = Empty
	case p.Kind == AbsentOther:
		if p.OtherKey == key || !samePrefix(p.OtherKey, key, n) {
			return fmt.Errorf("%w: the other leaf's key %x is not on the path of %x at depth %d", ErrBadProof, p.OtherKey, key, n)
		}
		h = LeafHash(p.OtherKey, p.OtherValue)
	default:
		return fmt.Errorf("%w: kind %d", ErrBadProof, p.Kind)
	}
	for i := n - 1; i >= 0; i-- {
		if bit(key, i) == 0 {
			h = NodeHash(h, p.Siblings[i])
		} else {
			h = NodeHash(p.Siblings[i], h)
		}
	}
	if h != root {
		return fmt.Errorf("%w: the path of %x gives root %x, not %x", ErrBadProof, key, h, root)
	}
	return nil
}
