package chain_test

import (
	"bufio"
	"errors"
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gossipchain/gossipchain/chain"
	"github.com/gossipchain/gossipchain/chain/chaintest"
)

// asertRun is one published aserti3-2d vector file: an anchor and the
// expected compact target after each (height, time).
type asertRun struct {
	name         string
	anchorHeight uint64
	anchorTime   int64 // the anchor's parent's timestamp
	anchorBits   chain.Compact
	cases        []asertCase
}

type asertCase struct {
	height uint64
	time   int64
	bits   chain.Compact
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
			run.cases = append(run.cases, asertCase{h, tm, chain.Compact(bits)})
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
	run.anchorBits = chain.Compact(bits)
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
			got, err := chain.ASERT(anchor, c.time-run.anchorTime, int64(c.height-run.anchorHeight), spacing, halfLife, powLimit)
			if err != nil {
				t.Fatalf("%s case %d: %v", run.name, i+1, err)
			}
			if bits := chain.MustCompact(got); bits != c.bits {
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
		{"max of 2^256", one, chain.Two256, 0, 0, 1, 1},
		{"negative height", one, maxT, 0, -1, 1, 1},
		{"zero spacing", one, maxT, 0, 0, 0, 1},
		{"zero half-life", one, maxT, 0, 0, 1, 0},
	} {
		if _, err := chain.ASERT(tt.anchor, tt.timeDiff, tt.heightDiff, tt.spacing, tt.hl, tt.max); !errors.Is(err, chain.ErrRetarget) {
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
		got, err := chain.ASERT(big.NewInt(12345), tt.timeDiff, tt.heightDiff, 1, 1, maxT)
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
	maxT := new(big.Int).Set(chain.MaxUint256)
	for i := 0; i < 3000; i++ {
		anchor := new(big.Int).Lsh(big.NewInt(1+rng.Int64N(1<<40)), uint(100+rng.IntN(100)))
		spacing := 1 + rng.Int64N(1_000_000)
		halfLife := spacing * (10 + rng.Int64N(1000))
		heightDiff := rng.Int64N(1000)
		timeDiff := spacing*(heightDiff+1) + rng.Int64N(8*halfLife) - 4*halfLife
		got, err := chain.ASERT(anchor, timeDiff, heightDiff, spacing, halfLife, maxT)
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
func testNet(t testing.TB) *chain.NetParams {
	t.Helper()
	np := chain.ProposedNetParams("retarget-test")
	np.TargetBlockTime = time.Second
	np.HalfLife = time.Minute
	np.InitialTarget = chain.MustCompact(chain.ZeroBitsTarget(20))
	np.MaxTarget = chain.MustCompact(chain.ZeroBitsTarget(8))
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
	start := chain.GenesisTimestamp + chain.Timestamp(2*365*24*time.Hour/time.Microsecond)
	times := []chain.Timestamp{chain.GenesisTimestamp}
	marks := []chain.Timestamp{chain.GenesisTimestamp}
	bits := []chain.Compact{np.InitialTarget}
	for i := 1; i < 50; i++ {
		ts := start + chain.Timestamp(int64(i)*np.TargetBlockTime.Microseconds())
		next, err := np.NextTarget(uint64(i), bits[i-1], times[i-1], grandMark(marks, i))
		if err != nil {
			t.Fatal(err)
		}
		if next != np.InitialTarget {
			t.Fatalf("block %d at the target block time requires %s, want the initial %s", i+1, next, np.InitialTarget)
		}
		times, bits = append(times, ts), append(bits, next)
		marks = append(marks, chain.TimeMark(marks[i-1], ts))
	}
}

// grandMark returns the grandparent's time mark for the block after
// position i-1 of marks (positions are indices - 1).
func grandMark(marks []chain.Timestamp, i int) chain.Timestamp {
	if i < 2 {
		return 0
	}
	return marks[i-2]
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
	// by at most 2^(5T/H) however old the grandparent's mark, and a
	// timestamp before the mark counts as an instant block.
	np := testNet(t)
	T := np.TargetBlockTime.Microseconds()
	parent := chain.MustCompact(chain.ZeroBitsTarget(24))
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
		{"before the mark", -59 * T, -1.0 / 60},
	} {
		got, err := np.NextTarget(10, parent, chain.Timestamp(1e15+tt.solve), 1e15)
		if err != nil {
			t.Fatal(err)
		}
		gt, _ := got.Target()
		ratio, _ := new(big.Float).Quo(new(big.Float).SetInt(gt), new(big.Float).SetInt(pt)).Float64()
		if math.Abs(math.Log2(ratio)-tt.exp) > 2e-4 {
			t.Errorf("%s: target ratio 2^%.5f, want 2^%.5f", tt.name, math.Log2(ratio), tt.exp)
		}
	}
	// The clamps: the maximum target after a long silence, the hardest
	// target after an instant block.
	if got, err := np.NextTarget(10, np.MaxTarget, 1e15+chain.Timestamp(1e12), 1e15); err != nil || got != np.MaxTarget {
		t.Errorf("at the maximum target after a long solve: %s, %v, want %s", got, err, np.MaxTarget)
	}
	if got, err := np.NextTarget(10, chain.MustCompact(big.NewInt(chain.MinTarget)), 1e15, 1e15); err != nil || got != chain.MustCompact(big.NewInt(chain.MinTarget)) {
		t.Errorf("at the hardest target after an instant block: %s, %v, want %s", got, err, chain.MustCompact(big.NewInt(chain.MinTarget)))
	}
	// Errors: a parent target that is not a valid compact, parent index 0.
	if _, err := np.NextTarget(10, 0x04923456, 2, 1); !errors.Is(err, chain.ErrRetarget) {
		t.Errorf("negative parent target: %v", err)
	}
	if _, err := np.NextTarget(0, parent, 2, 1); !errors.Is(err, chain.ErrRetarget) {
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
		{time.Millisecond, chain.MinFutureLimit},
		{10 * time.Second, 50 * time.Second},
		{time.Hour, chain.MaxFutureDrift},
	} {
		if got := chain.FutureLimit(tt.block); got != tt.want {
			t.Errorf("FutureLimit(%s) = %s, want %s", tt.block, got, tt.want)
		}
	}
	now := time.Unix(1_800_000_000, 0)
	median := chain.TimestampOf(now.Add(-3 * time.Second))
	for _, tt := range []struct {
		name string
		ts   chain.Timestamp
		want error
	}{
		{"at the median", median, nil},
		{"now", chain.TimestampOf(now), nil},
		{"at the future limit", chain.TimestampOf(now.Add(5 * time.Second)), nil},
		{"before the median", median - 1, chain.ErrTimeTooOld},
		{"past the future limit", chain.TimestampOf(now.Add(5*time.Second)) + 1, chain.ErrTimeTooNew},
	} {
		err := np.CheckTimestamp(tt.ts, median, now)
		if (tt.want == nil) != (err == nil) || (tt.want != nil && !errors.Is(err, tt.want)) || (err != nil && !chain.IsRuleError(err)) {
			t.Errorf("%s: %v, want %v", tt.name, err, tt.want)
		}
	}
}

// retargetSim mines a chain under a NetParams in simulated time: each
// block needs an exponentially distributed number of hashes (mean: its
// target's work) from a seeded generator, at a hash rate that may change,
// and gets the timestamp its miner chooses within the rules. Every
// target is checked against [MinTarget, MaxTarget] and every timestamp
// against CheckTimestamp.
type retargetSim struct {
	t   testing.TB
	np  *chain.NetParams
	rng *rand.Rand
	now float64 // simulated clock, µs since the Unix epoch
	// rate returns the hash rate (hashes per µs) at now and until when it
	// holds.
	rate  func(now float64) (rate, until float64)
	times []chain.Timestamp
	marks []chain.Timestamp
	bits  []chain.Compact
	found []float64 // when each block was found
	// stamp chooses a block's timestamp from the clock and the median;
	// nil means honest: the clock, or the median if that is later.
	stamp func(i int, now, median chain.Timestamp) chain.Timestamp
	max   *big.Int
}

func newRetargetSim(t testing.TB, np *chain.NetParams, seed uint64, start float64, rate func(float64) (float64, float64)) *retargetSim {
	maxT, err := np.MaxTarget.Target()
	if err != nil {
		t.Fatal(err)
	}
	return &retargetSim{
		t: t, np: np, rng: rand.New(rand.NewPCG(seed, 0x5eed)), now: start, rate: rate,
		times: []chain.Timestamp{chain.GenesisTimestamp}, marks: []chain.Timestamp{chain.GenesisTimestamp},
		bits: []chain.Compact{np.InitialTarget}, found: []float64{start}, max: maxT,
	}
}

// steady is a hash rate that never changes.
func steady(r float64) func(float64) (float64, float64) {
	return func(float64) (float64, float64) { return r, math.Inf(1) }
}

// hashRateFor returns the hash rate (hashes per µs) at which blocks of
// target c come at the target block time.
func hashRateFor(np *chain.NetParams, c chain.Compact) float64 {
	w, _ := c.Work()
	wf, _ := new(big.Float).SetInt(w).Float64()
	return wf / float64(np.TargetBlockTime.Microseconds())
}

func (s *retargetSim) median() chain.Timestamp {
	n := len(s.times)
	window := append([]chain.Timestamp(nil), s.times[max(0, n-chain.MedianTimeBlocks):]...)
	return chain.MedianTime(window)
}

// mine adds one block.
func (s *retargetSim) mine() {
	s.t.Helper()
	n := len(s.times) // the new block's index is n+1, its parent's n
	bits, err := s.np.NextTarget(uint64(n), s.bits[n-1], s.times[n-1], grandMark(s.marks, n))
	if err != nil {
		s.t.Fatal(err)
	}
	target, err := bits.Target()
	if err != nil {
		s.t.Fatal(err)
	}
	if target.Cmp(big.NewInt(chain.MinTarget)) < 0 || target.Cmp(s.max) > 0 {
		s.t.Fatalf("block %d: target %#x outside [1, %#x]", n+1, target, s.max)
	}
	w, _ := new(big.Float).SetInt(chain.TargetWork(target)).Float64()
	need := s.rng.ExpFloat64() * w // hashes
	for {
		r, until := s.rate(s.now)
		if s.now+need/r <= until {
			s.now += need / r
			break
		}
		need -= r * (until - s.now)
		s.now = until
	}
	clock, median := chain.Timestamp(s.now), s.median()
	ts := max(clock, median)
	if s.stamp != nil {
		ts = s.stamp(n+1, clock, median)
	}
	if err := s.np.CheckTimestamp(ts, median, time.UnixMicro(int64(clock))); err != nil {
		s.t.Fatalf("block %d: the simulation broke a timestamp rule: %v", n+1, err)
	}
	s.times, s.bits, s.found = append(s.times, ts), append(s.bits, bits), append(s.found, s.now)
	s.marks = append(s.marks, chain.TimeMark(s.marks[n-1], ts))
}

// mineUntil mines until the clock passes end and returns the number of
// blocks found by end.
func (s *retargetSim) mineUntil(end float64) int {
	s.t.Helper()
	for s.now < end {
		s.mine()
	}
	n := 0
	for _, f := range s.found[1:] {
		if f <= end {
			n++
		}
	}
	return n
}

// log2Error returns log2(target / equilibrium) of the block at position
// i, where the equilibrium target gives the target block time at hash
// rate r.
func (s *retargetSim) log2Error(i int, r float64) float64 {
	w, _ := s.bits[i].Work()
	wf, _ := new(big.Float).SetInt(w).Float64()
	// expected interval / target block time = work / (rate · T)
	return -math.Log2(wf / (r * float64(s.np.TargetBlockTime.Microseconds())))
}

// errorAt returns the log2 error (see log2Error) of the target in force
// at time at: that of the block after the last one found by then.
func (s *retargetSim) errorAt(at, r float64) float64 {
	i := 0
	for i+1 < len(s.found) && s.found[i+1] <= at {
		i++
	}
	if i+1 >= len(s.bits) {
		s.t.Fatalf("no block mined after %.0f", at)
	}
	return s.log2Error(i+1, r)
}

// simStart is a network started two years after its genesis.
const simStart = float64(chain.GenesisTimestamp) + 2*365*86400e6

func TestRetargetSteadyHashRate(t *testing.T) {
	// At a constant hash rate the mean interval is the target block time
	// (within 1%: the cap and the cubic's rounding are the only biases)
	// and the target's noise is about 0.1 of a bit.
	np := testNet(t)
	H := float64(np.HalfLife.Microseconds())
	r0 := hashRateFor(np, np.InitialTarget)
	s := newRetargetSim(t, np, 1, simStart, steady(r0))
	n := s.mineUntil(simStart + 200*H)
	mean := 200 * H / float64(n) / float64(np.TargetBlockTime.Microseconds())
	var sum, sq float64
	for i := range s.bits {
		e := s.log2Error(i, r0)
		sum, sq = sum+e, sq+e*e
	}
	m := sum / float64(len(s.bits))
	std := math.Sqrt(sq/float64(len(s.bits)) - m*m)
	t.Logf("%d blocks: mean interval %.4f target block times, log2 error mean %.3f std %.3f", n, mean, m, std)
	if math.Abs(mean-1) > 0.01 || std > 0.2 {
		t.Errorf("mean interval %.4f target block times, noise %.3f bits: want within 1%% and under 0.2", mean, std)
	}
}

func TestRetargetSettlesAfterTenfoldStep(t *testing.T) {
	// A 10× hash-rate step, up or down, in a network at equilibrium, over
	// 20 seeds. Settled: from that time on, the mean over the seeds of
	// log2(target / new equilibrium) stays within log2(4/3) (7/8 of the
	// log2(10) step made up; blocks within 25% of the target block time),
	// and no single seed is off by more than a factor 2. Up: within 2
	// half-lives. Down: a target rises at most 2× per half-life of delay,
	// so no rule of this half-life does it in fewer than log2(10) = 3.3
	// half-lives, and the solve-time cap (a 10 s block counts as 6 s)
	// slows it further; within 8.
	np := testNet(t)
	H := float64(np.HalfLife.Microseconds())
	r0 := hashRateFor(np, np.InitialTarget)
	const seeds = 20
	for _, tt := range []struct {
		name   string
		factor float64
		within float64 // half-lives
	}{
		{"up", 10, 2},
		{"down", 0.1, 8},
	} {
		step := simStart + 20*H
		rate := func(now float64) (float64, float64) {
			if now >= step {
				return r0 * tt.factor, math.Inf(1)
			}
			return r0, step
		}
		const grid = 100 // points from the step to 10 half-lives after it
		var mean [grid + 1]float64
		sims := make([]*retargetSim, seeds)
		for seed := range sims {
			s := newRetargetSim(t, np, uint64(seed+1), simStart, rate)
			s.mineUntil(step + 10.5*H)
			sims[seed] = s
			for g := 0; g <= grid; g++ {
				mean[g] += s.errorAt(step+float64(g)*H/10, r0*tt.factor) / seeds
			}
		}
		settled := 0.0
		for g := 0; g <= grid; g++ {
			if math.Abs(mean[g]) > math.Log2(4.0/3) {
				settled = float64(g+1) / 10
			}
		}
		if settled > tt.within {
			t.Errorf("10× %s: settled %.1f half-lives after the step, want within %g", tt.name, settled, tt.within)
		}
		for seed, s := range sims {
			for g := int(tt.within * 10); g <= grid; g++ {
				if e := s.errorAt(step+float64(g)*H/10, r0*tt.factor); math.Abs(e) > 1 {
					t.Errorf("10× %s, seed %d: target off by 2^%.2f %.1f half-lives after the step", tt.name, seed+1, e, float64(g)/10)
					break
				}
			}
		}
		t.Logf("10× %s: settled %.1f half-lives (%.0f target block times) after the step; mean log2 error then %.3f, at 1 half-life %.3f",
			tt.name, settled, settled*H/float64(np.TargetBlockTime.Microseconds()), mean[min(grid, int(settled*10))], mean[10])
	}
}

// scheduleLead runs an honest network and the same network (same seed,
// same hash rate at the initial target's equilibrium) whose miners choose
// timestamps with stamp, for the given number of half-lives, and returns
// by how many target block times the second is ahead of the first at
// their last common height: how many blocks the timestamps made easier
// than the schedule intends. (Counting blocks at a fixed time instead
// would add the luck of the blocks in that window.)
func scheduleLead(t *testing.T, np *chain.NetParams, seed uint64, halfLives float64, stamp func(i int, clock, median chain.Timestamp) chain.Timestamp) (lead float64, attacked *retargetSim) {
	t.Helper()
	rate := steady(hashRateFor(np, np.InitialTarget))
	end := simStart + halfLives*float64(np.HalfLife.Microseconds())
	honest := newRetargetSim(t, np, seed, simStart, rate)
	attacked = newRetargetSim(t, np, seed, simStart, rate)
	attacked.stamp = stamp
	honest.mineUntil(end)
	attacked.mineUntil(end)
	n := min(len(honest.found), len(attacked.found)) - 1
	return (honest.found[n] - attacked.found[n]) / float64(np.TargetBlockTime.Microseconds()), attacked
}

// meanInterval returns the mean interval of the second half of s's
// blocks, in target block times.
func meanInterval(s *retargetSim) float64 {
	a, b := len(s.found)/2, len(s.found)-1
	return (s.found[b] - s.found[a]) / float64(b-a) / float64(s.np.TargetBlockTime.Microseconds())
}

func TestRetargetOldTimestampsAtTheStart(t *testing.T) {
	// The first miners of a fresh network give their blocks the oldest
	// timestamps the rules allow (the genesis time, two years back, then
	// the median) and honest miners follow with the clock: the jump
	// counts as at most 6 block times instead of the honest block's own
	// solve time, so the chain gets about 6 blocks ahead of an honest one
	// at most (6.5 with the slack of later blocks' luck), however many
	// early blocks are old.
	np := testNet(t)
	worst := 0.0
	for _, early := range []int{2, 3, 12, 50} {
		for seed := uint64(1); seed <= 10; seed++ {
			lead, _ := scheduleLead(t, np, seed, 30, func(i int, clock, median chain.Timestamp) chain.Timestamp {
				if i <= early {
					return median
				}
				return max(clock, median)
			})
			worst = max(worst, lead)
			if lead > chain.MaxSolveTimeBlocks+0.5 {
				t.Errorf("blocks 2..%d at the oldest timestamps, seed %d: %.2f blocks ahead of the honest chain, want at most %g", early, seed, lead, chain.MaxSolveTimeBlocks+0.5)
			}
		}
	}
	t.Logf("old early timestamps: at most %.2f blocks ahead of the honest chain", worst)
}

func TestRetargetFutureTimestamps(t *testing.T) {
	// A third of the miners stamp every block as far in the future as the
	// rules allow. The chain gets ahead of the schedule by about the
	// future limit, once: the lead does not grow with time.
	np := testNet(t)
	limit := chain.Timestamp(np.FutureLimit().Microseconds())
	const bound = chain.FutureLimitBlocks + 1
	worst := 0.0
	for seed := uint64(1); seed <= 10; seed++ {
		stamp := func(i int, clock, median chain.Timestamp) chain.Timestamp {
			if i%3 == 0 {
				return clock + limit
			}
			return max(clock, median)
		}
		short, _ := scheduleLead(t, np, seed, 10, stamp)
		long, _ := scheduleLead(t, np, seed, 100, stamp)
		worst = max(worst, short, long)
		if short > bound || long > bound {
			t.Errorf("seed %d: %.2f blocks ahead after 10 half-lives, %.2f after 100, want at most %d", seed, short, long, bound)
		}
	}
	t.Logf("future timestamps: at most %.2f blocks ahead of the honest chain", worst)
}

func TestRetargetTimewarp(t *testing.T) {
	// Miners try the timewarp: their blocks carry the oldest timestamp
	// allowed (the median) and, every few blocks, the newest (the future
	// limit), to make the retarget see more time than has passed. An old
	// timestamp counts as an instant block and the next block counts from
	// the latest timestamp, so the chain gets no more than the future
	// limit ahead. With a third of the blocks the mean interval stays
	// within 10% of the target; with two thirds (the majority the
	// timewarp needs in Bitcoin) it can only be slower: honest blocks
	// three intervals apart now and then count for more than the cap.
	np := testNet(t)
	limit := chain.Timestamp(np.FutureLimit().Microseconds())
	const bound = chain.FutureLimitBlocks + 1
	for _, tt := range []struct {
		name      string
		attacker  func(i int) bool
		slowest   float64 // mean interval, target block times
		worstLead float64
		worstMean float64
	}{
		{name: "a third", attacker: func(i int) bool { return i%3 == 0 }, slowest: 1.1, worstLead: math.Inf(-1)},
		{name: "two thirds", attacker: func(i int) bool { return i%3 != 0 }, slowest: 1.25, worstLead: math.Inf(-1)},
	} {
		for _, jumpEvery := range []int{2, 5, 20} {
			for seed := uint64(1); seed <= 5; seed++ {
				lead, s := scheduleLead(t, np, seed, 100, func(i int, clock, median chain.Timestamp) chain.Timestamp {
					switch {
					case !tt.attacker(i):
						return max(clock, median)
					case i%jumpEvery == 0:
						return clock + limit
					default:
						return median
					}
				})
				mean := meanInterval(s)
				tt.worstLead, tt.worstMean = max(tt.worstLead, lead), max(tt.worstMean, mean)
				if lead > bound || mean < 0.9 || mean > tt.slowest {
					t.Errorf("%s of the blocks, jump every %d blocks, seed %d: %.2f blocks ahead of the honest chain (want at most %d), mean interval %.3f target block times (want 0.9..%g)",
						tt.name, jumpEvery, seed, lead, bound, mean, tt.slowest)
				}
			}
		}
		t.Logf("timewarp by %s of the blocks: at most %.2f blocks ahead, mean interval at most %.3f target block times", tt.name, tt.worstLead, tt.worstMean)
	}
}

func TestRetargetTargetStaysInRange(t *testing.T) {
	// Whatever the hash rate (from a millionth to a million times the
	// initial equilibrium, changing abruptly) and whatever timestamps the
	// rules allow, every required target is in [MinTarget, MaxTarget]
	// (checked at every block by the simulation), and the maximum is
	// reached.
	for _, tt := range []struct {
		name          string
		initial, maxT uint32 // leading zero bits
	}{
		{"max target = initial", 20, 20},
		{"max target far above", 24, 4},
		{"small targets", 220, 200},
	} {
		reached := map[string]chain.Compact{"max target = initial": chain.MustCompact(chain.ZeroBitsTarget(20))}[tt.name]
		np := testNet(t)
		np.InitialTarget = chain.MustCompact(chain.ZeroBitsTarget(tt.initial))
		np.MaxTarget = chain.MustCompact(chain.ZeroBitsTarget(tt.maxT))
		if err := np.Validate(); err != nil {
			t.Fatal(err)
		}
		r0 := hashRateFor(np, np.InitialTarget)
		T := float64(np.TargetBlockTime.Microseconds())
		rng := rand.New(rand.NewPCG(9, 10))
		factor, next := 1.0, simStart
		rate := func(now float64) (float64, float64) {
			if now >= next {
				factor = math.Pow(10, rng.Float64()*12-6)
				next = now + T*float64(1+rng.IntN(2000))
			}
			return r0 * factor, next
		}
		s := newRetargetSim(t, np, 11, simStart, rate)
		limit := chain.Timestamp(np.FutureLimit().Microseconds())
		s.stamp = func(i int, clock, median chain.Timestamp) chain.Timestamp {
			return median + chain.Timestamp(rng.Int64N(int64(clock+limit-median)+1))
		}
		for len(s.bits) < 5000 {
			s.mine()
		}
		easiest, hardest := s.bits[0], s.bits[0]
		for _, b := range s.bits {
			bt, _ := b.Target()
			if e, _ := easiest.Target(); bt.Cmp(e) > 0 {
				easiest = b
			}
			if h, _ := hardest.Target(); bt.Cmp(h) < 0 {
				hardest = b
			}
		}
		t.Logf("%s: targets from %s to %s (max %s)", tt.name, hardest, easiest, np.MaxTarget)
		if reached != 0 && reached != easiest && reached != hardest {
			t.Errorf("%s: the bound %s was never reached (targets %s to %s)", tt.name, reached, hardest, easiest)
		}
	}
	// The hardest bound: ASERT from target 1 with blocks far too fast.
	got, err := chain.ASERT(big.NewInt(1), 0, 1000, 600, 6000, chain.MaxUint256)
	if err != nil || got.Cmp(big.NewInt(chain.MinTarget)) != 0 {
		t.Errorf("ASERT below the hardest target: %v, %v, want 1", got, err)
	}
	// And for random inputs.
	rng := rand.New(rand.NewPCG(12, 13))
	for i := 0; i < 20000; i++ {
		maxT := new(big.Int).Rsh(chain.MaxUint256, uint(rng.IntN(256)))
		anchor := new(big.Int).Rsh(maxT, uint(rng.IntN(maxT.BitLen()+1)))
		anchor.Add(anchor, big.NewInt(1))
		if anchor.Cmp(maxT) > 0 {
			anchor.Set(maxT)
		}
		got, err := chain.ASERT(anchor, rng.Int64()-rng.Int64(), rng.Int64N(1<<40), 1+rng.Int64N(1<<20), 1+rng.Int64N(1<<30), maxT)
		if err != nil || got.Sign() <= 0 || got.Cmp(maxT) > 0 {
			t.Fatalf("ASERT = %v, %v: outside [1, %#x]", got, err, maxT)
		}
	}
}

// retargetVectors is the format of testdata/retarget.json.
type retargetVectors struct {
	Networks []struct {
		Name              string `json:"name"`
		TargetBlockTimeUS int64  `json:"target_block_time_us"`
		HalfLifeUS        int64  `json:"half_life_us"`
		InitialTarget     string `json:"initial_target"`
		MaxTarget         string `json:"max_target"`
		FixedDifficulty   bool   `json:"fixed_difficulty"`
	} `json:"networks"`
	Chains []struct {
		Network     string `json:"network"`
		Description string `json:"description"`
		Blocks      []struct {
			Timestamp int64  `json:"timestamp"` // Unix microseconds
			Target    string `json:"target"`
		} `json:"blocks"`
	} `json:"chains"`
	ASERT []struct {
		AnchorTarget string `json:"anchor_target"`
		TimeDiff     int64  `json:"time_diff"`
		HeightDiff   int64  `json:"height_diff"`
		Spacing      int64  `json:"spacing"`
		HalfLife     int64  `json:"half_life"`
		MaxTarget    string `json:"max_target"`
		Target       string `json:"target"`
		Compact      string `json:"compact"`
	} `json:"asert"`
}

func TestRetargetVectors(t *testing.T) {
	var v retargetVectors
	chaintest.ReadVectors(t, "retarget.json", &v)
	if len(v.Networks) == 0 || len(v.Chains) == 0 || len(v.ASERT) == 0 {
		t.Fatal("retarget.json has no cases")
	}
	nets := map[string]*chain.NetParams{}
	for _, n := range v.Networks {
		np := chain.ProposedNetParams(n.Name)
		np.TargetBlockTime = time.Duration(n.TargetBlockTimeUS) * time.Microsecond
		np.HalfLife = time.Duration(n.HalfLifeUS) * time.Microsecond
		np.InitialTarget = chaintest.ParseCompact(t, n.InitialTarget)
		np.MaxTarget = chaintest.ParseCompact(t, n.MaxTarget)
		np.FixedDifficulty = n.FixedDifficulty
		if err := np.Validate(); err != nil {
			t.Fatalf("network %s: %v", n.Name, err)
		}
		nets[n.Name] = &np
	}
	blocks := 0
	for _, c := range v.Chains {
		np := nets[c.Network]
		if np == nil || len(c.Blocks) < 2 {
			t.Fatalf("chain %q: network %q unknown or no blocks", c.Description, c.Network)
		}
		if got := chaintest.ParseCompact(t, c.Blocks[0].Target); got != np.InitialTarget {
			t.Fatalf("chain %q: genesis target %s, want the initial %s", c.Description, got, np.InitialTarget)
		}
		marks := []chain.Timestamp{chain.Timestamp(c.Blocks[0].Timestamp)}
		for i := 1; i < len(c.Blocks); i++ {
			b, parent := c.Blocks[i], c.Blocks[i-1]
			got, err := np.NextTarget(uint64(i), chaintest.ParseCompact(t, parent.Target), chain.Timestamp(parent.Timestamp), grandMark(marks, i))
			if err != nil {
				t.Fatalf("chain %q block %d: %v", c.Description, i+1, err)
			}
			if want := chaintest.ParseCompact(t, b.Target); got != want {
				t.Fatalf("chain %q block %d: target %s, want %s", c.Description, i+1, got, want)
			}
			marks = append(marks, chain.TimeMark(marks[i-1], chain.Timestamp(b.Timestamp)))
			blocks++
		}
	}
	for i, c := range v.ASERT {
		got, err := chain.ASERT(bigHex(t, c.AnchorTarget), c.TimeDiff, c.HeightDiff, c.Spacing, c.HalfLife, bigHex(t, c.MaxTarget))
		if err != nil || got.Cmp(bigHex(t, c.Target)) != 0 || chain.MustCompact(got) != chaintest.ParseCompact(t, c.Compact) {
			t.Errorf("asert case %d: %#x, %v, want %s (%s)", i, got, err, c.Target, c.Compact)
		}
	}
	t.Logf("%d blocks in %d chains, %d formula cases", blocks, len(v.Chains), len(v.ASERT))
}

func TestRetargetWorkedExample(t *testing.T) {
	// PROTOCOL.md 10.3: a parent at 0x1e0fffff, solve 1.5 s and 0 s.
	np := testNet(t)
	np.MaxTarget = 0x2000ffff
	for _, tt := range []struct {
		solve chain.Timestamp
		want  chain.Compact
	}{{1_500_000, 0x1e1017ce}, {0, 0x1e0fd117}} {
		got, err := np.NextTarget(5, 0x1e0fffff, 1e15+tt.solve, 1e15)
		if err != nil || got != tt.want {
			t.Errorf("solve %d µs: %s, %v, want %s", tt.solve, got, err, tt.want)
		}
	}
}

func BenchmarkRetargetNextTarget(b *testing.B) {
	np := testNet(b)
	parent := chain.MustCompact(chain.ZeroBitsTarget(30))
	for i := 0; b.Loop(); i++ {
		if _, err := np.NextTarget(10, parent, chain.Timestamp(1e15+int64(i%3_000_000)), 1e15); err != nil {
			b.Fatal(err)
		}
	}
}

func TestRetargetTenfoldStepCostsBlocks(t *testing.T) {
	// The target moves by a bit for every H/T blocks the chain runs ahead
	// of (or behind) its schedule, so a 10× rise in hash rate is paid for
	// with about log2(10)·H/T = 199 blocks more than the schedule (at
	// H = 60·T) before the target has caught up, whatever the rule's
	// details; a 10× drop with at least as many fewer (more, because the
	// solve-time cap discards time). A benchmark over a window that holds
	// the step sees them in its mean interval.
	np := testNet(t)
	H := float64(np.HalfLife.Microseconds())
	T := float64(np.TargetBlockTime.Microseconds())
	r0 := hashRateFor(np, np.InitialTarget)
	expected := math.Log2(10) * H / T
	for _, tt := range []struct {
		name     string
		factor   float64
		min, max float64 // extra blocks / expected
	}{
		{"rise", 10, 0.9, 1.1},
		{"drop", 0.1, -2, -0.9},
	} {
		step := simStart + 20*H
		rate := func(now float64) (float64, float64) {
			if now >= step {
				return r0 * tt.factor, math.Inf(1)
			}
			return r0, step
		}
		var extra float64
		const seeds = 10
		for seed := uint64(1); seed <= seeds; seed++ {
			s := newRetargetSim(t, np, seed, simStart, rate)
			end := step + 20*H
			s.mineUntil(end)
			n := 0
			for _, f := range s.found {
				if f > step && f <= end {
					n++
				}
			}
			extra += (float64(n) - 20*H/T) / seeds
		}
		t.Logf("10× %s: %+.0f blocks against the schedule over the 20 half-lives after it (log2(10)·H/T = %.0f)", tt.name, extra, expected)
		if r := extra / expected; r < tt.min || r > tt.max {
			t.Errorf("10× %s: %+.0f blocks against the schedule, want %.1f to %.1f times %.0f", tt.name, extra, tt.min, tt.max, expected)
		}
	}
}

func ExampleNetParams_NextTarget() {
	np := chain.ProposedNetParams("example")
	np.TargetBlockTime, np.HalfLife = time.Second, time.Minute
	np.InitialTarget, np.MaxTarget = 0x1e0fffff, 0x2000ffff

	// The genesis carries the initial target, and so does its child.
	genesis := np.InitialTarget
	child, _ := np.NextTarget(1, genesis, chain.GenesisTimestamp, 0)
	fmt.Println(child)

	// A block whose parent came 1.5 s after the chain's latest timestamp
	// before it, and one whose parent came instantly.
	parentTime := chain.Timestamp(1_800_000_000_000_000)
	slow, _ := np.NextTarget(5, 0x1e0fffff, parentTime+1_500_000, parentTime)
	fast, _ := np.NextTarget(5, 0x1e0fffff, parentTime, parentTime)
	fmt.Println(slow, fast)
	// Output:
	// 0x1e0fffff
	// 0x1e1017ce 0x1e0fd117
}
