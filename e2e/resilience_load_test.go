package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gossipchain/gossipchain/api/client"
	"github.com/gossipchain/gossipchain/chain"
)

// poolMaxCount is the pending pool's default bound (store.Config.PoolMaxCount),
// which the node runs with.
const poolMaxCount = 50_000

// TestResilienceLoad floods three nodes with transactions through POST
// /transactions/new from several concurrent clients (bounded in count and
// time) while one of them mines. The pending pools must stay within their
// bound, memory bounded, and the HTTP API answering; once the flood stops and
// the nodes mine until every pool is empty, every transaction that was
// accepted (201) must be in the chain every node holds.
func TestResilienceLoad(t *testing.T) {
	maxTxs := scale(10_000, 200_000)
	duration := scale(5*time.Second, 90*time.Second)
	workers := scale(32, 64)
	nodes := startLine(t, 3, quietOpts(nodeOptions{network: "load", difficulty: 8}))

	reportProblems(t, nodes...)
	waitFor(t, "the line of nodes connected", waitTimeout, func() error {
		for i, n := range nodes {
			peers, err := n.peerSet()
			if err == nil && len(peers) < min(i+1, 2, len(nodes)-i) {
				err = fmt.Errorf("node %d has %d peers", i, len(peers))
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
	// Gossip is best effort: a transaction published before the topic's
	// mesh formed may miss a node for good (there is no transaction sync),
	// so the flood starts once one has reached every pool.
	probes := 0
	waitFor(t, "a transaction reaches every pool", waitTimeout, func() error {
		probes++
		probe, code, err := nodes[0].postTx("probe", fmt.Sprint("everyone-", probes), 1)
		if err != nil || code != http.StatusCreated {
			return fmt.Errorf("POST /transactions/new: %d %v", code, err)
		}
		deadline := time.Now().Add(3 * time.Second)
		for {
			missing := -1
			for i, n := range nodes {
				if st, err := n.txStatus(probe); err != nil || st != "pending" {
					missing = i
				}
			}
			if missing < 0 {
				return nil
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("probe %d missing on node %d after 3s", probes, missing)
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
	if probes > 1 {
		t.Logf("%d probe transactions before one reached every pool", probes)
	}
	nodes[0].mine()
	sameHead(t, nodes, 2)
	tried(t, "a flood of up to %d transactions in %s from %d clients across %d nodes, one node mining throughout", maxTxs, duration, workers, len(nodes))

	// Watch pools, memory and latency throughout.
	var (
		statMu     sync.Mutex
		maxPending [3]int
		maxRSS     [3]int
	)
	watch := startProber(nodes, 200*time.Millisecond, func(i int, s client.Status) {
		p, _ := readProcStats(nodes[i].Pid())
		statMu.Lock()
		maxPending[i] = max(maxPending[i], s.Pending)
		maxRSS[i] = max(maxRSS[i], p.RSSKB)
		statMu.Unlock()
	})
	defer watch.finish()

	// One miner during the flood, so that no fork can return transactions to
	// a full pool (which may drop them, as documented). In the long form it
	// pauses between blocks, so that the pools fill up to their bound.
	pause := scale(250*time.Millisecond, 3*time.Second)
	stopMiner := make(chan struct{})
	minerDone := make(chan struct{})
	var minedDuring atomic.Int64
	var minerErr atomic.Value
	go func() {
		defer close(minerDone)
		for {
			select {
			case <-stopMiner:
				return
			default:
			}
			select {
			case <-stopMiner:
				return
			case <-time.After(pause):
			}
			if code, err := nodes[0].do(http.MethodGet, "/mine", "", nil); err != nil || code != http.StatusOK {
				minerErr.Store(fmt.Sprintf("GET /mine: %d %v", code, err))
				return
			}
			minedDuring.Add(1)
		}
	}()

	// The flood.
	hc := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: workers, MaxConnsPerHost: workers}}
	apis := make([]*client.Client, len(nodes))
	for i, n := range nodes {
		apis[i] = client.New(n.url, hc)
	}
	var (
		next     atomic.Int64
		mu       sync.Mutex
		accepted []chain.Hash
		codes    = map[int]int{}
		failures []string
	)
	deadline := time.Now().Add(duration)
	start := time.Now()
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				k := next.Add(1)
				if k > int64(maxTxs) {
					return
				}
				api := apis[(int(k)+w)%len(nodes)]
				body := fmt.Sprintf(`{"sender": "load-%d", "recipient": "shop-%d", "amount": %d}`, k, w, 1+k%1000)
				code, data, err := api.Raw(context.Background(), http.MethodPost, "/transactions/new", body)
				if err != nil {
					mu.Lock()
					failures = append(failures, err.Error())
					mu.Unlock()
					continue
				}
				mu.Lock()
				codes[code]++
				if code == http.StatusCreated {
					var r client.TxAccepted
					if json.Unmarshal(data, &r) == nil && !r.ID.IsZero() {
						accepted = append(accepted, r.ID)
					} else {
						failures = append(failures, "201 without an id: "+string(data))
					}
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	close(stopMiner)
	<-minerDone
	if v := minerErr.Load(); v != nil {
		t.Fatalf("mining during the flood: %v", v)
	}
	sent := 0
	for _, c := range codes {
		sent += c
	}
	t.Logf("flood: %d requests in %s (%.0f/s): codes %v, %d transport failures; %d blocks mined meanwhile",
		sent, elapsed.Round(time.Millisecond), float64(sent)/elapsed.Seconds(), codes, len(failures), minedDuring.Load())
	if len(failures) > 0 {
		t.Fatalf("%d requests failed, first: %s", len(failures), failures[0])
	}
	for c, k := range codes {
		if c != http.StatusCreated && c != http.StatusServiceUnavailable {
			t.Errorf("%d answers with status %d (want only 201, or 503 for a full pool)", k, c)
		}
	}

	// Mine until every pool is empty, one block at a time, on whichever
	// node has the most pending.
	drained := 0
	for round := 0; ; round++ {
		if round > len(accepted)/1000+50 {
			t.Fatalf("pools not empty after %d blocks", round)
		}
		most, at := 0, 0
		for i, n := range nodes {
			if p := n.mustStatus().Pending; p > most {
				most, at = p, i
			}
		}
		if most == 0 {
			break
		}
		nodes[at].mine()
		drained++
		sameHead(t, nodes, 1)
	}
	requests, failed, slowest := watch.finish()
	head := sameHead(t, nodes, 1)

	// Every accepted transaction is in the chain, which every node holds.
	blocks := nodes[0].mustValidChain()
	inChain := map[chain.Hash]bool{}
	for _, b := range blocks {
		for _, tx := range b.Transactions {
			inChain[tx.ID] = true
		}
	}
	missing := 0
	for _, id := range accepted {
		if !inChain[id] {
			if missing < 5 {
				t.Errorf("accepted transaction %s is not in the chain", id)
			}
			missing++
		}
	}
	for i, n := range nodes[1:] {
		for k := 0; k < len(accepted); k += max(1, len(accepted)/50) {
			if st, err := n.txStatus(accepted[k]); err != nil || st != "confirmed" {
				t.Errorf("node %d: transaction %s is %q (%v), want confirmed", i+1, accepted[k], st, err)
			}
		}
	}
	if missing > 0 {
		t.Fatalf("%d of %d accepted transactions missing from the chain", missing, len(accepted))
	}

	statMu.Lock()
	defer statMu.Unlock()
	if len(failed) > 0 {
		t.Errorf("GET /status failed %d times under load, first: %s", len(failed), failed[0])
	}
	if slowest > 10*time.Second {
		t.Errorf("GET /status took %s under load", slowest)
	}
	for i := range nodes {
		if maxPending[i] > poolMaxCount {
			t.Errorf("node %d held %d pending transactions, over the bound of %d", i, maxPending[i], poolMaxCount)
		}
		if maxRSS[i] > 1<<20 {
			t.Errorf("node %d reached %d MiB resident", i, maxRSS[i]>>10)
		}
	}
	held(t, "%d transactions offered in %s (%.0f/s), %d accepted, %d refused with 503 (pool full); pools peaked at %v (bound %d); resident memory peaked at %v MiB; %d GET /status all answered, slowest %s; after %d more blocks every pool was empty and all %d accepted transactions were in the chain of all %d nodes (head %s)",
		sent, elapsed.Round(time.Millisecond), float64(sent)/elapsed.Seconds(), codes[http.StatusCreated], codes[http.StatusServiceUnavailable],
		maxPending, poolMaxCount, [3]int{maxRSS[0] >> 10, maxRSS[1] >> 10, maxRSS[2] >> 10}, requests, slowest.Round(time.Millisecond),
		drained, len(accepted), len(nodes), head)
}
