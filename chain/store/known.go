package store

import "github.com/gossipchain/gossipchain/chain"

// UnknownTransactions returns those of ids that are neither pending nor on
// the main chain, in their order, at a cost per id that does not grow with
// the chain: a look-up in the pool, then one in the duplicate filter (see
// dupfilter.go); only an id the filter may hold (about 1% of unknown ids, and
// every confirmed one) is looked up in the transaction index, without reading
// its block. It is meant for ids a peer announces: an id said to be unknown
// may have been added meanwhile, which the pool's own checks then catch.
// It is safe for concurrent use.
func (c *Chain) UnknownTransactions(ids []chain.Hash) []chain.Hash {
	var unknown []chain.Hash
	c.pool.mu.Lock()
	for _, id := range ids {
		if _, ok := c.pool.byID[id]; !ok {
			unknown = append(unknown, id)
		}
	}
	c.pool.mu.Unlock()
	if len(unknown) == 0 {
		return nil
	}
	// The filter after the pool: a transaction confirmed meanwhile left the
	// pool in the commit that put it in the filter.
	var maybe []chain.Hash
	out := unknown[:0]
	c.mu.Lock()
	for _, id := range unknown {
		if c.dups.mayHold(id) {
			maybe = append(maybe, id)
		} else {
			out = append(out, id)
		}
	}
	c.mu.Unlock()
	if len(maybe) == 0 {
		return out
	}
	var missed []chain.Hash
	err := c.readIndexed(func(v *view) (bool, error) {
		missed = missed[:0]
		for _, id := range maybe {
			if !c.ix.txs.lookup(v, id, func(uint64) bool { return true }) {
				missed = append(missed, id)
			}
		}
		return len(missed) == 0, nil
	})
	if err != nil {
		missed = maybe // unreadable: let the pool's own checks decide
	}
	return append(out, missed...)
}
