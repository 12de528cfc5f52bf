package smt_test

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"slices"
	"testing"

	"github.com/gossipchain/gossipchain/chain"
	"github.com/gossipchain/gossipchain/chain/chaintest"
	"github.com/gossipchain/gossipchain/chain/smt"
)

// smtVectors is testdata/smt.json, written by
// testdata/gen_merkle_vectors.py.
type smtVectors struct {
	Maps []struct {
		Description string         `json:"description"`
		Entries     []changeVector `json:"entries"`
		Generated   int            `json:"generated"`
		Root        chain.Hash     `json:"root"`
		Proofs      []smtProofCase `json:"proofs"`
	} `json:"maps"`
	Updates []struct {
		Description string         `json:"description"`
		Changes     []changeVector `json:"changes"`
		Root        chain.Hash     `json:"root"`
		Proofs      []smtProofCase `json:"proofs"`
	} `json:"updates"`
	InvalidProofs []smtProofCase `json:"invalid_proofs"`
}

type changeVector struct {
	Key    chain.Hash `json:"key"`
	Value  chain.Hash `json:"value"`
	Delete bool       `json:"delete"`
}

type smtProofCase struct {
	Description string      `json:"description"`
	Root        chain.Hash  `json:"root"`
	Key         chain.Hash  `json:"key"`
	Value       *chain.Hash `json:"value"`
	Kind        int         `json:"kind"`
	Proof       string      `json:"proof"`
}

func hexBytes(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatalf("%q is not hex: %v", s, err)
	}
	return b
}

func (c changeVector) change() smt.Change {
	return smt.Change{Key: c.Key, Value: c.Value, Delete: c.Delete}
}

// value is the case's value hash, nil for an absence.
func (c smtProofCase) value() *smt.Hash {
	if c.Value == nil {
		return nil
	}
	v := smt.Hash(*c.Value)
	return &v
}

// vectorEntry is key i and its value of version 0 in the vectors' rule.
func vectorEntry(i int) smt.Change {
	n := binary.BigEndian.AppendUint32(nil, uint32(i))
	return smt.Change{
		Key:   sha256.Sum256(slices.Concat([]byte("key"), n)),
		Value: sha256.Sum256(slices.Concat([]byte("value"), n, []byte{0, 0, 0, 0})),
	}
}

// checkProofs checks that Prove gives each case's proof byte for byte and
// that it verifies.
func checkProofs(t *testing.T, s smt.NodeReader, what string, root smt.Hash, cases []smtProofCase) {
	t.Helper()
	for _, c := range cases {
		key := smt.Hash(c.Key)
		_, got := proveBytes(t, s, root, key)
		if want := hexBytes(t, c.Proof); !slices.Equal(got, want) {
			t.Fatalf("%s, proof of %x: %x, want %x", what, key, got, want)
		}
		if got[0] != byte(c.Kind) {
			t.Fatalf("%s, proof of %x: kind %d, want %d", what, key, got[0], c.Kind)
		}
		if err := smt.Verify(root, key, c.value(), got); err != nil {
			t.Fatalf("%s, proof of %x: %v", what, key, err)
		}
	}
}

func TestSMTVectors(t *testing.T) {
	var v smtVectors
	chaintest.ReadVectors(t, "smt.json", &v)
	if len(v.Maps) == 0 || len(v.Updates) == 0 || len(v.InvalidProofs) == 0 {
		t.Fatal("smt.json has no maps, updates or invalid proofs")
	}
	for _, m := range v.Maps {
		var changes []smt.Change
		for _, e := range m.Entries {
			changes = append(changes, e.change())
		}
		for i := range m.Generated {
			changes = append(changes, vectorEntry(i))
		}
		s := smt.NewMemStore()
		root, err := smt.Apply(s, smt.Empty, changes)
		if err != nil {
			t.Fatal(err)
		}
		if want := smt.Hash(m.Root); root != want {
			t.Fatalf("%s: root %x, want %x", m.Description, root, want)
		}
		checkProofs(t, s, m.Description, root, m.Proofs)
	}
	s := smt.NewMemStore()
	root := smt.Empty
	for _, u := range v.Updates {
		var changes []smt.Change
		for _, c := range u.Changes {
			changes = append(changes, c.change())
		}
		var err error
		if root, err = smt.Apply(s, root, changes); err != nil {
			t.Fatal(err)
		}
		if want := smt.Hash(u.Root); root != want {
			t.Fatalf("%s: root %x, want %x", u.Description, root, want)
		}
		checkProofs(t, s, u.Description, root, u.Proofs)
	}
	for _, c := range v.InvalidProofs {
		err := smt.Verify(c.Root, c.Key, c.value(), hexBytes(t, c.Proof))
		if !errors.Is(err, smt.ErrBadProof) {
			t.Errorf("%s: got %v, want ErrBadProof", c.Description, err)
		}
	}
}
