package chain_test

import (
	"bytes"
	"encoding/hex"
	"testing"
	"time"

	"github.com/gossipchain/gossipchain/chain"
	"github.com/gossipchain/gossipchain/chain/chaintest"
)

func TestNetParamsProposedIsValid(t *testing.T) {
	np := chain.ProposedNetParams(chain.DefaultNetwork)
	if err := np.Validate(); err != nil {
		t.Fatal(err)
	}
	if np.InitialTarget != 0x1e03ffff || np.FutureLimit() != 50*time.Second {
		t.Errorf("proposed devnet: initial target %s, future limit %s", np.InitialTarget, np.FutureLimit())
	}
	// The example of PROTOCOL.md 10.2.
	enc, _ := np.AppendBinary(nil)
	h, _ := np.Commitment()
	if len(enc) != 75 || h.String() != "585a153fbd69f09ebdd4990feacb1f470bcbc545dcdae8b9f86c66b493511302" {
		t.Errorf("proposed devnet: %d bytes, commitment %s", len(enc), h)
	}
}

func TestNetParamsValidate(t *testing.T) {
	for _, tt := range []struct {
		name   string
		change func(*chain.NetParams)
	}{
		{"empty name", func(np *chain.NetParams) { np.Name = "" }},
		{"upper-case name", func(np *chain.NetParams) { np.Name = "Devnet" }},
		{"33-byte name", func(np *chain.NetParams) { np.Name = "abcdefghijklmnopqrstuvwxyz0123456" }},
		{"block time under 1 ms", func(np *chain.NetParams) { np.TargetBlockTime = 999 * time.Microsecond }},
		{"block time over 1 h", func(np *chain.NetParams) {
			np.TargetBlockTime = time.Hour + time.Microsecond
			np.HalfLife = 10 * time.Hour
		}},
		{"block time not whole microseconds", func(np *chain.NetParams) { np.TargetBlockTime = 10*time.Second + 1 }},
		{"half-life under 2 blocks", func(np *chain.NetParams) { np.HalfLife = 19 * time.Second }},
		{"half-life over a million blocks", func(np *chain.NetParams) { np.HalfLife = 10_000_001 * time.Second }},
		{"half-life not whole microseconds", func(np *chain.NetParams) { np.HalfLife = time.Hour + 1 }},
		{"zero reward", func(np *chain.NetParams) { np.Reward = 0 }},
		{"reward over MaxAmount", func(np *chain.NetParams) { np.Reward = chain.MaxAmount + 1 }},
		{"no transactions", func(np *chain.NetParams) { np.MaxBlockTxs = 0 }},
		{"too many transactions", func(np *chain.NetParams) { np.MaxBlockTxs = chain.MaxTxsLimit + 1 }},
		{"block size too small", func(np *chain.NetParams) { np.MaxBlockSize = chain.HeaderSize }},
		{"block size over 64 MiB", func(np *chain.NetParams) { np.MaxBlockSize = 64<<20 + 1 }},
		{"unknown ledger mode", func(np *chain.NetParams) { np.Ledger = "utxo" }},
		{"empty ledger mode", func(np *chain.NetParams) { np.Ledger = "" }},
		{"negative initial target", func(np *chain.NetParams) { np.InitialTarget = 0x04923456 }},
		{"overflowing max target", func(np *chain.NetParams) { np.MaxTarget = 0xff123456 }},
		{"zero initial target", func(np *chain.NetParams) { np.InitialTarget = 0 }},
		{"initial target below 2^32", func(np *chain.NetParams) { np.InitialTarget = 0x047fffff }},
		{"non-canonical initial target", func(np *chain.NetParams) { np.InitialTarget = 0x04000100 }},
		{"initial easier than max", func(np *chain.NetParams) { np.InitialTarget = chain.MustCompact(chain.ZeroBitsTarget(8)) }},
	} {
		np := chain.ProposedNetParams(chain.DefaultNetwork)
		tt.change(&np)
		if err := np.Validate(); err == nil {
			t.Errorf("%s: valid, want an error", tt.name)
		}
		if _, err := np.AppendBinary(nil); err == nil {
			t.Errorf("%s: encoded, want an error", tt.name)
		}
	}
}

