package store

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/gossipchain/gossipchain/chain"
	"github.com/gossipchain/gossipchain/chain/chaintest"
)

// updateVectors rewrites testdata/consensus.json from this implementation:
// go test ./chain/store/ -run TestConsensusVectors -update-vectors
var updateVectors = flag.Bool("update-vectors", false, "rewrite testdata/consensus.json")

// consensusVectors is the format of testdata/consensus.json (see
// testdata/README.md).
type consensusVectors struct {
	Description string          `json:"description"`
	Networks    []vectorNetwork `json:"networks"`
	Chains      []vectorChain   `json:"chains"`
}

type vectorParams struct {
	Name              string `json:"name"`
	TargetBlockTimeUS int64  `json:"target_block_time_us"`
	HalfLifeUS        int64  `json:"half_life_us"`
	InitialTarget     string `json:"initial_target"`
	MaxTarget         string `json:"max_target"`
	FixedDifficulty   bool   `json:"fixed_difficulty"`
	Reward            uint64 `json:"reward"`
	MaxBlockSize      int    `json:"max_block_size"`
	MaxBlockTxs       int    `json:"max_block_txs"`
	Ledger            string `json:"ledger"`
}

type vectorNetwork struct {
	Description   string          `json:"description"`
	Params        vectorParams    `json:"params"`
	Commitment    string          `json:"commitment"`
	GenesisBinary string          `json:"genesis_binary"`
	GenesisHash   string          `json:"genesis_hash"`
	GenesisJSON   json.RawMessage `json:"genesis_json"`
}

type vectorChain struct {
	Description string        `json:"description"`
	Network     string        `json:"network"` // a name of Networks
	NowUS       int64         `json:"now_us"`  // the local clock, Unix microseconds
	Blocks      []vectorBlock `json:"blocks"`
}

type vectorBlock struct {
	Description string          `json:"description"`
	JSON        json.RawMessage `json:"json"`             // as POST /blocks takes it
	Binary      string          `json:"binary,omitempty"` // the binary encoding, when the block has one that decodes to it
	// Expect is "ok" (the block is added and is the new head) or the
	// code name of the rule it breaks ("bad_proof", ...) or
	// "unknown_parent"; a refused block is not added.
	Expect string `json:"expect"`
	// After an "ok" block: the chain's cumulative work and the compact
	// target the next block must carry.
	Work     string `json:"work,omitempty"`
	NextBits string `json:"next_bits,omitempty"`
}

func vectorParamsOf(p chain.Params) vectorParams {
	return vectorParams{Name: p.Name, TargetBlockTimeUS: p.TargetBlockTime.Microseconds(), HalfLifeUS: p.HalfLife.Microseconds(),
		InitialTarget: p.InitialTarget.String(), MaxTarget: p.MaxTarget.String(), FixedDifficulty: p.FixedDifficulty,
		Reward: p.Reward, MaxBlockSize: p.MaxBlockSize, MaxBlockTxs: p.MaxBlockTxs, Ledger: chain.LedgerOpen}
}

func (v vectorParams) params(t testing.TB) chain.Params {
	return chain.Params{Name: v.Name, TargetBlockTime: time.Duration(v.TargetBlockTimeUS) * time.Microsecond,
		HalfLife: time.Duration(v.HalfLifeUS) * time.Microsecond, InitialTarget: chaintest.ParseCompact(t, v.InitialTarget),
		MaxTarget: chaintest.ParseCompact(t, v.MaxTarget), FixedDifficulty: v.FixedDifficulty, Reward: v.Reward,
		MaxBlockSize: v.MaxBlockSize, MaxBlockTxs: v.MaxBlockTxs}
}

// vectorNetworks are the networks of the vectors: the default devnet, a
// fixed network, a 1 s network, and the cheap retargeting network the
// chain vectors run on.
func vectorNetworks(t testing.TB) []struct {
	desc string
	p    chain.Params
} {
	fixed := chaintest.ParamsAt(t, 8)
	fast, err := chain.NewRetargetParams("fast", time.Second)
	if err != nil {
		t.Fatal(err)
	}
	fast.HalfLife = 4 * time.Second
	fast.InitialTarget = chain.MustCompact(chain.ZeroBitsTarget(18))
	fast.MaxTarget = fast.InitialTarget
	return []struct {
		desc string
		p    chain.Params
	}{
		{"the default network: devnet, retargeting, 10 s blocks", chain.DefaultParams()},
		{"a fixed network at difficulty 8 (--network testnet --difficulty 8)", fixed},
		{"1 s blocks, half-life 4 s, 18 bits (the end-to-end test's network)", fast},
		{"a retargeting network of cheap blocks: 10 s blocks, half-life 100 s, 6 bits, 20 transactions", retargetTestParams(t)},
	}
}

