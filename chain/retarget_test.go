package chain

import (
	"bufio"
	"errors"
	"math"
	"math/big"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// asertRun is one published aserti3-2d vector file: an anchor and the
// expected compact target after each (height, time).
type asertRun struct {
	name         string
	anchorHeight uint64
	anchorTime   int64 // the anchor's parent's timestamp
	anchorBits   Compact
	cases        []asertCase
}

type asertCase struct {
	height uint64
	time   int64
	bits   Compact
}

func readASERTRun(t *testing.T, path string) asertRun {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	run := asertRun{name: filepath.Base(path)}
	header := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "":
		case strings.HasPrefix(line, "##"):
			k, v, ok := strings.Cut(strings.TrimSpace(strings.TrimPrefix(line, "##")), ":")
			if ok {
				header[strings.TrimSpace(k)] = strings.TrimSpace(v)
			}
		case strings.HasPrefix(line, "#"):
		default:
			f := strings.Fields(line)
			if len(f) != 4 {
				t.Fatalf("%s: line %q: want 4 fields", path, line)
			}
			h, err1 := strconv.ParseUint(f[1], 10, 64)
			tm, err2 := strconv.ParseInt(f[2], 10, 64)
			bits, err3 := strconv.ParseUint(f[3], 0, 32)
			if err := errors.Join(err1, err2, err3); err != nil {
				t.Fatalf("%s: line %q: %v", path, line, err)
			}
			run.cases = append(run.cases, asertCase{h, tm, Compact(bits)})
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	// Older files call the anchor's parent time "anchor ancestor time".
	parentTime := header["anchor parent time"]
	if parentTime == "" {
		parentTime = header["anchor ancestor time"]
	}
	var errs [3]error
	run.anchorHeight, errs[0] = strconv.ParseUint(header["anchor height"], 10, 64)
	run.anchorTime, errs[1] = strconv.ParseInt(parentTime, 10, 64)
	bits, err := strconv.ParseUint(header["anchor nBits"], 0, 32)
	errs[2] = err
	if err := errors.Join(errs[:]...); err != nil {
		t.Fatalf("%s: header %v: %v", path, header, err)
	}
	run.anchorBits = Compact(bits)
	if n, _ := strconv.Atoi(header["iterations"]); n != len(run.cases) || n == 0 {
		t.Fatalf("%s: %d cases, header says %q iterations", path, len(run.cases), header["iterations"])
	}
	return run
}

func TestASERTPublishedVectors(t *testing.T) {
	// Bitcoin Cash mainnet: 600 s blocks, a 2-day half-life, and the
	// proof-of-work limit 2^224 - 1.
	const spacing, halfLife = 600, 2 * 24 * 3600
	powLimit := new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 224), big.NewInt(1))
	paths, err := filepath.Glob(filepath.Join("..", "testdata", "asert", "run*"))
	if err != nil || len(paths) != 12 {
		t.Fatalf("want the 12 aserti3-2d runs in testdata/asert, found %d (%v)", len(paths), err)
	}
	total := 0
	for _, path := range paths {
		run := readASERTRun(t, path)
		anchor, err := run.anchorBits.Target()
		if err != nil {
			t.Fatalf("%s: anchor: %v", run.name, err)
		}
		for i, c := range run.cases {
			got, err := ASERT(anchor, c.time-run.anchorTime, int64(c.height-run.anchorHeight), spacing, halfLife, powLimit)
			if err != nil {
				t.Fatalf("%s case %d: %v", run.name, i+1, err)
			}
			if bits := MustCompact(got); bits != c.bits {
				t.Fatalf("%s case %d (height %d, time %d): %s, want %s", run.name, i+1, c.height, c.time, bits, c.bits)
			}
			total++
		}
	}
	t.Logf("%d aserti3-2d vectors in %d runs", total, len(paths))
}

