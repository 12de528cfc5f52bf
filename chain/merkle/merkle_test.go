package merkle_test

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/gossipchain/gossipchain/chain/merkle"
)

// mth is the tree hash written straight from its recursive definition.
func mth(leaves []merkle.Hash) merkle.Hash {
	switch len(leaves) {
	case 0:
		return sha256.Sum256(nil)
	case 1:
		return sha256.Sum256(append([]byte{0}, leaves[0][:]...))
	}
	k := 1
	for 2*k < len(leaves) {
		k *= 2
	}
	l, r := mth(leaves[:k]), mth(leaves[k:])
	return sha256.Sum256(append(append([]byte{1}, l[:]...), r[:]...))
}

// turns is the sequence of left (false) and right (true) turns from the
// root to leaf m of n: what a path proves.
func turns(m, n uint64) []bool {
	var t []bool
	for n > 1 {
		k := uint64(1)
		for 2*k < n {
			k *= 2
		}
		t = append(t, m >= k)
		if m < k {
			n = k
		} else {
			m, n = m-k, n-k
		}
	}
	return t
}

func randomLeaves(rng *rand.Rand, n int) []merkle.Hash {
	leaves := make([]merkle.Hash, n)
	for i := range leaves {
		for j := range leaves[i] {
			leaves[i][j] = byte(rng.Uint32())
		}
	}
	return leaves
}

func TestRootMatchesDefinition(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for n := range 130 {
		leaves := randomLeaves(rng, n)
		if got, want := merkle.Root(leaves), mth(leaves); got != want {
			t.Fatalf("%d leaves: root %x, want %x", n, got, want)
		}
	}
}

func TestEmptyRoot(t *testing.T) {
	want := "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	if got := merkle.Root(nil); hex.EncodeToString(got[:]) != want {
		t.Fatalf("empty root %x, want %s", got, want)
	}
}

// TestNoDuplicatedLastNode: a list with its last leaf (or last pair)
// repeated has another root, unlike Bitcoin's tree (CVE-2012-2459).
func TestNoDuplicatedLastNode(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for n := 1; n < 40; n++ {
		leaves := randomLeaves(rng, n)
		dup := append(slices.Clone(leaves), leaves[n-1])
		if merkle.Root(leaves) == merkle.Root(dup) {
			t.Fatalf("%d leaves: repeating the last leaf keeps the root", n)
		}
		if n >= 2 {
			dup2 := append(slices.Clone(leaves), leaves[n-2:]...)
			if merkle.Root(leaves) == merkle.Root(dup2) {
				t.Fatalf("%d leaves: repeating the last pair keeps the root", n)
			}
		}
	}
}

func TestRootAllocatesNothing(t *testing.T) {
	leaves := randomLeaves(rand.New(rand.NewPCG(5, 6)), 2000)
	if a := testing.AllocsPerRun(10, func() { merkle.Root(leaves) }); a != 0 {
		t.Fatalf("Root of 2,000 leaves allocates %v times, want 0", a)
	}
}

func TestInclusionProofOutOfRange(t *testing.T) {
	leaves := randomLeaves(rand.New(rand.NewPCG(7, 8)), 3)
	for _, i := range []int{-1, 3, 100} {
		if _, err := merkle.InclusionProof(i, leaves); err == nil {
			t.Errorf("InclusionProof(%d) of 3 leaves: no error", i)
		}
	}
	if _, err := merkle.InclusionProof(0, nil); err == nil {
		t.Error("InclusionProof of an empty tree: no error")
	}
}

// TestInclusionProperty: in random trees every leaf's proof verifies, and
// a proof verifies for nothing else: not another leaf, not another index
// in the same tree, not with a flipped bit, a hash missing, added or
// swapped; with another size only where the path takes the same turns.
func TestInclusionProperty(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	sizes := []int{1, 2, 3, 4, 5, 7, 8, 9, 16, 17, 31, 100, 255, 256, 257}
	for range 20 {
		sizes = append(sizes, 1+rng.IntN(2000))
	}
	for _, n := range sizes {
		leaves := randomLeaves(rng, n)
		root := merkle.Root(leaves)
		indices := []int{0, n - 1, n / 2, rng.IntN(n), rng.IntN(n)}
		if n <= 17 {
			indices = indices[:0]
			for i := range n {
				indices = append(indices, i)
			}
		}
		for _, m := range indices {
			checkProof(t, rng, leaves, root, m)
		}
	}
}

func checkProof(t *testing.T, rng *rand.Rand, leaves []merkle.Hash, root merkle.Hash, m int) {
	t.Helper()
	n := uint64(len(leaves))
	path, err := merkle.InclusionProof(m, leaves)
	if err != nil {
		t.Fatal(err)
	}
	if err := merkle.VerifyInclusion(root, uint64(m), n, leaves[m], path); err != nil {
		t.Fatalf("leaf %d of %d: %v", m, n, err)
	}
	refuse := func(what string, root merkle.Hash, index, size uint64, leaf merkle.Hash, path []merkle.Hash) {
		t.Helper()
		err := merkle.VerifyInclusion(root, index, size, leaf, path)
		if !errors.Is(err, merkle.ErrBadProof) {
			t.Fatalf("leaf %d of %d, %s: got %v, want ErrBadProof", m, n, what, err)
		}
	}
	other := leaves[m]
	other[rng.IntN(merkle.HashSize)] ^= 1 << rng.IntN(8)
	refuse("another leaf", root, uint64(m), n, other, path)
	badRoot := root
	badRoot[rng.IntN(merkle.HashSize)] ^= 1 << rng.IntN(8)
	refuse("another root", badRoot, uint64(m), n, leaves[m], path)
	refuse("index beyond size", root, n, n, leaves[m], path)
	if n > 1 {
		j := uint64(rng.IntN(int(n) - 1))
		if j >= uint64(m) {
			j++
		}
		refuse("another index", root, j, n, leaves[m], path)
	}
	for i := range path {
		flipped := slices.Clone(path)
		flipped[i][rng.IntN(merkle.HashSize)] ^= 1 << rng.IntN(8)
		refuse("a flipped bit", root, uint64(m), n, leaves[m], flipped)
		if i+1 < len(path) && path[i] != path[i+1] {
			swapped := slices.Clone(path)
			swapped[i], swapped[i+1] = swapped[i+1], swapped[i]
			refuse("two hashes swapped", root, uint64(m), n, leaves[m], swapped)
		}
	}
	if len(path) > 0 {
		refuse("the last hash missing", root, uint64(m), n, leaves[m], path[:len(path)-1])
		refuse("the first hash missing", root, uint64(m), n, leaves[m], path[1:])
	}
	refuse("a hash added", root, uint64(m), n, leaves[m], append(slices.Clone(path), root))
	for _, size := range []uint64{n - 1, n + 1, 2 * n, n + uint64(rng.IntN(100)) + 2} {
		if size <= uint64(m) {
			continue
		}
		err := merkle.VerifyInclusion(root, uint64(m), size, leaves[m], path)
		if same := slices.Equal(turns(uint64(m), size), turns(uint64(m), n)); (err == nil) != same {
			t.Fatalf("leaf %d of %d claimed in %d leaves: got %v, same turns %v", m, n, size, err, same)
		}
	}
}
