package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"
)

// Item 1's goals.
const (
	mineRatioGoal   = 0.8 // attempts/s per thread ÷ SHA-256 compression rate
	mineScalingGoal = 0.9 // all-threads rate ÷ (threads × one-thread rate)
)

// benchResult is one line of `go test -bench` output.
type benchResult struct {
	Name    string             // without the "Benchmark" prefix and the -GOMAXPROCS suffix
	Metrics map[string]float64 // by unit: "ns/op", "attempts/s", ...
}

// benchLineRE matches a benchmark result line: name-procs, iterations, then
// value/unit pairs.
var benchLineRE = regexp.MustCompile(`^Benchmark(\S+?)(?:-\d+)?\s+\d+\s+(.*)$`)

// parseBenchOutput reads `go test -bench` output and returns its result
// lines in order; other lines are skipped.
func parseBenchOutput(r io.Reader) ([]benchResult, error) {
	var out []benchResult
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		m := benchLineRE.FindStringSubmatch(strings.TrimSpace(sc.Text()))
		if m == nil {
			continue
		}
		fields := strings.Fields(m[2])
		if len(fields)%2 != 0 {
			continue
		}
		res := benchResult{Name: m[1], Metrics: make(map[string]float64)}
		for i := 0; i < len(fields); i += 2 {
			v, err := strconv.ParseFloat(fields[i], 64)
			if err != nil {
				return nil, fmt.Errorf("benchmark %s: value %q: %v", m[1], fields[i], err)
			}
			res.Metrics[fields[i+1]] = v
		}
		out = append(out, res)
	}
	return out, sc.Err()
}

// metricSeries returns the values of unit for the results named name, in
// order (one per -count run).
func metricSeries(results []benchResult, name, unit string) []float64 {
	var out []float64
	for _, r := range results {
		if v, ok := r.Metrics[unit]; ok && r.Name == name {
			out = append(out, v)
		}
	}
	return out
}

// threadsRE finds the thread count in a sub-benchmark name such as
// "Mine/threads=2".
var threadsRE = regexp.MustCompile(`threads=(\d+)`)

// miningRows turns BenchmarkMine and BenchmarkSearchRatio results into the
// rows of item 1.
func miningRows(results []benchResult, command string) ([]Row, error) {
	// The miner's sub-benchmarks, in order of thread count.
	var names []string
	threads := map[string]int{}
	for _, r := range results {
		m := threadsRE.FindStringSubmatch(r.Name)
		if m == nil || !strings.HasPrefix(r.Name, "Mine/") {
			continue
		}
		if _, ok := threads[r.Name]; !ok {
			n, _ := strconv.Atoi(m[1])
			threads[r.Name] = n
			names = append(names, r.Name)
		}
	}
	var rows []Row
	letter := 'a'
	next := func() string { s := fmt.Sprintf("1%c", letter); letter++; return s }
	var one, all string // names of the one-thread and the most-threads runs
	for _, name := range names {
		if threads[name] == 1 {
			one = name
		}
		if all == "" || threads[name] > threads[all] {
			all = name
		}
	}
	for _, name := range names {
		ratio := summarize(metricSeries(results, name, "ratio-of-sha256-limit"))
		rate := summarize(metricSeries(results, name, "attempts/s"))
		limit := summarize(metricSeries(results, name, "sha256-blocks/s"))
		if ratio.N == 0 || rate.N == 0 {
			continue
		}
		n := threads[name]
		what := fmt.Sprintf("proof-of-work attempts/s, miner.Miner on %d thread", n)
		if n != 1 {
			what += "s"
		}
		rows = append(rows, Row{
			ID: next(), Item: "Mining", What: what,
			Figure: rate.format(fmtRate),
			Ratio: fmt.Sprintf("%s per thread ÷ SHA-256 compression rate (%s blocks/s, same run)",
				ratio.format(fmtRatio), fmtSI(limit.Median)),
			Goal:    fmt.Sprintf("≥ %.1f× per thread", mineRatioGoal),
			Verdict: verdict(ratio.Median >= mineRatioGoal),
			Command: command,
		})
	}
	if one != "" && all != "" && one != all {
		r1 := metricSeries(results, one, "attempts/s")
		rn := metricSeries(results, all, "attempts/s")
		n := float64(threads[all])
		var scaling []float64
		for i := range min(len(r1), len(rn)) {
			scaling = append(scaling, rn[i]/(n*r1[i]))
		}
		s := summarize(scaling)
		rows = append(rows, Row{
			ID: next(), Item: "Mining",
			What:    fmt.Sprintf("scaling: %d-thread rate ÷ (%d × 1-thread rate of the same run)", threads[all], threads[all]),
			Figure:  s.format(sig3),
			Ratio:   "1.00 is linear",
			Goal:    fmt.Sprintf("near-linear (≥ %.2f)", mineScalingGoal),
			Verdict: verdict(s.Median >= mineScalingGoal),
			Command: command,
		})
	}
	if ratio := summarize(metricSeries(results, "SearchRatio", "ratio-of-sha256-limit")); ratio.N > 0 {
		rate := summarize(metricSeries(results, "SearchRatio", "attempts/s"))
		rows = append(rows, Row{
			ID: next(), Item: "Mining",
			What:    "bare proof search loop (internal powhash, SHA-NI when present), 1 thread",
			Figure:  rate.format(fmtRate),
			Ratio:   ratio.format(fmtRatio) + " ÷ SHA-256 compression rate (same run)",
			Goal:    fmt.Sprintf("≥ %.1f×", mineRatioGoal),
			Verdict: verdict(ratio.Median >= mineRatioGoal),
			Command: command,
		})
	}
	if len(rows) == 0 {
		return nil, errors.New("no BenchmarkMine or BenchmarkSearchRatio results in the input")
	}
	return rows, nil
}

// cmdGoTest turns saved `go test -bench` output into rows of item 1.
func cmdGoTest(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("gotest", flag.ContinueOnError)
	in := fs.String("in", "", "`file` holding the go test output (required)")
	command := fs.String("cmd", "", "the go test `command` that produced it, recorded in the rows")
	results := fs.String("results", "", "append rows as JSON lines to this `file` (default: print a table)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *in == "" {
		return errors.New("--in is required")
	}
	f, err := os.Open(*in)
	if err != nil {
		return err
	}
	defer f.Close()
	parsed, err := parseBenchOutput(f)
	if err != nil {
		return err
	}
	sink := &rowSink{path: *results}
	rows, err := miningRows(parsed, *command)
	if err != nil {
		sink.add(Row{ID: "1z", Item: "Mining", What: "benchmark run", Figure: "error: " + err.Error(),
			Verdict: verdictFailed, Command: *command})
	}
	for _, r := range rows {
		sink.add(r)
	}
	sink.noteFirst("load average (1, 5, 15 min) right after the go test run: " + loadAverage() +
		"; the all-threads runs and the scaling need every core free")
	if ferr := sink.flush(stdout); ferr != nil {
		return ferr
	}
	return err
}