func TestASERTInputs(t *testing.T) {
	maxT := big.NewInt(1 << 40)
	one := big.NewInt(1)
	for _, tt := range []struct {
		name                              string
		anchor, max                       *big.Int
		timeDiff, heightDiff, spacing, hl int64
	}{
		{"zero anchor", big.NewInt(0), maxT, 0, 0, 1, 1},
		{"anchor above max", new(big.Int).Add(maxT, one), maxT, 0, 0, 1, 1},
		{"max of 2^256", one, two256, 0, 0, 1, 1},
		{"negative height", one, maxT, 0, -1, 1, 1},
		{"zero spacing", one, maxT, 0, 0, 0, 1},
		{"zero half-life", one, maxT, 0, 0, 1, 0},
	} {
		if _, err := ASERT(tt.anchor, tt.timeDiff, tt.heightDiff, tt.spacing, tt.hl, tt.max); !errors.Is(err, ErrRetarget) {
			t.Errorf("%s: error %v, want ErrRetarget", tt.name, err)
		}
	}
	// Extreme but valid inputs are clamped, not overflowed.
	for _, tt := range []struct {
		timeDiff, heightDiff int64
		want                 *big.Int
	}{
		{math.MaxInt64, 0, maxT},
		{math.MinInt64, 0, one},
		{0, math.MaxInt64, one},
		{math.MaxInt64, math.MaxInt64, big.NewInt(12345 / 2)}, // exponent exactly -1
	} {
		got, err := ASERT(big.NewInt(12345), tt.timeDiff, tt.heightDiff, 1, 1, maxT)
		if err != nil || got.Cmp(tt.want) != 0 {
			t.Errorf("ASERT(time %d, height %d) = %v, %v, want %v", tt.timeDiff, tt.heightDiff, got, err, tt.want)
		}
	}
}

func TestASERTMatchesExponential(t *testing.T) {
	// The integer formula stays within 0.013% (the cubic's error) plus the
	// truncation of small targets of anchor · 2^((timeDiff - spacing·(h+1))/halfLife),
	// also for targets above BCHN's 2^224 bound.
	rng := rand.New(rand.NewPCG(7, 8))
	maxT := new(big.Int).Set(maxUint256)
	for i := 0; i < 3000; i++ {
		anchor := new(big.Int).Lsh(big.NewInt(1+rng.Int64N(1<<40)), uint(100+rng.IntN(100)))
		spacing := 1 + rng.Int64N(1_000_000)
		halfLife := spacing * (10 + rng.Int64N(1000))
		heightDiff := rng.Int64N(1000)
		timeDiff := spacing*(heightDiff+1) + rng.Int64N(8*halfLife) - 4*halfLife
		got, err := ASERT(anchor, timeDiff, heightDiff, spacing, halfLife, maxT)
		if err != nil {
			t.Fatal(err)
		}
		x := float64(timeDiff-spacing*(heightDiff+1)) / float64(halfLife)
		af, _ := new(big.Float).SetInt(anchor).Float64()
		gf, _ := new(big.Float).SetInt(got).Float64()
		want := af * math.Exp2(x)
		if rel := math.Abs(gf/want - 1); rel > 1.5e-4 {
			t.Fatalf("ASERT(2^%d·…, x=%.5f) off by %.6f%% from the exponential", anchor.BitLen(), x, 100*rel)
		}
	}
}

// testNet returns a retargeting network with a 1 s block time and a
// 60 s half-life, starting at the target of 20 leading zero bits.
func testNet(t testing.TB) *NetParams {
	t.Helper()
	np := ProposedNetParams("retarget-test")
	np.TargetBlockTime = time.Second
	np.HalfLife = time.Minute
	np.InitialTarget = MustCompact(ZeroBitsTarget(20))
	np.MaxTarget = MustCompact(ZeroBitsTarget(8))
	if err := np.Validate(); err != nil {
		t.Fatal(err)
	}
	return &np
}

func TestRetargetFreshNetworkStartsAtInitialTarget(t *testing.T) {
	// The genesis is fixed in 2024; a network started years later still
	// mines its first blocks at the initial target, and a steady chain at
	// the target block time stays there.
	np := testNet(t)
	start := GenesisTimestamp + Timestamp(2*365*24*time.Hour/time.Microsecond)
	times := []Timestamp{GenesisTimestamp}
	bits := []Compact{np.InitialTarget}
	for i := 1; i < 50; i++ {
		ts := start + Timestamp(int64(i)*np.TargetBlockTime.Microseconds())
		next, err := np.NextTarget(uint64(i), bits[i-1], times[i-1], grand(times, i))
		if err != nil {
			t.Fatal(err)
		}
		if next != np.InitialTarget {
			t.Fatalf("block %d at the target block time requires %s, want the initial %s", i+1, next, np.InitialTarget)
		}
		times, bits = append(times, ts), append(bits, next)
	}
}

