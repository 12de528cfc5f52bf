package chain_test

import (
	"encoding/hex"
	"testing"

	"github.com/gossipchain/gossipchain/chain"
	"github.com/gossipchain/gossipchain/chain/chaintest"
	"github.com/gossipchain/gossipchain/chain/smt"
)

// stateVectors is the account-level part of testdata/proofs.json (written
// by testdata/gen_proof_vectors.py, an implementation of its own): the
// key and value hash of accounts in the account-state map.
type stateVectors struct {
	Accounts []struct {
		Address   string     `json:"address"`
		Balance   uint64     `json:"balance"`
		NextNonce uint64     `json:"next_nonce"`
		Key       chain.Hash `json:"key"`
		ValueHash chain.Hash `json:"value_hash"`
	} `json:"accounts"`
	AccountMaps []struct {
		Description string `json:"description"`
		Accounts    []struct {
			Address   string `json:"address"`
			Balance   uint64 `json:"balance"`
			NextNonce uint64 `json:"next_nonce"`
		} `json:"accounts"`
		Root   chain.Hash `json:"root"`
		Proofs []struct {
			Address  string `json:"address"`
			MapProof string `json:"map_proof"`
		} `json:"proofs"`
	} `json:"account_maps"`
}

// TestAccountStateVectors checks AccountKey and AccountValueHash against
// the independent generator's accounts (PROTOCOL.md 10.8, "Entries"), and
// that the map of StateChange of its account sets has their roots and
// proves each address with the generator's bytes.
func TestAccountStateVectors(t *testing.T) {
	var v stateVectors
	chaintest.ReadVectors(t, "proofs.json", &v)
	if len(v.Accounts) == 0 {
		t.Fatal("proofs.json has no accounts")
	}
	for _, a := range v.Accounts {
		if _, err := chain.PublicKeyOf(a.Address); err != nil {
			t.Errorf("%s: not an address: %v", a.Address, err)
		}
		if got := chain.AccountKey(a.Address); got != a.Key {
			t.Errorf("AccountKey(%s) = %s, want %s", a.Address, got, a.Key)
		}
		if got := chain.AccountValueHash(a.Balance, a.NextNonce); got != a.ValueHash {
			t.Errorf("AccountValueHash(%d, %d) = %s, want %s", a.Balance, a.NextNonce, got, a.ValueHash)
		}
	}
	for _, m := range v.AccountMaps {
		var changes []smt.Change
		for _, a := range m.Accounts {
			changes = append(changes, chain.StateChange(a.Address, a.Balance, a.NextNonce))
		}
		s := smt.NewMemStore()
		root, err := smt.Apply(s, smt.Empty, changes)
		if err != nil {
			t.Fatalf("%s: %v", m.Description, err)
		}
		if root != smt.Hash(m.Root) {
			t.Fatalf("%s: root %x, want %s", m.Description, root, m.Root)
		}
		for _, p := range m.Proofs {
			proof, err := smt.Prove(s, root, smt.Hash(chain.AccountKey(p.Address)))
			if err != nil {
				t.Fatalf("%s: prove %s: %v", m.Description, p.Address, err)
			}
			got, err := proof.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			if hex.EncodeToString(got) != p.MapProof {
				t.Errorf("%s: proof of %s is %x, want %s", m.Description, p.Address, got, p.MapProof)
			}
		}
	}
}