// buildVectorChain returns the chain vectors on p: valid blocks whose
// targets retarget, and one block breaking each rule.
func buildVectorChain(t *testing.T, p chain.Params) vectorChain {
	now := chain.GenesisTimestamp + 100_000*chaintest.Second
	cfg := testConfig(t, p)
	cfg.Now = func() time.Time { return now.Time() }
	c := openChain(t, cfg)
	vc := vectorChain{Description: "blocks applied in order to a new chain of the network with the local clock now_us", Network: p.Name, NowUS: int64(now)}
	add := func(desc string, b *chain.Block, expect string) {
		t.Helper()
		vb := vectorBlock{Description: desc, JSON: b.AppendJSON(nil), Expect: expect}
		if raw, err := b.MarshalBinary(); err == nil && b.Hash == b.ComputeHash() && statedIDsComputed(b) {
			vb.Binary = hex.EncodeToString(raw)
		}
		_, err := c.AddBlock(b)
		got := "ok"
		if err != nil {
			got = errName(err)
		}
		if got != expect {
			t.Fatalf("vector %q: %v, want %s", desc, err, expect)
		}
		if err == nil {
			vb.Work = fmt.Sprintf("%#x", c.Head().Work)
			vb.NextBits = c.Head().NextBits.String()
		}
		vc.Blocks = append(vc.Blocks, vb)
	}
	ts := now - 1000*chaintest.Second
	at := func(d chain.Timestamp, txs ...chain.Transaction) *chain.Block {
		b := onHead(t, c, ts+d)
		all := append(txs, chain.NewRewardTransaction("miner", p.Reward, b.Index))
		b.Transactions = all
		b.CommitTransactions()
		return b
	}
	// Valid blocks: fast ones (harder), a slow one (easier), one at the
	// cap of the solve time.
	for i, d := range []chain.Timestamp{chaintest.Second, 2 * chaintest.Second, 2 * chaintest.Second, 3 * chaintest.Second, 40 * chaintest.Second, 200 * chaintest.Second, 5 * chaintest.Second} {
		ts += d
		add(fmt.Sprintf("valid block %d, %s s after its parent", i+2, d), chaintest.Seal(t, at(0, chaintest.Tx("alice", "bob", uint64(i+1), uint64(i)))), "ok")
	}
	ts += 10 * chaintest.Second
	tx := chaintest.Tx("carol", "dave", 5, 1)
	add("valid block with a transfer", chaintest.Seal(t, at(0, tx)), "ok")
	ts += 10 * chaintest.Second
	// Each rule.
	type rule struct {
		desc   string
		build  func() *chain.Block
		expect string
	}
	long := make([]chain.Transaction, p.MaxBlockTxs)
	for i := range long {
		long[i] = chaintest.Tx("x", "y", 1, uint64(1000+i))
	}
	rules := []rule{
		{"more transactions than max_block_txs", func() *chain.Block { return chaintest.Seal(t, at(0, long...)) }, "too_large"},
		{"index not parent + 1", func() *chain.Block {
			b := at(0)
			b.Index++
			b.Transactions[0] = chain.NewRewardTransaction("miner", p.Reward, b.Index)
			return chaintest.Seal(t, b)
		}, "bad_index"},
		{"previous_hash of no stored block", func() *chain.Block { b := at(0); b.PreviousHash = chain.Hash{1}; return chaintest.Seal(t, b) }, "unknown_parent"},
		{"bits one step harder than the retarget's (mantissa - 1)", func() *chain.Block {
			b := at(0)
			b.Bits = c.Head().NextBits - 1
			return chaintest.Seal(t, b)
		}, "bad_difficulty"},
		{"bits easier than the maximum target", func() *chain.Block {
			b := at(0)
			b.Bits = chain.MustCompact(chain.ZeroBitsTarget(p.Difficulty() - 1))
			return chaintest.Seal(t, b)
		}, "bad_difficulty"},
		{"hash above the target", func() *chain.Block {
			b := at(0)
			chaintest.Unmine(t, b, b.Bits)
			return b
		}, "bad_proof"},
		{"stated hash is not the header's", func() *chain.Block { b := chaintest.Seal(t, at(0)); b.Hash[31] ^= 1; return b }, "bad_hash"},
		{"timestamp before the median of the last 11 blocks", func() *chain.Block { return chaintest.Seal(t, at(-300*chaintest.Second)) }, "time_too_old"},
		{"timestamp past the future limit", func() *chain.Block {
			b := at(0)
			b.Timestamp = now + chain.Timestamp(p.FutureLimit().Microseconds()) + 1
			return chaintest.Seal(t, b)
		}, "time_too_new"},
		{"tx_root of other transactions", func() *chain.Block {
			b := at(0, chaintest.Tx("e", "f", 1, 1))
			b.TxRoot = chain.TxRoot(b.Transactions[1:])
			chaintest.Mine(t, b, b.Bits)
			return b
		}, "bad_tx_root"},
		{"reward of the wrong amount", func() *chain.Block {
			b := at(0)
			b.Transactions[0] = chain.NewRewardTransaction("miner", p.Reward+1, b.Index)
			return chaintest.Seal(t, b)
		}, "bad_reward"},
		{"no reward", func() *chain.Block {
			b := at(0, chaintest.Tx("e", "f", 1, 2))
			b.Transactions = b.Transactions[:1]
			return chaintest.Seal(t, b)
		}, "bad_reward"},
		// tx_root is of the ids the encodings give: a transaction changed
		// after its id was committed breaks it in the JSON form as in the
		// binary one.
		{"transaction changed after its id was committed", func() *chain.Block {
			bad := chaintest.Tx("e", "f", 1, 3)
			bad.Amount = 2
			return chaintest.Seal(t, at(0, bad))
		}, "bad_tx_root"},
		{"stated transaction id not its content's, under the root of the right ids (JSON only)", func() *chain.Block {
			b := chaintest.Seal(t, at(0, chaintest.Tx("e", "f", 1, 3)))
			b.Transactions[0].ID[0] ^= 1
			return b
		}, "bad_transaction"},
		{"tx_count one more than the transactions", func() *chain.Block {
			b := at(0, chaintest.Tx("e", "f", 1, 4))
			b.TxCount++
			chaintest.Mine(t, b, b.Bits)
			return b
		}, "bad_tx_count"},
		{"transaction already in an ancestor", func() *chain.Block { return chaintest.Seal(t, at(0, tx)) }, "duplicate_transaction"},
		{"a block of index 1 other than the genesis", func() *chain.Block {
			g := c.Genesis()
			g.Proof = 1
			g.Hash = g.ComputeHash()
			return g
		}, "bad_genesis"},
	}
	for _, r := range rules {
		add(r.desc, r.build(), r.expect)
	}
	ts += 10 * chaintest.Second
	add("valid block after the refused ones", chaintest.Seal(t, at(0)), "ok")
	return vc
}

