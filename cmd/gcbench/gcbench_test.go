package main

import (
	"io"
	"math"
	mrand "math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	xs := []float64{5, 1, 4, 2, 3, 10, 9, 8, 7, 6} // 1..10, unsorted
	tests := []struct {
		p    float64
		want float64
	}{
		{0.01, 1},
		{0.10, 1},
		{0.11, 2},
		{0.50, 5},
		{0.51, 6},
		{0.90, 9},
		{0.99, 10},
		{1.00, 10},
	}
	for _, tt := range tests {
		if got := percentile(xs, tt.p); got != tt.want {
			t.Errorf("percentile(1..10, %v) = %v, want %v", tt.p, got, tt.want)
		}
	}
	if !slices.Equal(xs, []float64{5, 1, 4, 2, 3, 10, 9, 8, 7, 6}) {
		t.Errorf("percentile modified its input: %v", xs)
	}
	if got := percentile(nil, 0.5); !math.IsNaN(got) {
		t.Errorf("percentile(nil) = %v, want NaN", got)
	}
	if got := percentile([]float64{7}, 0.99); got != 7 {
		t.Errorf("percentile([7], 0.99) = %v, want 7", got)
	}
}

func TestMedianAndSummarize(t *testing.T) {
	tests := []struct {
		xs   []float64
		want float64
	}{
		{[]float64{3}, 3},
		{[]float64{3, 1, 2}, 2},
		{[]float64{4, 1, 3, 2}, 2.5},
	}
	for _, tt := range tests {
		if got := median(tt.xs); got != tt.want {
			t.Errorf("median(%v) = %v, want %v", tt.xs, got, tt.want)
		}
	}
	s := summarize([]float64{3, 9, 1})
	if s != (spread{Median: 3, Min: 1, Max: 9, N: 3}) {
		t.Errorf("summarize = %+v", s)
	}
	if got, want := s.format(sig3), "3.00 (min 1.00, max 9.00; 3 runs)"; got != want {
		t.Errorf("format = %q, want %q", got, want)
	}
	if got, want := summarize([]float64{2}).format(sig3), "2.00"; got != want {
		t.Errorf("format of one run = %q, want %q", got, want)
	}
}

func TestSummarizeDurations(t *testing.T) {
	var ds []time.Duration
	for i := 100; i >= 1; i-- {
		ds = append(ds, time.Duration(i)*time.Millisecond)
	}
	l := summarizeDurations(ds)
	if l.P50 != 50*time.Millisecond || l.P99 != 99*time.Millisecond || l.Max != 100*time.Millisecond || l.N != 100 {
		t.Errorf("got %+v, want p50 50ms, p99 99ms, max 100ms, n 100", l)
	}
	if got, want := l.String(), "p50 50.0 ms, p99 99.0 ms, max 100 ms"; got != want {
		t.Errorf("String = %q, want %q", got, want)
	}
}

