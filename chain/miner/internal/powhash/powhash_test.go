package powhash

import (
	"crypto/sha256"
	"encoding/binary"
	"math/rand/v2"
	"testing"
)

// modes returns the implementations to test: always the portable one, and
// the SHA-NI one when the CPU supports it.
func modes(t testing.TB) []bool {
	if !Accelerated() {
		t.Log("SHA-NI not available; testing the portable path only")
		return []bool{false}
	}
	return []bool{false, true}
}

func modeName(accel bool) string {
	if accel {
		return "shani"
	}
	return "portable"
}

func referenceHash(header *[HeaderSize]byte, proof uint64) [32]byte {
	h := *header
	binary.BigEndian.PutUint64(h[ProofOffset:], proof)
	return sha256.Sum256(h[:])
}

func randomHeader(r *rand.Rand) *[HeaderSize]byte {
	var h [HeaderSize]byte
	for i := range h {
		h[i] = byte(r.Uint32())
	}
	return &h
}

// interestingProofs includes values whose increments carry across byte and
// word boundaries.
var interestingProofs = []uint64{
	0, 1, 2, 0xff, 0x100, 0xffff, 0x10000, 0xffffff, 0x1000000,
	0xffffffff, 0x100000000, 0x1_0000_0001, 0xffffffffff, 0xffffffffffff,
	0x00ffffffffffffff, 0x0100000000000000, 0x7fffffffffffffff, 0x8000000000000000,
	0xfffffffffffffffe, 0xffffffffffffffff, 0x0123456789abcdef, 0xfedcba9876543210,
}

func TestHashMatchesSHA256(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, accel := range modes(t) {
		t.Run(modeName(accel), func(t *testing.T) {
			for n := 0; n < 300; n++ {
				header := randomHeader(r)
				s := newSearcher(header, accel)
				if s.accel != accel {
					t.Fatalf("searcher accel = %v, want %v", s.accel, accel)
				}
				proofs := append([]uint64(nil), interestingProofs...)
				for i := 0; i < 20; i++ {
					proofs = append(proofs, r.Uint64())
				}
				for _, p := range proofs {
					if got, want := s.Hash(p), referenceHash(header, p); got != want {
						t.Fatalf("header %x proof %#x: got %x, want %x", header, p, got, want)
					}
				}
			}
		})
	}
}

func TestProofBytesIgnored(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	h1 := randomHeader(r)
	h2 := *h1
	for i := ProofOffset; i < HeaderSize; i++ {
		h2[i] ^= 0x5a
	}
	for _, accel := range modes(t) {
		a, b := newSearcher(h1, accel), newSearcher(&h2, accel)
		for _, p := range interestingProofs {
			if a.Hash(p) != b.Hash(p) {
				t.Fatalf("%s: proof bytes of the header changed the hash", modeName(accel))
			}
		}
	}
}

// naiveSearch is the reference search.
func naiveSearch(header *[HeaderSize]byte, start, count uint64, difficulty uint32) (uint64, bool) {
	for i := uint64(0); i < count; i++ {
		p := start + i
		h := referenceHash(header, p)
		if LeadingZeroBits(&h) >= int(difficulty) {
			return p, true
		}
	}
	return 0, false
}

func TestSearchExhaustive(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	type tc struct {
		start, count uint64
		difficulty   uint32
	}
	cases := []tc{
		{0, 1, 1}, {0, 2, 1}, {0, 3, 1}, {5, 1, 1},
		{0, 5000, 4}, {0, 5000, 8}, {0, 20000, 10}, {0, 50000, 12},
		{1, 4095, 8}, {7, 4096, 9},
		{0xffffffffffffff00, 3000, 8},   // wraps around 2^64
		{0x00000000fffff000, 20000, 11}, // crosses a 32-bit word boundary
		{0x00ffffffffffff00, 20000, 10}, // carries into the top byte
		{r.Uint64(), 30000, 12}, {r.Uint64(), 30001, 12},
		{r.Uint64(), 40000, 33}, // filter false positives, almost surely nothing
		{r.Uint64(), 100, 256}, {r.Uint64(), 100, 300},
	}
	for n := 0; n < 4; n++ {
		header := randomHeader(r)
		for _, c := range cases {
			wantP, wantOK := naiveSearch(header, c.start, c.count, c.difficulty)
			for _, accel := range modes(t) {
				s := newSearcher(header, accel)
				p, ok := s.Search(c.start, c.count, c.difficulty)
				if p != wantP || ok != wantOK {
					t.Fatalf("%s: Search(%#x, %d, %d) = %#x, %v; want %#x, %v",
						modeName(accel), c.start, c.count, c.difficulty, p, ok, wantP, wantOK)
				}
				if ok {
					h := s.Hash(p)
					if LeadingZeroBits(&h) < int(c.difficulty) || h != referenceHash(header, p) {
						t.Fatalf("%s: found proof %#x does not meet difficulty %d", modeName(accel), p, c.difficulty)
					}
				}
			}
		}
	}
}

