package headerchain_test

import (
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/gossipchain/gossipchain/chain"
	"github.com/gossipchain/gossipchain/chain/chaintest"
	"github.com/gossipchain/gossipchain/chain/headerchain"
	"github.com/gossipchain/gossipchain/chain/store"
)

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func config(t testing.TB, p chain.Params) headerchain.Config {
	return headerchain.Config{Params: p, Path: filepath.Join(t.TempDir(), "headers.db"),
		Now: func() time.Time { return chaintest.Now }, Logger: quiet()}
}

func open(t testing.TB, cfg headerchain.Config) *headerchain.Chain {
	t.Helper()
	c, err := headerchain.Open(cfg)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// headersOf returns the headers of blocks, as a peer serves them.
func headersOf(t testing.TB, blocks ...*chain.Block) []chain.Block {
	t.Helper()
	out := make([]chain.Block, len(blocks))
	for i, b := range blocks {
		h := b.Header()
		var err error
		if out[i], err = chain.DecodeHeader(h[:]); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// fullStore returns a full node's store holding blocks, on the test clock.
func fullStore(t testing.TB, p chain.Params, blocks []*chain.Block) *store.Chain {
	t.Helper()
	full, err := store.Open(store.Config{Params: p, Path: filepath.Join(t.TempDir(), "chain.db"),
		Now: func() time.Time { return chaintest.Now }, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { full.Close() })
	if _, _, err := full.AddBlocks(blocks); err != nil {
		t.Fatal(err)
	}
	return full
}

func mustAdd(t testing.TB, c *headerchain.Chain, blocks ...*chain.Block) headerchain.AddResult {
	t.Helper()
	res, err := c.Add(headersOf(t, blocks...))
	if err != nil {
		t.Fatalf("Add: %v", err)
	}
	return res
}

func wantHead(t testing.TB, c *headerchain.Chain, b *chain.Block) {
	t.Helper()
	if h := c.Head(); h.Hash != b.Hash || h.Height != b.Index {
		t.Fatalf("head %s at %d, want %s at %d", h.Hash, h.Height, b.Hash, b.Index)
	}
}

// TestFollowsChain: the headers of a chain make the same head, work and
// locator as the full store of the same blocks, and survive a reopening.
func TestFollowsChain(t *testing.T) {
	p := chaintest.ParamsAt(t, chaintest.Difficulty)
	blocks := chaintest.Branch(t, &p, p.Genesis(), 300, "m")
	cfg := config(t, p)
	c := open(t, cfg)
	res := mustAdd(t, c, append([]*chain.Block{p.Genesis()}, blocks...)...)
	if res.Added != len(blocks) {
		t.Errorf("added %d, want %d", res.Added, len(blocks))
	}
	full := fullStore(t, p, blocks)
	check := func(c *headerchain.Chain) {
		t.Helper()
		wantHead(t, c, blocks[len(blocks)-1])
		if got, want := c.Head().Work, full.Head().Work; got.Cmp(want) != 0 {
			t.Errorf("work %s, the full store's %s", got, want)
		}
		if got, want := c.Locator(), full.Locator(); !slices.Equal(got, want) {
			t.Errorf("locator %v, the full store's %v", got, want)
		}
		if h, err := c.HeaderAt(150); err != nil || h.Hash != blocks[148].Hash {
			t.Errorf("HeaderAt(150) = %s, %v; want %s", h.Hash, err, blocks[148].Hash)
		}
	}
	check(c)
	if res, err := c.Add(nil); err != nil || res.Added != 0 || res.Head.Hash != blocks[len(blocks)-1].Hash {
		t.Errorf("Add(nil) = %+v, %v", res, err)
	}
	if res := mustAdd(t, c, blocks[:10]...); res.Added != 0 {
		t.Errorf("known headers added again: %d", res.Added)
	}
	c.Close()
	check(open(t, cfg))
}

// TestRefusesWhatAFullNodeRefuses: every header rule a full node applies to
// a block is applied to its header, with the same error code; the headers
// before the invalid one are kept.
func TestRefusesWhatAFullNodeRefuses(t *testing.T) {
	p := chaintest.ParamsAt(t, chaintest.Difficulty)
	blocks := chaintest.Branch(t, &p, p.Genesis(), 12, "m")
	parent := blocks[len(blocks)-1]
	harder := chain.MustCompact(chain.ZeroBitsTarget(chaintest.Difficulty + 2))
	cases := []struct {
		name  string
		forge func(b *chain.Block)
		code  chain.ErrorCode
	}{
		{"proof of work", func(b *chain.Block) { chaintest.Unmine(t, b, b.Bits) }, chain.ErrBadProof},
		{"wrong bits with a valid proof", func(b *chain.Block) { b.Bits = harder; chaintest.Mine(t, b, harder) }, chain.ErrBadDifficulty},
		{"bits above the network's maximum", func(b *chain.Block) {
			b.Bits = chain.MustCompact(chain.ZeroBitsTarget(1))
			chaintest.Mine(t, b, b.Bits)
		}, chain.ErrBadDifficulty},
		{"index", func(b *chain.Block) {
			b.Index++
			b.Transactions = []chain.Transaction{chain.NewRewardTransaction("m", p.Reward, b.Index)}
			chaintest.Seal(t, b)
		}, chain.ErrBadIndex},
		{"before the median time", func(b *chain.Block) { b.Timestamp = blocks[4].Timestamp; chaintest.Mine(t, b, b.Bits) }, chain.ErrTimeTooOld},
		{"too far in the future", func(b *chain.Block) {
			b.Timestamp = chain.TimestampOf(chaintest.Now.Add(p.FutureLimit() + time.Second))
			chaintest.Mine(t, b, b.Bits)
		}, chain.ErrTimeTooNew},
		{"stated hash", func(b *chain.Block) { b.Hash[0] ^= 1 }, chain.ErrBadHash},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := open(t, config(t, p))
			full := fullStore(t, p, blocks)
			b := chaintest.NextBlock(t, &p, parent, "m")
			tc.forge(b)
			_, fullErr := full.AddBlock(b)
			if chain.RuleCode(fullErr) != tc.code {
				t.Fatalf("the full store says %v, want %s: the case is wrong", fullErr, tc.code)
			}
			hs := headersOf(t, append(blocks, b)...)
			hs[len(hs)-1].Hash = b.Hash // as stated, for the stated-hash case
			res, err := c.Add(hs)
			if chain.RuleCode(err) != tc.code {
				t.Errorf("error %v, want %s", err, tc.code)
			}
			if res.Added != len(blocks) {
				t.Errorf("kept %d headers before the invalid one, want %d", res.Added, len(blocks))
			}
			wantHead(t, c, parent)
		})
	}
	t.Run("unknown parent", func(t *testing.T) {
		c := open(t, config(t, p))
		_, err := c.Add(headersOf(t, blocks[3:]...))
		if !errors.Is(err, chain.ErrUnknownParent) {
			t.Errorf("error %v, want %v", err, chain.ErrUnknownParent)
		}
	})
	t.Run("another genesis", func(t *testing.T) {
		c := open(t, config(t, p))
		op := chaintest.ParamsAt(t, chaintest.Difficulty+1)
		if _, err := c.Add(headersOf(t, op.Genesis())); chain.RuleCode(err) != chain.ErrBadGenesis {
			t.Errorf("error %v, want %s", err, chain.ErrBadGenesis)
		}
	})
}

// TestRetargeting: on a retargeting network the bits follow the rule from
// the parent, and a header whose bits differ from the rule's, even with a
// valid proof at its own bits, is refused.
func TestRetargeting(t *testing.T) {
	p, err := chain.NewRetargetParams("retarget", 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	p.HalfLife = 100 * time.Second
	p.InitialTarget = chain.MustCompact(chain.ZeroBitsTarget(6))
	p.MaxTarget = chain.MustCompact(chain.ZeroBitsTarget(4))
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	// Blocks one second apart: the target gets harder block by block.
	parent, e := p.Genesis(), (*chain.Parent)(nil)
	e, _ = p.ParentOf(parent, e)
	var blocks []*chain.Block
	for range 40 {
		b := chaintest.NewBlock(&p, parent, "m")
		bits, err := p.NextBits(e)
		if err != nil {
			t.Fatal(err)
		}
		b.Bits = bits
		chaintest.Mine(t, b, bits)
		if e, err = p.ParentOf(b, e); err != nil {
			t.Fatal(err)
		}
		blocks = append(blocks, b)
		parent = b
	}
	if blocks[len(blocks)-1].Bits == p.InitialTarget {
		t.Fatal("the target did not move: the test is wrong")
	}
	c := open(t, config(t, p))
	mustAdd(t, c, blocks...)
	wantHead(t, c, parent)
	b := chaintest.NewBlock(&p, parent, "m")
	b.Bits = p.InitialTarget // easier than the rule requires, within the network's range
	chaintest.Mine(t, b, b.Bits)
	if _, err := c.Add(headersOf(t, b)); chain.RuleCode(err) != chain.ErrBadDifficulty {
		t.Errorf("error %v, want %s", err, chain.ErrBadDifficulty)
	}
}

// TestReorganisation: a heavier side branch becomes the main chain, from
// any order of arrival; one of equal work does not (the first seen stays).
func TestReorganisation(t *testing.T) {
	p := chaintest.ParamsAt(t, chaintest.Difficulty)
	main := chaintest.Branch(t, &p, p.Genesis(), 10, "a")
	tie := chaintest.Branch(t, &p, main[3], 6, "b")   // up to height 11, as main
	heavy := chaintest.Branch(t, &p, main[3], 8, "c") // up to height 13
	c := open(t, config(t, p))
	mustAdd(t, c, main...)
	if res := mustAdd(t, c, tie...); res.Added != len(tie) || res.Abandoned != 0 {
		t.Errorf("tie: %+v", res)
	}
	wantHead(t, c, main[len(main)-1])
	res := mustAdd(t, c, heavy...)
	if res.Abandoned != 6 {
		t.Errorf("abandoned %d headers, want 6", res.Abandoned)
	}
	wantHead(t, c, heavy[len(heavy)-1])
	for i, b := range append(main[:4:4], heavy...) {
		if h, err := c.HeaderAt(uint64(i + 2)); err != nil || h.Hash != b.Hash {
			t.Fatalf("height %d: %s, %v; want %s", i+2, h.Hash, err, b.Hash)
		}
	}
	if _, err := c.HeaderAt(14); !errors.Is(err, chain.ErrNotFound) {
		t.Errorf("above the head: %v, want %v", err, chain.ErrNotFound)
	}
	// Back to the first branch, made heavier.
	more := chaintest.Branch(t, &p, main[len(main)-1], 3, "a")
	res = mustAdd(t, c, more...)
	if res.Abandoned != 8 {
		t.Errorf("abandoned %d headers, want 8", res.Abandoned)
	}
	wantHead(t, c, more[2])
}

// TestCheckpoint: a checkpoint on the heaviest chain is accepted; one that
// the heaviest chain contradicts is refused with ErrCheckpointConflict, by
// Add and then by Open.
func TestCheckpoint(t *testing.T) {
	p := chaintest.ParamsAt(t, chaintest.Difficulty)
	blocks := chaintest.Branch(t, &p, p.Genesis(), 10, "m")
	other := chaintest.Branch(t, &p, p.Genesis(), 10, "o")

	cfg := config(t, p)
	cp, err := headerchain.ParseCheckpoint("6:" + blocks[4].Hash.String())
	if err != nil {
		t.Fatal(err)
	}
	cfg.Checkpoint = &cp
	c := open(t, cfg)
	mustAdd(t, c, blocks...)

	cfg = config(t, p)
	bad := headerchain.Checkpoint{Height: 6, Hash: other[4].Hash}
	cfg.Checkpoint = &bad
	c = open(t, cfg)
	_, err = c.Add(headersOf(t, blocks...))
	if !errors.Is(err, headerchain.ErrCheckpointConflict) {
		t.Fatalf("error %v, want %v", err, headerchain.ErrCheckpointConflict)
	}
	t.Log(err)
	c.Close()
	if _, err := headerchain.Open(cfg); !errors.Is(err, headerchain.ErrCheckpointConflict) {
		t.Errorf("Open: %v, want %v", err, headerchain.ErrCheckpointConflict)
	}

	for _, s := range []string{"", "6", "1:" + blocks[0].Hash.String(), "x:" + blocks[0].Hash.String(), "6:abc"} {
		if _, err := headerchain.ParseCheckpoint(s); err == nil {
			t.Errorf("ParseCheckpoint(%q) accepted", s)
		}
	}
}

// TestAnotherNetworksFile: a header file of another network is refused.
func TestAnotherNetworksFile(t *testing.T) {
	cfg := config(t, chaintest.ParamsAt(t, chaintest.Difficulty))
	open(t, cfg).Close()
	cfg.Params = chaintest.ParamsAt(t, chaintest.Difficulty+1)
	if _, err := headerchain.Open(cfg); err == nil {
		t.Fatal("opened the file of another network")
	}
}
