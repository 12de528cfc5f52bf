package chain_test

import (
	"testing"
	"time"

	"github.com/gossipchain/gossipchain/chain"
)

// paramsOf returns the parameters the gossipchain command makes of its
// flags: a fixed difficulty, or a retargeting network from initial bits.
func paramsOf(t *testing.T, name, ledger string, difficulty int, blockTime time.Duration) chain.Params {
	t.Helper()
	var p chain.Params
	var err error
	if difficulty >= 0 {
		p, err = chain.NewParams(name, uint32(difficulty))
	} else {
		p, err = chain.NewRetargetParams(name, blockTime)
	}
	if err != nil {
		t.Fatal(err)
	}
	p.TargetBlockTime, p.HalfLife, p.Ledger = blockTime, chain.DefaultHalfLifeBlocks*blockTime, ledger
	return p
}

// net is paramsOf as a NetParams.
func netOf(t *testing.T, name, ledger string, difficulty int, blockTime time.Duration) chain.NetParams {
	p := paramsOf(t, name, ledger, difficulty, blockTime)
	return p.Net()
}

func TestSettings(t *testing.T) {
	devnet := netOf(t, "devnet", chain.LedgerOpen, -1, 10*time.Second)
	initial18 := devnet
	initial18.InitialTarget = chain.MustCompact(chain.ZeroBitsTarget(18))
	initial18.MaxTarget = initial18.InitialTarget
	halfLife := devnet
	halfLife.HalfLife = time.Minute
	tests := []struct {
		a, b   chain.NetParams
		as, bs string
	}{
		{devnet, devnet, "", ""},
		{devnet, netOf(t, "devnet", chain.LedgerSigned, -1, 10*time.Second), "--ledger open", "--ledger signed"},
		{netOf(t, "devnet", chain.LedgerOpen, 12, 10*time.Second), devnet, "--difficulty 12", "no --difficulty (it retargets from 22 bits)"},
		{netOf(t, "devnet", chain.LedgerOpen, 12, 10*time.Second), netOf(t, "devnet", chain.LedgerOpen, 20, 10*time.Second), "--difficulty 12", "--difficulty 20"},
		{initial18, devnet, "--initial-difficulty 18", "--initial-difficulty 22"},
		{netOf(t, "lan", chain.LedgerOpen, -1, 10*time.Second), devnet, "--network lan", "--network devnet"},
		// A half-life left at its default follows the block time.
		{netOf(t, "devnet", chain.LedgerOpen, -1, time.Second), devnet, "--target-block-time 1s", "--target-block-time 10s"},
		{halfLife, devnet, "--half-life 1m0s", "--half-life 40s"},
		{netOf(t, "devnet", chain.LedgerSigned, 12, 10*time.Second), devnet,
			"--ledger signed and --difficulty 12", "--ledger open and no --difficulty (it retargets from 22 bits)"},
	}
	for _, tt := range tests {
		as, bs := chain.Settings(tt.a, tt.b)
		if as != tt.as || bs != tt.bs {
			t.Errorf("Settings:\n got  %q vs %q\n want %q vs %q", as, bs, tt.as, tt.bs)
		}
	}
	reward := devnet
	reward.Reward = 2
	if as, bs := chain.Settings(reward, devnet); as != "reward 2 (set by no flag)" || bs != "reward 1 (set by no flag)" {
		t.Errorf("reward: %q vs %q", as, bs)
	}
}

func TestGuessNetParams(t *testing.T) {
	devnet := netOf(t, "devnet", chain.LedgerOpen, -1, 10*time.Second)
	for _, want := range []chain.Params{
		paramsOf(t, "devnet", chain.LedgerOpen, -1, 10*time.Second),
		paramsOf(t, "devnet", chain.LedgerSigned, -1, 10*time.Second),
		paramsOf(t, "devnet", chain.LedgerOpen, 12, 10*time.Second),
		paramsOf(t, "devnet", chain.LedgerSigned, 0, 10*time.Second),
		paramsOf(t, "devnet", chain.LedgerOpen, -1, 2*time.Second),
		paramsOf(t, "lan", chain.LedgerOpen, 16, 10*time.Second),
	} {
		got, ok := chain.GuessNetParams(want.Genesis().Hash, devnet, "devnet", "lan")
		if !ok || got != want.Net() {
			t.Errorf("guess of %+v: %+v %v", want.Net(), got, ok)
		}
	}
	// A block time no operator is guessed to choose is not found.
	odd := paramsOf(t, "devnet", chain.LedgerOpen, -1, 7*time.Second)
	if got, ok := chain.GuessNetParams(odd.Genesis().Hash, devnet); ok {
		t.Errorf("guess of a 7 s network: %+v", got)
	}
}

func BenchmarkGuessNetParamsMiss(b *testing.B) {
	p := chain.DefaultParams()
	for b.Loop() {
		chain.GuessNetParams(chain.Hash{1}, p.Net())
	}
}

func TestNetParamsParams(t *testing.T) {
	p := paramsOf(t, "devnet", chain.LedgerSigned, 12, time.Second)
	np := p.Net()
	if back := np.Params(); back != p {
		t.Fatalf("NetParams.Params: %+v, want %+v", back, p)
	}
}
