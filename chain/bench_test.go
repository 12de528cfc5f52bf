package chain_test

import (
	"fmt"
	"testing"

	"github.com/gossipchain/gossipchain/chain"
	"github.com/gossipchain/gossipchain/chain/chaintest"
)

func BenchmarkValidateBlock(b *testing.B) {
	p := chaintest.ParamsAt(b, 8)
	var txs []chain.Transaction
	for i := range 5 {
		txs = append(txs, chaintest.Tx(fmt.Sprintf("sender-%d", i), "recipient", uint64(i+1), uint64(i)))
	}
	blk := chaintest.NextBlock(b, &p, p.Genesis(), "miner", txs...)
	b.ReportAllocs()
	for b.Loop() {
		if err := p.CheckBlockSanity(blk, chaintest.Now); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkComputeHash(b *testing.B) {
	blk := sampleBlock(b)
	for b.Loop() {
		blk.Proof++
		_ = blk.ComputeHash()
	}
}

func BenchmarkDecodeBlock(b *testing.B) {
	raw, _ := sampleBlock(b).MarshalBinary()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := chain.DecodeBlock(raw, 0); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeBlockJSON(b *testing.B) {
	data := mustMarshal(b, sampleBlock(b))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := chain.DecodeBlockJSON(data, 0); err != nil {
			b.Fatal(err)
		}
	}
}
