package chain_test

import (
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/gossipchain/gossipchain/chain"
)

// This file models the first minutes of a network: several miners, each
// mining on the heaviest chain it has seen, a block reaching the others
// after a propagation delay, every target from the real retargeting rule
// (NetParams.NextTarget), every search an exponential number of hashes.
// It shows why the default network is calm from its first minute at hash
// rates from one SHA-NI thread to many machines (PROTOCOL.md 10.2).

// threadRate is the proof attempts per second of one SHA-NI thread
// (BenchmarkMine: about 20 million on a 2.8 GHz Xeon).
const threadRate = 20e6

// calmCase is one hash-rate scenario of the model.
type calmCase struct {
	name   string
	miners int           // nodes mining, each at rate/miners
	rate   float64       // hashes per second of all miners together
	delay  time.Duration // from a block found to every other miner mining on it
	// initialBits, when not 0, is the network's --initial-difficulty in
	// place of the default's: what the operator of a large network sets.
	initialBits uint32
}

// calmCases run from one SHA-NI thread shared by three nodes to a thousand
// eight-core machines on a LAN (modelled as 50 pools of 20 machines).
// Networks of many machines start at their own hash rate with
// --initial-difficulty: log2(rate · T) bits.
var calmCases = []calmCase{
	{"1 thread, 3 nodes", 3, threadRate, 20 * time.Millisecond, 0},
	{"3 nodes × 1 thread", 3, 3 * threadRate, 20 * time.Millisecond, 0},
	{"3 nodes × 8 cores (one machine)", 3, 8 * threadRate, 20 * time.Millisecond, 0},
	{"10 machines × 8 cores, --initial-difficulty 33", 10, 80 * threadRate, 50 * time.Millisecond, 33},
	{"1,000 machines × 8 cores, --initial-difficulty 40", 50, 8000 * threadRate, 100 * time.Millisecond, 40},
}

// simBlock is one block of the model's block tree.
type simBlock struct {
	parent int
	index  uint64
	bits   chain.Compact
	ts     chain.Timestamp // the time it was found
	mark   chain.Timestamp
	work   float64 // cumulative expected hashes
}

// calmRun is the outcome of one run of the model.
type calmRun struct {
	main   []int // block positions of the heaviest chain, genesis first
	blocks []simBlock
	found  []float64 // seconds after the start each block was found
	stale5 int       // blocks found in the first 5 minutes off the main chain
	mined5 int       // blocks found in the first 5 minutes
	fast5  int       // main-chain intervals under 1 s in the first 5 minutes
	// minuteSum and minuteCount are the sum of the main chain's intervals
	// ending in each minute, in seconds, and their count.
	minuteSum   []float64
	minuteCount []int
}

