package store

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/gossipchain/gossipchain/chain"
	"github.com/gossipchain/gossipchain/chain/chaintest"
)

// The kill test: a child process (this test binary running
// TestKillChildHelper) writes blocks and pending transactions to a store
// and reports each one that its call acknowledged; the parent kills it with
// SIGKILL at a random moment, reopens the store (Open checks the whole main
// chain) and looks for everything the child reported.

const (
	killChildEnv      = "GOSSIPCHAIN_KILL_CHILD"      // set in the child: the store path
	killAppendEnv     = "GOSSIPCHAIN_KILL_APPEND"     // set in the child of TestKillSegmentAppend
	killMineEnv       = "GOSSIPCHAIN_KILL_MINE"       // set in the child of TestKillBeforeCommit
	killIterationsEnv = "GOSSIPCHAIN_KILL_ITERATIONS" // override of the number of kills
	killDefaultRounds = 20
)

func killParams(t testing.TB) chain.Params {
	p, err := chain.NewParams("killnet", 4)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// openKillChild opens a kill test child's store at path and its miner, or
// reports why it cannot on its output and exits.
func openKillChild(t *testing.T, path string) (*Chain, *testMiner) {
	c, err := Open(Config{Params: killParams(t), Path: path, Logger: quietLogger()})
	if err != nil {
		fmt.Printf("open-error %v\n", err)
		os.Exit(3)
	}
	m, err := newMiner(c, "killer")
	if err != nil {
		os.Exit(3)
	}
	return c, m
}

// TestKillChildHelper is the child's body; it does nothing in a normal run.
func TestKillChildHelper(t *testing.T) {
	path := os.Getenv(killChildEnv)
	if path == "" {
		t.Skip("only runs as the child of TestKillWriter")
	}
	c, m := openKillChild(t, path)
	p := c.Params()
	out := bufio.NewWriter(os.Stdout)
	report := func(format string, args ...any) {
		fmt.Fprintf(out, format+"\n", args...)
		out.Flush() // one write per line
	}
	r := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), uint64(os.Getpid())))
	if os.Getenv(killAppendEnv) != "" {
		appendLoop(t, c, r, report)
	}
	if os.Getenv(killMineEnv) != "" {
		mineLoop(c, m, r, report)
	}
	for i := 0; ; i++ {
		// A pending transaction.
		tx, _ := chain.NewTransaction(fmt.Sprintf("payer-%d", r.IntN(100)), "payee", uint64(r.IntN(1000)+1))
		if err := c.AddTransaction(tx); err == nil {
			report("pending %s", tx.ID)
		}
		switch i % 4 {
		case 0, 1: // the miner
			b, _, err := m.MineBlock(context.Background())
			if err != nil {
				report("error %v", err)
				os.Exit(4)
			}
			report("stored %d %s", b.Index, b.Hash)
		case 2: // a batch on the head
			head, _ := c.BlockByHash(c.Head().Hash)
			batch := chaintest.Branch(t, &p, head, 3, "batcher")
			if _, n, err := c.AddBlocks(batch); err == nil {
				for _, b := range batch[:n] {
					report("stored %d %s", b.Index, b.Hash)
				}
			}
		case 3: // a competing branch from two blocks down, which wins
			h := c.Head().Height
			if h < 3 {
				continue
			}
			base, _ := c.BlockByHeight(h - 2)
			branch := chaintest.Branch(t, &p, base, 3, fmt.Sprintf("rival-%d", i))
			// Take some pending transactions into the rival branch.
			branch[0] = chaintest.NextBlock(t, &p, base, fmt.Sprintf("rival-%d", i), c.Pending(2)...)
			for j := 1; j < len(branch); j++ {
				branch[j] = chaintest.NextBlock(t, &p, branch[j-1], fmt.Sprintf("rival-%d", i))
			}
			for _, b := range branch {
				if _, err := c.AddBlock(b); err == nil {
					report("stored %d %s", b.Index, b.Hash)
				}
			}
		}
	}
}

