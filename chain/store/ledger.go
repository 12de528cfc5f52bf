package store

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"maps"
	"slices"

	"github.com/gossipchain/gossipchain/chain"
)

// The signed ledger's state (its rules are chain.CheckSpend, chain.Credit
// and chain.Params.CheckLedgerFields; PROTOCOL.md section 10.7).
//
// Every block that joins the main chain writes its undo data: the prior
// state of every account it touched, keyed by height (an append). Rolling
// the block back restores exactly those states and deletes the undo data.
//
// Storage. An account is one key of the accounts bucket (address →
// balance || next nonce), and the accounts are random by nature: a
// commit writes each account its blocks touched once, however many
// transactions touched it, in key order, in the same store transaction as
// the blocks (so a crash keeps blocks and accounts together). Reading an
// account is one B-tree look-up; nothing is rebuilt or verified again at
// start. Undo data is kept for every main-chain block, so that a
// reorganisation of any depth restores the accounts exactly.

// Defaults of Config on a signed network.
const (
	DefaultPoolMaxPerAccount = 64
	DefaultSignatureCache    = 1 << 16
)

// acct is the stored state of an address.
type acct struct {
	balance, nonce uint64
}

func (a acct) isZero() bool { return a == acct{} }

// acctSize is the stored size of an account: balance || next nonce, both
// big-endian uint64.
const acctSize = 16

// checkSpend applies chain.CheckSpend to tx against the stored state from.
func checkSpend(tx *chain.Transaction, from acct) error {
	return chain.CheckSpend(tx, from.balance, from.nonce)
}

// credit adds amount to a, refusing an overflow.
func credit(a acct, addr string, amount uint64) (acct, error) {
	var err error
	a.balance, err = chain.Credit(a.balance, addr, amount)
	return a, err
}

func decodeAcct(v []byte) (acct, error) {
	if len(v) != acctSize {
		return acct{}, fmt.Errorf("stored account of %d bytes", len(v))
	}
	return acct{binary.BigEndian.Uint64(v), binary.BigEndian.Uint64(v[8:])}, nil
}

func appendAcct(dst []byte, a acct) []byte {
	dst = binary.BigEndian.AppendUint64(dst, a.balance)
	return binary.BigEndian.AppendUint64(dst, a.nonce)
}

// storedAcct reads the account of addr in v's snapshot (zero if absent).
func (v *view) storedAcct(addr string) (acct, error) {
	b := v.tx.Bucket(bucketAccounts)
	if b == nil {
		return acct{}, nil
	}
	raw, ok := v.pend.account(addr) // changed by a block not yet committed
	if !ok {
		raw = b.Get([]byte(addr))
	}
	if raw == nil {
		return acct{}, nil
	}
	a, err := decodeAcct(raw)
	if err != nil {
		return acct{}, fmt.Errorf("account %s: %w", addr, err)
	}
	return a, nil
}

// undoEntry is the state of one address before a block touched it.
type undoEntry struct {
	addr  string
	prior acct
}

// appendUndo encodes a block's undo data: uint32 count, then per address
// uint8 length || address || balance (8) || next nonce (8).
func appendUndo(dst []byte, undo []undoEntry) []byte {
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(undo)))
	for _, u := range undo {
		dst = append(dst, byte(len(u.addr)))
		dst = append(dst, u.addr...)
		dst = appendAcct(dst, u.prior)
	}
	return dst
}

func decodeUndo(raw []byte) ([]undoEntry, error) {
	if len(raw) < 4 {
		return nil, fmt.Errorf("undo data of %d bytes", len(raw))
	}
	n := int(binary.BigEndian.Uint32(raw))
	raw = raw[4:]
	if n > len(raw)/(1+acctSize) {
		return nil, fmt.Errorf("undo data claims %d entries in %d bytes", n, len(raw))
	}
	out := make([]undoEntry, 0, n)
	for range n {
		if len(raw) < 1 || len(raw) < 1+int(raw[0])+acctSize {
			return nil, fmt.Errorf("undo data truncated")
		}
		l := int(raw[0])
		a, _ := decodeAcct(raw[1+l : 1+l+acctSize])
		out = append(out, undoEntry{addr: string(raw[1 : 1+l]), prior: a})
		raw = raw[1+l+acctSize:]
	}
	if len(raw) != 0 {
		return nil, fmt.Errorf("%d bytes after the undo data", len(raw))
	}
	return out, nil
}

