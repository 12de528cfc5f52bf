package merkle_test

import (
	"crypto/sha256"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/gossipchain/gossipchain/chain/merkle"
)

// benchSizes are a small block and the largest block a network allows
// (max_block_txs = 2,000).
var benchSizes = []int{10, 2000}

// BenchmarkRoot measures the transaction root of a block.
func BenchmarkRoot(b *testing.B) {
	for _, n := range benchSizes {
		leaves := randomLeaves(rand.New(rand.NewPCG(1, uint64(n))), n)
		b.Run(fmt.Sprintf("txs=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				merkle.Root(leaves)
			}
		})
		// The same-run reference: one SHA-256 over the ids back to back,
		// what the flat root of header version 2 cost.
		b.Run(fmt.Sprintf("flat-sha256/txs=%d", n), func(b *testing.B) {
			h := sha256.New()
			for b.Loop() {
				h.Reset()
				for _, l := range leaves {
					h.Write(l[:])
				}
				h.Sum(nil)
			}
		})
	}
}

// BenchmarkInclusionProof measures building the proof of the first
// transaction, the longest path of the tree, and reports its size on the
// wire (32 bytes a hash).
func BenchmarkInclusionProof(b *testing.B) {
	for _, n := range benchSizes {
		leaves := randomLeaves(rand.New(rand.NewPCG(2, uint64(n))), n)
		b.Run(fmt.Sprintf("txs=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			var path []merkle.Hash
			for b.Loop() {
				path, _ = merkle.InclusionProof(0, leaves)
			}
			b.ReportMetric(float64(len(path)*merkle.HashSize), "proof-bytes")
		})
	}
}

// BenchmarkVerifyInclusion measures what a light client spends on one
// proof.
func BenchmarkVerifyInclusion(b *testing.B) {
	for _, n := range benchSizes {
		leaves := randomLeaves(rand.New(rand.NewPCG(3, uint64(n))), n)
		root := merkle.Root(leaves)
		path, err := merkle.InclusionProof(n-1, leaves)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("txs=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := merkle.VerifyInclusion(root, uint64(n-1), uint64(n), leaves[n-1], path); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