// appendLoop is the child of TestKillSegmentAppend: it adds batches of
// large blocks (about 2 MiB a batch, written out in pieces of
// segBufferMax), so that most of its time goes into appending records to
// a segment, and reports each block AddBlocks acknowledged.
func appendLoop(t *testing.T, c *Chain, r *rand.Rand, report func(string, ...any)) {
	p := c.Params()
	parent, err := c.BlockByHash(c.Head().Hash)
	if err != nil {
		report("error %v", err)
		os.Exit(4)
	}
	run := chaintest.Run{
		Miner: chaintest.Pay("appender"),
		Txs: func(int) []chain.Transaction {
			txs := make([]chain.Transaction, 400)
			for j := range txs {
				txs[j] = chaintest.Tx(fmt.Sprintf("a%x", r.Uint64()), "payee", 1, 0)
			}
			return txs
		},
	}
	for {
		batch := run.Blocks(t, &p, parent, 60)
		report("appending %d", len(batch)) // the parent's clock starts here
		_, n, err := c.AddBlocks(batch)
		if err != nil {
			report("error %v", err)
			os.Exit(4)
		}
		for _, b := range batch[:n] {
			report("stored %d %s", b.Index, b.Hash)
		}
		parent = batch[n-1]
	}
}

// mineLoop is the child of TestKillBeforeCommit: it submits two pending
// transactions and mines a block holding them, again and again, and
// reports each transaction and block acknowledged. A mined block is
// acknowledged once its record is fsynced; its commit comes every
// deferBlocks blocks.
func mineLoop(c *Chain, m *testMiner, r *rand.Rand, report func(string, ...any)) {
	for {
		for range 2 {
			tx, _ := chain.NewTransaction(fmt.Sprintf("payer-%d", r.IntN(100)), "payee", uint64(r.IntN(1000)+1))
			if err := c.AddTransaction(tx); err == nil {
				report("pending %s", tx.ID)
			}
		}
		b, _, err := m.MineBlock(context.Background())
		if err != nil {
			report("error %v", err)
			os.Exit(4)
		}
		report("stored %d %s", b.Index, b.Hash)
	}
}

func killIterations(t *testing.T) int {
	if s := os.Getenv(killIterationsEnv); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			t.Fatalf("%s=%q: want a positive number", killIterationsEnv, s)
		}
		return n
	}
	return killDefaultRounds
}

func TestKillWriter(t *testing.T) {
	killRounds(t, killSetup{rounds: killIterations(t), maxDelay: 150 * time.Millisecond})
}

// TestKillSegmentAppend kills a child that appends batches of large
// blocks, mostly while it writes a segment: after each kill the store
// opens with every acknowledged block: of a segment longer than the last
// commit, a record torn by the kill is cut off, and the whole records of a
// batch whose commit the kill prevented are added again. Some kill must
// have left such a tail.
func TestKillSegmentAppend(t *testing.T) {
	// The segment's write, its fsync and the index commit take milliseconds
	// for a batch of 2 MiB, and the kill comes within a millisecond or so of
	// the write: most kills land before the commit.
	killRounds(t, killSetup{
		env:      []string{killAppendEnv + "=1"},
		rounds:   killIterations(t),
		onGrowth: true, // the moment a batch's records reach the segment, before its commit
		wantTail: true,
	})
}

// TestKillBeforeCommit kills a child that mines single blocks, each
// acknowledged once its segment record is fsynced and committed to bbolt
// only every deferBlocks blocks: after each kill the store opens with
// every acknowledged block, each of their transactions confirmed and out
// of the pool. Some kill must have come between a block's fsync and the
// commit that follows it.
func TestKillBeforeCommit(t *testing.T) {
	killRounds(t, killSetup{
		env:      []string{killMineEnv + "=1"},
		rounds:   killIterations(t),
		maxDelay: 300 * time.Millisecond,
		wantTail: true,
		afterOpen: func(round int, c *Chain, stored map[chain.Hash]uint64) {
			for h := range stored {
				b, err := c.BlockByHash(h)
				if err != nil {
					continue // reported by killRounds
				}
				for _, tx := range b.Transactions[1:] {
					if loc, err := c.FindTransaction(tx.ID); err != nil || loc.Pending || loc.Height != b.Index {
						t.Errorf("round %d: transaction %s of block %d: %+v, %v; want it confirmed there", round, tx.ID, b.Index, loc, err)
					}
				}
			}
		},
	})
}

