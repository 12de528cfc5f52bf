//go:build amd64 && !purego

package powhash

//go:generate go run gen_amd64.go -out powhash_amd64.s

// shaniState is the per-header precomputation read by the assembly code.
// The field offsets are hard-coded in gen_amd64.go. Vectors are in the lane
// order used by SHA256RNDS2: state as ABEF = [F E B A] and CDGH = [H G D C]
// (lane 0 first), message words as [W(i) W(i+1) W(i+2) W(i+3)].
type shaniState struct {
	abef0, cdgh0 [4]uint32 // 0, 16: midstate, the start and the feed-forward
	w23          [4]uint32 // 32: [0 0 W2 W3], OR-ed with the proof words
	m1           [4]uint32 // 48: W4..W7
	m3           [4]uint32 // 64: W12..W15
	w9           [4]uint32 // 80: W9..W12 (PALIGNR of M3 and M2)
	m1s          [4]uint32 // 96: W4..W7 + σ0(W5..W8) (SHA256MSG1 of M1, M2)
	m2s          [4]uint32 // 112: W8..W11 + σ0(W9..W12) (SHA256MSG1 of M2, M3)
	kw4          [4]uint32 // 128: W4..W7 + K4..K7
	kw8          [4]uint32 // 144: W8..W11 + K8..K11
	kw12         [4]uint32 // 160: W12..W15 + K12..K15
	mask         [4]uint32 // 176: [0 0 0 mask], tested against ABEF
}

// useSHANI reports whether the CPU has the SHA extensions plus the SSSE3
// and SSE4.1 instructions the assembly uses.
var useSHANI = detectSHANI()

func detectSHANI() bool {
	maxLeaf, _, _, _ := cpuid(0, 0)
	if maxLeaf < 7 {
		return false
	}
	_, _, ecx1, _ := cpuid(1, 0)
	_, ebx7, _, _ := cpuid(7, 0)
	const (
		ssse3  = 1 << 9  // leaf 1 ECX
		sse41  = 1 << 19 // leaf 1 ECX
		shaExt = 1 << 29 // leaf 7 EBX
	)
	return ecx1&ssse3 != 0 && ecx1&sse41 != 0 && ebx7&shaExt != 0
}

//go:noescape
func cpuid(leaf, sub uint32) (eax, ebx, ecx, edx uint32)

// compressSHANI runs the 64 rounds of the final block and the feed-forward,
// storing the hash in SHA-NI lane order: [F E B A H G D C].
//
//go:noescape
func compressSHANI(st *shaniState, proof uint64, out *[8]uint32)

// searchPairsSHANI tries proofs start..start+2*pairs-1 and returns the first
// whose first hash word ANDed with st.mask[3] is zero.
//
//go:noescape
func searchPairsSHANI(st *shaniState, start, pairs uint64) (proof uint64, found bool)

func abef(s *[8]uint32) [4]uint32 { return [4]uint32{s[5], s[4], s[1], s[0]} }
func cdgh(s *[8]uint32) [4]uint32 { return [4]uint32{s[7], s[6], s[3], s[2]} }

func (s *Searcher) initSHANI() {
	n := &s.ni
	w := &s.w
	n.abef0, n.cdgh0 = abef(&s.mid), cdgh(&s.mid)
	n.w23 = [4]uint32{0, 0, w[2], w[3]}
	n.m1 = [4]uint32{w[4], w[5], w[6], w[7]}
	n.m3 = [4]uint32{w[12], w[13], w[14], w[15]}
	n.w9 = [4]uint32{w[9], w[10], w[11], w[12]}
	for i := 0; i < 4; i++ {
		n.m1s[i] = w[4+i] + sigma0(w[5+i])
		n.m2s[i] = w[8+i] + sigma0(w[9+i])
		n.kw4[i] = w[4+i] + _K[4+i]
		n.kw8[i] = w[8+i] + _K[8+i]
		n.kw12[i] = w[12+i] + _K[12+i]
	}
}

func (s *Searcher) hashSHANI(proof uint64) [8]uint32 {
	var o [8]uint32
	compressSHANI(&s.ni, proof, &o)
	return [8]uint32{o[3], o[2], o[7], o[6], o[1], o[0], o[5], o[4]}
}

func (s *Searcher) searchSHANI(start, count uint64, mask uint32) (uint64, bool) {
	s.ni.mask[3] = mask
	if pairs := count / 2; pairs > 0 {
		if p, ok := searchPairsSHANI(&s.ni, start, pairs); ok {
			return p, true
		}
		start += 2 * pairs
	}
	if count&1 != 0 {
		var o [8]uint32
		compressSHANI(&s.ni, start, &o)
		if o[3]&mask == 0 {
			return start, true
		}
	}
	return 0, false
}
