package powhash

import (
	"crypto/sha256"
	"encoding/binary"
	"math/bits"
	"time"
)

// HeaderSize is the size in bytes of a serialized block header.
const HeaderSize = 136

// ProofOffset is the offset of the 8-byte big-endian proof inside the header.
const ProofOffset = 128

// Searcher searches proofs for one header. Not safe for concurrent use; use
// one per thread.
type Searcher struct {
	// mid is the SHA-256 state after compressing header bytes 0..127.
	mid [8]uint32
	// w is the message schedule of the final block with every word that
	// does not depend on the proof filled in: W2..W15 (padding and
	// length). W0, W1 (the proof) and W16..W63 are computed for every
	// attempt.
	w [64]uint32
	// scratch is the message schedule of the attempt in progress on the
	// portable path (a copy of w with the proof-dependent words filled in).
	scratch [64]uint32
	// ni holds the same precomputation laid out for the SHA-NI code.
	ni shaniState
	// accel selects the SHA-NI code.
	accel bool
}

// NewSearcher prepares a search over header (its proof bytes 128..135 are
// ignored).
func NewSearcher(header *[HeaderSize]byte) *Searcher {
	return newSearcher(header, useSHANI)
}

// newSearcher is NewSearcher with an explicit choice of implementation;
// accel is ignored (treated as false) when the CPU lacks the required
// instructions. Tests use it to exercise the portable path.
func newSearcher(header *[HeaderSize]byte, accel bool) *Searcher {
	s := &Searcher{accel: accel && useSHANI}
	s.mid = sha256IV
	blockGeneric(&s.mid, (*[64]byte)(header[:64]))
	blockGeneric(&s.mid, (*[64]byte)(header[64:128]))

	s.w[2] = 0x80000000      // padding: a single 1 bit after the message
	s.w[15] = HeaderSize * 8 // message length in bits (1088)
	s.scratch = s.w
	s.initSHANI()
	return s
}

// Hash returns SHA-256 of the header with the given proof (equal to
// sha256.Sum256 of the full header).
func (s *Searcher) Hash(proof uint64) [32]byte {
	var h [8]uint32
	if s.accel {
		h = s.hashSHANI(proof)
	} else {
		h = s.hashGeneric(proof)
	}
	var out [32]byte
	for i, v := range h {
		binary.BigEndian.PutUint32(out[4*i:], v)
	}
	return out
}

// Search tries proofs start, start+1, ..., start+count-1 (wrapping around
// at 2^64) and returns the first whose hash has at least difficulty leading
// zero bits. It allocates nothing.
func (s *Searcher) Search(start, count uint64, difficulty uint32) (proof uint64, found bool) {
	if count == 0 || difficulty > 256 {
		return 0, false
	}
	if difficulty == 0 {
		return start, true
	}
	// mask selects the bits of the first hash word that must be zero. For
	// difficulty <= 32 the test on the first word is exact; above that it
	// is a filter and candidates are confirmed on the full hash.
	mask := ^uint32(0)
	if difficulty < 32 {
		mask <<= 32 - difficulty
	}
	return s.search(start, count, difficulty, mask, difficulty <= 32)
}

// search runs the search loop with a filter on the first hash word
// (word&mask == 0 is necessary for a hash to meet difficulty). When exact is
// false, candidates passing the filter are confirmed on the full hash.
func (s *Searcher) search(start, count uint64, difficulty, mask uint32, exact bool) (proof uint64, found bool) {
	for count > 0 {
		var p uint64
		var ok bool
		if s.accel {
			p, ok = s.searchSHANI(start, count, mask)
		} else {
			p, ok = s.searchGeneric(start, count, mask)
		}
		if !ok {
			return 0, false
		}
		if exact {
			return p, true
		}
		h := s.Hash(p)
		if LeadingZeroBits(&h) >= int(difficulty) {
			return p, true
		}
		done := p - start + 1 // candidates tried, modulo 2^64
		start, count = p+1, count-done
	}
	return 0, false
}

// LeadingZeroBits counts the leading zero bits of a hash.
func LeadingZeroBits(h *[32]byte) int {
	for i := 0; i < 32; i += 8 {
		if v := binary.BigEndian.Uint64(h[i:]); v != 0 {
			return i*8 + bits.LeadingZeros64(v)
		}
	}
	return 256
}

// Accelerated reports whether the SHA-NI path is in use.
func Accelerated() bool { return useSHANI }

// CompressionRate measures this machine's SHA-256 compression rate:
// crypto/sha256 is run over a 1 MiB buffer repeatedly for about d, and the
// throughput in bytes per second is divided by 64 (the SHA-256 block size).
// It is the reference the proof-of-work search is compared with.
func CompressionRate(d time.Duration) float64 {
	buf := make([]byte, 1<<20)
	h := sha256.New()
	h.Write(buf) // warm up
	var n int64
	begin := time.Now()
	var elapsed time.Duration
	for {
		h.Write(buf)
		n += int64(len(buf))
		if elapsed = time.Since(begin); elapsed >= d {
			break
		}
	}
	var sum [sha256.Size]byte
	h.Sum(sum[:0])
	return float64(n) / elapsed.Seconds() / sha256.BlockSize
}
