package smt_test

import (
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/gossipchain/gossipchain/chain/smt"
)

// proveBytes proves key in root and encodes the proof.
func proveBytes(t testing.TB, s smt.NodeReader, root, key smt.Hash) (smt.Proof, []byte) {
	t.Helper()
	p, err := smt.Prove(s, root, key)
	if err != nil {
		t.Fatal(err)
	}
	enc, err := p.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	if d, err := smt.DecodeProof(enc); err != nil || !slices.Equal(d.Siblings, p.Siblings) {
		t.Fatalf("decoding an encoded proof: %v", err)
	}
	return p, enc
}

// refuse fails the test unless the proof is refused.
func refuse(t testing.TB, what string, root, key smt.Hash, value *smt.Hash, proof []byte) {
	t.Helper()
	if err := smt.Verify(root, key, value, proof); !errors.Is(err, smt.ErrBadProof) {
		t.Fatalf("%s: got %v, want ErrBadProof", what, err)
	}
}

// checkIncluded checks that key's proof in root verifies with value and
// with nothing else.
func checkIncluded(t testing.TB, s smt.NodeReader, root, key, value smt.Hash) {
	t.Helper()
	p, enc := proveBytes(t, s, root, key)
	if p.Kind != smt.Included {
		t.Fatalf("key %x in the map: proof of kind %d", key, p.Kind)
	}
	if err := smt.Verify(root, key, &value, enc); err != nil {
		t.Fatalf("key %x: %v", key, err)
	}
	refuse(t, "inclusion proof claimed as absence", root, key, nil, enc)
	other := value
	other[0] ^= 0x80
	refuse(t, "another value", root, key, &other, enc)
}

// checkAbsent checks that key's proof in root verifies its absence and
// nothing else, and returns the proof's kind.
func checkAbsent(t testing.TB, s smt.NodeReader, root, key smt.Hash) smt.ProofKind {
	t.Helper()
	p, enc := proveBytes(t, s, root, key)
	if p.Kind == smt.Included {
		t.Fatalf("key %x not in the map: proof of inclusion", key)
	}
	if err := smt.Verify(root, key, nil, enc); err != nil {
		t.Fatalf("absence of %x: %v", key, err)
	}
	var v smt.Hash
	refuse(t, "absence proof claimed as inclusion", root, key, &v, enc)
	if p.Kind == smt.AbsentOther {
		refuse(t, "absence proof of the other leaf's key", root, p.OtherKey, nil, enc)
		if err := smt.Verify(root, p.OtherKey, &p.OtherValue, enc); !errors.Is(err, smt.ErrBadProof) {
			t.Fatalf("absence proof as the other leaf's inclusion: got %v", err)
		}
	}
	return p.Kind
}