// segmentGrowth returns a function that reports whether the store at
// path's segments have grown n times since the call, as seen by polling it.
func segmentGrowth(path string, n int) func() bool {
	size := func() (n int64) {
		entries, _ := os.ReadDir(segmentDir(path))
		for _, e := range entries {
			if info, err := e.Info(); err == nil {
				n += info.Size()
			}
		}
		return n
	}
	last, grown := size(), 0
	return func() bool {
		if now := size(); now > last {
			last, grown = now, grown+1
		}
		return grown >= n
	}
}

// segmentTail returns how many bytes the last segment of the (closed)
// store at path holds past the end its last commit recorded; 0 if there is
// no store yet.
func segmentTail(t *testing.T, path string) int64 {
	t.Helper()
	if st, err := os.Stat(path); err != nil || st.Size() == 0 {
		return 0 // killed before the store was created
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var end segPos // zero before the first commit
	if err := db.View(func(tx *bolt.Tx) error {
		if meta := tx.Bucket(bucketMeta); meta != nil {
			end, _ = parseSegPos(meta.Get(metaSegEnd))
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	s := &segments{dir: segmentDir(path)}
	var tail int64
	if st, err := os.Stat(s.path(end.seg)); err == nil {
		tail = st.Size() - int64(end.off)
	}
	if _, err := os.Stat(s.path(end.seg + 1)); err == nil {
		tail++ // a segment the last commit did not reach
	}
	return tail
}

// killSetup describes the rounds of a kill test.
type killSetup struct {
	env      []string      // added to the child's environment
	rounds   int           // kills
	maxDelay time.Duration // a kill comes mostly up to this after the child's first line
	onGrowth bool          // kill instead as soon as the last segment grows after the first line
	// wantTail: some kill must leave the segments longer than the last
	// commit (torn records, or records of blocks not yet committed).
	wantTail bool
	// afterOpen, if not nil, checks the reopened store after each kill.
	afterOpen func(round int, c *Chain, stored map[chain.Hash]uint64)
}

// killRounds runs the kill test's rounds: a child (TestKillChildHelper) is
// killed at a random moment, then the store is reopened and searched for
// everything the child reported.
func killRounds(t *testing.T, k killSetup) {
	if os.Getenv(killChildEnv) != "" {
		t.Skip("in the child")
	}
	exe, err := os.Executable()
	if err != nil {
		exe = os.Args[0]
	}
	path := filepath.Join(t.TempDir(), "chain.db")
	p := killParams(t)
	r := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 9))
	stored := map[chain.Hash]uint64{}
	pending := map[chain.Hash]bool{}
	tails := 0 // kills that left the segments longer than the last commit
	for round := range k.rounds {
		// Kill at a random moment: sometimes during start-up, mostly while
		// the child writes.
		env := append([]string{killChildEnv + "=" + path}, k.env...)
		var lines []string
		if k.onGrowth {
			// Some batches commit first, so that every round adds blocks.
			lines = runUntilKilledWhen(t, exe, "TestKillChildHelper", env, true, segmentGrowth(path, 1+r.IntN(4)))
		} else {
			lines = runUntilKilled(t, exe, "TestKillChildHelper", env, r.IntN(5) != 0, time.Duration(r.Int64N(int64(k.maxDelay))))
		}
		n := parseKillReport(t, round, lines, stored, pending)
		if segmentTail(t, path) > 0 {
			tails++
		}

		// Reopen: Open checks the main chain from the genesis.
		cfg := Config{Params: p, Path: path, Logger: quietLogger()}
		c, err := Open(cfg)
		if err != nil {
			t.Fatalf("round %d: reopen after SIGKILL: %v", round, err)
		}
		for h, height := range stored {
			b, err := c.BlockByHash(h)
			if err != nil || b.Index != height {
				t.Errorf("round %d: block %d %s reported stored is missing: %v", round, height, h, err)
			}
		}
		for id := range pending {
			if _, err := c.FindTransaction(id); err != nil {
				t.Errorf("round %d: transaction %s reported pending is lost: %v", round, id, err)
			}
		}
		// Everything the main chain holds is also consistent with the pool:
		// no pending transaction is confirmed.
		for _, tx := range c.Pending(0) {
			if loc, err := c.FindTransaction(tx.ID); err != nil || !loc.Pending {
				t.Errorf("round %d: pending transaction %s: %+v, %v", round, tx.ID, loc, err)
			}
		}
		if k.afterOpen != nil {
			k.afterOpen(round, c, stored)
		}
		head := c.Head()
		t.Logf("round %d: %d blocks reported (%d in all), head at %d, %d pending", round, n, len(stored), head.Height, c.PendingCount())
		c.Close()
		if t.Failed() {
			return
		}
	}
	if len(stored) == 0 {
		t.Error("the child never reported a block")
	}
	t.Logf("%d of %d kills left the segments longer than the last commit", tails, k.rounds)
	if k.wantTail && tails == 0 {
		t.Errorf("none of %d kills left the segments longer than the last commit", k.rounds)
	}
}

// runUntilKilled runs the test binary's test named test in a child process
// with env added to its environment, SIGKILLs it delay after it starts (after
// its first line of output if afterFirst) and returns the complete lines it
// printed.
func runUntilKilled(t *testing.T, exe, test string, env []string, afterFirst bool, delay time.Duration) []string {
	t.Helper()
	return runUntilKilledWhen(t, exe, test, env, afterFirst, func() bool {
		time.Sleep(delay)
		return true
	})
}

// runUntilKilledWhen is runUntilKilled that kills the child when due, polled
// every millisecond, reports true (or after 30 s).
func runUntilKilledWhen(t *testing.T, exe, test string, env []string, afterFirst bool, due func() bool) []string {
	t.Helper()
	cmd := exec.Command(exe, "-test.run=^"+test+"$", "-test.count=1")
	// The child is killed before it can remove its temporary directory:
	// it makes it inside this test's, which is removed.
	cmd.Env = append(append(os.Environ(), env...), "TMPDIR="+t.TempDir())
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var lines []string
	first := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		sc := bufio.NewScanner(stdout)
		once := sync.Once{}
		for sc.Scan() { // only complete lines
			lines = append(lines, sc.Text())
			once.Do(func() { close(first) })
		}
		once.Do(func() { close(first) })
	}()
	if afterFirst {
		select {
		case <-first:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			wg.Wait()
			cmd.Wait()
			t.Fatal("child printed nothing")
		}
	}
	for deadline := time.Now().Add(30 * time.Second); !due() && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	cmd.Process.Kill() // SIGKILL
	wg.Wait()
	cmd.Wait()
	return lines
}

// parseKillReport reads what a killed child reported durable: "stored
// HEIGHT HASH" lines into stored, "pending ID" lines into pending. It fails
// the test on a malformed line or an error the child printed, and returns
// the number of blocks reported.
func parseKillReport(t *testing.T, round int, lines []string, stored map[chain.Hash]uint64, pending map[chain.Hash]bool) int {
	t.Helper()
	n := 0
	for _, line := range lines {
		f := strings.Fields(line)
		switch {
		case len(f) == 3 && f[0] == "stored":
			h, err := chain.ParseHash(f[2])
			height, err2 := strconv.ParseUint(f[1], 10, 64)
			if err != nil || err2 != nil {
				t.Fatalf("bad line %q", line)
			}
			stored[h] = height
			n++
		case len(f) == 2 && f[0] == "pending":
			id, err := chain.ParseHash(f[1])
			if err != nil {
				t.Fatalf("bad line %q", line)
			}
			pending[id] = true
		case strings.HasPrefix(line, "open-error"), strings.HasPrefix(line, "error"):
			t.Fatalf("round %d: child: %s", round, line)
		}
	}
	return n
}