// statedIDsComputed reports whether every transaction id of b is the one
// its encoding gives, as in a block decoded from its binary form.
func statedIDsComputed(b *chain.Block) bool {
	for i := range b.Transactions {
		if b.Transactions[i].ID != b.Transactions[i].ComputeID() {
			return false
		}
	}
	return true
}

// sameJSON reports whether a and b are the same JSON text up to
// whitespace between tokens.
func sameJSON(a, b []byte) bool {
	var ca, cb bytes.Buffer
	return json.Compact(&ca, a) == nil && json.Compact(&cb, b) == nil && bytes.Equal(ca.Bytes(), cb.Bytes())
}

func errName(err error) string {
	if code := chain.RuleCode(err); code != 0 {
		return code.String()
	}
	if err == nil {
		return "ok"
	}
	if errors.Is(err, chain.ErrUnknownParent) {
		return "unknown_parent"
	}
	return "error: " + err.Error()
}

func buildConsensusVectors(t *testing.T) consensusVectors {
	v := consensusVectors{Description: "gossipchain protocol 3 consensus vectors; see testdata/README.md"}
	nets := vectorNetworks(t)
	for _, n := range nets {
		np := n.p.Net()
		commit, err := np.Commitment()
		if err != nil {
			t.Fatal(err)
		}
		g := n.p.Genesis()
		raw, _ := g.MarshalBinary()
		v.Networks = append(v.Networks, vectorNetwork{Description: n.desc, Params: vectorParamsOf(n.p), Commitment: commit.String(),
			GenesisBinary: hex.EncodeToString(raw), GenesisHash: g.Hash.String(), GenesisJSON: g.AppendJSON(nil)})
	}
	v.Chains = append(v.Chains, buildVectorChain(t, nets[len(nets)-1].p))
	return v
}

