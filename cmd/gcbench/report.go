package main

import (
	"bufio"
	"cmp"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Verdicts of a row with a goal.
const (
	verdictMeets  = "meets"
	verdictMisses = "misses"
	verdictFailed = "failed"
)

// Row is one line of the benchmark table.
type Row struct {
	ID      string   `json:"id"`      // item of the benchmark list and a letter: "1a"
	Item    string   `json:"item"`    // the item's title: "Mining"
	What    string   `json:"what"`    // what was measured
	Figure  string   `json:"figure"`  // the measurement
	Ratio   string   `json:"ratio"`   // the figure against its reference or goal
	Goal    string   `json:"goal"`    // the goal, if any
	Verdict string   `json:"verdict"` // verdictMeets, verdictMisses, verdictFailed or ""
	Command string   `json:"command"` // the command that produced the row
	Notes   []string `json:"notes,omitempty"`
	// Spread is the figure's median, minimum and maximum over its runs,
	// Load the 1-minute load average at the start and the end of them, CPU
	// the processor's model: what checkRows compares runs by.
	Spread *spread `json:"spread,omitempty"`
	Load   *span   `json:"load,omitempty"`
	CPU    string  `json:"cpu,omitempty"`
}

// span is the 1-minute load average at the start and the end of a figure's
// runs.
type span struct {
	Start float64 `json:"start"`
	End   float64 `json:"end"`
}

func (l span) String() string { return fmt.Sprintf("load %.2f → %.2f", l.Start, l.End) }

// sitting is the time over which the runs of some figures are made, and
// the 1-minute load average at its start and its end.
type sitting struct{ load span }

// startSitting starts a sitting: it reads the load average.
func startSitting() *sitting {
	l := loadAverage1()
	return &sitting{load: span{Start: l, End: l}}
}

// end ends the sitting: it reads the load average again.
func (st *sitting) end() { st.load.End = loadAverage1() }

// stamp records on r its figure's spread s, the sitting's load average and
// the CPU.
func (st *sitting) stamp(r Row, s spread) Row {
	l := st.load
	r.Spread, r.Load, r.CPU = &s, &l, cpuModel()
	return r
}

// loadAverage1 returns the 1-minute load average, NaN if unknown.
func loadAverage1() float64 {
	f, err := strconv.ParseFloat(strings.Split(loadAverage(), ",")[0], 64)
	if err != nil {
		return math.NaN()
	}
	return f
}

// verdict returns verdictMeets when ok, else verdictMisses.
func verdict(ok bool) string {
	if ok {
		return verdictMeets
	}
	return verdictMisses
}

// rowSink receives the rows of a benchmark: appended as JSON lines to a
// results file, or printed as a table when there is none.
type rowSink struct {
	path string
	rows []Row
}

func (s *rowSink) add(r Row) {
	s.rows = append(s.rows, r)
}

// noteFirst adds a note to the first row collected so far, if any.
func (s *rowSink) noteFirst(note string) {
	if len(s.rows) > 0 {
		s.rows[0].Notes = append(s.rows[0].Notes, note)
	}
}

// flush writes the rows collected so far.
func (s *rowSink) flush(stdout io.Writer) error {
	if s.path == "" {
		writeTable(stdout, s.rows)
		for _, cpu := range rowCPUs(s.rows) {
			fmt.Fprintf(stdout, "\nCPU: %s\n", cpu)
		}
		s.rows = nil
		return nil
	}
	f, err := os.OpenFile(s.path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(f)
	for _, r := range s.rows {
		if err := enc.Encode(r); err != nil {
			f.Close()
			return err
		}
	}
	s.rows = nil
	return f.Close()
}

// readRows reads a results file of JSON lines.
func readRows(path string) ([]Row, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var rows []Row
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), 4<<20)
	for line := 1; sc.Scan(); line++ {
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		var r Row
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			return nil, fmt.Errorf("%s:%d: %v", path, line, err)
		}
		rows = append(rows, r)
	}
	return rows, sc.Err()
}

// compareIDs orders row ids by their leading number, then by the rest:
// "1a" < "1b" < "2a" < "10a".
func compareIDs(a, b string) int {
	na, ra := splitID(a)
	nb, rb := splitID(b)
	if c := cmp.Compare(na, nb); c != 0 {
		return c
	}
	return strings.Compare(ra, rb)
}