// simulateMiners runs the model for minutes minutes of np with seed.
func simulateMiners(t testing.TB, np *chain.NetParams, c calmCase, minutes int, seed uint64) calmRun {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 0xca1))
	start := chain.Timestamp(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixMicro())
	g := chain.GenesisTimestamp
	r := calmRun{blocks: []simBlock{{parent: -1, index: 1, bits: np.InitialTarget, ts: g, mark: g}}, found: []float64{0}}
	workOf := func(bits chain.Compact) float64 {
		w, err := bits.Work()
		if err != nil {
			t.Fatal(err)
		}
		f, _ := new(big.Float).SetInt(w).Float64()
		return f
	}
	nextBits := func(p int) chain.Compact {
		b := r.blocks[p]
		var gm chain.Timestamp
		if b.parent >= 0 {
			gm = r.blocks[b.parent].mark
		}
		bits, err := np.NextTarget(b.index, b.bits, b.ts, gm)
		if err != nil {
			t.Fatal(err)
		}
		return bits
	}
	type miner struct {
		head int
		next float64 // when it finds its next block, seconds
	}
	type delivery struct {
		at    float64
		to    int
		block int
	}
	rate := c.rate / float64(c.miners)
	miners := make([]miner, c.miners)
	draw := func(i int, now float64) {
		miners[i].next = now + rng.ExpFloat64()*workOf(nextBits(miners[i].head))/rate
	}
	for i := range miners {
		draw(i, 0)
	}
	var queue []delivery
	end := float64(minutes * 60)
	for {
		i := 0
		for j := range miners {
			if miners[j].next < miners[i].next {
				i = j
			}
		}
		now := miners[i].next
		if len(queue) > 0 && queue[0].at <= now {
			d := queue[0]
			queue = queue[1:]
			if m := &miners[d.to]; r.blocks[d.block].work > r.blocks[m.head].work {
				m.head = d.block
				draw(d.to, d.at)
			}
			continue
		}
		if now > end {
			break
		}
		p := miners[i].head
		bits := nextBits(p)
		ts := start + chain.Timestamp(now*1e6)
		r.blocks = append(r.blocks, simBlock{parent: p, index: r.blocks[p].index + 1, bits: bits, ts: ts,
			mark: chain.TimeMark(r.blocks[p].mark, ts), work: r.blocks[p].work + workOf(bits)})
		r.found = append(r.found, now)
		b := len(r.blocks) - 1
		miners[i].head = b
		draw(i, now)
		for j := range miners {
			if j != i {
				queue = append(queue, delivery{at: now + c.delay.Seconds(), to: j, block: b})
			}
		}
		slices.SortStableFunc(queue, func(a, b delivery) int { return compareFloat(a.at, b.at) })
	}
	best := 0
	for b := range r.blocks {
		if r.blocks[b].work > r.blocks[best].work {
			best = b
		}
	}
	onMain := map[int]bool{}
	for b := best; b >= 0; b = r.blocks[b].parent {
		r.main = append(r.main, b)
		onMain[b] = true
	}
	slices.Reverse(r.main)
	for b := 1; b < len(r.blocks); b++ {
		if r.found[b] <= 300 {
			r.mined5++
			if !onMain[b] {
				r.stale5++
			}
		}
	}
	r.minuteSum, r.minuteCount = make([]float64, minutes), make([]int, minutes)
	for k := 2; k < len(r.main); k++ {
		at := r.found[r.main[k]]
		iv := at - r.found[r.main[k-1]]
		if at <= 300 && iv < 1 {
			r.fast5++
		}
		if m := int(at / 60); m < minutes {
			r.minuteSum[m] += iv
			r.minuteCount[m]++
		}
	}
	return r
}

func compareFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// TestCalmStartModel runs the model of the default network's first ten
// minutes at each hash rate of calmCases, 20 seeds each, and reports the
// mean stale share over the first 5 minutes, the sub-second intervals,
// the mean interval of each minute (over the seeds), and the minute from
// which the mean interval stays within ±25% of the target.
func TestCalmStartModel(t *testing.T) {
	p := chain.DefaultParams()
	np := p.Net()
	for _, c := range calmCases {
		np := np
		if c.initialBits != 0 {
			np.InitialTarget = chain.MustCompact(chain.ZeroBitsTarget(c.initialBits))
			np.MaxTarget = np.InitialTarget
		}
		const seeds, minutes = 50, 10
		var stale, mined, fast float64
		sums, counts := make([]float64, minutes), make([]float64, minutes)
		for seed := range uint64(seeds) {
			r := simulateMiners(t, &np, c, minutes, seed)
			stale += float64(r.stale5)
			mined += float64(r.mined5)
			fast += float64(r.fast5)
			for m := range minutes {
				sums[m] += r.minuteSum[m]
				counts[m] += float64(r.minuteCount[m])
			}
		}
		perMinute := make([]float64, minutes)
		for m := range minutes {
			perMinute[m] = sums[m] / math.Max(counts[m], 1)
		}
		settled := minutes
		for m := minutes - 1; m >= 0; m-- {
			if math.Abs(perMinute[m]/p.TargetBlockTime.Seconds()-1) > 0.25 {
				break
			}
			settled = m
		}
		row := ""
		for _, v := range perMinute {
			row += fmt.Sprintf(" %5.1f", v)
		}
		t.Logf("%-50s stale %4.1f%% (%.1f of %.0f), %4.1f intervals < 1 s, within ±25%% from minute %d; mean interval by minute:%s",
			c.name, 100*stale/mined, stale/seeds, mined/seeds, fast/seeds, settled+1, row)
		// The model's delays are generous (20 ms on one machine): the
		// bounds hold with room, and fail on the earlier defaults (16
		// bits, H = 60·T: 23% to 38% stale, 0.1 s to 5 s a block).
		if share := stale / mined; share > 0.06 {
			t.Errorf("%s: stale share %.1f%% over the first 5 minutes, want at most 6%% in the model", c.name, 100*share)
		}
		if settled > 2 {
			t.Errorf("%s: the mean interval is within ±25%% of the target only from minute %d, want from minute 3", c.name, settled+1)
		}
	}
}