// TestConsensusVectors runs testdata/consensus.json: every network's
// commitment and genesis, and every chain's blocks with their outcomes.
func TestConsensusVectors(t *testing.T) {
	path := filepath.Join("..", "..", "testdata", "consensus.json")
	if *updateVectors {
		data, err := json.MarshalIndent(buildConsensusVectors(t), "", " ")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, append(data, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var v consensusVectors
	chaintest.ReadVectors(t, "consensus.json", &v)
	if len(v.Networks) < 3 || len(v.Chains) == 0 {
		t.Fatal("consensus.json has too few cases")
	}
	nets := map[string]chain.Params{}
	for _, n := range v.Networks {
		p := n.Params.params(t)
		if err := p.Validate(); err != nil {
			t.Fatalf("%s: %v", n.Description, err)
		}
		nets[p.Name] = p
		np := p.Net()
		if commit, _ := np.Commitment(); commit.String() != n.Commitment {
			t.Errorf("%s: commitment %s, want %s", n.Description, commit, n.Commitment)
		}
		g := p.Genesis()
		raw, _ := g.MarshalBinary()
		if g.Hash.String() != n.GenesisHash || hex.EncodeToString(raw) != n.GenesisBinary || !sameJSON(g.AppendJSON(nil), n.GenesisJSON) {
			t.Errorf("%s: genesis %s, want %s", n.Description, g.Hash, n.GenesisHash)
		}
	}
	for _, vc := range v.Chains {
		p, ok := nets[vc.Network]
		if !ok {
			t.Fatalf("chain on unknown network %q", vc.Network)
		}
		cfg := testConfig(t, p)
		now := chain.Timestamp(vc.NowUS).Time()
		cfg.Now = func() time.Time { return now }
		c := openChain(t, cfg)
		valid, refused := 0, 0
		for _, vb := range vc.Blocks {
			b, err := chain.DecodeBlockJSON(vb.JSON, p.MaxBlockTxs)
			if err != nil {
				// Refused as it is decoded (a limit of the network).
				if got := errName(err); got != vb.Expect {
					t.Errorf("%s: decoding: %s (%v), want %s", vb.Description, got, err, vb.Expect)
				}
				refused++
				continue
			}
			if vb.Binary != "" {
				// The binary form is the same block and breaks the same
				// rule: a refused one is tried first (and not stored).
				raw, _ := hex.DecodeString(vb.Binary)
				bb, err := chain.DecodeBlock(raw, chain.MaxTxsLimit)
				if err != nil || !reflect.DeepEqual(bb, b) {
					t.Errorf("%s: binary decodes to %v, %v", vb.Description, bb, err)
				} else if vb.Expect != "ok" {
					if _, err := c.AddBlock(bb); errName(err) != vb.Expect {
						t.Errorf("%s: binary form: %s (%v), want %s", vb.Description, errName(err), err, vb.Expect)
					}
				}
			}
			_, err = c.AddBlock(b)
			if got := errName(err); got != vb.Expect {
				t.Errorf("%s: %s (%v), want %s", vb.Description, got, err, vb.Expect)
				continue
			}
			if err != nil {
				refused++
				continue
			}
			valid++
			if h := c.Head(); h.Hash != b.Hash || fmt.Sprintf("%#x", h.Work) != vb.Work || h.NextBits.String() != vb.NextBits {
				t.Errorf("%s: head %s work %#x next %s, want %s %s %s", vb.Description, h.Hash, h.Work, h.NextBits, b.Hash, vb.Work, vb.NextBits)
			}
		}
		if valid < 5 || refused < 10 {
			t.Errorf("chain %s: %d valid and %d refused blocks, too few", vc.Network, valid, refused)
		}
	}
}
