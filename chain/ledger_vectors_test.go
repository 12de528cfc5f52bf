package chain_test

import (
	"bytes"
	"crypto/ed25519"
	"encoding/hex"
	"testing"

	"github.com/libp2p/go-libp2p/core/crypto"

	"github.com/gossipchain/gossipchain/chain"
	"github.com/gossipchain/gossipchain/chain/chaintest"
)

// ledgerVectors is the format of testdata/ledger.json (written by
// testdata/gen_ledger_vectors.py, an implementation of its own).
type ledgerVectors struct {
	SigningDomain string `json:"signing_domain"`
	Network       struct {
		ParamsEncoding string `json:"params_encoding"`
		Genesis        string `json:"genesis"`
	} `json:"network"`
	Keys []struct {
		Seed      string `json:"seed"`
		PublicKey string `json:"public_key"`
		Address   string `json:"address"`
	} `json:"keys"`
	Transactions []struct {
		Sender           string `json:"sender"`
		Recipient        string `json:"recipient"`
		Amount           uint64 `json:"amount"`
		Nonce            uint64 `json:"nonce"`
		Fee              uint64 `json:"fee"`
		Size             int    `json:"size"`
		FeeRate          uint64 `json:"fee_rate"`
		UnsignedEncoding string `json:"unsigned_encoding"`
		SigningBytes     string `json:"signing_bytes"`
		Signature        string `json:"signature"`
		Encoding         string `json:"encoding"`
		ID               string `json:"id"`
	} `json:"transactions"`
	FeeRateUnit int `json:"fee_rate_unit"`
	SignatureV1 struct {
		Encoding string `json:"encoding"`
	} `json:"signature_v1"`
	Bounds []struct {
		Amount uint64 `json:"amount"`
		Fee    uint64 `json:"fee"`
		Valid  bool   `json:"valid"`
	} `json:"bounds"`
	RewardWithFees struct {
		NetworkReward uint64   `json:"network_reward"`
		Index         uint64   `json:"index"`
		Recipient     string   `json:"recipient"`
		Fees          []uint64 `json:"fees"`
		Amount        uint64   `json:"amount"`
		Encoding      string   `json:"encoding"`
		ID            string   `json:"id"`
		WrongAmounts  []uint64 `json:"wrong_amounts"`
	} `json:"reward_with_fees"`
	Replacements []struct {
		OldFee          uint64 `json:"old_fee"`
		NewFee          uint64 `json:"new_fee"`
		Size            int    `json:"size"`
		MinRelayFeeRate uint64 `json:"min_relay_fee_rate"`
		MinFee          uint64 `json:"min_fee"`
		Accepted        bool   `json:"accepted"`
	} `json:"replacements"`
	InvalidEncodings []struct {
		Description string `json:"description"`
		Encoding    string `json:"encoding"`
	} `json:"invalid_encodings"`
	Signatures     []signatureVector `json:"signatures"`
	SmallOrderKeys []string          `json:"small_order_keys"`
}

