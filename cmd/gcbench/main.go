// Command gcbench measures gossipchain: proof-of-work mining, validation and
// storage, sync between node processes, gossip propagation across many node
// processes against a floor of bare libp2p pubsub hosts, the HTTP API under
// load, and a node's footprint. scripts/bench.sh runs every subcommand and
// writes the table to BENCHMARKS.md.
//
// Usage:
//
//	gcbench <subcommand> [flags]
//
// Subcommands that measure (each appends its rows to --results, or prints
// them as a table without it):
//
//	gotest     turn `go test -bench` output (BenchmarkMine, BenchmarkSearchRatio) into rows
//	store      validate and store a long chain with chain.AddBlocks (item 2)
//	sync       a fresh node process catching up from another (item 3)
//	propagate  gossip delays across node processes and the bare-pubsub floor (item 4)
//	http       HTTP API throughput and latency under load (item 5)
//	footprint  memory, goroutines and open files of a node (item 6)
//	retarget   mining processes on a 1 s target whose hash rate changes halfway (item 7)
//	discovery  a fresh node reaching its peer target; reconvergence after the hub dies (item 8)
//	ledger     pool admission of signed transactions over HTTP (item 9)
//	traffic    bytes received per node per block, by protocol (item 12)
//	calm       three miners on the default network's parameters for 10 minutes (item 13)
//	light      a light node's disk and memory against a full node's, same chain (item 15)
//	lightprop  block mined to light nodes' headers against full nodes', across processes (item 15)
//	holepunch  nodes behind two NATs on a simulated internet: share and time of direct connections (item 10; root)
//	report     write the Markdown table (and BENCHMARKS.md) from a results file
//
// gcbench starts node processes from a gossipchain binary (--gossipchain, or
// one it builds), all on 127.0.0.1 with mDNS off, and stops every process it
// started before it exits, also on SIGINT or SIGTERM. holepunch runs its nodes
// in network namespaces instead (e2e/netsim), with mDNS on.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// benchmark is a measuring subcommand: its item of the benchmark list, and
// the function that runs it.
type benchmark struct {
	item  int
	title string
	run   func(ctx context.Context, e *env, args []string) error
}

var benchmarks = map[string]benchmark{
	"store":     {2, "Validation and storage", runStore},
	"sync":      {3, "Sync", runSync},
	"propagate": {4, "Propagation", runPropagate},
	"http":      {5, "HTTP", runHTTP},
	"footprint": {6, "Footprint", runFootprint},
	"retarget":  {7, "Retargeting", runRetarget},
	"discovery": {8, "Discovery", runDiscovery},
	"ledger":    {9, "Signed ledger", runLedger},
	"holepunch": {10, "NAT traversal", runHolepunch},
	"traffic":   {12, "Traffic", runTraffic},
	"calm":      {13, "Calm start", runCalm},
	"light":     {15, "Light node", runLight},
	"lightprop": {15, "Light node", runLightProp},
}

const usage = `gcbench measures gossipchain. Usage:

  gcbench gotest    --in FILE --cmd COMMAND [--results FILE]
  gcbench store     [--blocks 10000,100000] [--runs 3] [common flags]
  gcbench sync      [--blocks 10000,50000] [--runs 3] [common flags]
  gcbench propagate [--nodes 10,25] [--blocks 100] [--txs 100] [--runs 3] [common flags]
  gcbench http      [--workers 8] [--duration 5s] [--tx-only] [--batch 1000] [--profile DIR] [common flags]
  gcbench footprint [--blocks 100000] [common flags]
  gcbench retarget  [--nodes 5] [--duration 5m] [--target 1s] [--half-life 10s] [--step 10] [common flags]
  gcbench discovery [--nodes 25] [common flags]
  gcbench ledger    [--workers 8,64] [--duration 3s] [--txs 48000] [common flags]
  gcbench traffic   [--nodes 12] [--blocks 20] [--runs 3] [--flags "--target-peers 8"] [common flags]
  gcbench calm      [--runs 3] [--duration 10m] [--window 5m] [--threads 0] [common flags]
  gcbench light     [--blocks 1000000] [--runs 3] [--settle 5s] [common flags]
  gcbench lightprop [--full 7] [--light 3] [--blocks 50] [--runs 3] [common flags]
  gcbench holepunch [--attempts 20] [--parallel 4] [--nat masquerade,random-fully] [--timeout 60s] [common flags]
  gcbench report    --results FILE [--out BENCHMARKS.md]

Common flags:
  --results FILE      append rows as JSON lines (default: print a table)
  --workdir DIR       data directories and logs (default: a new temporary directory)
  --keep              keep the work directory
  --gossipchain PATH  node binary (default: build ./cmd/gossipchain into the work directory)

Run "gcbench <subcommand> -h" for every flag. scripts/bench.sh runs them all.
`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	sub, args := os.Args[1], os.Args[2:]

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	var err error
	switch sub {
	case "-h", "--help", "help":
		fmt.Fprint(os.Stdout, usage)
		return
	case "report":
		err = cmdReport(args, os.Stdout)
	case "gotest":
		err = cmdGoTest(args, os.Stdout)
	case "pubsub-host":
		err = cmdPubsubHost(ctx, args, os.Stdin, os.Stdout)
	case "static-server":
		err = cmdStaticServer(ctx, args, os.Stdout)
	default:
		b, ok := benchmarks[sub]
		if !ok {
			fmt.Fprintf(os.Stderr, "gcbench: unknown subcommand %q\n\n%s", sub, usage)
			os.Exit(2)
		}
		err = runBenchmark(ctx, sub, b, args)
	}
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "gcbench %s: %v\n", sub, err)
		os.Exit(1)
	}
}

