package e2e

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/gossipchain/gossipchain/chain"
)

// TestAdmissionCrash kills a node with SIGKILL while clients submit
// transactions to it concurrently, one by one (POST /transactions/new) and
// in batches (POST /transactions/batch), and restarts it: every
// transaction it answered 201 is still pending.
func TestAdmissionCrash(t *testing.T) {
	kills := scale(4, 10)
	rng := testRand(t)
	n := startNode(t, quietOpts(nodeOptions{network: "admitcrash"}))
	reportProblems(t, n)
	tried(t, "%d SIGKILLs of a node under 8 single and 2 batch submitters", kills)

	acked := map[chain.Hash]bool{}
	for i := range kills {
		// Killed after both kinds of submission have been answered 201.
		var mu sync.Mutex
		var singles, batches sync.WaitGroup
		singles.Add(1)
		batches.Add(1)
		var singleOnce, batchOnce sync.Once
		ack := func(batch bool, ids ...chain.Hash) {
			mu.Lock()
			defer mu.Unlock()
			for _, id := range ids {
				acked[id] = true
			}
			if batch {
				batchOnce.Do(batches.Done)
			} else {
				singleOnce.Do(singles.Done)
			}
		}
		first := make(chan struct{})
		go func() {
			singles.Wait()
			batches.Wait()
			close(first)
		}()
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		for w := range 10 {
			wg.Go(func() {
				for j := 0; ctx.Err() == nil; j++ {
					if w < 8 {
						id, code, err := n.postTx(fmt.Sprintf("kill%d-single%d", i, w), "payee", uint64(j+1))
						if err != nil {
							return // the node is gone
						}
						if code == http.StatusCreated {
							ack(false, id)
						}
						continue
					}
					txs := make([]chain.Transaction, 100)
					for k := range txs {
						txs[k] = chain.Transaction{Sender: fmt.Sprintf("kill%d-batch%d", i, w), Recipient: "payee", Amount: uint64(k + 1)}
					}
					b, err := n.Client().SubmitBatch(ctx, txs)
					if err != nil {
						return
					}
					var ids []chain.Hash
					for _, r := range b.Results {
						if r.Status == http.StatusCreated {
							ids = append(ids, r.ID)
						}
					}
					if len(ids) > 0 {
						ack(true, ids...)
					}
				}
			})
		}
		select {
		case <-first:
		case <-time.After(waitTimeout):
			cancel()
			n.kill()
			wg.Wait()
			t.Fatalf("kill %d: no single or no batch submission acknowledged", i+1)
		}
		time.Sleep(time.Duration(rng.IntN(400)) * time.Millisecond)
		n.kill()
		cancel()
		wg.Wait()
		n.restart()

		pending, err := n.Client().Pending(context.Background(), 10000)
		if err != nil {
			t.Fatal(err)
		}
		found := map[chain.Hash]bool{}
		for _, tx := range pending.Transactions {
			found[tx.ID] = true
		}
		lost := 0
		for id := range acked {
			if found[id] {
				continue
			}
			// Past the first page: look it up.
			if st, err := n.txStatus(id); err != nil || st != "pending" {
				if lost++; lost <= 5 {
					t.Errorf("kill %d: transaction %s answered 201, then %q (%v)", i+1, id, st, err)
				}
			}
		}
		if lost > 0 {
			t.Fatalf("kill %d: %d of %d acknowledged transactions lost", i+1, lost, len(acked))
		}
		t.Logf("kill %d: %d acknowledged so far, %d pending after the restart", i+1, len(acked), pending.Total)
	}
	held(t, "%d transactions answered 201 survived %d SIGKILLs", len(acked), kills)
}