func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestLedgerVectors(t *testing.T) {
	var v ledgerVectors
	chaintest.ReadVectors(t, "ledger.json", &v)
	if v.SigningDomain != chain.SigningDomain {
		t.Fatalf("signing domain %q, want %q", v.SigningDomain, chain.SigningDomain)
	}
	// The network: the default devnet with the signed ledger.
	p := chain.DefaultParams()
	p.Ledger = chain.LedgerSigned
	np := p.Net()
	if enc, err := np.AppendBinary(nil); err != nil || hex.EncodeToString(enc) != v.Network.ParamsEncoding {
		t.Fatalf("parameters %x, %v", enc, err)
	}
	genesis := p.Genesis().Hash
	if genesis.String() != v.Network.Genesis {
		t.Fatalf("genesis %s, want %s", genesis, v.Network.Genesis)
	}
	keys := map[string]crypto.PrivKey{}
	for _, k := range v.Keys {
		key, err := crypto.UnmarshalEd25519PrivateKey(ed25519.NewKeyFromSeed(unhex(t, k.Seed)))
		if err != nil {
			t.Fatal(err)
		}
		addr, err := chain.AddressOf(key)
		if err != nil || addr != k.Address {
			t.Fatalf("address %s, %v, want %s", addr, err, k.Address)
		}
		pub, err := chain.PublicKeyOf(k.Address)
		if err != nil || hex.EncodeToString(pub) != k.PublicKey {
			t.Fatalf("public key of %s: %x, %v", addr, pub, err)
		}
		keys[addr] = key
	}
	for _, c := range v.Transactions {
		tx := chain.Transaction{Sender: c.Sender, Recipient: c.Recipient, Amount: c.Amount, Nonce: c.Nonce}
		if got := hex.EncodeToString(tx.AppendBinary(nil)); got != c.UnsignedEncoding {
			t.Errorf("unsigned encoding %s, want %s", got, c.UnsignedEncoding)
		}
		tx.Fee = c.Fee
		if got := hex.EncodeToString(tx.AppendBinary(nil)); got != c.UnsignedEncoding {
			t.Errorf("unsigned encoding %s, want %s", got, c.UnsignedEncoding)
		}
		if got := hex.EncodeToString(tx.SigningBytes(genesis)); got != c.SigningBytes {
			t.Errorf("signing bytes %s, want %s", got, c.SigningBytes)
		}
		if err := tx.Sign(keys[c.Sender], genesis); err != nil {
			t.Fatal(err)
		}
		if tx.Signature.String() != c.Signature || hex.EncodeToString(tx.AppendBinary(nil)) != c.Encoding || tx.ID.String() != c.ID {
			t.Errorf("signed: %s %x %s, want %s %s %s", tx.Signature, tx.AppendBinary(nil), tx.ID, c.Signature, c.Encoding, c.ID)
		}
		if tx.EncodedSize() != c.Size || tx.FeeRate() != c.FeeRate {
			t.Errorf("size %d, fee rate %d, want %d and %d", tx.EncodedSize(), tx.FeeRate(), c.Size, c.FeeRate)
		}
		dec, err := chain.DecodeTransaction(unhex(t, c.Encoding))
		if err != nil || dec != tx {
			t.Errorf("decoded %+v, %v", dec, err)
		}
		if err := dec.Verify(genesis); err != nil {
			t.Errorf("verify: %v", err)
		}
		js, err := chain.DecodeTransactionJSON(tx.AppendJSON(nil))
		if err != nil || js != tx {
			t.Errorf("JSON round trip: %+v, %v", js, err)
		}
	}
	if v.FeeRateUnit != chain.FeeRateUnit {
		t.Errorf("fee rate unit %d, want %d", v.FeeRateUnit, chain.FeeRateUnit)
	}
	v1, err := chain.DecodeTransaction(unhex(t, v.SignatureV1.Encoding))
	if err != nil {
		t.Fatalf("decode the version-1 signature's transaction: %v", err)
	}
	if err := v1.Verify(genesis); chain.RuleCode(err) != chain.ErrBadSignature {
		t.Errorf("a signature of version 1 verifies as version 2: %v", err)
	}
	for _, c := range v.Bounds {
		tx := chain.Transaction{Sender: "a", Recipient: "b", Amount: c.Amount, Fee: c.Fee}
		if err := tx.CheckFields(); (err == nil) != c.Valid {
			t.Errorf("amount %d, fee %d: %v, want valid=%v", c.Amount, c.Fee, err, c.Valid)
		}
	}
	rw := v.RewardWithFees
	var feeTxs []chain.Transaction
	for _, f := range rw.Fees {
		feeTxs = append(feeTxs, chain.Transaction{Fee: f})
	}
	reward := chain.NewRewardTransaction(rw.Recipient, rw.NetworkReward+chain.BlockFees(feeTxs), rw.Index)
	if reward.Amount != rw.Amount || hex.EncodeToString(reward.AppendBinary(nil)) != rw.Encoding || reward.ID.String() != rw.ID {
		t.Errorf("reward with fees: %d %x %s, want %d %s %s", reward.Amount, reward.AppendBinary(nil), reward.ID, rw.Amount, rw.Encoding, rw.ID)
	}
	// A block of the vectors' transactions but the second must pay exactly
	// that reward: every wrong amount is bad_reward.
	var blockTxs []chain.Transaction
	for i, c := range v.Transactions {
		if i != 1 {
			tx, err := chain.DecodeTransaction(unhex(t, c.Encoding))
			if err != nil {
				t.Fatal(err)
			}
			blockTxs = append(blockTxs, tx)
		}
	}
	g := p.Genesis()
	for _, amount := range append([]uint64{rw.Amount}, rw.WrongAmounts...) {
		b := chaintest.NewBlock(&p, g, rw.Recipient, blockTxs...)
		b.Transactions[len(b.Transactions)-1] = chain.NewRewardTransaction(rw.Recipient, amount, rw.Index)
		b.TxRoot = chain.TxRoot(b.Transactions)
		chaintest.Mine(t, b, b.Bits)
		err := p.CheckBlockSanity(b, chaintest.Now)
		if ok := amount == rw.Amount; ok != (err == nil) || (!ok && chain.RuleCode(err) != chain.ErrBadReward) {
			t.Errorf("a block paying a reward of %d with fees %v: %v", amount, rw.Fees, err)
		}
	}
	for _, c := range v.Replacements {
		got := chain.ReplacementFee(c.OldFee, c.MinRelayFeeRate, c.Size)
		if got != c.MinFee || (c.NewFee >= got) != c.Accepted {
			t.Errorf("replacement of fee %d by %d (size %d, minimum rate %d): minimum %d, want %d (accepted=%v)", c.OldFee, c.NewFee, c.Size, c.MinRelayFeeRate, got, c.MinFee, c.Accepted)
		}
	}
	for _, c := range v.InvalidEncodings {
		if tx, err := chain.DecodeTransaction(unhex(t, c.Encoding)); err == nil {
			t.Errorf("%s: decoded as %+v", c.Description, tx)
		}
	}
	for _, c := range v.Signatures {
		pub, msg := unhex(t, c.PublicKey), unhex(t, c.Message)
		var sig chain.Signature
		copy(sig[:], unhex(t, c.Signature))
		err := chain.VerifySignature(pub, msg, sig)
		if (err == nil) != c.Valid {
			t.Errorf("%s: network rule says %v, want valid=%v", c.Description, err, c.Valid)
		}
		if len(pub) == ed25519.PublicKeySize {
			if got := ed25519.Verify(pub, msg, sig[:]); got != c.PlainEd25519 {
				t.Errorf("%s: crypto/ed25519 says %v, the vector %v", c.Description, got, c.PlainEd25519)
			}
		}
	}
	if len(v.SmallOrderKeys) != len(chain.SmallOrderKeys) {
		t.Fatalf("%d small-order keys, want %d", len(v.SmallOrderKeys), len(chain.SmallOrderKeys))
	}
	for i, s := range v.SmallOrderKeys {
		if !bytes.Equal(unhex(t, s), chain.SmallOrderKeys[i][:]) {
			t.Errorf("small-order key %d: %s, want %x", i, s, chain.SmallOrderKeys[i])
		}
	}
}