// forge checks that no tampering with a valid proof verifies: every
// single bit flipped, bytes cut or added, a level cut or added, two
// siblings swapped, and the proof of another key.
func forge(t testing.TB, rng *rand.Rand, root, key smt.Hash, value *smt.Hash, enc []byte) {
	t.Helper()
	bits := 8 * len(enc)
	positions := []int{}
	if bits <= 4096 {
		for i := range bits {
			positions = append(positions, i)
		}
	} else {
		for range 512 {
			positions = append(positions, rng.IntN(bits))
		}
	}
	for _, i := range positions {
		flipped := slices.Clone(enc)
		flipped[i/8] ^= 0x80 >> (i % 8)
		refuse(t, "a flipped bit", root, key, value, flipped)
	}
	refuse(t, "the last byte cut", root, key, value, enc[:len(enc)-1])
	refuse(t, "a byte added", root, key, value, append(slices.Clone(enc), 0))
	p, err := smt.DecodeProof(enc)
	if err != nil {
		t.Fatal(err)
	}
	reencode := func(p smt.Proof) []byte {
		b, err := p.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	n := len(p.Siblings)
	if n > 0 {
		cut := p
		cut.Siblings = p.Siblings[:n-1]
		refuse(t, "the deepest level cut", root, key, value, reencode(cut))
		cut.Siblings = p.Siblings[1:]
		refuse(t, "the top level cut", root, key, value, reencode(cut))
	}
	if n < 256 {
		longer := p
		longer.Siblings = append(slices.Clone(p.Siblings), smt.Empty)
		refuse(t, "a level added with an empty sibling", root, key, value, reencode(longer))
		longer.Siblings[n] = randomHash(rng)
		refuse(t, "a level added", root, key, value, reencode(longer))
		longer.Siblings = append([]smt.Hash{randomHash(rng)}, p.Siblings...)
		refuse(t, "a level added on top", root, key, value, reencode(longer))
	}
	for i := 0; i+1 < n; i++ {
		if p.Siblings[i] != p.Siblings[i+1] {
			swapped := p
			swapped.Siblings = slices.Clone(p.Siblings)
			swapped.Siblings[i], swapped.Siblings[i+1] = p.Siblings[i+1], p.Siblings[i]
			refuse(t, "two siblings swapped", root, key, value, reencode(swapped))
		}
	}
	// An absence proof holds for every key that takes the same path; a
	// key that leaves it earlier, and any other key of an inclusion, is
	// refused.
	other := key
	switch {
	case value != nil:
		other[rng.IntN(smt.HashSize)] ^= 1 << rng.IntN(8)
	case n > 0:
		i := rng.IntN(n)
		other[i/8] ^= 0x80 >> (i % 8)
	default:
		return
	}
	refuse(t, "the proof of another key", root, other, value, enc)
}

// TestProofProperty: in random maps, every key's proof verifies its
// value, every absent key's proof its absence, with paths ending both in
// empty subtrees and in other leaves; and no forged proof verifies.
func TestProofProperty(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	for _, n := range []int{0, 1, 2, 3, 5, 16, 100, 1000} {
		set := randomSet(rng, n)
		s, root := build(t, rng, set)
		checked := 0
		for k, v := range set {
			checkIncluded(t, s, root, k, v)
			if checked < 10 {
				_, enc := proveBytes(t, s, root, k)
				forge(t, rng, root, k, &v, enc)
			}
			checked++
		}
		kinds := map[smt.ProofKind]int{}
		for i := range 200 {
			k := randomHash(rng)
			if i%2 == 1 && n > 0 {
				// Next to a key of the map: the path often ends in its leaf.
				for k = range set {
					break
				}
				k[smt.HashSize-1] ^= 1 << rng.IntN(8)
			}
			if _, ok := set[k]; ok {
				continue
			}
			kind := checkAbsent(t, s, root, k)
			if kinds[kind] < 5 {
				_, enc := proveBytes(t, s, root, k)
				forge(t, rng, root, k, nil, enc)
			}
			kinds[kind]++
		}
		if n >= 16 && (kinds[smt.AbsentEmpty] == 0 || kinds[smt.AbsentOther] == 0) {
			t.Errorf("%d keys: absence proofs of kinds %v, want both", n, kinds)
		}
	}
}

// TestDeepestPath: two keys that differ in their last bit only give a
// path of 256 levels, the longest there is.
func TestDeepestPath(t *testing.T) {
	rng := rand.New(rand.NewPCG(23, 24))
	a := randomHash(rng)
	b := a
	b[smt.HashSize-1] ^= 1
	c := a
	c[0] ^= 0x80
	set := map[smt.Hash]smt.Hash{a: randomHash(rng), b: randomHash(rng), c: randomHash(rng)}
	s, root := build(t, rng, set)
	if root != reference(set) {
		t.Fatalf("root %x, want %x", root, reference(set))
	}
	p, enc := proveBytes(t, s, root, a)
	if len(p.Siblings) != 256 {
		t.Fatalf("path of %d levels, want 256", len(p.Siblings))
	}
	v := set[a]
	checkIncluded(t, s, root, a, v)
	forge(t, rng, root, a, &v, enc)
	if _, err := (smt.Proof{Siblings: make([]smt.Hash, 257)}).MarshalBinary(); err == nil {
		t.Error("encoding a path of 257 levels: no error")
	}
}

func TestDecodeProofRefusals(t *testing.T) {
	sib := smt.Hash{1}
	header := func(kind byte, n int) []byte {
		return binary.BigEndian.AppendUint16([]byte{kind}, uint16(n))
	}
	cases := []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"two bytes", []byte{0, 0}},
		{"kind 3", header(3, 0)},
		{"257 levels", append(header(0, 257), make([]byte, 33)...)},
		{"bitmap missing", header(0, 1)},
		{"bit set beyond n", append(header(0, 1), 0xc0)},
		{"deepest sibling empty", append(header(0, 2), 0x80)},
		{"marked sibling is zero", append(append(header(0, 1), 0x80), make([]byte, 32)...)},
		{"sibling cut short", append(append(header(0, 1), 0x80), sib[:31]...)},
		{"other leaf missing", header(2, 0)},
		{"bytes after", append(header(1, 0), 0)},
		{"inclusion with a leaf", append(header(0, 0), make([]byte, 64)...)},
	}
	for _, c := range cases {
		if _, err := smt.DecodeProof(c.data); !errors.Is(err, smt.ErrBadProof) {
			t.Errorf("%s: got %v, want ErrBadProof", c.name, err)
		}
	}
}

// FuzzDecodeProof: decoding never panics, and what decodes encodes back
// to the same bytes (one encoding per proof).
func FuzzDecodeProof(f *testing.F) {
	f.Add([]byte{1, 0, 0})
	f.Add(append([]byte{0, 0, 1, 0x80}, make([]byte, 32)...))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := smt.DecodeProof(data)
		if err != nil {
			return
		}
		enc, err := p.MarshalBinary()
		if err != nil || !slices.Equal(enc, data) {
			t.Fatalf("decoded %x, encodes to %x (%v)", data, enc, err)
		}
		_ = p.Verify(smt.Empty, smt.Hash{}, nil)
	})
}
