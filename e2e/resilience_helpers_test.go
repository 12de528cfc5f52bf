package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gossipchain/gossipchain/api/client"
	"github.com/gossipchain/gossipchain/chain"
)

// The resilience tests (resilience_*_test.go) run in two sizes: a short one
// inside the normal suite, and a long one when GOSSIPCHAIN_RESILIENCE=full
// (scripts/resilience.sh). GOSSIPCHAIN_RESILIENCE_SEED replays the random
// choices of an earlier run.

// resilienceFull reports whether the long form was asked for.
func resilienceFull() bool { return os.Getenv("GOSSIPCHAIN_RESILIENCE") == "full" }

// scale returns short in the normal suite and full in the long form.
func scale[T any](short, full T) T {
	if resilienceFull() {
		return full
	}
	return short
}

// testRand returns a random source seeded from GOSSIPCHAIN_RESILIENCE_SEED
// or the clock; the seed is logged.
func testRand(t testing.TB) *rand.Rand {
	t.Helper()
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("GOSSIPCHAIN_RESILIENCE_SEED"); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("GOSSIPCHAIN_RESILIENCE_SEED=%q: %v", s, err)
		}
		seed = v
	}
	t.Logf("random seed %d (GOSSIPCHAIN_RESILIENCE_SEED=%d replays it)", seed, seed)
	return rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
}

// tried logs what a resilience test attempted and held what it verified;
// scripts/resilience.sh collects both into its summary.
func tried(t testing.TB, format string, args ...any) {
	t.Helper()
	t.Logf("TRIED: "+format, args...)
}

func held(t testing.TB, format string, args ...any) {
	t.Helper()
	t.Logf("HELD: "+format, args...)
}

// params returns the consensus parameters the node runs with.
func (n *node) params() chain.Params {
	n.t.Helper()
	p, err := chain.NewParams(n.opts.network, uint32(n.opts.difficulty))
	if err != nil {
		n.t.Fatal(err)
	}
	return p
}

// fetchChain returns the node's main chain from GET /chain, every block
// decoded with the strict decoder the node itself uses for POST /blocks.
// The answer is read as a stream, whatever its size.
func (n *node) fetchChain() ([]*chain.Block, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	body, err := client.New(n.url, nil).Stream(ctx, "/chain")
	if err != nil {
		return nil, err
	}
	defer body.Close()
	dec := json.NewDecoder(bufio.NewReaderSize(body, 1<<20))
	var blocks []*chain.Block
	length := -1
	expect := func(want json.Delim) error {
		tok, err := dec.Token()
		if err == nil && tok != want {
			err = fmt.Errorf("got %v, want %v", tok, want)
		}
		return err
	}
	if err := expect('{'); err != nil {
		return nil, fmt.Errorf("GET /chain: %w", err)
	}
	for dec.More() {
		key, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("GET /chain: %w", err)
		}
		switch key {
		case "chain":
			if err := expect('['); err != nil {
				return nil, fmt.Errorf("GET /chain: %w", err)
			}
			for dec.More() {
				var raw json.RawMessage
				if err := dec.Decode(&raw); err != nil {
					return nil, fmt.Errorf("GET /chain: block %d: %w", len(blocks)+1, err)
				}
				b, err := chain.DecodeBlockJSON(raw, chain.MaxTxsLimit)
				if err != nil {
					return nil, fmt.Errorf("GET /chain: block %d: %w", len(blocks)+1, err)
				}
				blocks = append(blocks, b)
			}
			if err := expect(']'); err != nil {
				return nil, fmt.Errorf("GET /chain: %w", err)
			}
		case "length":
			if err := dec.Decode(&length); err != nil {
				return nil, fmt.Errorf("GET /chain: length: %w", err)
			}
		default:
			return nil, fmt.Errorf("GET /chain: unexpected key %v", key)
		}
	}
	if err := expect('}'); err != nil {
		return nil, fmt.Errorf("GET /chain: %w", err)
	}
	if length != len(blocks) {
		return nil, fmt.Errorf("GET /chain: length %d but %d blocks", length, len(blocks))
	}
	return blocks, nil
}