func TestFormatting(t *testing.T) {
	tests := []struct {
		got, want string
	}{
		{sig3(0.001234), "0.00123"},
		{sig3(1.2), "1.20"},
		{sig3(12.34), "12.3"},
		{sig3(123.4), "123"},
		{sig3(12345), "12345"},
		{sig3(0), "0"},
		{fmtRate(21471), "21.5 k/s"},
		{fmtRate(50581334), "50.6 M/s"},
		{fmtRate(812), "812 /s"},
		{fmtDur(850 * time.Microsecond), "850 µs"},
		{fmtDur(1234 * time.Microsecond), "1.23 ms"},
		{fmtDur(2350 * time.Millisecond), "2.35 s"},
		{fmtBytes(24_084_000), "24.1 MB"},
		{fmtBytes(512), "512 B"},
		{fmtRatio(1.876), "1.88×"},
		{fmtRatio(math.Inf(1)), "n/a"},
		{groupDigits(100000), "100,000"},
		{groupDigits(999), "999"},
		{groupDigits(1000), "1,000"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}

func TestWriteTable(t *testing.T) {
	rows := []Row{
		{ID: "10a", Item: "Later", What: "w", Figure: "f"},
		{ID: "2b", Item: "Store", What: "second", Figure: "x", Command: "go test -bench 'A|B' ./chain/"},
		{ID: "2a", Item: "Store", What: "first\nline", Figure: "1 | 2", Goal: "≥ 1", Verdict: verdictMeets},
	}
	var b strings.Builder
	writeTable(&b, rows)
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != 5 {
		t.Fatalf("got %d lines, want 5:\n%s", len(lines), b.String())
	}
	want := []string{
		"| # | Measure | Figure | Against reference or goal | Goal | Verdict | Command |",
		"|---|---|---|---|---|---|---|",
		`| 2a | **Store**: first line | 1 \| 2 |  | ≥ 1 | meets |  |`,
		"| 2b | **Store**: second | x |  |  |  | `go test -bench 'A\\|B' ./chain/` |",
		"| 10a | **Later**: w | f |  |  |  |  |",
	}
	for i := range want {
		if lines[i] != want[i] {
			t.Errorf("line %d:\ngot  %s\nwant %s", i, lines[i], want[i])
		}
	}
}

func TestCompareIDs(t *testing.T) {
	ids := []string{"10a", "2b", "1z", "1a", "2a", "4c"}
	slices.SortFunc(ids, compareIDs)
	if want := []string{"1a", "1z", "2a", "2b", "4c", "10a"}; !slices.Equal(ids, want) {
		t.Errorf("got %v, want %v", ids, want)
	}
}

const benchOutput = `goos: linux
goarch: amd64
pkg: github.com/gossipchain/gossipchain/chain
cpu: AMD EPYC
BenchmarkMine/threads=1-2         	      10	 101124979 ns/op	  50000000 attempts/s	         2.000 ratio-of-sha256-limit	  25000000 sha256-blocks/s
BenchmarkMine/threads=2-2         	      10	 111125127 ns/op	  90000000 attempts/s	         1.800 ratio-of-sha256-limit	  25000000 sha256-blocks/s
BenchmarkMine/threads=1-2         	      10	 101124979 ns/op	  40000000 attempts/s	         1.600 ratio-of-sha256-limit	  25000000 sha256-blocks/s
BenchmarkMine/threads=2-2         	      10	 111125127 ns/op	  80000000 attempts/s	         1.600 ratio-of-sha256-limit	  25000000 sha256-blocks/s
PASS
ok  	github.com/gossipchain/gossipchain/chain	2.290s
pkg: github.com/gossipchain/gossipchain/chain/miner/internal/powhash
BenchmarkSearchRatio-2   	     800	   1000000 ns/op	  60000000 attempts/s	  25000000 sha256-blocks/s	         2.400 ratio-of-sha256-limit
`

func TestMiningRows(t *testing.T) {
	results, err := parseBenchOutput(strings.NewReader(benchOutput))
	if err != nil {
		t.Fatal(err)
	}
	if len(results) != 5 {
		t.Fatalf("parsed %d results, want 5", len(results))
	}
	if got := metricSeries(results, "Mine/threads=2", "attempts/s"); !slices.Equal(got, []float64{90e6, 80e6}) {
		t.Errorf("threads=2 attempts/s = %v", got)
	}
	rows, err := miningRows(results, "go test")
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 4 {
		t.Fatalf("got %d rows, want 4: %+v", len(rows), rows)
	}
	// One thread: median ratio 1.8; two threads: 1.7; scaling 0.9 and 1.0.
	checks := []struct {
		id, figure, ratioPrefix, verdict string
	}{
		{"1a", "45.0 M/s (min 40.0 M/s, max 50.0 M/s; 2 runs)", "1.80× (min 1.60×", verdictMeets},
		{"1b", "85.0 M/s (min 80.0 M/s, max 90.0 M/s; 2 runs)", "1.70×", verdictMeets},
		{"1c", "0.950 (min 0.900, max 1.00; 2 runs)", "1.00 is linear", verdictMeets},
		{"1d", "60.0 M/s", "2.40×", verdictMeets},
	}
	for i, c := range checks {
		r := rows[i]
		if r.ID != c.id || r.Figure != c.figure || !strings.HasPrefix(r.Ratio, c.ratioPrefix) || r.Verdict != c.verdict {
			t.Errorf("row %d = %+v\nwant id %s, figure %q, ratio starting %q, verdict %s", i, r, c.id, c.figure, c.ratioPrefix, c.verdict)
		}
	}
	if _, err := miningRows(nil, "go test"); err == nil {
		t.Error("miningRows of no results: no error")
	}
}

func TestTopology(t *testing.T) {
	rng := mrand.New(mrand.NewPCG(1, 2))
	topo := topology(25, 2, rng)
	if len(topo[0]) != 0 || len(topo[1]) != 1 || topo[1][0] != 0 {
		t.Errorf("first nodes: %v", topo[:2])
	}
	for i := 2; i < len(topo); i++ {
		ns := topo[i]
		if len(ns) != 2 || ns[0] == ns[1] || ns[0] >= i || ns[1] >= i || ns[0] < 0 || ns[1] < 0 {
			t.Errorf("node %d connects to %v, want two distinct earlier nodes", i, ns)
		}
	}
	d := degrees(topo)
	sum := 0
	for _, x := range d {
		sum += x
	}
	if sum != 2*(1+2*23) {
		t.Errorf("degree sum %d, want %d", sum, 2*(1+2*23))
	}
}

func TestSplitCommonArgs(t *testing.T) {
	common, rest := splitCommonArgs([]string{"--blocks", "10", "--results", "r.jsonl", "--keep", "--workdir=/tmp/x", "--runs", "2", "-gossipchain", "bin/g"})
	if want := []string{"--results", "r.jsonl", "--keep", "--workdir=/tmp/x", "-gossipchain", "bin/g"}; !slices.Equal(common, want) {
		t.Errorf("common = %q, want %q", common, want)
	}
	if want := []string{"--blocks", "10", "--runs", "2"}; !slices.Equal(rest, want) {
		t.Errorf("rest = %q, want %q", rest, want)
	}
}

func TestCheckRows(t *testing.T) {
	row := func(id, what string, med, lo, hi float64) Row {
		return Row{ID: id, Item: "Sync", What: what, Spread: &spread{Median: med, Min: lo, Max: hi, N: 3}, Load: &span{Start: 1, End: 2}}
	}
	prev := []Row{
		row("3a", "rate", 100, 90, 110),
		row("3b", "bytes", 10, 9, 11),
		{ID: "3c", Item: "Sync", What: "no spread", Figure: "x"},
		row("3d", "gone", 1, 1, 1),
	}
	cur := []Row{
		row("3x", "rate", 95, 60, 130), // another id, same measure: within 90–110
		row("3b", "bytes", 12, 11, 13), // above 11
		{ID: "3c", Item: "Sync", What: "no spread", Figure: "y"},
		row("3e", "new", 1, 1, 1),
	}
	cs := checkRows(prev, cur)
	type res struct {
		what               string
		comparable, reprod bool
	}
	var got []res
	for _, c := range cs {
		got = append(got, res{c.What, c.comparable(), c.Reproduced})
	}
	want := []res{
		{"Sync: rate", true, true},
		{"Sync: bytes", true, false},
		{"Sync: no spread", false, false},
		{"Sync: new", false, false},
		{"Sync: gone", false, false},
	}
	if !slices.Equal(got, want) {
		t.Errorf("checkRows:\ngot  %+v\nwant %+v", got, want)
	}
	var b strings.Builder
	if failed := writeCheck(&b, cs); failed != 1 {
		t.Errorf("writeCheck counted %d rows not reproduced, want 1:\n%s", failed, b.String())
	}
	for _, w := range []string{"| Sync: rate | 100 (90.0–110; 3 runs), load 1.00 → 2.00 | 95.0 (60.0–130; 3 runs), load 1.00 → 2.00 | yes |", "| Sync: bytes |", "| no |", "new in this run", "not in this run"} {
		if !strings.Contains(b.String(), w) {
			t.Errorf("comparison lacks %q:\n%s", w, b.String())
		}
	}

	dir := t.TempDir()
	path := dir + "/prev.jsonl"
	s := &rowSink{path: path}
	for _, r := range prev {
		s.add(r)
	}
	if err := s.flush(io.Discard); err != nil {
		t.Fatal(err)
	}
	if err := checkAgainst(io.Discard, path, prev); err != nil {
		t.Errorf("a run against itself: %v", err)
	}
	b.Reset()
	if err := checkAgainst(&b, path, cur); err == nil || !strings.Contains(err.Error(), "1 rows not reproduced") {
		t.Errorf("a run that does not reproduce: %v, want an error counting 1 row", err)
	}
	if !strings.Contains(b.String(), "| Sync: bytes |") {
		t.Errorf("comparison lacks the row not reproduced:\n%s", b.String())
	}
}
