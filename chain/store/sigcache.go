package store

import (
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/gossipchain/gossipchain/chain"
)

// verifyTx checks the signature of tx on the network of genesis, counting
// the verification.
func verifyTx(tx *chain.Transaction, genesis chain.Hash) error {
	verifications.Add(1)
	return tx.Verify(genesis)
}

// verifications counts the signatures verified, for tests.
var verifications atomic.Int64

// SignaturesVerified returns how many transaction signatures the chains of
// this process have verified (cached ones are not verified again).
func SignaturesVerified() int64 { return verifications.Load() }

// sigCache remembers the ids of transactions whose signature verified, so
// that a transaction the pool admitted is not verified again when a block
// holding it is validated. An id commits to every field and the signature,
// and a chain has one genesis, so an id that verified once verifies always.
// It holds at most size ids; the oldest go first.
type sigCache struct {
	mu   sync.Mutex
	ids  map[chain.Hash]struct{}
	ring []chain.Hash
	next int
}

func newSigCache(size int) *sigCache {
	return &sigCache{ids: make(map[chain.Hash]struct{}, size), ring: make([]chain.Hash, size)}
}

func (s *sigCache) has(id chain.Hash) bool {
	if s == nil {
		return false
	}
	s.mu.Lock()
	_, ok := s.ids[id]
	s.mu.Unlock()
	return ok
}

func (s *sigCache) add(id chain.Hash) {
	if s == nil || len(s.ring) == 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.ids[id]; ok {
		return
	}
	old := s.ring[s.next]
	if !old.IsZero() {
		delete(s.ids, old)
	}
	s.ring[s.next] = id
	s.ids[id] = struct{}{}
	s.next = (s.next + 1) % len(s.ring)
}

func (s *sigCache) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.ids)
}

// checkSignatures verifies the signature of every transaction of b but the
// reward, skipping those cache holds (cache may be nil) and adding to it
// those that verify, on up to GOMAXPROCS cores. The error is that of the first invalid transaction in
// block order.
func (c *Chain) checkSignatures(b *chain.Block, cache *sigCache) error {
	var todo []int
	for i := range b.Transactions {
		if tx := &b.Transactions[i]; !tx.IsReward() && !cache.has(tx.ID) {
			todo = append(todo, i)
		}
	}
	workers := min(runtime.GOMAXPROCS(0), (len(todo)+verifyBatch-1)/verifyBatch)
	if workers <= 1 {
		for _, i := range todo {
			if err := verifyTx(&b.Transactions[i], c.genesis.Hash); err != nil {
				return chain.RuleErrorf(chain.ErrBadSignature, "transaction %d: %v", i, err)
			}
			cache.add(b.Transactions[i].ID)
		}
		return nil
	}
	errs := make([]error, len(todo))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				k := int(next.Add(1)) - 1
				if k >= len(todo) {
					return
				}
				if errs[k] = verifyTx(&b.Transactions[todo[k]], c.genesis.Hash); errs[k] == nil {
					cache.add(b.Transactions[todo[k]].ID)
				}
			}
		}()
	}
	wg.Wait()
	for k, err := range errs {
		if err != nil {
			return chain.RuleErrorf(chain.ErrBadSignature, "transaction %d: %v", todo[k], err)
		}
	}
	return nil
}

// verifyBatch is the fewest signatures worth a goroutine of their own.
const verifyBatch = 32