// ledgerState is the account state as of the blocks a writer applied in
// its store transaction: the changed accounts in memory over the stored
// ones. flush writes the changes.
type ledgerState struct {
	v       *view
	changed map[string]acct
}

func newLedgerState(v *view) *ledgerState {
	return &ledgerState{v: v, changed: map[string]acct{}}
}

func (s *ledgerState) get(addr string) (acct, error) {
	if a, ok := s.changed[addr]; ok {
		return a, nil
	}
	return s.v.storedAcct(addr)
}

// clone returns a copy whose changes do not reach s.
func (s *ledgerState) clone() *ledgerState {
	c := &ledgerState{v: s.v, changed: make(map[string]acct, len(s.changed))}
	for k, a := range s.changed {
		c.changed[k] = a
	}
	return c
}

// applyBlock applies the transactions of b, which passed CheckBlockSanity
// (so every signature verified), and returns its undo data. On an error
// (a broken rule) s is unchanged.
func (s *ledgerState) applyBlock(b *chain.Block) ([]undoEntry, error) {
	return s.applyTxs(b.Index, b.Transactions)
}

// applyTxs is applyBlock for the transactions txs of the block at index.
func (s *ledgerState) applyTxs(index uint64, txs []chain.Transaction) ([]undoEntry, error) {
	touched := map[string]acct{}
	var undo []undoEntry
	load := func(addr string) (acct, error) {
		if a, ok := touched[addr]; ok {
			return a, nil
		}
		a, err := s.get(addr)
		if err != nil {
			return a, err
		}
		touched[addr] = a
		undo = append(undo, undoEntry{addr, a})
		return a, nil
	}
	for i := range txs {
		tx := &txs[i]
		if !tx.IsReward() {
			from, err := load(tx.Sender)
			if err != nil {
				return nil, err
			}
			if err := checkSpend(tx, from); err != nil {
				return nil, chain.RuleErrorf(chain.RuleCode(err), "block %d, transaction %d (%s): %v", index, i, tx.ID, err)
			}
			from.balance -= tx.Cost()
			from.nonce++
			touched[tx.Sender] = from
		}
		to, err := load(tx.Recipient)
		if err != nil {
			return nil, err
		}
		if to, err = credit(to, tx.Recipient, tx.Amount); err != nil {
			return nil, chain.RuleErrorf(chain.RuleCode(err), "block %d, transaction %d: %v", index, i, err)
		}
		touched[tx.Recipient] = to
	}
	for addr, a := range touched {
		s.changed[addr] = a
	}
	return undo, nil
}

// undoBlock restores the accounts a block's undo data names.
func (s *ledgerState) undoBlock(undo []undoEntry) {
	for _, u := range undo {
		s.changed[u.addr] = u.prior
	}
}

// flush writes the changed accounts, in key order; an account back at
// zero balance and nonce is deleted, so that rolling back restores the
// store exactly.
func (s *ledgerState) flush() error {
	if len(s.changed) == 0 {
		return nil
	}
	if s.v.deferred {
		s.v.pend.addAccounts(s.changed) // committed later, see deferred.go
		s.changed = map[string]acct{}
		return nil
	}
	b := s.v.tx.Bucket(bucketAccounts)
	keys := make([]string, 0, len(s.changed))
	for k := range s.changed {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		a := s.changed[k]
		var err error
		if a.isZero() {
			err = b.Delete([]byte(k))
		} else {
			err = b.Put([]byte(k), appendAcct(make([]byte, 0, acctSize), a))
		}
		if err != nil {
			return fmt.Errorf("write account %s: %w", k, err)
		}
	}
	s.changed = map[string]acct{}
	return nil
}

// putUndo writes the undo data of the main-chain block at height.
func (v *view) putUndo(height uint64, undo []undoEntry) error {
	if v.deferred {
		v.undo = appendUndo(nil, undo) // goes with the block's pending record
		return nil
	}
	b := v.tx.Bucket(bucketUndo)
	b.FillPercent = 1 // appends
	return b.Put(heightKey(height), appendUndo(nil, undo))
}

