package store

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/gossipchain/gossipchain/chain"
)

// The admission kill test: a child process (this test binary running
// TestKillAdmitChildHelper) admits transactions from many goroutines at
// once, one by one and in batches, while it mines, and reports each
// transaction whose call acknowledged it; the parent kills it with SIGKILL
// at a random moment, reopens the store and looks for every one of them,
// pending or in a block.

const killAdmitChildEnv = "GOSSIPCHAIN_KILL_ADMIT_CHILD" // set in the child: the store path

// TestKillAdmitChildHelper is the child's body; it does nothing in a
// normal run.
func TestKillAdmitChildHelper(t *testing.T) {
	path := os.Getenv(killAdmitChildEnv)
	if path == "" {
		t.Skip("only runs as the child of TestKillAdmission")
	}
	c, m := openKillChild(t, path)
	var mu sync.Mutex
	out := bufio.NewWriter(os.Stdout)
	report := func(ids ...chain.Hash) {
		mu.Lock()
		defer mu.Unlock()
		for _, id := range ids {
			fmt.Fprintf(out, "pending %s\n", id)
			out.Flush() // one write per line
		}
	}
	started := make(chan struct{})
	var once sync.Once
	for w := range 16 {
		go func() {
			for i := 0; ; i++ {
				once.Do(func() { close(started) })
				if w%2 == 0 {
					tx, _ := chain.NewTransaction(fmt.Sprintf("single-%d", w), "payee", uint64(i+1))
					if c.AddTransaction(tx) == nil {
						report(tx.ID)
					}
					continue
				}
				txs := make([]chain.Transaction, 50)
				for j := range txs {
					txs[j], _ = chain.NewTransaction(fmt.Sprintf("batch-%d", w), "payee", uint64(j+1))
				}
				var ok []chain.Hash
				for j, err := range c.AddTransactions(txs, "") {
					if err == nil {
						ok = append(ok, txs[j].ID)
					}
				}
				report(ok...)
			}
		}()
	}
	<-started
	mu.Lock()
	fmt.Fprintln(out, "started")
	out.Flush()
	mu.Unlock()
	mineUntilKilled(m, func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(out, format+"\n", args...)
		out.Flush()
	})
}

// mineUntilKilled mines blocks of the pool while admissions go on, until
// the child is killed; an error is said and ends the child.
func mineUntilKilled(m *testMiner, say func(format string, args ...any)) {
	for {
		if _, _, err := m.MineBlock(context.Background()); err != nil {
			say("error %v", err)
			os.Exit(4)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// killPoolRounds runs the child test child killIterations times, its store
// path in the environment variable env, kills it with SIGKILL at a random
// moment from minDelay after its first line, reopens its store with p and
// calls check with its output, the reopened store and what the store holds
// (each pending or main-chain transaction once, held calls fn for each);
// check returns how many acknowledgements it checked. The test fails when
// no round checked any.
func killPoolRounds(t *testing.T, child, env string, p chain.Params, minDelay time.Duration,
	check func(round int, lines []string, c *Chain, held func(fn func(tx *chain.Transaction, inChain bool))) int) {
	exe, err := os.Executable()
	if err != nil {
		exe = os.Args[0]
	}
	r := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 11))
	total := 0
	for round := range killIterations(t) {
		path := filepath.Join(t.TempDir(), "chain.db")
		lines := runUntilKilled(t, exe, child, []string{env + "=" + path},
			true, minDelay+time.Duration(r.IntN(300_000))*time.Microsecond)
		c, err := Open(Config{Params: p, Path: path, Logger: quietLogger()})
		if err != nil {
			t.Fatalf("round %d: reopen after SIGKILL: %v", round, err)
		}
		held := func(fn func(tx *chain.Transaction, inChain bool)) {
			for _, tx := range c.Pending(0) {
				fn(&tx, false)
			}
			if err := c.MainChain(1, 0, func(b *chain.Block) error {
				for i := range b.Transactions {
					fn(&b.Transactions[i], true)
				}
				return nil
			}); err != nil {
				t.Fatalf("round %d: read the main chain: %v", round, err)
			}
		}
		total += check(round, lines, c, held)
		c.Close()
		if t.Failed() {
			return
		}
	}
	if total == 0 {
		t.Error("the child never acknowledged a transaction")
	}
}

// TestKillAdmission: every transaction acknowledged by AddTransaction or
// AddTransactions under concurrent load survives SIGKILL.
func TestKillAdmission(t *testing.T) {
	if os.Getenv(killAdmitChildEnv) != "" {
		t.Skip("in the child")
	}
	killPoolRounds(t, "TestKillAdmitChildHelper", killAdmitChildEnv, killParams(t), 50*time.Millisecond,
		func(round int, lines []string, c *Chain, heldTxs func(func(*chain.Transaction, bool))) int {
			stored, pending := map[chain.Hash]uint64{}, map[chain.Hash]bool{}
			parseKillReport(t, round, lines, stored, pending)
			// Every transaction held, each id computed once: looking each
			// acknowledged one up would hash half its block every time.
			held := make(map[chain.Hash]bool)
			heldTxs(func(tx *chain.Transaction, _ bool) { held[tx.ID] = true })
			lost := 0
			for id := range pending {
				if !held[id] {
					if lost++; lost <= 5 {
						t.Errorf("round %d: transaction %s acknowledged, then lost", round, id)
					}
				}
			}
			if lost > 0 {
				t.Errorf("round %d: %d of %d acknowledged transactions lost", round, lost, len(pending))
			}
			t.Logf("round %d: %d transactions acknowledged, %d pending and height %d after reopening",
				round, len(pending), c.PendingCount(), c.Head().Height)
			return len(pending)
		})
}
