package powhash

import (
	"testing"
	"time"
)

// searchChunk is the number of attempts per benchmark operation.
const searchChunk = 1 << 16

// benchDifficulty is out of reach, so every attempt in a chunk is made.
const benchDifficulty = 200

func benchHeader() *[HeaderSize]byte {
	var h [HeaderSize]byte
	for i := range h {
		h[i] = byte(i*131 + 17)
	}
	return &h
}

// runSearch times b.N chunks of searchChunk attempts and returns the
// attempt rate per second.
func runSearch(b *testing.B, s *Searcher) float64 {
	var next uint64
	for b.Loop() {
		if _, ok := s.Search(next, searchChunk, benchDifficulty); ok {
			b.Fatal("unexpected proof found")
		}
		next += searchChunk
	}
	rate := float64(b.N) * searchChunk / b.Elapsed().Seconds()
	b.ReportMetric(rate, "attempts/s")
	return rate
}

func BenchmarkSearch(b *testing.B) {
	runSearch(b, NewSearcher(benchHeader()))
}

func BenchmarkSearchPortable(b *testing.B) {
	runSearch(b, newSearcher(benchHeader(), false))
}

// benchRatio reports the single-thread search rate as a fraction of the
// crypto/sha256 compression rate measured in the same run (before and after
// the search, averaged).
func benchRatio(b *testing.B, accel bool) {
	s := newSearcher(benchHeader(), accel)
	before := CompressionRate(250 * time.Millisecond)
	rate := runSearch(b, s)
	after := CompressionRate(250 * time.Millisecond)
	limit := (before + after) / 2
	b.ReportMetric(limit, "sha256-blocks/s")
	b.ReportMetric(rate/limit, "ratio-of-sha256-limit")
}

func BenchmarkSearchRatio(b *testing.B) { benchRatio(b, true) }

func BenchmarkSearchRatioPortable(b *testing.B) { benchRatio(b, false) }

func BenchmarkHash(b *testing.B) {
	s := NewSearcher(benchHeader())
	var p uint64
	for b.Loop() {
		h := s.Hash(p)
		p += uint64(h[31]) | 1
	}
}
