package proof_test

import (
	"crypto/sha256"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/gossipchain/gossipchain/chain"
	"github.com/gossipchain/gossipchain/chain/chaintest"
	"github.com/gossipchain/gossipchain/chain/proof"
)

// BenchmarkVerifyTx measures decoding and verifying the proof of a signed
// payment at the first position (the longest path) of a block of 10 and
// of 2,000 transactions, and reports the proof's size. The same-run
// reference is one SHA-256 of a header, the unit of a header check.
func BenchmarkVerifyTx(b *testing.B) {
	key, addr := chaintest.Key(b, "alice")
	tx := chaintest.SignedTx(b, chain.Hash{1}, key, addr, 1, 0)
	for _, n := range []int{10, 2000} {
		blk := newTxBlock(rand.New(rand.NewPCG(9, uint64(n))), n, 0, tx)
		enc, err := blk.proofOf(b, 0).MarshalBinary()
		if err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("txs=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				p, err := proof.DecodeTx(enc)
				if err == nil {
					_, err = p.Verify(tx.ID)
				}
				if err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(enc)), "proof-bytes")
		})
	}
	benchHeaderHash(b)
}

// BenchmarkVerifyAccount measures decoding and verifying the inclusion
// proof of an account, and the absence proof of an address, in a map of
// 10,000 accounts, and reports their sizes; the same-run reference is one
// SHA-256 of a header.
func BenchmarkVerifyAccount(b *testing.B) {
	addrs := make([]string, 10_000)
	for i := range addrs {
		_, addrs[i] = chaintest.Key(b, fmt.Sprint("bench-", i))
	}
	_, absent := chaintest.Key(b, "absent")
	r := rand.New(rand.NewPCG(10, 11))
	blk := newStateBlock(b, r, addrs)
	for blk.accounts[addrs[0]] == (account{}) {
		blk = newStateBlock(b, r, addrs)
	}
	for name, addr := range map[string]string{"present": addrs[0], "absent": absent} {
		p, _ := blk.proofOf(b, addr)
		enc, err := p.MarshalBinary()
		if err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("%s/accounts=%d", name, len(addrs)), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				p, err := proof.DecodeAccount(enc)
				if err == nil {
					_, err = p.Verify(addr)
				}
				if err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(enc)), "proof-bytes")
		})
	}
	benchHeaderHash(b)
}

// benchHeaderHash is the same-run reference: one SHA-256 of a header.
func benchHeaderHash(b *testing.B) {
	var h [chain.HeaderSize]byte
	b.Run("reference-header-sha256", func(b *testing.B) {
		for b.Loop() {
			sum := sha256.Sum256(h[:])
			h[0] = sum[0]
		}
	})
}