// verifyChain checks a chain from the genesis on, independently of the
// node: the network's genesis first, then for every block its index, its
// link to the block before, every rule that needs no context (hash, proof of
// work, transaction root, reward, limits), a timestamp not before the median
// of the eleven blocks before it, and transaction ids never repeated.
func verifyChain(params chain.Params, blocks []*chain.Block) error {
	g := params.Genesis()
	if len(blocks) == 0 {
		return errors.New("empty chain")
	}
	if blocks[0].Hash != g.Hash || blocks[0].ComputeHash() != g.Hash {
		return fmt.Errorf("block 1 is %s, not the network's genesis %s", blocks[0].Hash, g.Hash)
	}
	seen := map[chain.Hash]bool{}
	for _, tx := range blocks[0].Transactions {
		seen[tx.ID] = true
	}
	times := []chain.Timestamp{blocks[0].Timestamp}
	now := time.Now()
	for i := 1; i < len(blocks); i++ {
		b, prev := blocks[i], blocks[i-1]
		if b.Index != prev.Index+1 {
			return fmt.Errorf("block %d has index %d after %d", i+1, b.Index, prev.Index)
		}
		if b.PreviousHash != prev.Hash {
			return fmt.Errorf("block %d: previous_hash %s, but block %d is %s", b.Index, b.PreviousHash, prev.Index, prev.Hash)
		}
		if err := params.CheckBlockSanity(b, now); err != nil {
			return fmt.Errorf("block %d (%s): %w", b.Index, b.Hash, err)
		}
		recent := slices.Clone(times[max(0, len(times)-chain.MedianTimeBlocks):])
		if m := chain.MedianTime(recent); b.Timestamp < m {
			return fmt.Errorf("block %d: timestamp %s before the median %s", b.Index, b.Timestamp, m)
		}
		for _, tx := range b.Transactions {
			if seen[tx.ID] {
				return fmt.Errorf("block %d: transaction %s seen before", b.Index, tx.ID)
			}
			seen[tx.ID] = true
		}
		times = append(times, b.Timestamp)
	}
	return nil
}

// mustValidChain fetches and verifies the node's chain.
func (n *node) mustValidChain() []*chain.Block {
	n.t.Helper()
	blocks, err := n.fetchChain()
	if err != nil {
		n.t.Fatalf("node %s: %v", n.opts.httpAddr, err)
	}
	if err := verifyChain(n.params(), blocks); err != nil {
		n.t.Fatalf("node %s serves an invalid chain: %v", n.opts.httpAddr, err)
	}
	return blocks
}

// blockCode returns the status of GET /blocks/{id}.
func (n *node) blockCode(id string) (int, error) {
	return n.getJSON("/blocks/"+id, nil)
}

// mainHashAt returns the hash of the main-chain block at index i, or zero.
func (n *node) mainHashAt(i uint64) (chain.Hash, error) {
	var b chain.Block
	code, err := n.getJSON(fmt.Sprintf("/blocks/%d", i), &b)
	if err != nil || code == http.StatusNotFound {
		return chain.Hash{}, err
	}
	if code != http.StatusOK {
		return chain.Hash{}, fmt.Errorf("GET /blocks/%d: %d", i, code)
	}
	return b.Hash, nil
}

// hasOnMain reports whether block hash is on the node's main chain at index i.
func (n *node) hasOnMain(hash chain.Hash, i uint64) (bool, error) {
	h, err := n.mainHashAt(i)
	return h == hash, err
}

// postTx posts a transaction and returns its id (on 201) and the status.
func (n *node) postTx(sender, recipient string, amount uint64) (chain.Hash, int, error) {
	var out client.TxAccepted
	body := fmt.Sprintf(`{"sender": %q, "recipient": %q, "amount": %d}`, sender, recipient, amount)
	code, err := n.do(http.MethodPost, "/transactions/new", body, &out)
	return out.ID, code, err
}

// txStatus returns "pending", "confirmed" or "" (unknown) for a transaction.
func (n *node) txStatus(id chain.Hash) (string, error) {
	var out client.TxStatus
	code, err := n.getJSON("/transactions/"+id.String(), &out)
	switch {
	case err != nil && code != http.StatusNotFound:
		return "", err
	case code == http.StatusNotFound:
		return "", nil
	case code != http.StatusOK:
		return "", fmt.Errorf("GET /transactions/%s: %d", id, code)
	}
	return out.Status, nil
}

// register connects the node to the given multiaddrs with POST /nodes/register.
func (n *node) register(addrs ...string) error {
	body, _ := json.Marshal(map[string][]string{"nodes": addrs})
	var out map[string]any
	code, err := n.do(http.MethodPost, "/nodes/register", string(body), &out)
	if err != nil {
		return err
	}
	if code != http.StatusCreated {
		return fmt.Errorf("POST /nodes/register: %d %v", code, out)
	}
	return nil
}

// peerSet returns the ids of the node's connected peers (GET /peers).
func (n *node) peerSet() (map[string]bool, error) {
	ctx, cancel := requestCtx()
	defer cancel()
	peers, err := n.Client().Peers(ctx)
	if err != nil {
		return nil, err
	}
	out := make(map[string]bool, len(peers))
	for _, p := range peers {
		out[p.ID] = true
	}
	return out, nil
}

