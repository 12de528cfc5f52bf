package headerchain

import (
	"math/big"
	"testing"

	"github.com/gossipchain/gossipchain/chain"
	"github.com/gossipchain/gossipchain/chain/chaintest"
)

// TestRecordRoundTrip: a record keeps the header, the marks and any work
// below 2^256, in as few bytes as the work takes.
func TestRecordRoundTrip(t *testing.T) {
	p := chaintest.ParamsAt(t, chaintest.Difficulty)
	b := p.Genesis()
	for _, work := range []*big.Int{big.NewInt(1), big.NewInt(1 << 40), new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 256), big.NewInt(1))} {
		e := &chain.Parent{Mark: 7, PrevMark: 5, Work: work}
		rec := appendRecord(nil, b, e)
		if want := chain.HeaderSize + 16 + max(1, (work.BitLen()+7)/8); len(rec) != want {
			t.Errorf("work %x: record of %d bytes, want %d", work, len(rec), want)
		}
		got, ge, err := parseRecord(rec)
		if err != nil {
			t.Fatal(err)
		}
		if got.Hash != b.Hash || ge.Work.Cmp(work) != 0 || ge.Mark != 7 || ge.PrevMark != 5 || ge.Index != b.Index {
			t.Errorf("work %x: parsed %+v, %+v", work, got, ge)
		}
	}
	if _, _, err := parseRecord(make([]byte, chain.HeaderSize+16)); err == nil {
		t.Error("a record without work parsed")
	}
}