func splitID(id string) (int, string) {
	i := 0
	for i < len(id) && id[i] >= '0' && id[i] <= '9' {
		i++
	}
	n, err := strconv.Atoi(id[:i])
	if err != nil {
		n = 1 << 30
	}
	return n, id[i:]
}

// cell escapes text for a Markdown table cell.
func cell(s string) string {
	s = strings.ReplaceAll(s, "|", `\|`)
	return strings.ReplaceAll(s, "\n", " ")
}

// codeCell formats a command as inline code in a table cell.
func codeCell(s string) string {
	if s == "" {
		return ""
	}
	return "`" + cell(s) + "`"
}

// writeTable writes rows, sorted by id, as a Markdown table.
func writeTable(w io.Writer, rows []Row) {
	rows = slices.Clone(rows)
	slices.SortStableFunc(rows, func(a, b Row) int { return compareIDs(a.ID, b.ID) })
	fmt.Fprintln(w, "| # | Measure | Figure | Against reference or goal | Goal | Verdict | Command |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|")
	for _, r := range rows {
		what := r.What
		if r.Item != "" {
			what = "**" + r.Item + "**: " + what
		}
		figure := r.Figure
		if r.Load != nil {
			figure += " (" + r.Load.String() + ")"
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s |\n",
			cell(r.ID), cell(what), cell(figure), cell(r.Ratio), cell(r.Goal), cell(r.Verdict), codeCell(r.Command))
	}
}

// writeNotes writes the notes of every row that has some.
func writeNotes(w io.Writer, rows []Row) {
	rows = slices.Clone(rows)
	slices.SortStableFunc(rows, func(a, b Row) int { return compareIDs(a.ID, b.ID) })
	started := false
	for _, r := range rows {
		if len(r.Notes) == 0 {
			continue
		}
		if !started {
			fmt.Fprintln(w, "## Notes on this run")
			fmt.Fprintln(w)
			started = true
		}
		for _, n := range r.Notes {
			fmt.Fprintf(w, "- %s: %s\n", r.ID, n)
		}
	}
	if started {
		fmt.Fprintln(w)
	}
}