func TestNetParamsEncodingRoundTrip(t *testing.T) {
	np := chain.ProposedNetParams(chain.DefaultNetwork)
	enc, err := np.AppendBinary(nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := chain.DecodeNetParams(enc)
	if err != nil || got != np {
		t.Fatalf("round trip: %+v, %v, want %+v", got, err, np)
	}
	// Every prefix is refused, and so is anything after the encoding.
	for i := range enc {
		if _, err := chain.DecodeNetParams(enc[:i]); err == nil {
			t.Errorf("prefix of %d of %d bytes decoded", i, len(enc))
		}
	}
	if _, err := chain.DecodeNetParams(append(bytes.Clone(enc), 0)); err == nil {
		t.Error("a trailing byte decoded")
	}
}

func TestNetParamsCommitmentCoversEveryField(t *testing.T) {
	base := chain.ProposedNetParams(chain.DefaultNetwork)
	baseHash, err := base.Commitment()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[chain.Hash]string{baseHash: "base"}
	for _, tt := range []struct {
		name   string
		change func(*chain.NetParams)
	}{
		{"name", func(np *chain.NetParams) { np.Name = "testnet" }},
		{"target block time", func(np *chain.NetParams) { np.TargetBlockTime = 5 * time.Second }},
		{"half-life", func(np *chain.NetParams) { np.HalfLife = 11 * time.Minute }},
		{"initial target", func(np *chain.NetParams) { np.InitialTarget = chain.MustCompact(chain.ZeroBitsTarget(23)) }},
		{"max target", func(np *chain.NetParams) { np.MaxTarget = chain.MustCompact(chain.ZeroBitsTarget(12)) }},
		{"fixed difficulty", func(np *chain.NetParams) { np.FixedDifficulty = true }},
		{"reward", func(np *chain.NetParams) { np.Reward = 2 }},
		{"max block size", func(np *chain.NetParams) { np.MaxBlockSize = 1 << 19 }},
		{"max block transactions", func(np *chain.NetParams) { np.MaxBlockTxs = 1000 }},
	} {
		np := base
		tt.change(&np)
		h, err := np.Commitment()
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if other, dup := seen[h]; dup {
			t.Errorf("changing the %s gives the commitment of %s", tt.name, other)
		}
		seen[h] = tt.name
	}
}

// netParamsVectors is the format of testdata/netparams.json.
type netParamsVectors struct {
	Valid []struct {
		Description string `json:"description"`
		Params      struct {
			Name              string `json:"name"`
			TargetBlockTimeUS int64  `json:"target_block_time_us"`
			HalfLifeUS        int64  `json:"half_life_us"`
			InitialTarget     string `json:"initial_target"`
			MaxTarget         string `json:"max_target"`
			FixedDifficulty   bool   `json:"fixed_difficulty"`
			Reward            uint64 `json:"reward"`
			MaxBlockSize      uint32 `json:"max_block_size"`
			MaxBlockTxs       uint32 `json:"max_block_txs"`
			Ledger            string `json:"ledger"`
		} `json:"params"`
		Encoding   string `json:"encoding"`
		Commitment string `json:"commitment"`
		// The genesis (header version 3), from testdata/gen_vectors.py.
		GenesisBinary string `json:"genesis_binary"`
		GenesisHash   string `json:"genesis_hash"`
	} `json:"valid"`
	Invalid []struct {
		Description string `json:"description"`
		Encoding    string `json:"encoding"`
	} `json:"invalid"`
}

func TestNetParamsVectors(t *testing.T) {
	var v netParamsVectors
	chaintest.ReadVectors(t, "netparams.json", &v)
	if len(v.Valid) == 0 || len(v.Invalid) == 0 {
		t.Fatal("netparams.json has no cases")
	}
	for _, c := range v.Valid {
		p := c.Params
		np := chain.NetParams{
			Name: p.Name, TargetBlockTime: time.Duration(p.TargetBlockTimeUS) * time.Microsecond,
			HalfLife: time.Duration(p.HalfLifeUS) * time.Microsecond, InitialTarget: chaintest.ParseCompact(t, p.InitialTarget),
			MaxTarget: chaintest.ParseCompact(t, p.MaxTarget), FixedDifficulty: p.FixedDifficulty, Reward: p.Reward,
			MaxBlockSize: p.MaxBlockSize, MaxBlockTxs: p.MaxBlockTxs, Ledger: p.Ledger,
		}
		enc, err := np.AppendBinary(nil)
		if err != nil || hex.EncodeToString(enc) != c.Encoding {
			t.Errorf("%s: encoding %x, %v, want %s", c.Description, enc, err, c.Encoding)
		}
		if h, err := np.Commitment(); err != nil || h.String() != c.Commitment {
			t.Errorf("%s: commitment %s, %v, want %s", c.Description, h, err, c.Commitment)
		}
		gp := np.Params()
		g := gp.Genesis()
		if bin, _ := g.MarshalBinary(); hex.EncodeToString(bin) != c.GenesisBinary || g.Hash.String() != c.GenesisHash {
			t.Errorf("%s: genesis %s %x, want %s %s", c.Description, g.Hash, bin, c.GenesisHash, c.GenesisBinary)
		}
		raw, _ := hex.DecodeString(c.Encoding)
		if got, err := chain.DecodeNetParams(raw); err != nil || got != np {
			t.Errorf("%s: decoded %+v, %v, want %+v", c.Description, got, err, np)
		}
	}
	for _, c := range v.Invalid {
		raw, err := hex.DecodeString(c.Encoding)
		if err != nil {
			t.Fatalf("%s: %v", c.Description, err)
		}
		if np, err := chain.DecodeNetParams(raw); err == nil {
			t.Errorf("%s: decoded as %+v, want an error", c.Description, np)
		}
	}
}

func FuzzNetParamsDecode(f *testing.F) {
	np := chain.ProposedNetParams(chain.DefaultNetwork)
	enc, _ := np.AppendBinary(nil)
	f.Add(enc)
	f.Add([]byte(chain.NetParamsMagic))
	f.Fuzz(func(t *testing.T, data []byte) {
		np, err := chain.DecodeNetParams(data)
		if err != nil {
			return
		}
		// Whatever decodes is valid and encodes back to the same bytes.
		again, err := np.AppendBinary(nil)
		if err != nil || !bytes.Equal(again, data) {
			t.Fatalf("decoded %+v re-encodes to %x, %v; input %x", np, again, err, data)
		}
	})
}
