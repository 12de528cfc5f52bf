package smt_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/gossipchain/gossipchain/chain/smt"
)

// benchMap is a map of accounts built once per size for the benchmarks.
type benchMap struct {
	store *smt.MemStore
	root  smt.Hash
	keys  []smt.Hash
	vals  []smt.Hash
}

var benchMaps = map[int]*benchMap{}

// mapOf returns the map of n random accounts, building it the first time.
func mapOf(b *testing.B, n int) *benchMap {
	b.Helper()
	if m, ok := benchMaps[n]; ok {
		return m
	}
	rng := rand.New(rand.NewPCG(100, uint64(n)))
	m := &benchMap{store: smt.NewMemStore(), keys: make([]smt.Hash, n), vals: make([]smt.Hash, n)}
	changes := make([]smt.Change, n)
	for i := range changes {
		m.keys[i], m.vals[i] = randomHash(rng), randomHash(rng)
		changes[i] = smt.Change{Key: m.keys[i], Value: m.vals[i]}
	}
	var err error
	if m.root, err = smt.Apply(m.store, smt.Empty, changes); err != nil {
		b.Fatal(err)
	}
	benchMaps[n] = m
	return m
}

var benchAccounts = []int{10_000, 1_000_000}

// BenchmarkUpdateFullBlock measures the state change of a block of the
// largest allowed size on the signed ledger: 2,000 transfers touch up to
// 4,000 accounts; here 3,000 existing accounts get new values and 1,000
// new accounts appear. Update reads the old paths and hashes the new ones;
// it writes nothing, so every iteration starts from the same root.
// Metrics: nodes created per block.
func BenchmarkUpdateFullBlock(b *testing.B) {
	for _, n := range benchAccounts {
		b.Run(fmt.Sprintf("accounts=%d", n), func(b *testing.B) {
			m := mapOf(b, n)
			rng := rand.New(rand.NewPCG(7, 8))
			changes := make([]smt.Change, 0, 4000)
			for _, i := range rng.Perm(n)[:3000] {
				changes = append(changes, smt.Change{Key: m.keys[i], Value: randomHash(rng)})
			}
			for range 1000 {
				changes = append(changes, smt.Change{Key: randomHash(rng), Value: randomHash(rng)})
			}
			var nodes []smt.Node
			b.ReportAllocs()
			for b.Loop() {
				var err error
				if _, nodes, err = smt.Update(m.store, m.root, changes); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(nodes)), "nodes/block")
		})
	}
}

// BenchmarkProve measures proving accounts of the map, and reports the
// mean encoded size of an inclusion proof and of an absence proof.
func BenchmarkProve(b *testing.B) {
	for _, n := range benchAccounts {
		b.Run(fmt.Sprintf("accounts=%d", n), func(b *testing.B) {
			m := mapOf(b, n)
			rng := rand.New(rand.NewPCG(9, 10))
			i := 0
			for b.Loop() {
				if _, err := smt.Prove(m.store, m.root, m.keys[i%n]); err != nil {
					b.Fatal(err)
				}
				i++
			}
			var in, out int
			const samples = 1000
			for range samples {
				_, enc := proveBytes(b, m.store, m.root, m.keys[rng.IntN(n)])
				in += len(enc)
				_, enc = proveBytes(b, m.store, m.root, randomHash(rng))
				out += len(enc)
			}
			b.ReportMetric(float64(in)/samples, "inclusion-bytes")
			b.ReportMetric(float64(out)/samples, "absence-bytes")
		})
	}
}

// BenchmarkVerify measures what a light client spends on one proof.
func BenchmarkVerify(b *testing.B) {
	for _, n := range benchAccounts {
		b.Run(fmt.Sprintf("accounts=%d", n), func(b *testing.B) {
			m := mapOf(b, n)
			p, err := smt.Prove(m.store, m.root, m.keys[0])
			if err != nil {
				b.Fatal(err)
			}
			enc, err := p.MarshalBinary()
			if err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				if err := smt.Verify(m.root, m.keys[0], &m.vals[0], enc); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
