package headerchain_test

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gossipchain/gossipchain/chain"
	"github.com/gossipchain/gossipchain/chain/chaintest"
	"github.com/gossipchain/gossipchain/chain/headerchain"
)

// The kill test: a child process (this test binary running
// TestKillChildHelper) adds a chain's headers in commits of 2,000 to
// 16,000, as the header syncer does while catching up, and prints the
// height of each commit once Add has returned; the parent kills it with
// SIGKILL after a random number of them and reopens the file. The header
// chain must open, hold at least every acknowledged header on its main
// chain, linked from the genesis, and take the rest: a crash costs only
// the headers of the commit under way, which a light node fetches again.

const (
	killChildEnv   = "GOSSIPCHAIN_HEADERCHAIN_KILL_CHILD" // set in the child: "HEADERS_FILE DB_FILE"
	killHeaders    = 60_000
	killDifficulty = 2
	killRounds     = 3
)

// TestKillChildHelper is the child's body; it does nothing in a normal
// run.
func TestKillChildHelper(t *testing.T) {
	paths := strings.Fields(os.Getenv(killChildEnv))
	if len(paths) != 2 {
		t.Skip("only runs as the child of TestKillMidSync")
	}
	raw, err := os.ReadFile(paths[0])
	if err != nil {
		t.Fatal(err)
	}
	headers := make([]chain.Block, len(raw)/chain.HeaderSize)
	for i := range headers {
		if headers[i], err = chain.DecodeHeader(raw[i*chain.HeaderSize : (i+1)*chain.HeaderSize]); err != nil {
			t.Fatal(err)
		}
	}
	cfg := config(t, chaintest.ParamsAt(t, killDifficulty))
	cfg.Path = paths[1]
	c := open(t, cfg)
	out := bufio.NewWriter(os.Stdout)
	r := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	for i := 0; i < len(headers); {
		n := min(2000*(1+r.IntN(8)), len(headers)-i)
		res, err := c.Add(headers[i : i+n])
		if err != nil {
			fmt.Fprintf(out, "error %v\n", err)
			out.Flush()
			os.Exit(4)
		}
		fmt.Fprintf(out, "added %d\n", res.Head.Height)
		out.Flush()
		i += n
	}
	fmt.Fprintln(out, "done")
	out.Flush()
	time.Sleep(time.Minute) // killed before
}

func TestKillMidSync(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a chain of 60,000 headers and runs child processes")
	}
	p := chaintest.ParamsAt(t, killDifficulty)
	run := chaintest.Run{Miner: chaintest.Pay("m"), Spacing: chaintest.Millisecond}
	blocks, err := run.Build(&p, p.Genesis(), killHeaders)
	if err != nil {
		t.Fatal(err)
	}
	headers := headersOf(t, blocks...)
	raw := make([]byte, 0, len(blocks)*chain.HeaderSize)
	for _, b := range blocks {
		h := b.Header()
		raw = append(raw, h[:]...)
	}
	headersFile := filepath.Join(t.TempDir(), "headers.bin")
	if err := os.WriteFile(headersFile, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 13))
	for round := range killRounds {
		cfg := config(t, p)
		acked := runChildUntil(t, exe, killChildEnv+"="+headersFile+" "+cfg.Path, 1+r.IntN(3))
		c, err := headerchain.Open(cfg)
		if err != nil {
			t.Fatalf("round %d: reopen after SIGKILL: %v", round, err)
		}
		head := c.Head()
		if head.Height < acked {
			t.Errorf("round %d: head at height %d after SIGKILL, below the acknowledged %d", round, head.Height, acked)
		}
		for h := uint64(2); h <= head.Height; h++ {
			got, err := c.HeaderAt(h)
			if err != nil || got.Hash != headers[h-2].Hash {
				t.Fatalf("round %d: main chain at height %d: %s, %v; want %s", round, h, got.Hash, err, headers[h-2].Hash)
			}
		}
		res, err := c.Add(headers[head.Height-1:])
		if err != nil || res.Head.Hash != blocks[len(blocks)-1].Hash {
			t.Fatalf("round %d: adding the rest after SIGKILL: head %s, %v; want %s", round, res.Head.Hash, err, blocks[len(blocks)-1].Hash)
		}
		t.Logf("round %d: killed after height %d was acknowledged; reopened at height %d", round, acked, head.Height)
		c.Close()
	}
}

// runChildUntil runs TestKillChildHelper with env, kills it with SIGKILL
// once it has acknowledged acks commits (at least 4 make the chain), a
// random few hundred microseconds later, and returns the last height it acknowledged.
func runChildUntil(t *testing.T, exe, env string, acks int) uint64 {
	t.Helper()
	cmd := exec.Command(exe, "-test.run=^TestKillChildHelper$", "-test.count=1")
	// The child is killed before it can remove its temporary directory:
	// it makes it inside this test's, which is removed.
	cmd.Env = append(os.Environ(), env, "TMPDIR="+t.TempDir())
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	defer cmd.Process.Kill() // SIGKILL
	sc := bufio.NewScanner(stdout)
	var acked uint64
	seen := 0
	timeout := time.AfterFunc(2*time.Minute, func() { cmd.Process.Kill() })
	defer timeout.Stop()
	for sc.Scan() {
		line := sc.Text()
		if line == "done" { // every commit finished before the kill
			break
		}
		h, ok := strings.CutPrefix(line, "added ")
		if !ok {
			t.Fatalf("child: %s", line)
		}
		if acked, err = strconv.ParseUint(h, 10, 64); err != nil {
			t.Fatalf("child: %s", line)
		}
		if seen++; seen == acks {
			time.Sleep(time.Duration(rand.IntN(500)) * time.Microsecond)
			cmd.Process.Kill()
			// The lines written before the kill are acknowledged too.
		}
	}
	if seen < acks {
		t.Fatalf("child ended after %d commits, before the %d-th", seen, acks)
	}
	return acked
}
