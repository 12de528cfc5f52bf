//go:build amd64 && !purego

package powhash

//go:generate go run gen_amd64.go -out powhash_amd64.s

// shaniState is the per-header precomputation read by the assembly code.
// The field offsets are hard-coded in gen_amd64.go. Vectors are in the lane
// order used by SHA256RNDS2: state as ABEF = [F E B A] and CDGH = [H G D C]
// (lane 0 first), message words as [W(i) W(i+1) W(i+2) W(i+3)].
type shaniState struct {
	abef6, cdgh6 [4]uint32 // 0, 16: state after rounds 0..5
	abef0, cdgh0 [4]uint32 // 32, 48: midstate, for the feed-forward
	w45          [4]uint32 // 64: [W4 W5 0 0]
	k67          [4]uint32 // 80: [K6 K7 0 0]
	w8           [4]uint32 // 96: W8..W11
	w13          [4]uint32 // 112: W13..W16
	m0           [4]uint32 // 128: W16..W19
	m2           [4]uint32 // 144: W8..W11 + σ0(W9..W12) (SHA256MSG1 output)
	m3           [4]uint32 // 160: W12..W15 + σ0(W13..W16) (SHA256MSG1 output)
	kw8          [4]uint32 // 176: W8..W11 + K8..K11
	kw12         [4]uint32 // 192: W12..W15 + K12..K15
	kw16         [4]uint32 // 208: W16..W19 + K16..K19
	mask         [4]uint32 // 224: [0 0 0 mask], tested against ABEF
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

// compressSHANI runs rounds 6..63 of the final block and the feed-forward,
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
	n.abef6, n.cdgh6 = abef(&s.st6), cdgh(&s.st6)
	n.abef0, n.cdgh0 = abef(&s.mid), cdgh(&s.mid)
	n.w45 = [4]uint32{w[4], w[5], 0, 0}
	n.k67 = [4]uint32{_K[6], _K[7], 0, 0}
	n.w8 = [4]uint32{w[8], w[9], w[10], w[11]}
	n.w13 = [4]uint32{w[13], w[14], w[15], w[16]}
	n.m0 = [4]uint32{w[16], w[17], w[18], w[19]}
	for i := 0; i < 4; i++ {
		n.m2[i] = w[8+i] + sigma0(w[9+i])
		n.m3[i] = w[12+i] + sigma0(w[13+i])
		n.kw8[i] = w[8+i] + _K[8+i]
		n.kw12[i] = w[12+i] + _K[12+i]
		n.kw16[i] = w[16+i] + _K[16+i]
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
