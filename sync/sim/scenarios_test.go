package sim

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gossipchain/gossipchain/chain"
)

// The large simulations run only when asked for (scripts/bench.sh does):
//
//	go test ./sim -run TestScenarios -timeout 0 -v -args -sim.nodes 200
//	go test ./sim -run TestCalibration -v -args -sim.calibrate 10,25
var (
	simNodes     = flag.Int("sim.nodes", 0, "run TestScenarios with this many nodes (0: skip)")
	simBlocks    = flag.Int("sim.blocks", 20, "blocks of the propagation scenario")
	simChain     = flag.Int("sim.chain", 500, "length of the chain every node starts with")
	simChurn     = flag.Duration("sim.churn", 3*time.Minute, "virtual duration of the churn scenario")
	simPartition = flag.Duration("sim.partition", time.Minute, "virtual duration of the partition")
	simCalibrate = flag.String("sim.calibrate", "", "run TestCalibration with these network sizes, comma-separated")
	simSeed      = flag.Uint64("sim.seed", 1, "random seed of the simulation")
	simHopCost   = flag.Duration("sim.hopcost", 0, "per-hop cost added to the measured validation cost (the calibrated relay overhead)")
)

// Goals of the scenarios (virtual time, three regions).
const (
	goalReach99   = time.Second
	goalReach100  = 2 * time.Second
	goalCopies    = 8.0
	goalConverged = 10 * time.Second
	goalChurnRate = 0.999
)

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "MISSED"
}

// measureCost measures the per-hop cost on the disk of t.TempDir.
func measureCost(t *testing.T, params chain.Params) Cost {
	t.Helper()
	c, err := MeasureCost(context.Background(), params, t.TempDir(), 200)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func simParams(t *testing.T) chain.Params {
	t.Helper()
	p, err := chain.NewParams("sim", DefaultDifficulty)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func header(w io.Writer, cost Cost) {
	cpu := "unknown"
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			if strings.HasPrefix(line, "model name") {
				cpu = strings.TrimSpace(strings.SplitN(line, ":", 2)[1])
				break
			}
		}
	}
	fmt.Fprintf(w, "cpu: %s, %d cores (GOMAXPROCS %d)\n", cpu, runtime.NumCPU(), runtime.GOMAXPROCS(0))
	fmt.Fprintf(w, "per-hop cost charged as virtual time: %s", cost)
	if *simHopCost > 0 {
		fmt.Fprintf(w, ", the validation cost including %s of calibrated relay overhead (-sim.hopcost)", *simHopCost)
	}
	fmt.Fprintln(w)
}