// methodText explains how every item is measured; it follows the table in
// BENCHMARKS.md.
const methodText = `## Method

Every figure that depends on the machine's load is either a ratio against a
reference measured in the same run, or the median of several runs with
their minimum and maximum. The machine may be shared: compare ratios, not
absolute figures, between runs.

The rows of items 3 and 6d are medians of runs made in one sitting (3 by
default), with their minimum and maximum and the 1-minute load average at
the sitting's start and end beside the figure; the results file also
records the CPU model. ` + "`gcbench report --results NEW --check OLD`" + ` (or
` + "`gcbench sync --check OLD`" + `) says for each row whether the new run's median
lies within the min–max that the old run recorded, and exits with status 1
if one does not: a row that a second run does not reproduce is not
published.

1. **Mining.** ` + "`BenchmarkMine`" + ` (package chain/miner) runs the miner's proof
   search (miner.Miner, at a difficulty out of reach so that every attempt is
   made) on one thread and on every CPU, and measures the SHA-256 compression
   rate of this machine just before and after (crypto/sha256 over a 1 MiB
   buffer, bytes/s ÷ 64, one core). The ratio is attempts/s per thread ÷
   compression rate; scaling is the all-threads rate ÷ (threads × the
   one-thread rate of the same run). ` + "`BenchmarkSearchRatio`" + ` (internal
   powhash) is the same ratio for the bare search loop without the miner.
2. **Validation and storage.** A chain is built in memory with the chain
   package (difficulty 4, three transactions and the reward per block), then
   added to a fresh store with Chain.AddBlocks in batches of 2,000 blocks
   (the most a syncing node adds in one store transaction: four
   chain-exchange replies): full validation, bbolt writes and one fsync per
   batch. Time of the AddBlocks calls only; the bytes written to disk
   meanwhile are write_bytes of /proc/self/io. On the longest chain, 20 more
   blocks are then added one AddBlock each, as a mined or gossiped block is,
   and the bytes written for them are averaged. The pending-pool row
   adds transactions one after another with Chain.AddTransaction, against
   one 4 kB write and fsync on the same disk in the same run.
3. **Sync.** gcbench makes the source chain (difficulty 4, three
   transactions and the reward per block) 2,000 blocks at a time and writes
   each part as it goes into one data directory per length (store.Open on
   DATADIR/chain.db with the parameters the node derives from
   --network/--difficulty, Chain.AddBlocks) and into a block file (each
   block's binary encoding after its length in 4 bytes): it holds one part
   in memory whatever the length, and its own anonymous memory as each
   length is reached is a row. For each length, in one sitting: start-ups
   of a node on the source data directory without peers, against start-ups
   on an empty data directory, each from the exec to the first GET /status
   answered (tried every millisecond on a port chosen beforehand; a first
   start, not counted, warms the page cache). Then node A is started on the
   source directory and, once per run, a fresh node B on an empty one,
   bootstrapped to A's multiaddr. B's rate runs from its own start of sync
   (gossipchain_sync_first_session_start_seconds of its GET /metrics, by its
   clock) to its GET /status, polled every 10 ms, reporting A's height; the
   rate from B's exec is given beside it. B's peak anonymous memory (RssAnon
   of /proc/PID/status, sampled every 10 ms) and the bytes it wrote per block
   (write_bytes of /proc/PID/io, against the mean binary size of a block)
   are rows of their own. The references, once per run right after the
   syncs of that length, move the same bytes read back from the block file:
   bare bbolt sequential puts under 8-byte height keys, 2,000 per
   transaction (one fsync each; the transactions are timed, not the
   reading), and a bare libp2p stream between two hosts in gcbench's
   process (loopback TCP, go-libp2p's default security and muxer, connected
   beforehand), each block after its length, from opening the stream to the
   last block read. Flatness is the rate at the second-longest length ÷ the
   rate at the longest, and memory growth the longest's peak anonymous
   memory ÷ the second-longest's, both run by run (run i of one length
   against run i of the other).
4. **Propagation.** N node processes on loopback, mDNS off, each node
   bootstrapped to two random earlier nodes (node 2 to node 1). After the
   gossip mesh forms and a few warm-up blocks, blocks are mined with GET /mine
   on random nodes, one at a time, and transactions are submitted with POST
   /transactions/new on random nodes. Every node is started with --pprof and
   records, with its own clock in nanoseconds, when it accepted each block
   and transaction: a node that receives one, when its gossip validator
   passed it (it is relayed from then on, and stored meanwhile); the node
   that mined or was sent it, just before it publishes it. gcbench reads
   these from GET /debug/gossip/{id} once the message has reached every
   node (waiting does not change them); a message's figure is its delay to
   the last node. Once the nodes have settled, gcbench reads the graph they
   formed (bootstrap peers and those found by discovery) from every node's
   GET /peers once it has not changed for 3 s (at most 30 s), and connects
   the floor in exactly that graph (its peer exchange off, so that it keeps
   to it); each network's
   degree, at the start and the end of its measurement, is in the notes.
   Each size is run --runs times (3) on topologies of successive seeds, and
   a row gives the medians over the runs of our figures, the floor's and the
   ratios, with each run's load average. The floor is bare go-libp2p hosts
   (TCP on loopback, the default security and muxer) running
   go-libp2p-pubsub's GossipSub with the options and score parameters of
   package p2p and an accept-all validator registered as package p2p
   registers its validators, each in its own child process of gcbench,
   publishing messages of the same sizes from random hosts; its delays are
   the publisher's clock before Publish to each receiver's delivery from its
   subscription, in nanoseconds. The ratio is ours ÷ floor at each
   percentile, within a run. The notes add the same floor without a
   validator.
5. **HTTP.** A node serves a chain of 1,000 (then 100,000) blocks, genesis
   included, each with one transaction and the reward, as the tutorial's
   walkthrough makes them. gcbench, in its own process, sends requests from
   one worker, then from N keep-alive workers, for a fixed time after a
   warm-up, reading every body in full; latency is per request. The
   reference is a bare net/http server in a child process of gcbench
   answering a body of the same size from memory, loaded the same way right
   after each measurement. POST /transactions/new goes to a node without
   peers, from 8 and from 64 workers.
6. **Footprint.** VmRSS from /proc/PID/status of a node a few seconds
   after it started (median of three readings a second apart): on an empty
   chain with no peers, and on a long chain. Start-up, as for item 3: exec
   to the first GET /status answered, on the long chain against an empty
   data directory, in one sitting. Goroutines and open
   files are go_goroutines and process_open_fds of GET /metrics, and the
   entries of /proc/PID/fd.
7. **Discovery.** gcbench discovery --nodes 25 starts 25 node processes,
   each bootstrapped to the first only, and waits until each has D = 8 peers.
   A fresh process is then bootstrapped to one random peer of them: the
   figure is the wall time from its exec to 8 peers in its /status, against
   the time to its first peer (the bootstrap dial) in the same run. Then the
   most connected node is killed with SIGKILL and a block is mined at once
   on a random other node: the figure is the time until every remaining node
   has that block as head, against the time blocks mined just before, with
   every node up, took to reach all of them (median of three); and the time
   until every remaining node is back at 8 peers.
8. **Signed ledger.** gcbench ledger builds a chain of the signed network
   bench-signed whose block rewards fund one account per 64 payments
   (the pool's per-account bound), signs every payment beforehand, and
   starts a node on it without peers; each of 8 and 64 workers spends
   accounts of its own in nonce order with POST /transactions, so every
   request is admitted unless the node fails. The references, loaded the
   same way right after: the net/http server with a body of the size
   answered, and POST /transactions/new of a fresh node of the open bench
   network. The window is short (3 s) so that the pool (50,000) never fills.
`

