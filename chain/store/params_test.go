package store

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gossipchain/gossipchain/chain"
	"github.com/gossipchain/gossipchain/chain/chaintest"
)

func TestGenesisDeterministic(t *testing.T) {
	p := chaintest.ParamsAt(t, chaintest.Difficulty)
	q := chaintest.ParamsAt(t, chaintest.Difficulty) // built separately
	g1, g2 := p.Genesis(), q.Genesis()
	if g1.Hash != g2.Hash || g1.Hash != g1.ComputeHash() {
		t.Fatalf("genesis differs between calls: %s, %s", g1.Hash, g2.Hash)
	}
	np := p.Net()
	commit, _ := np.Commitment()
	if g1.Index != 1 || g1.Timestamp != chain.GenesisTimestamp || g1.PreviousHash != commit || g1.Bits != p.InitialTarget || g1.Proof != 0 || len(g1.Transactions) != 1 {
		t.Errorf("genesis fields: %+v", g1)
	}
	if r := g1.Reward(); r == nil || r.Recipient != p.GenesisRecipient() || r.Amount != p.Reward || r.Nonce != 1 {
		t.Errorf("genesis reward: %+v", r)
	}
	// Across opens of different stores.
	dir := t.TempDir()
	var hashes []chain.Hash
	for i := range 2 {
		cfg := testConfig(t, p)
		cfg.Path = filepath.Join(dir, string(rune('a'+i)), "chain.db")
		c := openChain(t, cfg)
		hashes = append(hashes, c.Genesis().Hash, c.Head().Hash, mainHashes(t, c)[0])
		c.Close()
	}
	for _, h := range hashes {
		if h != g1.Hash {
			t.Errorf("store genesis %s, want %s", h, g1.Hash)
		}
	}
}

func TestGenesisDependsOnParams(t *testing.T) {
	seen := map[chain.Hash]string{}
	for _, tc := range []struct {
		name       string
		difficulty uint32
	}{
		{"devnet", 20}, {"devnet2", 20}, {"testnet", 20}, {"devnet", 21}, {"devnet", 0},
	} {
		p, err := chain.NewParams(tc.name, tc.difficulty)
		if err != nil {
			t.Fatal(err)
		}
		key := tc.name + "/" + string(rune('0'+tc.difficulty))
		h := p.Genesis().Hash
		if other, ok := seen[h]; ok {
			t.Errorf("%s and %s share the genesis %s", key, other, h)
		}
		seen[h] = key
	}
	p := chaintest.ParamsAt(t, 8)
	q := p
	q.Reward = 50
	if p.Genesis().Hash == q.Genesis().Hash {
		t.Error("reward does not change the genesis")
	}
}

func TestParamsValidate(t *testing.T) {
	p, err := chain.NewParams(chain.DefaultNetwork, chain.DefaultDifficulty)
	if err != nil {
		t.Fatalf("default params: %v", err)
	}
	if p.Reward != chain.DefaultReward || p.MaxBlockTxs != chain.DefaultMaxBlockTxs || p.MaxBlockSize != chain.DefaultMaxBlockSize {
		t.Errorf("defaults: %+v", p)
	}
	bad := []func(p *chain.Params){
		func(p *chain.Params) { p.Name = "" },
		func(p *chain.Params) { p.Name = "DevNet" },
		func(p *chain.Params) { p.Name = "-dev" },
		func(p *chain.Params) { p.Name = "dev net" },
		func(p *chain.Params) { p.Name = strings.Repeat("a", 33) },
		func(p *chain.Params) { p.MaxTarget = 0x1d800001 },
		func(p *chain.Params) { p.InitialTarget = chain.MustCompact(chain.ZeroBitsTarget(1)) },
		func(p *chain.Params) { p.TargetBlockTime = 0 },
		func(p *chain.Params) { p.HalfLife = p.TargetBlockTime },
		func(p *chain.Params) { p.Reward = 0 },
		func(p *chain.Params) { p.Reward = chain.MaxAmount + 1 },
		func(p *chain.Params) { p.MaxBlockTxs = 0 },
		func(p *chain.Params) { p.MaxBlockTxs = chain.MaxTxsLimit + 1 },
		func(p *chain.Params) { p.MaxBlockSize = 10 },
		func(p *chain.Params) { p.MaxBlockSize = 65 << 20 },
	}
	for i, mutate := range bad {
		q := p
		mutate(&q)
		if err := q.Validate(); err == nil {
			t.Errorf("case %d: %+v validated", i, q)
		}
		cfg := testConfig(t, q)
		if _, err := Open(cfg); err == nil || errors.Is(err, chain.ErrWrongNetwork) {
			t.Errorf("case %d: Open with bad params: %v", i, err)
		}
	}
	for _, name := range []string{"a", "devnet", "lan-1", "x-y_z", strings.Repeat("a", 32)} {
		if _, err := chain.NewParams(name, 0); err != nil {
			t.Errorf("NewParams(%q): %v", name, err)
		}
	}
}

func TestDefaultParamsAreTheProposedDevnet(t *testing.T) {
	p := chain.DefaultParams()
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	if got, want := p.Net(), chain.ProposedNetParams(chain.DefaultNetwork); got != want {
		t.Errorf("default network %+v, want %+v", got, want)
	}
	if p.FixedDifficulty || p.Difficulty() != chain.DefaultInitialBits {
		t.Errorf("default network: fixed %v, %d bits", p.FixedDifficulty, p.Difficulty())
	}
}
