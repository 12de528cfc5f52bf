package powhash

import (
	"encoding/binary"
	"math/bits"
)

var sha256IV = [8]uint32{
	0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
	0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
}

var _K = [64]uint32{
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
	0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
	0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
	0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
	0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
	0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
	0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
	0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
}

// schedule returns message word W[i] (16 <= i < 64) from earlier words.
func schedule(w *[64]uint32, i int) uint32 {
	v1 := w[i-2]
	t1 := bits.RotateLeft32(v1, -17) ^ bits.RotateLeft32(v1, -19) ^ (v1 >> 10)
	v2 := w[i-15]
	t2 := bits.RotateLeft32(v2, -7) ^ bits.RotateLeft32(v2, -18) ^ (v2 >> 3)
	return t1 + w[i-7] + t2 + w[i-16]
}

// rounds runs SHA-256 rounds from..to-1 on st with message schedule w.
func rounds(st *[8]uint32, w *[64]uint32, from, to int) {
	a, b, c, d, e, f, g, h := st[0], st[1], st[2], st[3], st[4], st[5], st[6], st[7]
	for i := from; i < to; i++ {
		t1 := h + (bits.RotateLeft32(e, -6) ^ bits.RotateLeft32(e, -11) ^ bits.RotateLeft32(e, -25)) +
			((e & f) ^ (^e & g)) + _K[i] + w[i]
		t2 := (bits.RotateLeft32(a, -2) ^ bits.RotateLeft32(a, -13) ^ bits.RotateLeft32(a, -22)) +
			((a & b) ^ (a & c) ^ (b & c))
		h, g, f, e, d, c, b, a = g, f, e, d+t1, c, b, a, t1+t2
	}
	st[0], st[1], st[2], st[3], st[4], st[5], st[6], st[7] = a, b, c, d, e, f, g, h
}

// blockGeneric compresses one 64-byte block into h.
func blockGeneric(h *[8]uint32, p *[64]byte) {
	var w [64]uint32
	for i := 0; i < 16; i++ {
		w[i] = binary.BigEndian.Uint32(p[4*i:])
	}
	for i := 16; i < 64; i++ {
		w[i] = schedule(&w, i)
	}
	st := *h
	rounds(&st, &w, 0, 64)
	for i := range h {
		h[i] += st[i]
	}
}

// compressTail runs the 64 rounds of the final block for one proof and
// returns the state before the feed-forward addition of the midstate.
func (s *Searcher) compressTail(proof uint64) [8]uint32 {
	w := &s.scratch
	w[0] = uint32(proof >> 32)
	w[1] = uint32(proof)
	for i := 16; i < 64; i++ {
		v1 := w[i-2]
		t1 := bits.RotateLeft32(v1, -17) ^ bits.RotateLeft32(v1, -19) ^ (v1 >> 10)
		v2 := w[i-15]
		t2 := bits.RotateLeft32(v2, -7) ^ bits.RotateLeft32(v2, -18) ^ (v2 >> 3)
		w[i] = t1 + w[i-7] + t2 + w[i-16]
	}
	a, b, c, d, e, f, g, h := s.mid[0], s.mid[1], s.mid[2], s.mid[3], s.mid[4], s.mid[5], s.mid[6], s.mid[7]
	// Eight rounds per iteration, so that the working variables never have
	// to be rotated.
	for i := 0; i < 64; i += 8 {
		k, w := (*[8]uint32)(_K[i:i+8]), (*[8]uint32)(w[i:i+8])
		h += bigSigma1(e) + ch(e, f, g) + k[0] + w[0]
		d += h
		h += bigSigma0(a) + maj(a, b, c)
		g += bigSigma1(d) + ch(d, e, f) + k[1] + w[1]
		c += g
		g += bigSigma0(h) + maj(h, a, b)
		f += bigSigma1(c) + ch(c, d, e) + k[2] + w[2]
		b += f
		f += bigSigma0(g) + maj(g, h, a)
		e += bigSigma1(b) + ch(b, c, d) + k[3] + w[3]
		a += e
		e += bigSigma0(f) + maj(f, g, h)
		d += bigSigma1(a) + ch(a, b, c) + k[4] + w[4]
		h += d
		d += bigSigma0(e) + maj(e, f, g)
		c += bigSigma1(h) + ch(h, a, b) + k[5] + w[5]
		g += c
		c += bigSigma0(d) + maj(d, e, f)
		b += bigSigma1(g) + ch(g, h, a) + k[6] + w[6]
		f += b
		b += bigSigma0(c) + maj(c, d, e)
		a += bigSigma1(f) + ch(f, g, h) + k[7] + w[7]
		e += a
		a += bigSigma0(b) + maj(b, c, d)
	}
	return [8]uint32{a, b, c, d, e, f, g, h}
}

func bigSigma0(x uint32) uint32 {
	return bits.RotateLeft32(x, -2) ^ bits.RotateLeft32(x, -13) ^ bits.RotateLeft32(x, -22)
}

func bigSigma1(x uint32) uint32 {
	return bits.RotateLeft32(x, -6) ^ bits.RotateLeft32(x, -11) ^ bits.RotateLeft32(x, -25)
}

func ch(e, f, g uint32) uint32 { return (e & f) ^ (^e & g) }

func maj(a, b, c uint32) uint32 { return (a & b) ^ (a & c) ^ (b & c) }

// hashGeneric is the portable implementation of Hash, returning the hash as
// eight big-endian words.
func (s *Searcher) hashGeneric(proof uint64) [8]uint32 {
	st := s.compressTail(proof)
	for i := range st {
		st[i] += s.mid[i]
	}
	return st
}

// searchGeneric is the portable search loop: it returns the first proof in
// start..start+count-1 whose first hash word w satisfies w&mask == 0.
func (s *Searcher) searchGeneric(start, count uint64, mask uint32) (uint64, bool) {
	a0 := s.mid[0]
	for p := start; count > 0; count-- {
		st := s.compressTail(p)
		if (st[0]+a0)&mask == 0 {
			return p, true
		}
		p++
	}
	return 0, false
}

func sigma0(x uint32) uint32 {
	return bits.RotateLeft32(x, -7) ^ bits.RotateLeft32(x, -18) ^ (x >> 3)
}
