package main

import (
	"testing"

	"github.com/gossipchain/gossipchain/chain"
)

// TestFundingBlocks: the funding chain of gcbench ledger is valid on the
// signed bench network and credits each account its share of the rewards.
func TestFundingBlocks(t *testing.T) {
	p, err := ledgerParams()
	if err != nil {
		t.Fatal(err)
	}
	var addrs []string
	for range 3 {
		k, err := chain.GenerateKey()
		if err != nil {
			t.Fatal(err)
		}
		a, err := chain.AddressOf(k)
		if err != nil {
			t.Fatal(err)
		}
		addrs = append(addrs, a)
	}
	blocks, err := buildFundingBlocks(p, 10, func(i int) string { return addrs[i%3] })
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := writeDataDir(dir, p, blocks); err != nil {
		t.Fatal(err)
	}
	c, err := openStore(dir, p)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for i, want := range []uint64{4, 3, 3} {
		if a, err := c.Account(addrs[i]); err != nil || a.Balance != want*p.Reward {
			t.Errorf("account %d: %+v %v, want balance %d", i, a, err, want*p.Reward)
		}
	}
}
