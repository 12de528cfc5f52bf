package chain_test

import (
	"crypto/sha256"
	"encoding/hex"
	"testing"

	"github.com/gossipchain/gossipchain/chain"
	"github.com/gossipchain/gossipchain/chain/chaintest"
	"github.com/gossipchain/gossipchain/chain/smt"
)

// TestAccountKeyAndValue checks the key and value hash of the map against
// their definition (PROTOCOL.md 10.8), spelled out here byte by byte.
func TestAccountKeyAndValue(t *testing.T) {
	_, addr := chaintest.Key(t, "alice")
	if got, want := chain.AccountKey(addr), chain.Hash(sha256.Sum256([]byte(addr))); got != want {
		t.Fatalf("key %s, want %s", got, want)
	}
	raw, _ := hex.DecodeString("0000000000000102" + "0000000000000003")
	if got, want := chain.AccountValueHash(258, 3), chain.Hash(sha256.Sum256(raw)); got != want {
		t.Fatalf("value hash %s, want %s", got, want)
	}
	if c := chain.StateChange(addr, 0, 0); !c.Delete || c.Key != smt.Hash(chain.AccountKey(addr)) {
		t.Fatalf("a zero account: %+v, want the removal of its key", c)
	}
	if c := chain.StateChange(addr, 0, 1); c.Delete || c.Value != smt.Hash(chain.AccountValueHash(0, 1)) {
		t.Fatalf("an account with a nonce: %+v, want its value", c)
	}
}

// TestCheckStateRoot checks the rule on both kinds of network.
func TestCheckStateRoot(t *testing.T) {
	signed, open := chaintest.SignedParams(t), chaintest.ParamsAt(t, chaintest.Difficulty)
	root := chain.Hash{1}
	b := &chain.Block{StateRoot: root}
	if err := signed.CheckStateRoot(b, root); err != nil {
		t.Fatal(err)
	}
	if err := signed.CheckStateRoot(b, chain.Hash{2}); chain.RuleCode(err) != chain.ErrBadStateRoot {
		t.Fatalf("another root: %v, want bad_state_root", err)
	}
	if err := open.CheckStateRoot(b, root); chain.RuleCode(err) != chain.ErrBadStateRoot {
		t.Fatalf("a root on an open network: %v, want bad_state_root", err)
	}
	if err := open.CheckStateRoot(&chain.Block{}, root); err != nil {
		t.Fatalf("the zero root on an open network: %v", err)
	}
	if chain.ErrBadStateRoot.String() != "bad_state_root" {
		t.Fatalf("code name %q", chain.ErrBadStateRoot)
	}
}
