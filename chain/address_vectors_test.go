package chain_test

import (
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"testing"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gossipchain/gossipchain/chain"
	"github.com/gossipchain/gossipchain/chain/chaintest"
)

// addressVectors is the format of testdata/addresses.json (written by
// testdata/gen_address_vectors.py, an implementation of its own).
type addressVectors struct {
	Addresses  []addressVector   `json:"addresses"`
	Signatures []signatureVector `json:"signatures"`
}

// signatureVector is a case of the verification rule: the network's
// verdict, Go's crypto/ed25519.Verify's and (addresses.json only) the
// cofactored equation's, which no test here runs.
type signatureVector struct {
	Description  string `json:"description"`
	PublicKey    string `json:"public_key"`
	Message      string `json:"message"`
	Signature    string `json:"signature"`
	Valid        bool   `json:"valid"`
	PlainEd25519 bool   `json:"plain_ed25519"`
	Cofactored   bool   `json:"cofactored"`
}

// addressVector is one address case: is the text an address (consensus),
// of which key, and does the node admit payments to it (policy).
type addressVector struct {
	Description string `json:"description"`
	Address     string `json:"address"`
	Consensus   bool   `json:"consensus"`
	PublicKey   string `json:"public_key"`
	Policy      bool   `json:"policy"`
}

func readAddressVectors(t *testing.T) addressVectors {
	t.Helper()
	var v addressVectors
	chaintest.ReadVectors(t, "addresses.json", &v)
	if len(v.Addresses) == 0 || len(v.Signatures) == 0 {
		t.Fatal("no vectors")
	}
	return v
}

// libp2pAddress reports whether go-libp2p reads text as the peer ID of an
// Ed25519 key whose canonical text is text.
func libp2pAddress(text string) bool {
	id, err := peer.Decode(text)
	if err != nil {
		return false
	}
	pub, err := id.ExtractPublicKey()
	if err != nil || pub.Type() != crypto.Ed25519 {
		return false
	}
	addr, err := chain.AddressOf(pub)
	return err == nil && addr == text
}

func TestAddressVectors(t *testing.T) {
	v := readAddressVectors(t)
	p := chaintest.SignedParams(t)
	key, sender := chaintest.Key(t, "alice")
	for _, c := range v.Addresses {
		pub, err := chain.PublicKeyOf(c.Address)
		if (err == nil) != c.Consensus {
			t.Errorf("%s (%q): PublicKeyOf error %v, want an address: %v", c.Description, c.Address, err, c.Consensus)
			continue
		}
		if err != nil && !errors.Is(err, chain.ErrNotAddress) {
			t.Errorf("%s: error %v is not ErrNotAddress", c.Description, err)
		}
		if c.Consensus && hex.EncodeToString(pub) != c.PublicKey {
			t.Errorf("%s: key %x, want %s", c.Description, pub, c.PublicKey)
		}
		if got := libp2pAddress(c.Address); got != c.Consensus {
			t.Errorf("%s: go-libp2p reads it as an address: %v, the rule: %v", c.Description, got, c.Consensus)
		}

		err = chain.CheckSpendable(c.Address)
		switch {
		case c.Policy && err != nil:
			t.Errorf("%s: CheckSpendable %v, want nil", c.Description, err)
		case !c.Policy && c.Consensus && !errors.Is(err, chain.ErrUnspendable):
			t.Errorf("%s: CheckSpendable %v, want ErrUnspendable", c.Description, err)
		case !c.Consensus && !errors.Is(err, chain.ErrNotAddress):
			t.Errorf("%s: CheckSpendable %v, want ErrNotAddress", c.Description, err)
		}

		// The consensus verdict is the ledger rule's, for a recipient and
		// for the reward's recipient alike.
		tx := chain.Transaction{Sender: sender, Recipient: c.Address, Amount: 1}
		if err := tx.Sign(key, p.Genesis().Hash); err != nil {
			t.Fatal(err)
		}
		err = p.CheckLedgerFields(&tx)
		if (err == nil) != c.Consensus {
			t.Errorf("%s: a payment to it: %v, want valid: %v", c.Description, err, c.Consensus)
		}
		reward := chain.NewRewardTransaction(c.Address, p.Reward, 2)
		if err := p.CheckLedgerFields(&reward); (err == nil) != c.Consensus {
			t.Errorf("%s: a reward to it: %v, want valid: %v", c.Description, err, c.Consensus)
		}
	}
}

func TestAddressSignatureVectors(t *testing.T) {
	v := readAddressVectors(t)
	for _, c := range v.Signatures {
		pub, msg, raw := unhex(t, c.PublicKey), unhex(t, c.Message), unhex(t, c.Signature)
		var sig chain.Signature
		copy(sig[:], raw)
		err := chain.VerifySignature(pub, msg, sig)
		if (err == nil) != c.Valid {
			t.Errorf("%s: VerifySignature %v, want valid: %v", c.Description, err, c.Valid)
		}
		if got := ed25519.Verify(pub, msg, raw); got != c.PlainEd25519 {
			t.Errorf("%s: crypto/ed25519.Verify %v, want %v", c.Description, got, c.PlainEd25519)
		}
	}
}

// FuzzPublicKeyOf checks the address rule against its definition: text is
// an address exactly when it is the canonical text of the key it decodes
// to, and go-libp2p agrees.
func FuzzPublicKeyOf(f *testing.F) {
	_, a := chaintest.Key(f, "alice")
	f.Add(a)
	f.Add("12D3KooW" + "z" + a[9:])
	f.Add("12D3KooW11111111111111111111111111111111111111111111")
	f.Fuzz(func(t *testing.T, text string) {
		pub, err := chain.PublicKeyOf(text)
		if err == nil {
			back, err := chain.AddressOfPublicKey(pub)
			if err != nil || back != text {
				t.Fatalf("%q: key %x, whose address is %q (%v)", text, pub, back, err)
			}
		}
		if got := libp2pAddress(text); got != (err == nil) {
			t.Fatalf("%q: go-libp2p %v, PublicKeyOf %v", text, got, err)
		}
	})
}