// commonFlags are the flags every measuring subcommand takes; they are left
// out of the command recorded in the rows.
var commonFlags = map[string]bool{"results": true, "workdir": true, "keep": true, "gossipchain": true}

// env is what a measuring subcommand works with.
type env struct {
	workDir string
	nodeBin string // built on first use when empty
	procs   *procSet
	sink    *rowSink
	command string // the command line recorded in the rows
	log     io.Writer
}

// logf reports progress on stderr.
func (e *env) logf(format string, args ...any) {
	fmt.Fprintf(e.log, "%s  "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
}

// runBenchmark parses the common flags, prepares the work directory, runs
// b and writes its rows. On failure it records a failed row too. Every
// process started is stopped before it returns.
func runBenchmark(ctx context.Context, sub string, b benchmark, args []string) (err error) {
	fs := flag.NewFlagSet(sub, flag.ContinueOnError)
	results := fs.String("results", "", "append rows as JSON lines to this `file` (default: print a table)")
	workDir := fs.String("workdir", "", "`directory` for data directories and logs (default: a new temporary directory)")
	keep := fs.Bool("keep", false, "keep the work directory")
	nodeBin := fs.String("gossipchain", "", "gossipchain node `binary` (default: build ./cmd/gossipchain)")
	// The benchmark's own flags are parsed by b.run from what is left.
	common, rest := splitCommonArgs(args)
	if err := fs.Parse(common); err != nil {
		return err
	}

	e := &env{
		nodeBin: *nodeBin,
		procs:   newProcSet(),
		sink:    &rowSink{path: *results},
		command: "go run ./cmd/gcbench " + strings.Join(append([]string{sub}, rest...), " "),
		log:     os.Stderr,
	}
	if *workDir == "" {
		dir, err := os.MkdirTemp("", "gcbench-")
		if err != nil {
			return err
		}
		e.workDir = dir
	} else {
		e.workDir = filepath.Join(*workDir, sub)
		if err := os.MkdirAll(e.workDir, 0o755); err != nil {
			return err
		}
	}
	defer func() {
		e.procs.stopAll()
		if *keep || err != nil {
			e.logf("work directory kept: %s", e.workDir)
		} else {
			os.RemoveAll(e.workDir)
		}
	}()
	// A stuck shutdown must not leave node processes behind.
	go func() {
		<-ctx.Done()
		time.Sleep(30 * time.Second)
		e.procs.killAll()
		os.Exit(130)
	}()

	load := loadAverage()
	err = b.run(ctx, e, rest)
	e.sink.noteFirst("load average (1, 5, 15 min) before this step: " + load)
	if errors.Is(err, flag.ErrHelp) {
		return err
	}
	if err != nil && ctx.Err() != nil {
		err = fmt.Errorf("interrupted: %w", err)
	}
	if err != nil {
		e.sink.add(Row{
			ID: fmt.Sprintf("%dz", b.item), Item: b.title, What: "benchmark run",
			Figure: "error: " + err.Error(), Verdict: verdictFailed, Command: e.command,
		})
	}
	if ferr := e.sink.flush(os.Stdout); ferr != nil && err == nil {
		err = ferr
	}
	return err
}

// splitCommonArgs separates the common flags (and their values) from the
// benchmark's own arguments.
func splitCommonArgs(args []string) (common, rest []string) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		name := strings.TrimLeft(a, "-")
		name, _, hasValue := strings.Cut(name, "=")
		if !strings.HasPrefix(a, "-") || !commonFlags[name] {
			rest = append(rest, a)
			continue
		}
		common = append(common, a)
		if !hasValue && name != "keep" && i+1 < len(args) {
			i++
			common = append(common, args[i])
		}
	}
	return common, rest
}

// gossipchain returns the node binary, building it on first use.
func (e *env) gossipchain(ctx context.Context) (string, error) {
	if e.nodeBin != "" {
		return e.nodeBin, nil
	}
	bin := filepath.Join(e.workDir, "gossipchain")
	e.logf("building %s", bin)
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/gossipchain/gossipchain/cmd/gossipchain")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("build gossipchain: %w", err)
	}
	e.nodeBin = bin
	return bin, nil
}

// self returns the path of this gcbench binary, for child processes.
func self() (string, error) {
	return os.Executable()
}

// sleepCtx sleeps for d or until ctx is done.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// errNotWithin is waitFor's error when the condition did not hold in time.
var errNotWithin = errors.New("not within the time allowed")

// waitFor calls cond every interval until it holds, fails, ctx ends or
// timeout passes (errNotWithin).
func waitFor(ctx context.Context, interval, timeout time.Duration, cond func() (bool, error)) error {
	deadline := time.Now().Add(timeout)
	for {
		ok, err := cond()
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%w (%s)", errNotWithin, timeout)
		}
		if err := sleepCtx(ctx, interval); err != nil {
			return err
		}
	}
}

// loadAverage returns the system's load averages from /proc/loadavg, to
// tell a busy machine from a quiet one.
func loadAverage() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(data))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], ", ")
}
