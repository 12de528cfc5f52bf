package api

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/gossipchain/gossipchain/api/client"
	"github.com/gossipchain/gossipchain/chain"
)

// TestConcurrentMineAndTransactions sends many GET /mine and POST
// /transactions/new at once; afterwards there is one valid chain and, after
// a final /mine, every accepted transaction is in exactly one block.
func TestConcurrentMineAndTransactions(t *testing.T) {
	n := newTestNode(t)
	const (
		miners     = 4
		minesEach  = 5
		posters    = 8
		postsEach  = 20
		readersTxs = 4
	)
	hc := n.http.Client()
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		accepted = map[chain.Hash]bool{}
		errs     []string
	)
	fail := func(format string, args ...any) {
		mu.Lock()
		errs = append(errs, fmt.Sprintf(format, args...))
		mu.Unlock()
	}
	for m := range miners {
		wg.Go(func() {
			for range minesEach {
				resp, err := hc.Get(n.url + "/mine")
				if err != nil {
					fail("miner %d: %v", m, err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					fail("miner %d: status %d", m, resp.StatusCode)
				}
			}
		})
	}
	for p := range posters {
		wg.Go(func() {
			for i := range postsEach {
				body := fmt.Sprintf(`{"sender": "poster-%d", "recipient": "r-%d", "amount": %d}`, p, i, i+1)
				resp, err := hc.Post(n.url+"/transactions/new", "application/json", strings.NewReader(body))
				if err != nil {
					fail("poster %d: %v", p, err)
					return
				}
				var out client.TxAccepted
				err = json.NewDecoder(resp.Body).Decode(&out)
				resp.Body.Close()
				if err != nil || resp.StatusCode != http.StatusCreated {
					fail("poster %d: status %d, %v", p, resp.StatusCode, err)
					continue
				}
				mu.Lock()
				accepted[out.ID] = true
				mu.Unlock()
			}
		})
	}
	for range readersTxs {
		wg.Go(func() {
			for range 10 {
				for _, path := range []string{"/chain", "/status", "/transactions/pending", "/metrics"} {
					resp, err := hc.Get(n.url + path)
					if err != nil {
						fail("GET %s: %v", path, err)
						return
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != http.StatusOK {
						fail("GET %s: status %d", path, resp.StatusCode)
					}
				}
			}
		})
	}
	wg.Wait()
	if len(errs) > 0 {
		t.Fatalf("%d failures, first: %s", len(errs), errs[0])
	}
	if len(accepted) != posters*postsEach {
		t.Fatalf("%d transactions accepted, want %d", len(accepted), posters*postsEach)
	}

	n.mine() // collects whatever is still pending
	if c := n.chain.PendingCount(); c != 0 {
		t.Fatalf("%d transactions still pending after the final /mine", c)
	}
	blocks, length := n.servedChain("")
	if want := 1 + miners*minesEach + 1; length != want || len(blocks) != want {
		t.Fatalf("length %d with %d blocks, want %d", length, len(blocks), want)
	}
	checkLinked(t, n.chain, blocks)
	seen := map[chain.Hash]uint64{}
	for _, b := range blocks {
		for i, tx := range b.Transactions {
			if err := tx.Check(); err != nil {
				t.Fatalf("block %d tx %d: %v", b.Index, i, err)
			}
			if prev, ok := seen[tx.ID]; ok {
				t.Fatalf("transaction %s in blocks %d and %d", tx.ID, prev, b.Index)
			}
			seen[tx.ID] = b.Index
			if tx.IsReward() != (i == len(b.Transactions)-1) {
				t.Fatalf("block %d: reward misplaced", b.Index)
			}
			if !tx.IsReward() && !accepted[tx.ID] {
				t.Fatalf("block %d holds transaction %s that was never accepted", b.Index, tx.ID)
			}
		}
	}
	for id := range accepted {
		if _, ok := seen[id]; !ok {
			t.Fatalf("accepted transaction %s is in no block", id)
		}
	}
}
