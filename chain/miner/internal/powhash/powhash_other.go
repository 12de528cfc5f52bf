//go:build !amd64 || purego

package powhash

// shaniState is empty where the SHA-NI code is not built.
type shaniState struct{}

const useSHANI = false

func (s *Searcher) initSHANI() {}

func (s *Searcher) hashSHANI(proof uint64) [8]uint32 { return s.hashGeneric(proof) }

func (s *Searcher) searchSHANI(start, count uint64, mask uint32) (uint64, bool) {
	return s.searchGeneric(start, count, mask)
}
