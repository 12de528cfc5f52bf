package chain_test

import (
	"testing"

	"github.com/gossipchain/gossipchain/chain"
	"github.com/gossipchain/gossipchain/chain/chaintest"
)

func TestDecodeHeaderRoundTrip(t *testing.T) {
	p := chaintest.ParamsAt(t, chaintest.Difficulty)
	b := chaintest.NextBlock(t, &p, p.Genesis(), "miner")
	h := b.Header()
	got, err := chain.DecodeHeader(h[:])
	if err != nil {
		t.Fatalf("DecodeHeader: %v", err)
	}
	if got.Hash != b.Hash || got.Header() != h || got.Transactions != nil {
		t.Errorf("decoded %+v, want the header of %+v and no transactions", got, b)
	}
}

func TestDecodeHeaderRefusesMalformed(t *testing.T) {
	p := chaintest.ParamsAt(t, chaintest.Difficulty)
	h := p.Genesis().Header()
	badVersion := h
	badVersion[99]++ // the version's last byte (offset 96..99)
	for name, in := range map[string][]byte{
		"short":       h[:chain.HeaderSize-1],
		"long":        append(h[:], 0),
		"empty":       nil,
		"bad version": badVersion[:],
	} {
		if _, err := chain.DecodeHeader(in); chain.RuleCode(err) != chain.ErrMalformed {
			t.Errorf("%s: error %v, want a %s rule error", name, err, chain.ErrMalformed)
		}
	}
}