// TestScenarios runs every scenario on -sim.nodes nodes in three regions and
// prints a report with the goals.
func TestScenarios(t *testing.T) {
	if *simNodes == 0 {
		t.Skip("large simulation: run with -args -sim.nodes N (scripts/bench.sh sim)")
	}
	params := simParams(t)
	cost := measureCost(t, params)
	cost.Validate += *simHopCost
	seedDir, err := os.MkdirTemp(tmpRoot(), "gcsim-seed-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(seedDir)
	seedChain := filepath.Join(seedDir, "chain.db")
	if err := PrepareChain(context.Background(), params, seedChain, *simChain); err != nil {
		t.Fatal(err)
	}
	wallStart := time.Now()
	out := os.Stdout
	header(out, cost)
	bubble(t, func(t *testing.T) {
		ctx := context.Background()
		lat, inside := ThreeRegions()
		nw, err := NewNetwork(Config{Params: params, Latency: lat, Inside: inside, Seed: *simSeed,
			ValidateCost: cost.Validate, StoreCost: cost.Store, SeedChain: seedChain})
		if err != nil {
			t.Fatal(err)
		}
		defer nw.Close()
		fmt.Fprintf(out, "network: %d nodes, 3 regions (1 ms inside, 10/40/120 ms one way between), %d Mbit/s per node each way, "+
			"%d bootstrap peers each, every node starting with a %d-block chain\n", *simNodes, DefaultBandwidth/1_000_000, DefaultDegree, *simChain)
		if err := nw.AddNodes(ctx, *simNodes); err != nil {
			t.Fatal(err)
		}
		if err := nw.WaitReady(ctx, 5*time.Minute); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(out, "ready after %s of virtual time\n", nw.Since().Round(time.Millisecond))
		time.Sleep(10 * time.Second) // let discovery and pool exchange settle

		p, err := nw.Propagate(ctx, *simBlocks, 3*time.Second, 30*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprint(out, p)
		m99, w99 := p.ReachMedian(2)
		m100, w100 := p.ReachMedian(3)
		fmt.Fprintf(out, "  goal 99%% within %s: %s (median %s, worst %s); 100%% within %s: %s (median %s, worst %s); ≤ %.0f copies per node: %s\n",
			goalReach99, verdict(w99 >= 0 && w99 <= goalReach99), fmtD(m99), fmtD(w99),
			goalReach100, verdict(w100 >= 0 && w100 <= goalReach100), fmtD(m100), fmtD(w100),
			goalCopies, verdict(p.Copies <= goalCopies))

		part, err := nw.PartitionHeal(ctx, 2, *simPartition, 5*time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprint(out, part)
		fmt.Fprintf(out, "  goal converged within %s of the heal: %s\n", goalConverged,
			verdict(part.Converged >= 0 && part.Converged <= goalConverged))

		ch, err := nw.Churn(ctx, 0.10, *simChurn, 10*time.Second, 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprint(out, ch)
		fmt.Fprintf(out, "  goal ≥ %.1f%% delivered: %s\n", 100*goalChurnRate, verdict(ch.Rate() >= goalChurnRate))

		j, err := nw.Join(ctx, 10*time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprint(out, j)
		fmt.Fprintf(out, "virtual time simulated: %s\n", nw.Since().Round(time.Second))
	})
	fmt.Fprintf(out, "wall time: %s\n", time.Since(wallStart).Round(time.Second))
}

// TestCalibration runs the topology of gcbench propagate (each node
// bootstrapped to 2 random earlier ones, blocks from random nodes every
// 200 ms) on the simulated network with no latency and a 10 Gbit/s link, to
// compare with real processes on loopback.
func TestCalibration(t *testing.T) {
	if *simCalibrate == "" {
		t.Skip("calibration: run with -args -sim.calibrate 10,25 (scripts/bench.sh sim)")
	}
	var sizes []int
	for _, s := range strings.Split(*simCalibrate, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 2 {
			t.Fatalf("bad -sim.calibrate %q", *simCalibrate)
		}
		sizes = append(sizes, n)
	}
	params := simParams(t)
	cost := measureCost(t, params)
	out := os.Stdout
	header(out, cost)
	for _, size := range sizes {
		t.Run(strconv.Itoa(size), func(t *testing.T) {
			bubble(t, func(t *testing.T) {
				ctx := context.Background()
				nw, err := NewNetwork(Config{Params: params, Bandwidth: 10_000_000_000, Seed: *simSeed,
					ValidateCost: cost.Validate, StoreCost: cost.Store})
				if err != nil {
					t.Fatal(err)
				}
				defer nw.Close()
				if err := nw.AddNodes(ctx, size); err != nil {
					t.Fatal(err)
				}
				if err := nw.WaitReady(ctx, time.Minute); err != nil {
					t.Fatal(err)
				}
				time.Sleep(2 * time.Second) // gcbench's settle
				p, err := nw.Propagate(ctx, *simBlocks*5, 200*time.Millisecond, 0)
				if err != nil {
					t.Fatal(err)
				}
				last := slices.Clone(p.Reach[3])
				slices.Sort(last)
				q := func(f float64) time.Duration { return last[min(len(last)-1, int(f*float64(len(last))))] }
				fmt.Fprintf(out, "calibration: %d nodes, no latency, %d blocks: delay to every node p50 %s, p99 %s, max %s; "+
					"to one node (median block) 50%% %s; copies per node %.2f; missing %d\n",
					size, p.Blocks, fmtD(q(0.5)), fmtD(q(0.99)), fmtD(last[len(last)-1]), fmtD(func() time.Duration { m, _ := p.ReachMedian(0); return m }()),
					p.Copies, p.Missing)
			})
		})
	}
}
