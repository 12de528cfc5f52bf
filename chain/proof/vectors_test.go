package proof_test

import (
	"bytes"
	"encoding/hex"
	"errors"
	"testing"

	"github.com/gossipchain/gossipchain/chain"
	"github.com/gossipchain/gossipchain/chain/chaintest"
	"github.com/gossipchain/gossipchain/chain/proof"
)

// proofVectors is testdata/proofs.json, written by
// testdata/gen_proof_vectors.py, an implementation of its own.
type proofVectors struct {
	TransactionBlocks []struct {
		Description string     `json:"description"`
		Header      hexBytes   `json:"header"`
		Hash        chain.Hash `json:"hash"`
		Height      uint64     `json:"height"`
		TxCount     uint64     `json:"tx_count"`
		TxRoot      chain.Hash `json:"tx_root"`
		Proofs      []struct {
			Index       uint32       `json:"index"`
			ID          chain.Hash   `json:"id"`
			Transaction hexBytes     `json:"transaction"`
			Path        []chain.Hash `json:"path"`
			Proof       hexBytes     `json:"proof"`
			Size        int          `json:"size"`
		} `json:"proofs"`
	} `json:"transaction_blocks"`
	AccountMaps []struct {
		Description string     `json:"description"`
		Root        chain.Hash `json:"root"`
		Header      hexBytes   `json:"header"`
		Hash        chain.Hash `json:"hash"`
		Height      uint64     `json:"height"`
		Proofs      []struct {
			Address   string   `json:"address"`
			Balance   uint64   `json:"balance"`
			NextNonce uint64   `json:"next_nonce"`
			Present   bool     `json:"present"`
			Kind      int      `json:"kind"`
			MapProof  hexBytes `json:"map_proof"`
			Proof     hexBytes `json:"proof"`
		} `json:"proofs"`
	} `json:"account_maps"`
	Refused []struct {
		Description string     `json:"description"`
		Type        string     `json:"type"`
		Proof       hexBytes   `json:"proof"`
		ID          chain.Hash `json:"id"`
		Address     string     `json:"address"`
		Stage       string     `json:"stage"`
		Reason      string     `json:"reason"`
	} `json:"refused"`
}

// hexBytes is a byte string written in hex.
type hexBytes []byte

func (b *hexBytes) UnmarshalText(text []byte) (err error) {
	*b, err = hex.DecodeString(string(text))
	return err
}

// checkEncoding fails the test unless p encodes to b and Decode gives a T.
func checkEncoding[T interface{ MarshalBinary() ([]byte, error) }](t *testing.T, what string, b []byte, p T) {
	t.Helper()
	if again, err := p.MarshalBinary(); err != nil || !bytes.Equal(again, b) {
		t.Fatalf("%s: encodes to %x (%v), want %x", what, again, err, b)
	}
	if d, err := proof.Decode(b); err != nil {
		t.Fatalf("%s: Decode: %v", what, err)
	} else if _, ok := d.(T); !ok {
		t.Fatalf("%s: Decode gives a %T", what, d)
	}
}

// checkBlock fails the test unless the header a proof verified to is the
// vector's block.
func checkBlock(t *testing.T, what string, b chain.Block, hash chain.Hash, height uint64) {
	t.Helper()
	if b.Hash != hash || b.Index != height {
		t.Errorf("%s: verified block %s at height %d, want %s at %d", what, b.Hash, b.Index, hash, height)
	}
}

// TestProofVectors decodes, re-encodes and verifies every valid proof of
// testdata/proofs.json, and refuses every refused one at its stage.
func TestProofVectors(t *testing.T) {
	var v proofVectors
	chaintest.ReadVectors(t, "proofs.json", &v)
	if len(v.TransactionBlocks) == 0 || len(v.AccountMaps) == 0 || len(v.Refused) == 0 {
		t.Fatal("proofs.json has no transaction blocks, account maps or refused proofs")
	}
	for _, blk := range v.TransactionBlocks {
		for _, c := range blk.Proofs {
			what := blk.Description + ", transaction " + c.ID.String()
			b := []byte(c.Proof)
			p, err := proof.DecodeTx(b)
			if err != nil {
				t.Fatalf("%s: %v", what, err)
			}
			if !bytes.Equal(p.Header, blk.Header) || p.Index != c.Index || !bytes.Equal(p.Tx, c.Transaction) ||
				len(p.Path) != len(c.Path) {
				t.Fatalf("%s: decoded %+v", what, p)
			}
			for i := range p.Path {
				if chain.Hash(p.Path[i]) != c.Path[i] {
					t.Fatalf("%s: path hash %d is %x, want %s", what, i, p.Path[i], c.Path[i])
				}
			}
			checkEncoding(t, what, b, p)
			hdr, err := p.Verify(c.ID)
			if err != nil {
				t.Fatalf("%s: %v", what, err)
			}
			checkBlock(t, what, hdr, blk.Hash, blk.Height)
			if hdr.TxCount != blk.TxCount || hdr.TxRoot != blk.TxRoot {
				t.Errorf("%s: header of %d transactions with root %s, want %d and %s", what, hdr.TxCount, hdr.TxRoot, blk.TxCount, blk.TxRoot)
			}
		}
	}
	for _, m := range v.AccountMaps {
		for _, c := range m.Proofs {
			what := m.Description + ", account " + c.Address
			b := []byte(c.Proof)
			p, err := proof.DecodeAccount(b)
			if err != nil {
				t.Fatalf("%s: %v", what, err)
			}
			if !bytes.Equal(p.Header, m.Header) || p.Address != c.Address || p.Balance != c.Balance ||
				p.NextNonce != c.NextNonce || !bytes.Equal(p.Map, c.MapProof) {
				t.Fatalf("%s: decoded %+v", what, p)
			}
			checkEncoding(t, what, b, p)
			hdr, err := p.Verify(c.Address)
			if err != nil {
				t.Fatalf("%s: %v", what, err)
			}
			checkBlock(t, what, hdr, m.Hash, m.Height)
			if hdr.StateRoot != m.Root {
				t.Errorf("%s: state root %s, want %s", what, hdr.StateRoot, m.Root)
			}
		}
	}
	for _, c := range v.Refused {
		what := c.Type + " proof, " + c.Description + " (" + c.Reason + ")"
		b := []byte(c.Proof)
		_, anyErr := proof.Decode(b)
		var decErr, verErr error
		switch c.Type {
		case "transaction":
			var p proof.Tx
			if p, decErr = proof.DecodeTx(b); decErr == nil {
				_, verErr = p.Verify(c.ID)
			}
		case "account":
			var p proof.Account
			if p, decErr = proof.DecodeAccount(b); decErr == nil {
				_, verErr = p.Verify(c.Address)
			}
		default:
			t.Fatalf("%s: unknown type", what)
		}
		switch {
		case c.Stage == "decode" && (decErr == nil || anyErr == nil):
			t.Errorf("%s: decoded (Decode: %v)", what, anyErr)
		case decErr == nil && verErr == nil:
			t.Errorf("%s: verified", what)
		case verErr != nil && !errors.Is(verErr, proof.ErrBadProof):
			t.Errorf("%s: %v, want an error wrapping ErrBadProof", what, verErr)
		}
	}
}
