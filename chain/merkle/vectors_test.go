package merkle_test

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"testing"

	"github.com/gossipchain/gossipchain/chain"
	"github.com/gossipchain/gossipchain/chain/chaintest"
	"github.com/gossipchain/gossipchain/chain/merkle"
)

// merkleVectors is testdata/merkle.json, written by
// testdata/gen_merkle_vectors.py.
type merkleVectors struct {
	Trees []struct {
		Size int        `json:"size"`
		Root chain.Hash `json:"root"`
	} `json:"trees"`
	Proofs        []proofVector `json:"proofs"`
	InvalidProofs []proofVector `json:"invalid_proofs"`
}

type proofVector struct {
	Description string       `json:"description"`
	Size        uint64       `json:"size"`
	Index       uint64       `json:"index"`
	Leaf        chain.Hash   `json:"leaf"`
	Root        chain.Hash   `json:"root"`
	Path        []chain.Hash `json:"path"`
}

// vectorLeaf is leaf i of every tree of the vectors: SHA-256 of i as 4
// bytes big-endian.
func vectorLeaf(i int) merkle.Hash {
	return sha256.Sum256(binary.BigEndian.AppendUint32(nil, uint32(i)))
}

func (v proofVector) parse() (root, leaf merkle.Hash, path []merkle.Hash) {
	for _, p := range v.Path {
		path = append(path, p)
	}
	return v.Root, v.Leaf, path
}

func TestMerkleVectors(t *testing.T) {
	var v merkleVectors
	chaintest.ReadVectors(t, "merkle.json", &v)
	leaves := make([]merkle.Hash, 2000)
	for i := range leaves {
		leaves[i] = vectorLeaf(i)
	}
	if len(v.Trees) == 0 || len(v.Proofs) == 0 || len(v.InvalidProofs) == 0 {
		t.Fatal("merkle.json has no trees, proofs or invalid proofs")
	}
	for _, tree := range v.Trees {
		if got := merkle.Root(leaves[:tree.Size]); got != tree.Root {
			t.Errorf("root of %d leaves %x, want %s", tree.Size, got, tree.Root)
		}
	}
	for _, p := range v.Proofs {
		root, leaf, want := p.parse()
		if leaf != leaves[p.Index] {
			t.Fatalf("proof of leaf %d of %d: leaf %x, want %x", p.Index, p.Size, leaf, leaves[p.Index])
		}
		got, err := merkle.InclusionProof(int(p.Index), leaves[:p.Size])
		if err != nil || len(got) != len(want) {
			t.Fatalf("proof of leaf %d of %d: %d hashes, want %d (%v)", p.Index, p.Size, len(got), len(want), err)
		}
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("proof of leaf %d of %d: hash %d is %x, want %x", p.Index, p.Size, i, got[i], want[i])
			}
		}
		if err := merkle.VerifyInclusion(root, p.Index, p.Size, leaf, want); err != nil {
			t.Errorf("proof of leaf %d of %d: %v", p.Index, p.Size, err)
		}
	}
	for _, p := range v.InvalidProofs {
		root, leaf, path := p.parse()
		if err := merkle.VerifyInclusion(root, p.Index, p.Size, leaf, path); !errors.Is(err, merkle.ErrBadProof) {
			t.Errorf("%s: got %v, want ErrBadProof", p.Description, err)
		}
	}
}
