package chain_test

import (
	"errors"
	"math/big"
	"math/rand/v2"
	"testing"

	"github.com/gossipchain/gossipchain/chain"
	"github.com/gossipchain/gossipchain/chain/chaintest"
)

// bigHex parses a 0x-prefixed hex integer, failing the test on error.
func bigHex(t testing.TB, s string) *big.Int {
	t.Helper()
	v, ok := new(big.Int).SetString(s, 0)
	if !ok {
		t.Fatalf("bad integer %q", s)
	}
	return v
}

func TestCompactBitcoinCases(t *testing.T) {
	// Bitcoin Core's SetCompact/GetCompact cases (arith_uint256_tests), with
	// the negative and overflowing forms refused here.
	tests := []struct {
		compact   chain.Compact
		target    string // decoded value, hex
		canonical chain.Compact
		err       error
	}{
		{0x00000000, "0x0", 0, nil},
		{0x00123456, "0x0", 0, nil},
		{0x01003456, "0x0", 0, nil},
		{0x02000056, "0x0", 0, nil},
		{0x03000000, "0x0", 0, nil},
		{0x04000000, "0x0", 0, nil},
		{0x00923456, "0x0", 0, nil}, // sign bit with a zero mantissa: zero, not negative
		{0x01803456, "0x0", 0, nil},
		{0x02800056, "0x0", 0, nil},
		{0x03800000, "0x0", 0, nil},
		{0x04800000, "0x0", 0, nil},
		{0x01123456, "0x12", 0x01120000, nil},
		{0x02123456, "0x1234", 0x02123400, nil},
		{0x03123456, "0x123456", 0x03123456, nil},
		{0x04123456, "0x12345600", 0x04123456, nil},
		{0x05009234, "0x92340000", 0x05009234, nil},
		{0x20123456, "0x1234560000000000000000000000000000000000000000000000000000000000", 0x20123456, nil},
		{0x1d00ffff, "0xffff0000000000000000000000000000000000000000000000000000", 0x1d00ffff, nil},
		{0x2100ffff, "0xffff000000000000000000000000000000000000000000000000000000000000", 0x2100ffff, nil},
		{0x01fedcba, "", 0, chain.ErrCompactNegative},
		{0x04923456, "", 0, chain.ErrCompactNegative},
		{0xff123456, "", 0, chain.ErrCompactOverflow},
		{0x21010000, "", 0, chain.ErrCompactOverflow}, // 0x0100 << 8·30 = 2^256
		{0x22000100, "", 0, chain.ErrCompactOverflow},
		{0x23000001, "", 0, chain.ErrCompactOverflow},
	}
	for _, tt := range tests {
		got, err := tt.compact.Target()
		if tt.err != nil {
			if !errors.Is(err, tt.err) {
				t.Errorf("%s.Target() error %v, want %v", tt.compact, err, tt.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s.Target(): %v", tt.compact, err)
			continue
		}
		if want := bigHex(t, tt.target); got.Cmp(want) != 0 {
			t.Errorf("%s.Target() = %#x, want %#x", tt.compact, got, want)
		}
		if c, err := chain.CompactOf(got); err != nil || c != tt.canonical {
			t.Errorf("CompactOf(%#x) = %s, %v, want %s", got, c, err, tt.canonical)
		}
	}
}

func TestCompactOfRange(t *testing.T) {
	for _, bad := range []*big.Int{big.NewInt(-1), chain.Two256} {
		if _, err := chain.CompactOf(bad); !errors.Is(err, chain.ErrTargetRange) {
			t.Errorf("CompactOf(%#x) error %v, want ErrTargetRange", bad, err)
		}
	}
	if c := chain.MustCompact(chain.MaxUint256); c != 0x2100ffff {
		t.Errorf("CompactOf(2^256-1) = %s, want 0x2100ffff", c)
	}
}

func TestCompactRoundTripProperty(t *testing.T) {
	// Every target's compact form decodes to at most the target and loses
	// less than 2^-15 of it; the compact form is a fixed point.
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 5000; i++ {
		bitsLen := rng.IntN(257)
		tgt := new(big.Int)
		for j := 0; j < bitsLen; j++ {
			tgt.Lsh(tgt, 1)
			if j == 0 || rng.IntN(2) == 1 {
				tgt.SetBit(tgt, 0, 1)
			}
		}
		c, err := chain.CompactOf(tgt)
		if err != nil {
			t.Fatalf("CompactOf(%#x): %v", tgt, err)
		}
		back, err := c.Target()
		if err != nil {
			t.Fatalf("%s (of %#x).Target(): %v", c, tgt, err)
		}
		if back.Cmp(tgt) > 0 {
			t.Fatalf("%s decodes to %#x, above the target %#x", c, back, tgt)
		}
		lost := new(big.Int).Sub(tgt, back)
		if tgt.Sign() > 0 && new(big.Int).Lsh(lost, 15).Cmp(tgt) >= 0 {
			t.Fatalf("%s loses %#x of %#x, 2^-15 or more", c, lost, tgt)
		}
		if again := chain.MustCompact(back); again != c {
			t.Fatalf("compact of %#x is %s, of its decoding %s", tgt, c, again)
		}
	}
}

func TestCheckTarget(t *testing.T) {
	maxT := big.NewInt(1000)
	for _, tt := range []struct {
		target int64
		ok     bool
	}{{-1, false}, {0, false}, {1, true}, {1000, true}, {1001, false}} {
		err := chain.CheckTarget(big.NewInt(tt.target), maxT)
		if (err == nil) != tt.ok || (err != nil && !errors.Is(err, chain.ErrTargetRange)) {
			t.Errorf("CheckTarget(%d, 1000) = %v, want ok=%v", tt.target, err, tt.ok)
		}
	}
}

func TestWorkOfZeroBitsTargets(t *testing.T) {
	// Today's work 2^d is the new formula's work of the equivalent target,
	// so a migrated chain keeps its cumulative work.
	for d := uint32(0); d <= 256; d++ {
		if got, want := chain.TargetWork(chain.ZeroBitsTarget(d)), chain.Work(d); got.Cmp(want) != 0 {
			t.Errorf("TargetWork(ZeroBitsTarget(%d)) = %#x, want 2^%d", d, got, d)
		}
	}
	if got := chain.TargetWork(big.NewInt(0)); got.Cmp(chain.Two256) != 0 {
		t.Errorf("TargetWork(0) = %#x, want 2^256", got)
	}
	if got := chain.TargetWork(chain.MaxUint256); got.Cmp(big.NewInt(1)) != 0 {
		t.Errorf("TargetWork(2^256-1) = %v, want 1", got)
	}
	// Bitcoin's genesis target 0x1d00ffff: 0x100010001 hashes.
	w, err := chain.Compact(0x1d00ffff).Work()
	if err != nil || w.Cmp(big.NewInt(0x100010001)) != 0 {
		t.Errorf("work of 0x1d00ffff = %v, %v, want 0x100010001", w, err)
	}
	if _, err := chain.Compact(0x04923456).Work(); !errors.Is(err, chain.ErrCompactNegative) {
		t.Errorf("work of a negative compact: %v, want ErrCompactNegative", err)
	}
}

func TestWorkChainSumProperty(t *testing.T) {
	// A chain's cumulative work, accumulated block by block with AddWork,
	// equals the sum of its blocks' work taken in any order, and only grows.
	rng := rand.New(rand.NewPCG(3, 4))
	for chainN := 0; chainN < 50; chainN++ {
		n := 1 + rng.IntN(200)
		total := new(big.Int)
		blocks := make([]*big.Int, n)
		for i := range blocks {
			c := chain.MustCompact(new(big.Int).Rsh(chain.MaxUint256, uint(rng.IntN(250))))
			w, err := c.Work()
			if err != nil {
				t.Fatal(err)
			}
			blocks[i] = w
			prev := new(big.Int).Set(total)
			if _, err := chain.AddWork(total, c); err != nil {
				t.Fatal(err)
			}
			if total.Cmp(prev) <= 0 {
				t.Fatalf("work did not grow: %v then %v", prev, total)
			}
		}
		sum := new(big.Int)
		for _, i := range rng.Perm(n) {
			sum.Add(sum, blocks[i])
		}
		if sum.Cmp(total) != 0 {
			t.Fatalf("chain of %d blocks: AddWork total %v, sum %v", n, total, sum)
		}
	}
	if _, err := chain.AddWork(new(big.Int), 0xff123456); !errors.Is(err, chain.ErrCompactOverflow) {
		t.Errorf("AddWork of an overflowing compact: %v", err)
	}
}

func TestHashMeetsTargetFull(t *testing.T) {
	// The check covers every bit: hashes that agree with the target in the
	// first word and differ later, and the leading-zero equivalence.
	target := bigHex(t, "0x00000000ffffffff00000000000000000000000000000000000000000000abcd")
	pt, err := chain.NewPowTarget(target)
	if err != nil {
		t.Fatal(err)
	}
	tgtHash := chain.Hash(pt)
	above, below := tgtHash, tgtHash
	above[31]++ // ...abce
	below[31]-- // ...abcc
	for _, tt := range []struct {
		name string
		h    chain.Hash
		want bool
	}{
		{"equal", tgtHash, true},
		{"one above in the last byte", above, false},
		{"one below in the last byte", below, true},
		{"zero", chain.Hash{}, true},
		{"all ones", chain.Hash(chain.MaxUint256.FillBytes(make([]byte, 32))), false},
	} {
		words := hashWords(tt.h)
		if got := pt.Met(tt.h); got != tt.want {
			t.Errorf("%s: Met = %v, want %v", tt.name, got, tt.want)
		}
		if got := pt.MetWords(&words); got != tt.want {
			t.Errorf("%s: MetWords = %v, want %v", tt.name, got, tt.want)
		}
		if got := chain.HashMeetsTarget(tt.h, target); got != tt.want {
			t.Errorf("%s: HashMeetsTarget = %v, want %v", tt.name, got, tt.want)
		}
	}
	if cpt, err := chain.Compact(0x1d00ffff).PowTarget(); err != nil || chain.Hash(cpt).String() != "00000000ffff0000000000000000000000000000000000000000000000000000" {
		t.Errorf("0x1d00ffff.PowTarget() = %x, %v", cpt, err)
	}
	if _, err := chain.Compact(0x04923456).PowTarget(); !errors.Is(err, chain.ErrCompactNegative) {
		t.Errorf("PowTarget of a negative compact: %v", err)
	}
	if _, err := chain.NewPowTarget(chain.Two256); !errors.Is(err, chain.ErrTargetRange) {
		t.Errorf("NewPowTarget(2^256): %v", err)
	}
	if chain.HashMeetsTarget(chain.Hash{}, big.NewInt(-1)) {
		t.Error("a negative target is met")
	}

	rng := rand.New(rand.NewPCG(5, 6))
	for i := 0; i < 20000; i++ {
		var h chain.Hash
		for j := range h {
			h[j] = byte(rng.Uint32())
		}
		// Sprinkle leading zeros so that every difficulty is exercised.
		for z := rng.IntN(40); z > 0; z-- {
			h[(z-1)/8] &^= 0x80 >> ((z - 1) % 8)
		}
		d := uint32(rng.IntN(48))
		zt := chain.ZeroBitsTarget(d)
		zpt, _ := chain.NewPowTarget(zt)
		want := chain.LeadingZeroBits(h) >= int(d)
		words := hashWords(h)
		if chain.HashMeetsTarget(h, zt) != want || zpt.Met(h) != want || zpt.MetWords(&words) != want {
			t.Fatalf("hash %s difficulty %d: target checks disagree with LeadingZeroBits (want %v)", h, d, want)
		}
	}
}

func hashWords(h chain.Hash) [8]uint32 {
	var w [8]uint32
	for i := range w {
		w[i] = uint32(h[4*i])<<24 | uint32(h[4*i+1])<<16 | uint32(h[4*i+2])<<8 | uint32(h[4*i+3])
	}
	return w
}

// compactVectors is the format of testdata/compact.json.
type compactVectors struct {
	Decode []struct {
		Compact   string `json:"compact"`
		Target    string `json:"target"`
		Canonical string `json:"canonical"`
		Error     string `json:"error"`
	} `json:"decode"`
	Encode []struct {
		Target  string `json:"target"`
		Compact string `json:"compact"`
	} `json:"encode"`
}

// workVectors is the format of testdata/work.json.
type workVectors struct {
	Targets []struct {
		Target string `json:"target"`
		Work   string `json:"work"`
	} `json:"targets"`
	Chains []struct {
		Compacts  []string `json:"compacts"`
		TotalWork string   `json:"total_work"`
	} `json:"chains"`
}

func TestCompactVectors(t *testing.T) {
	var v compactVectors
	chaintest.ReadVectors(t, "compact.json", &v)
	if len(v.Decode) == 0 || len(v.Encode) == 0 {
		t.Fatal("compact.json has no cases")
	}
	errs := map[string]error{"negative": chain.ErrCompactNegative, "overflow": chain.ErrCompactOverflow}
	for _, tc := range v.Decode {
		c := chaintest.ParseCompact(t, tc.Compact)
		got, err := c.Target()
		if tc.Error != "" {
			if want, ok := errs[tc.Error]; !ok || !errors.Is(err, want) {
				t.Errorf("decode %s: error %v, want %q", tc.Compact, err, tc.Error)
			}
			continue
		}
		if err != nil || got.Cmp(bigHex(t, tc.Target)) != 0 {
			t.Errorf("decode %s = %#x, %v, want %s", tc.Compact, got, err, tc.Target)
			continue
		}
		if again := chain.MustCompact(got); again != chaintest.ParseCompact(t, tc.Canonical) {
			t.Errorf("canonical of %s = %s, want %s", tc.Compact, again, tc.Canonical)
		}
	}
	for _, tc := range v.Encode {
		c, err := chain.CompactOf(bigHex(t, tc.Target))
		if err != nil || c != chaintest.ParseCompact(t, tc.Compact) {
			t.Errorf("encode %s = %s, %v, want %s", tc.Target, c, err, tc.Compact)
		}
	}
}

func TestWorkVectors(t *testing.T) {
	var v workVectors
	chaintest.ReadVectors(t, "work.json", &v)
	if len(v.Targets) == 0 || len(v.Chains) == 0 {
		t.Fatal("work.json has no cases")
	}
	for _, tc := range v.Targets {
		if got := chain.TargetWork(bigHex(t, tc.Target)); got.Cmp(bigHex(t, tc.Work)) != 0 {
			t.Errorf("work of %s = %#x, want %s", tc.Target, got, tc.Work)
		}
	}
	for i, tc := range v.Chains {
		total := new(big.Int)
		for _, s := range tc.Compacts {
			if _, err := chain.AddWork(total, chaintest.ParseCompact(t, s)); err != nil {
				t.Fatalf("chain %d: %v", i, err)
			}
		}
		if total.Cmp(bigHex(t, tc.TotalWork)) != 0 {
			t.Errorf("chain %d: total work %#x, want %s", i, total, tc.TotalWork)
		}
	}
}