// metrics returns the node's GET /metrics samples by series, e.g.
// `go_goroutines` or `gossipchain_sync_blocks_rejected_total{reason="bad_proof"}`.
func (n *node) metrics() (map[string]float64, error) {
	ctx, cancel := requestCtx()
	defer cancel()
	return n.Client().Metrics(ctx)
}

// metric returns one series, 0 when absent.
func (n *node) seriesValue(series string) float64 {
	n.t.Helper()
	m, err := n.metrics()
	if err != nil {
		n.t.Fatal(err)
	}
	return m[series]
}

// procStats are a process's open files, resident memory and threads.
type procStats struct {
	FDs     int
	RSSKB   int
	Threads int
}

func (p procStats) String() string {
	return fmt.Sprintf("%d fds, %.1f MiB RSS, %d threads", p.FDs, float64(p.RSSKB)/1024, p.Threads)
}

// readProcStats reads /proc/<pid>.
func readProcStats(pid int) (procStats, error) {
	var s procStats
	fds, err := os.ReadDir(filepath.Join("/proc", strconv.Itoa(pid), "fd"))
	if err != nil {
		return s, err
	}
	s.FDs = len(fds)
	data, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "status"))
	if err != nil {
		return s, err
	}
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		switch f[0] {
		case "VmRSS:":
			s.RSSKB, _ = strconv.Atoi(f[1])
		case "Threads:":
			s.Threads, _ = strconv.Atoi(f[1])
		}
	}
	return s, nil
}

// prober polls GET /status on nodes at an interval, from its own goroutine,
// recording the slowest answer and every failure.
type prober struct {
	stop chan struct{}
	done chan struct{}

	mu       sync.Mutex
	requests int
	failures []string
	slowest  time.Duration
	onStatus func(i int, s client.Status)
}

func startProber(nodes []*node, every time.Duration, onStatus func(i int, s client.Status)) *prober {
	p := &prober{stop: make(chan struct{}), done: make(chan struct{}), onStatus: onStatus}
	go func() {
		defer close(p.done)
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			select {
			case <-p.stop:
				return
			case <-tick.C:
			}
			for i, n := range nodes {
				start := time.Now()
				s, err := n.status()
				d := time.Since(start)
				p.mu.Lock()
				p.requests++
				if err != nil {
					p.failures = append(p.failures, fmt.Sprintf("node %d: %v", i, err))
				}
				p.slowest = max(p.slowest, d)
				p.mu.Unlock()
				if err == nil && p.onStatus != nil {
					p.onStatus(i, s)
				}
			}
		}
	}()
	return p
}

// finish stops the prober and returns what it saw.
func (p *prober) finish() (requests int, failures []string, slowest time.Duration) {
	select {
	case <-p.stop:
	default:
		close(p.stop)
	}
	<-p.done
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.requests, p.failures, p.slowest
}

// mineN mines k blocks on n and returns their hashes.
func (n *node) mineN(k int) []chain.Hash {
	n.t.Helper()
	var hashes []chain.Hash
	for range k {
		hashes = append(hashes, n.mine().Hash)
	}
	return hashes
}

// quietOpts returns opts with info-level logging, for tests whose nodes run
// long or busy enough that debug logs would pile up in memory.
func quietOpts(opts nodeOptions) nodeOptions {
	opts.extra = append(slices.Clone(opts.extra), "--log-level", "info")
	return opts
}

// reportProblems logs, when the test has failed, the warnings and errors
// each node logged (the harness shows only the last lines).
func reportProblems(t testing.TB, nodes ...*node) {
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		for _, n := range nodes {
			var lines []string
			for _, l := range strings.Split(n.Log(), "\n") {
				if strings.Contains(l, "level=WARN") || strings.Contains(l, "level=ERROR") {
					lines = append(lines, l)
				}
			}
			if len(lines) > 60 {
				lines = lines[len(lines)-60:]
			}
			t.Logf("warnings and errors of node %s:\n%s", n.opts.httpAddr, strings.Join(lines, "\n"))
		}
	})
}

// diagnose logs what the nodes know of each other: their status, peers and
// sync counters. For failure messages.
func diagnose(t testing.TB, nodes ...*node) {
	t.Helper()
	for _, n := range nodes {
		s, err := n.status()
		peers, perr := n.peerSet()
		m, merr := n.metrics()
		var counters []string
		for k, v := range m {
			if strings.HasPrefix(k, "gossipchain_sync_") || strings.HasPrefix(k, "gossipchain_peers") {
				counters = append(counters, fmt.Sprintf("%s=%g", strings.TrimPrefix(k, "gossipchain_"), v))
			}
		}
		slices.Sort(counters)
		t.Logf("node %s: peer %s height %d head %s (%v); peers %v (%v); %s (%v)",
			n.opts.httpAddr, s.PeerID, s.Height, s.Head, err, peers, perr, strings.Join(counters, " "), merr)
	}
}
