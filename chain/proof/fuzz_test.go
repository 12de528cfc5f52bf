package proof_test

import (
	"bytes"
	"math/rand/v2"
	"testing"

	"github.com/gossipchain/gossipchain/chain"
	"github.com/gossipchain/gossipchain/chain/chaintest"
	"github.com/gossipchain/gossipchain/chain/proof"
)

// FuzzDecode checks that Decode never panics on any input, that what it
// accepts is no longer than the largest proof, and that it accepts one
// encoding of each proof: the decoded proof encodes back to the input.
func FuzzDecode(f *testing.F) {
	r := rand.New(rand.NewPCG(7, 8))
	tx := chaintest.Tx("a", "b", 1, 0)
	for _, n := range []int{1, 2, 5, 2000} {
		enc, _ := newTxBlock(r, n, n-1, tx).proofOf(f, n-1).MarshalBinary()
		f.Add(enc)
	}
	_, addr := chaintest.Key(f, "alice")
	ap, _ := newStateBlock(f, r, []string{addr}).proofOf(f, addr)
	enc, _ := ap.MarshalBinary()
	f.Add(enc)
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := proof.Decode(b)
		if err != nil {
			return
		}
		var again []byte
		switch p := p.(type) {
		case proof.Tx:
			again, err = p.MarshalBinary()
			_, _ = p.Verify(chain.Hash{})
		case proof.Account:
			again, err = p.MarshalBinary()
			_, _ = p.Verify(p.Address)
		}
		if err != nil {
			t.Fatalf("a decoded proof does not encode: %v", err)
		}
		if !bytes.Equal(again, b) {
			t.Fatalf("%x decodes, and encodes back as %x", b, again)
		}
		if len(b) > proof.MaxAccountProofSize {
			t.Fatalf("a proof of %d bytes decodes", len(b))
		}
	})
}