// grand returns the grandparent's timestamp of the block after times[i-1].
func grand(times []Timestamp, i int) Timestamp {
	if i < 2 {
		return 0
	}
	return times[i-2]
}

func TestRetargetFixedDifficulty(t *testing.T) {
	np := testNet(t)
	np.FixedDifficulty = true
	got, err := np.NextTarget(100, np.MaxTarget, 1e12, 0)
	if err != nil || got != np.InitialTarget {
		t.Errorf("fixed difficulty: %s, %v, want %s", got, err, np.InitialTarget)
	}
}

func TestRetargetStepIsBounded(t *testing.T) {
	// One block's solve time moves the next target by exactly the formula,
	// and by at most 2^(5T/H) however old the grandparent's timestamp.
	np := testNet(t)
	T := np.TargetBlockTime.Microseconds()
	parent := MustCompact(ZeroBitsTarget(24))
	pt, _ := parent.Target()
	for _, tt := range []struct {
		name  string
		solve int64
		exp   float64 // log2 of the expected ratio
	}{
		{"on time", T, 0},
		{"instant", 0, -1.0 / 60},
		{"one half-life late", T + 60*T, 5.0 / 60},
		{"six block times", 6 * T, 5.0 / 60},
		{"two years", 2 * 365 * 86400 * T, 5.0 / 60},
		{"one half-life early", -59 * T, -1},
	} {
		got, err := np.NextTarget(10, parent, Timestamp(1e15+tt.solve), 1e15)
		if err != nil {
			t.Fatal(err)
		}
		gt, _ := got.Target()
		ratio, _ := new(big.Float).Quo(new(big.Float).SetInt(gt), new(big.Float).SetInt(pt)).Float64()
		if math.Abs(math.Log2(ratio)-tt.exp) > 2e-4 {
			t.Errorf("%s: target ratio 2^%.5f, want 2^%.5f", tt.name, math.Log2(ratio), tt.exp)
		}
	}
	// Errors: a parent target that is not a valid compact, parent index 0.
	if _, err := np.NextTarget(10, 0x04923456, 2, 1); !errors.Is(err, ErrRetarget) {
		t.Errorf("negative parent target: %v", err)
	}
	if _, err := np.NextTarget(0, parent, 2, 1); !errors.Is(err, ErrRetarget) {
		t.Errorf("parent index 0: %v", err)
	}
}

func TestRetargetTimestampRules(t *testing.T) {
	np := testNet(t)
	if got := np.FutureLimit(); got != 5*time.Second {
		t.Errorf("future limit at 1 s blocks: %s, want 5s", got)
	}
	for _, tt := range []struct {
		block, want time.Duration
	}{
		{time.Millisecond, MinFutureLimit},
		{10 * time.Second, 50 * time.Second},
		{time.Hour, MaxFutureDrift},
	} {
		if got := FutureLimit(tt.block); got != tt.want {
			t.Errorf("FutureLimit(%s) = %s, want %s", tt.block, got, tt.want)
		}
	}
	now := time.Unix(1_800_000_000, 0)
	median := TimestampOf(now.Add(-3 * time.Second))
	for _, tt := range []struct {
		name string
		ts   Timestamp
		want error
	}{
		{"at the median", median, nil},
		{"now", TimestampOf(now), nil},
		{"at the future limit", TimestampOf(now.Add(5 * time.Second)), nil},
		{"before the median", median - 1, ErrTimeTooOld},
		{"past the future limit", TimestampOf(now.Add(5*time.Second)) + 1, ErrTimeTooNew},
	} {
		err := np.CheckTimestamp(tt.ts, median, now)
		if (tt.want == nil) != (err == nil) || (tt.want != nil && !errors.Is(err, tt.want)) || (err != nil && !IsRuleError(err)) {
			t.Errorf("%s: %v, want %v", tt.name, err, tt.want)
		}
	}
}