// TestSearchDifficultyBoundary checks that a proof is accepted at exactly
// its number of leading zero bits and rejected one bit above, including
// above 32 bits, where the search's first-word test is only a filter.
func TestSearchDifficultyBoundary(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	header := randomHeader(r)
	const start = 1000
	wantP, wantOK := naiveSearch(header, start, 1<<20, 16)
	if !wantOK {
		t.Fatal("no 16-bit proof in range")
	}
	for _, accel := range modes(t) {
		s := newSearcher(header, accel)
		p, ok := s.Search(start, 1<<20, 16)
		if p != wantP || ok != wantOK {
			t.Fatalf("%s: got %#x %v, want %#x %v", modeName(accel), p, ok, wantP, wantOK)
		}
		h := s.Hash(p)
		lz := LeadingZeroBits(&h)
		if q, ok := s.Search(p, 1, uint32(lz)); !ok || q != p {
			t.Fatalf("%s: proof with %d bits not found at difficulty %d", modeName(accel), lz, lz)
		}
		if _, ok := s.Search(p, 1, uint32(lz+1)); ok {
			t.Fatalf("%s: proof with %d bits accepted at difficulty %d", modeName(accel), lz, lz+1)
		}
	}
	for _, accel := range modes(t) {
		s := newSearcher(header, accel)
		for _, d := range []uint32{33, 40, 64, 256} {
			if p, ok := s.Search(start, 5000, d); ok {
				t.Fatalf("%s: difficulty %d: unexpected proof %#x", modeName(accel), d, p)
			}
		}
	}
}

// TestSearchConfirmation exercises the confirmation of filter candidates,
// which Search uses above 32 bits of difficulty, where a brute-force test is
// out of reach: a filter looser than the difficulty yields many candidates
// that fall short, and the search must skip them and still return the
// first real proof.
func TestSearchConfirmation(t *testing.T) {
	r := rand.New(rand.NewPCG(15, 16))
	for n := 0; n < 4; n++ {
		header := randomHeader(r)
		start := r.Uint64()
		for _, c := range []struct{ filterBits, difficulty uint32 }{{4, 10}, {8, 12}, {1, 9}} {
			mask := ^uint32(0) << (32 - c.filterBits)
			wantP, wantOK := naiveSearch(header, start, 30001, c.difficulty)
			for _, accel := range modes(t) {
				s := newSearcher(header, accel)
				p, ok := s.search(start, 30001, c.difficulty, mask, false)
				if p != wantP || ok != wantOK {
					t.Fatalf("%s: filter %d bits, difficulty %d: got %#x %v, want %#x %v",
						modeName(accel), c.filterBits, c.difficulty, p, ok, wantP, wantOK)
				}
			}
		}
	}
}

func TestSearchEdgeCases(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	header := randomHeader(r)
	for _, accel := range modes(t) {
		s := newSearcher(header, accel)
		for _, start := range []uint64{0, 42, ^uint64(0)} {
			if p, ok := s.Search(start, 1, 0); !ok || p != start {
				t.Errorf("%s: difficulty 0 from %#x = %#x, %v; want start, true", modeName(accel), start, p, ok)
			}
			if p, ok := s.Search(start, 1<<40, 0); !ok || p != start {
				t.Errorf("%s: difficulty 0 from %#x = %#x, %v; want start, true", modeName(accel), start, p, ok)
			}
			for _, d := range []uint32{0, 1, 8, 256} {
				if _, ok := s.Search(start, 0, d); ok {
					t.Errorf("%s: count 0 with difficulty %d found a proof", modeName(accel), d)
				}
			}
		}
	}
}

func TestSearchAllocs(t *testing.T) {
	header := randomHeader(rand.New(rand.NewPCG(11, 12)))
	for _, accel := range modes(t) {
		s := newSearcher(header, accel)
		n := testing.AllocsPerRun(10, func() {
			s.Search(0, 1001, 40)
			s.Search(0, 1000, 6)
			s.Hash(7)
		})
		if n != 0 {
			t.Errorf("%s: %v allocations per run", modeName(accel), n)
		}
	}
}

func TestLeadingZeroBits(t *testing.T) {
	tests := []struct {
		set  int // index of the only set bit (0 = most significant), or -1
		want int
	}{
		{-1, 256}, {0, 0}, {1, 1}, {7, 7}, {8, 8}, {9, 9}, {31, 31}, {32, 32},
		{63, 63}, {64, 64}, {100, 100}, {128, 128}, {200, 200}, {255, 255},
	}
	for _, tt := range tests {
		var h [32]byte
		if tt.set >= 0 {
			h[tt.set/8] = 0x80 >> (tt.set % 8)
			// Bits after the first set one must not matter.
			for i := tt.set/8 + 1; i < 32; i++ {
				h[i] = 0xff
			}
		}
		if got := LeadingZeroBits(&h); got != tt.want {
			t.Errorf("LeadingZeroBits(bit %d set) = %d, want %d", tt.set, got, tt.want)
		}
	}
	h := [32]byte{0, 0, 0x0f, 0xff}
	if got := LeadingZeroBits(&h); got != 20 {
		t.Errorf("LeadingZeroBits(%x) = %d, want 20", h, got)
	}
}

func TestCompressionRate(t *testing.T) {
	if r := CompressionRate(20e6); r <= 0 {
		t.Fatalf("CompressionRate = %v", r)
	}
}

func FuzzHash(f *testing.F) {
	r := rand.New(rand.NewPCG(13, 14))
	f.Add(make([]byte, HeaderSize), uint64(0))
	f.Add(make([]byte, HeaderSize), ^uint64(0))
	for _, p := range interestingProofs {
		f.Add(randomHeader(r)[:], p)
	}
	f.Fuzz(func(t *testing.T, data []byte, proof uint64) {
		var header [HeaderSize]byte
		copy(header[:], data)
		want := referenceHash(&header, proof)
		for _, accel := range modes(t) {
			s := newSearcher(&header, accel)
			if got := s.Hash(proof); got != want {
				t.Fatalf("%s: header %x proof %#x: got %x, want %x", modeName(accel), header, proof, got, want)
			}
			// One-attempt searches agree with the hash.
			for _, d := range []uint32{1, 4} {
				_, ok := s.Search(proof, 1, d)
				if ok != (LeadingZeroBits(&want) >= int(d)) {
					t.Fatalf("%s: Search at difficulty %d = %v for hash %x", modeName(accel), d, ok, want)
				}
			}
		}
	})
}