// undoAt reads the undo data of the main-chain block at height.
func (v *view) undoAt(height uint64) ([]undoEntry, error) {
	raw := v.tx.Bucket(bucketUndo).Get(heightKey(height))
	if raw == nil {
		return nil, fmt.Errorf("no undo data for height %d", height)
	}
	undo, err := decodeUndo(raw)
	if err != nil {
		return nil, fmt.Errorf("undo data of height %d: %w", height, err)
	}
	return undo, nil
}

// deleteUndo deletes the undo data of a block leaving the main chain.
func (v *view) deleteUndo(height uint64) error {
	return v.tx.Bucket(bucketUndo).Delete(heightKey(height))
}

// Ledger returns the network's ledger mode, LedgerOpen or LedgerSigned.
func (c *Chain) Ledger() string { return c.params.LedgerMode() }

// Account returns the state of addr: confirmed balance and next nonce on
// the main chain, and the pending transactions from it. On an open network
// it is ErrNotSigned; an addr that is not an address gives ErrNotAddress.
// An address never used has a zero account.
func (c *Chain) Account(addr string) (chain.Account, error) {
	if !c.params.Signed() {
		return chain.Account{}, chain.ErrNotSigned
	}
	if _, err := chain.PublicKeyOf(addr); err != nil {
		return chain.Account{}, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	a, err := c.storedAccount(addr)
	if err != nil {
		return chain.Account{}, err
	}
	out := chain.Account{Address: addr, Balance: a.balance, NextNonce: a.nonce, PendingNonce: a.nonce}
	c.pool.mu.Lock()
	if q := c.pool.senders[addr]; q != nil {
		out.Pending = len(q.txs)
		out.PendingSpend = q.spend
		out.PendingNonce = a.nonce + uint64(len(q.txs))
	}
	c.pool.mu.Unlock()
	return out, nil
}

// storedAccount reads the confirmed account of addr.
func (c *Chain) storedAccount(addr string) (acct, error) {
	var a acct
	err := c.view(func(v *view) error {
		var err error
		a, err = v.storedAcct(addr)
		return err
	})
	return a, err
}

// verifyCached verifies the signature of tx unless the cache holds its id,
// and remembers a signature that verified.
func (c *Chain) verifyCached(tx *chain.Transaction) error {
	if c.sigs.has(tx.ID) {
		return nil
	}
	if err := verifyTx(tx, c.genesis.Hash); err != nil {
		return err
	}
	c.sigs.add(tx.ID)
	return nil
}

// admitSpend applies the ledger rule to tx at pool admission: against the
// sender's confirmed account advanced by its pending transactions, so
// that the nonce must be the next after them (a gap is refused: the
// transaction that fills it comes first) and the balance must cover them
// all. A transaction with a pending nonce is refused (ErrBadNonce):
// admission tries it as a replacement first (replaceLocked), so it gets
// here only when the nonce became pending meanwhile. Called with c.mu
// held.
func (c *Chain) admitSpend(tx *chain.Transaction) error {
	from, err := c.storedAccount(tx.Sender)
	if err != nil {
		return err
	}
	c.pool.mu.Lock()
	defer c.pool.mu.Unlock()
	if q := c.pool.senders[tx.Sender]; q != nil {
		for _, e := range q.txs {
			if e.tx.Nonce == tx.Nonce {
				return chain.RuleErrorf(chain.ErrBadNonce, "nonce %d of %s is pending already (transaction %s)", tx.Nonce, tx.Sender, e.tx.ID)
			}
		}
	}
	spend, n := c.pool.afterPendingLocked(tx.Sender, from)
	if n >= c.pool.maxPerAccount {
		return errAccountFull(tx.Sender, n)
	}
	return checkSpend(tx, spend)
}

// afterPendingLocked advances from, the confirmed account of sender, by
// the sender's pending transactions, and returns how many there are.
// Called with p.mu held.
func (p *pool) afterPendingLocked(sender string, from acct) (acct, int) {
	q := p.senders[sender]
	if q == nil {
		return from, 0
	}
	from.nonce += uint64(len(q.txs))
	from.balance -= min(from.balance, q.spend)
	return from, len(q.txs)
}

func errAccountFull(sender string, pending int) error {
	return fmt.Errorf("%w: %w: %s has %d", chain.ErrPoolFull, chain.ErrAccountFull, sender, pending)
}

// senderFunds is what a sender can still spend at admission: its confirmed
// account advanced by its pending transactions (and, in a batch, by those
// before it), and their number.
type senderFunds struct {
	next      acct
	confirmed uint64 // the confirmed account's next nonce
	pending   int
	err       error // reading the account failed
}

// checkFunds applies the ledger rule to each of txs whose errs entry is
// nil, in order, before any signature is verified: against the sender's
// confirmed account advanced by its pending transactions and by the
// transactions of txs before it that passed. It costs one account read
// per sender, so that a transaction its sender cannot pay for, or whose
// nonce does not continue the sender's, costs its sender a signature and
// this node a look-up: its signature is never verified. The rule is
// applied again under Chain.mu at admission (admitSpend): the accounts
// may move meanwhile. A repeated transaction of txs is left to admission,
// which finds it known.
func (c *Chain) checkFunds(txs []chain.Transaction, errs []error) {
	funds := map[string]*senderFunds{}
	passed := map[chain.Hash]bool{}
	for i := range txs {
		tx := &txs[i]
		if errs[i] != nil || passed[tx.ID] {
			continue
		}
		f := funds[tx.Sender]
		if f == nil {
			f = c.fundsOf(tx.Sender)
			funds[tx.Sender] = f
		}
		switch {
		case f.err != nil:
			errs[i] = f.err
		case f.pending >= c.pool.maxPerAccount && tx.Nonce >= f.next.nonce:
			errs[i] = errAccountFull(tx.Sender, f.pending)
		default:
			if err := checkSpend(tx, f.next); err != nil {
				errs[i] = c.spendRefusal(tx, f, err)
				continue
			}
			f.next.nonce++
			f.next.balance -= tx.Cost()
			f.pending++
			passed[tx.ID] = true
		}
	}
}

// fundsOf reads what sender can spend now.
func (c *Chain) fundsOf(sender string) *senderFunds {
	from, err := c.storedAccount(sender)
	if err != nil {
		return &senderFunds{err: err}
	}
	c.pool.mu.Lock()
	defer c.pool.mu.Unlock()
	next, n := c.pool.afterPendingLocked(sender, from)
	return &senderFunds{next: next, confirmed: from.nonce, pending: n}
}

// spendRefusal is the outcome of tx, which checkSpend refused with err
// against f: a nonce below the confirmed account's may be that of tx
// itself, in the main chain (ErrKnownTransaction), and a nonce between it
// and f's next one is pending already.
func (c *Chain) spendRefusal(tx *chain.Transaction, f *senderFunds, err error) error {
	switch {
	case chain.RuleCode(err) != chain.ErrBadNonce || tx.Nonce >= f.next.nonce:
		return err
	case tx.Nonce >= f.confirmed:
		return c.replacementCheck(tx) // nil: admission may replace it
	}
	var height uint64
	found := false
	_ = c.readIndexed(func(v *view) (bool, error) {
		height, found = v.txHeight(tx.ID)
		return found, nil
	})
	if found {
		return fmt.Errorf("%w: %s is in block %d", chain.ErrKnownTransaction, tx.ID, height)
	}
	return err
}

// revalidatePool checks, after the blocks of a writer changed the main
// chain, the pending transactions of every address those blocks (connected
// or abandoned) and the returned transactions back involve, against the
// new accounts: each sender's transactions in nonce order must continue
// its account. What fails (a nonce the new chain used, a balance it no
// longer covers) and what follows it from the same sender leaves the pool,
// or does not return to it, and is noted in w.dropped with the reason. It
// returns the transactions of back that stay valid. Called with c.mu held.
func (w *writer) revalidatePool(back []chain.Transaction) []chain.Transaction {
	// Every address of the blocks: a connected block spends from its
	// senders, an abandoned one takes back what its recipients (the miner
	// too) received.
	senders := map[string]struct{}{}
	note := func(b *chain.Block) {
		for i := range b.Transactions {
			t := &b.Transactions[i]
			if !t.IsReward() {
				senders[t.Sender] = struct{}{}
			}
			senders[t.Recipient] = struct{}{}
		}
	}
	for _, b := range w.connected {
		note(b)
	}
	for _, b := range w.abandoned {
		note(b)
	}
	backOf := map[string][]int{}
	for i := range back {
		senders[back[i].Sender] = struct{}{}
		backOf[back[i].Sender] = append(backOf[back[i].Sender], i)
	}
	invalidBack := map[int]bool{}
	p := w.c.pool
	p.mu.Lock()
	defer p.mu.Unlock()
	type cand struct {
		tx   *chain.Transaction
		back int // index in back, or -1 for a pending transaction
	}
	for _, s := range slices.Sorted(maps.Keys(senders)) {
		var cands []cand
		seen := map[chain.Hash]bool{}
		if q := p.senders[s]; q != nil {
			for _, e := range q.txs {
				if _, gone := w.poolDrop[e.tx.ID]; !gone {
					cands = append(cands, cand{&e.tx, -1})
					seen[e.tx.ID] = true
				}
			}
		}
		for _, i := range backOf[s] {
			if !seen[back[i].ID] {
				cands = append(cands, cand{&back[i], i})
				seen[back[i].ID] = true
			}
		}
		slices.SortStableFunc(cands, func(a, b cand) int { return cmp.Compare(a.tx.Nonce, b.tx.Nonce) })
		st, err := w.led.get(s)
		if err != nil {
			w.c.log.Error("read account to check the pending pool", "address", s, "err", err)
			continue
		}
		var failed *chain.Transaction
		for _, c := range cands {
			var reason string
			if failed != nil {
				reason = fmt.Sprintf("follows nonce %d of the same sender, which is no longer valid", failed.Nonce)
			} else if err := checkSpend(c.tx, st); err != nil {
				reason = err.Error()
				if c.tx.Nonce >= st.nonce {
					failed = c.tx // what follows it from the sender cannot be mined
				}
			} else {
				st.nonce++
				st.balance -= c.tx.Cost()
				continue
			}
			w.dropped = append(w.dropped, DroppedTx{Tx: *c.tx, Reason: reason})
			if c.back < 0 {
				w.poolDrop[c.tx.ID] = struct{}{}
			} else {
				invalidBack[c.back] = true
			}
		}
	}
	if len(invalidBack) == 0 {
		return back
	}
	kept := make([]chain.Transaction, 0, len(back)-len(invalidBack))
	for i := range back {
		if !invalidBack[i] {
			kept = append(kept, back[i])
		}
	}
	return kept
}

// signedTemplateTxs picks the pending transactions of the next block on a
// signed network: by fee rate (pool.byFeeRate), each checked by checkSpend against the
// accounts advanced by those picked before it, within the block limits;
// size is the size of the block without them. Called with c.mu held.
func (c *Chain) signedTemplateTxs(size int) []chain.Transaction {
	var txs []chain.Transaction
	err := c.read(func(v *view) error {
		st := newLedgerState(v)
		var fees uint64
		for _, t := range c.pool.byFeeRate(2 * c.params.MaxBlockTxs) {
			if len(txs) >= c.params.MaxBlockTxs-1 {
				break
			}
			if t.Fee > chain.MaxAmount-c.params.Reward-fees {
				continue // the reward would pass MaxAmount
			}
			if size+t.EncodedSize() > c.params.MaxBlockSize {
				break
			}
			if _, err := st.applyTxs(0, []chain.Transaction{t}); err != nil {
				if !chain.IsRuleError(err) {
					return err
				}
				continue // e.g. a later nonce whose predecessor did not fit
			}
			size += t.EncodedSize()
			fees += t.Fee
			txs = append(txs, t)
		}
		return nil
	})
	if err != nil {
		c.log.Error("assemble a block from the pending pool", "err", err)
		return nil
	}
	return txs
}

// AccountPending returns the pending transactions sent by addr, in nonce
// order (nil on an open network or for an address with none).
func (c *Chain) AccountPending(addr string) []chain.Transaction {
	c.pool.mu.Lock()
	defer c.pool.mu.Unlock()
	q := c.pool.senders[addr]
	if q == nil {
		return nil
	}
	out := make([]chain.Transaction, len(q.txs))
	for i, e := range q.txs {
		out[i] = e.tx
	}
	return out
}