// machineInfo describes the machine and toolchain of the run.
func machineInfo() string {
	cpu := cpuModel()
	goVersion := runtime.Version()
	if out, err := exec.Command("go", "env", "GOVERSION").Output(); err == nil {
		goVersion = strings.TrimSpace(string(out))
	}
	return fmt.Sprintf("%s, %d CPUs, %s/%s, %s", cpu, runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, goVersion)
}

// cpuModel returns the model name of the first processor in /proc/cpuinfo.
func cpuModel() string {
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				return strings.TrimSpace(v)
			}
		}
	}
	return "unknown CPU"
}

// rowCPUs returns the CPU models recorded in rows, each once.
func rowCPUs(rows []Row) []string {
	var out []string
	for _, r := range rows {
		if r.CPU != "" && !slices.Contains(out, r.CPU) {
			out = append(out, r.CPU)
		}
	}
	return out
}

// writeDocument writes BENCHMARKS.md: the table, the notes and the method.
func writeDocument(w io.Writer, rows []Row, reproduce string, when time.Time) {
	fmt.Fprintln(w, "# gossipchain benchmarks")
	fmt.Fprintln(w)
	fmt.Fprintf(w, "Generated by `%s` on %s.  \n", reproduce, when.UTC().Format("2006-01-02 15:04 MST"))
	fmt.Fprintf(w, "Machine: %s.\n", machineInfo())
	for _, cpu := range rowCPUs(rows) {
		if cpu != cpuModel() {
			fmt.Fprintf(w, "Rows with a load average were measured on: %s.\n", cpu)
		}
	}
	fmt.Fprintln(w)
	writeTable(w, rows)
	fmt.Fprintln(w)
	writeNotes(w, rows)
	fmt.Fprint(w, methodText)
}

// cmdReport reads a results file and writes the table to stdout and, with
// --out, the whole document to a file.
func cmdReport(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("report", flag.ContinueOnError)
	results := fs.String("results", "", "results `file` of JSON lines written by the other subcommands (required)")
	out := fs.String("out", "", "write the whole Markdown document (table, notes, method) to this `file`")
	reproduce := fs.String("reproduce", "scripts/bench.sh", "the `command` named as the document's origin")
	check := fs.String("check", "", "instead of the document, compare the rows of --results with those of this earlier results `file`: "+
		"a row is reproduced when its median lies within the earlier row's min–max (exit status 1 if one is not)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *results == "" {
		return errors.New("--results is required")
	}
	rows, err := readRows(*results)
	if err != nil {
		return err
	}
	if *check != "" {
		return checkAgainst(stdout, *check, rows)
	}
	var doc strings.Builder
	writeDocument(&doc, rows, *reproduce, time.Now())
	if _, err := io.WriteString(stdout, doc.String()); err != nil {
		return err
	}
	if *out != "" {
		if err := os.WriteFile(*out, []byte(doc.String()), 0o644); err != nil {
			return err
		}
	}
	return nil
}
