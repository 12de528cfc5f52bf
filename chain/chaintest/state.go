package chaintest

import (
	"maps"
	"sync"

	"github.com/gossipchain/gossipchain/chain"
	"github.com/gossipchain/gossipchain/chain/smt"
)

// The account state of the signed chains built here, so that NewBlock,
// Seal and the mining functions give each block the state_root of the
// accounts after it: every mined block on a tracked parent (a signed
// network's genesis, or a block mined here) is tracked in turn. A block
// whose transactions break the ledger's rules on its parent keeps a zero
// state_root and tracks nothing, so that it fails on those rules.

// Account is a balance and next nonce, as the signed ledger keeps them.
type Account struct {
	Balance, Nonce uint64
}

// chainState is the accounts after a tracked block and their root.
type chainState struct {
	root  chain.Hash
	accts map[string]Account
}

var tracked = struct {
	sync.Mutex
	nodes  *smt.MemStore
	states map[chain.Hash]*chainState // block hash → the state after it
}{nodes: smt.NewMemStore(), states: map[chain.Hash]*chainState{}}

// trackGenesis tracks the genesis g of a signed network: it changes no
// account.
func trackGenesis(g *chain.Block) {
	tracked.Lock()
	defer tracked.Unlock()
	if _, ok := tracked.states[g.Hash]; !ok {
		tracked.states[g.Hash] = &chainState{accts: map[string]Account{}}
	}
}

// stateAfter returns the state after txs on the tracked block parent, or
// false when parent is not tracked or txs break the ledger's rules.
func stateAfter(parent chain.Hash, txs []chain.Transaction) (*chainState, bool) {
	tracked.Lock()
	st, ok := tracked.states[parent]
	tracked.Unlock()
	if !ok {
		return nil, false
	}
	accts := maps.Clone(st.accts)
	touched := map[string]bool{}
	for i := range txs {
		tx := &txs[i]
		if !tx.IsReward() {
			from := accts[tx.Sender]
			if chain.CheckSpend(tx, from.Balance, from.Nonce) != nil {
				return nil, false
			}
			accts[tx.Sender] = Account{from.Balance - tx.Cost(), from.Nonce + 1}
			touched[tx.Sender] = true
		}
		to := accts[tx.Recipient]
		bal, err := chain.Credit(to.Balance, tx.Recipient, tx.Amount)
		if err != nil {
			return nil, false
		}
		accts[tx.Recipient] = Account{bal, to.Nonce}
		touched[tx.Recipient] = true
	}
	changes := make([]smt.Change, 0, len(touched))
	for addr := range touched {
		a := accts[addr]
		changes = append(changes, chain.StateChange(addr, a.Balance, a.Nonce))
		if a == (Account{}) {
			delete(accts, addr)
		}
	}
	root, err := smt.Apply(tracked.nodes, smt.Hash(st.root), changes)
	if err != nil {
		return nil, false
	}
	return &chainState{root: chain.Hash(root), accts: accts}, true
}

// setStateRoot sets b's state_root to the root after its transactions on
// its tracked parent; it leaves b alone when the parent is not tracked,
// and sets zero when the transactions break the rules.
func setStateRoot(b *chain.Block) {
	tracked.Lock()
	_, ok := tracked.states[b.PreviousHash]
	tracked.Unlock()
	if !ok {
		return
	}
	b.StateRoot = chain.Hash{}
	if st, ok := stateAfter(b.PreviousHash, b.Transactions); ok {
		b.StateRoot = st.root
	}
}

// track tracks the mined block b if its parent is tracked.
func track(b *chain.Block) {
	st, ok := stateAfter(b.PreviousHash, b.Transactions)
	if !ok {
		return
	}
	tracked.Lock()
	tracked.states[b.Hash] = st
	tracked.Unlock()
}

// AccountAt returns the account of addr after the tracked block of hash
// (built here on a signed network), and false for a block not tracked.
func AccountAt(hash chain.Hash, addr string) (Account, bool) {
	tracked.Lock()
	defer tracked.Unlock()
	st, ok := tracked.states[hash]
	if !ok {
		return Account{}, false
	}
	return st.accts[addr], true
}

// StateRootAt returns the state root after the tracked block of hash, and
// false for a block not tracked.
func StateRootAt(hash chain.Hash) (chain.Hash, bool) {
	tracked.Lock()
	defer tracked.Unlock()
	st, ok := tracked.states[hash]
	if !ok {
		return chain.Hash{}, false
	}
	return st.root, true
}
