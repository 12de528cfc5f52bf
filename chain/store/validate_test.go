package store

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gossipchain/gossipchain/chain"
	"github.com/gossipchain/gossipchain/chain/chaintest"
)

// ruleEnv is a chain to validate blocks against:
//
//	genesis - a2 - a3 - ... - a12      main chain, a2 holds txLow, a5 txMain
//	                 \
//	                  s4 - s5          side branch, s5 holds txSide
//
// with small block limits (at most 4 transactions, 900 bytes).
type ruleEnv struct {
	p      chain.Params
	c      *Chain
	main   []*chain.Block // main[i] is the block at height i+1
	side   []*chain.Block // s4, s5
	txLow  chain.Transaction
	txMain chain.Transaction
	txSide chain.Transaction
	tx1    chain.Transaction // pending-style transactions for candidate blocks
	tx2    chain.Transaction
}

func newRuleEnv(t *testing.T) *ruleEnv {
	t.Helper()
	p := chaintest.ParamsAt(t, chaintest.Difficulty)
	p.MaxBlockTxs = 4
	p.MaxBlockSize = 900
	e := &ruleEnv{
		p:      p,
		c:      openChain(t, testConfig(t, p)),
		txLow:  chaintest.Tx("oscar", "peggy", 4, 0),
		txMain: chaintest.Tx("alice", "bob", 5, 1),
		txSide: chaintest.Tx("carol", "dave", 6, 2),
		tx1:    chaintest.Tx("erin", "frank", 7, 3),
		tx2:    chaintest.Tx("grace", "heidi", 8, 4),
	}
	e.main = []*chain.Block{e.c.Genesis()}
	for h := 2; h <= 12; h++ {
		var txs []chain.Transaction
		switch h {
		case 2:
			txs = append(txs, e.txLow)
		case 5:
			txs = append(txs, e.txMain)
		}
		b := chaintest.NextBlock(t, &e.p, e.tip(), "miner-a", txs...)
		mustAdd(t, e.c, b)
		e.main = append(e.main, b)
	}
	s4 := chaintest.NextBlock(t, &e.p, e.main[2], "miner-s")
	s5 := chaintest.NextBlock(t, &e.p, s4, "miner-s", e.txSide)
	for _, b := range []*chain.Block{s4, s5} {
		if res := mustAdd(t, e.c, b); res.Status != SideBranch {
			t.Fatalf("side block %d: status %v, want side_branch", b.Index, res.Status)
		}
	}
	e.side = []*chain.Block{s4, s5}
	return e
}

func (e *ruleEnv) tip() *chain.Block { return e.main[len(e.main)-1] }

// candidate returns an unmined block on the tip with tx1, tx2 and the reward.
func (e *ruleEnv) candidate() *chain.Block {
	return chaintest.NewBlock(&e.p, e.tip(), "miner-c", e.tx1, e.tx2)
}

// medianTime is the median time of the last 11 main-chain blocks.
func (e *ruleEnv) medianTime() chain.Timestamp {
	var ts []chain.Timestamp
	for _, b := range e.main[len(e.main)-chain.MedianTimeBlocks:] {
		ts = append(ts, b.Timestamp)
	}
	return chain.MedianTime(ts)
}

// breakProof applies mutate(b, k) for k = 1, 2, ... to copies of b and
// returns the first copy whose recomputed hash fails b's target: the
// mutation invalidates the proof.
func breakProof(t *testing.T, b *chain.Block, mutate func(b *chain.Block, k int)) *chain.Block {
	t.Helper()
	for k := 1; k < 1000; k++ {
		c := chaintest.CloneBlock(b)
		mutate(c, k)
		c.Hash = c.ComputeHash()
		if c.Hash == b.Hash {
			t.Fatal("mutation did not change the hash")
		}
		if pt, _ := c.Bits.PowTarget(); !pt.Met(c.Hash) {
			return c
		}
	}
	t.Fatal("every mutation kept a valid proof")
	return nil
}

func TestValidationRules(t *testing.T) {
	e := newRuleEnv(t)
	longAddr := strings.Repeat("x", chain.MaxAddressLen)
	mined := chaintest.Seal(t, e.candidate())

	cases := []struct {
		name  string
		build func(t *testing.T) *chain.Block // the block to add
		want  error                           // the rule it breaks
	}{
		{"too many transactions", func(t *testing.T) *chain.Block {
			return chaintest.Seal(t, chaintest.NewBlock(&e.p, e.tip(), "m", e.tx1, e.tx2, chaintest.Tx("a", "b", 1, 9), chaintest.Tx("a", "b", 1, 10)))
		}, chain.ErrTooLarge},
		{"too large", func(t *testing.T) *chain.Block {
			return chaintest.Seal(t, chaintest.NewBlock(&e.p, e.tip(), "m",
				chaintest.Tx(longAddr, longAddr, 1, 1), chaintest.Tx(longAddr, longAddr, 1, 2), chaintest.Tx(longAddr, longAddr, 1, 3)))
		}, chain.ErrTooLarge},
		{"no transactions at all", func(t *testing.T) *chain.Block {
			b := e.candidate()
			b.Transactions = nil
			return chaintest.Seal(t, b)
		}, chain.ErrBadReward},
		{"bits easier than the network's maximum target", func(t *testing.T) *chain.Block {
			b := e.candidate()
			b.Bits = chain.MustCompact(chain.ZeroBitsTarget(e.p.Difficulty() - 1))
			return chaintest.Seal(t, b)
		}, chain.ErrBadDifficulty},
		{"bits that do not decode", func(t *testing.T) *chain.Block {
			b := e.candidate()
			b.Bits = 0x1d800001 // negative
			b.TxRoot = chain.TxRoot(b.Transactions)
			b.Hash = b.ComputeHash()
			return b
		}, chain.ErrBadDifficulty},
		{"bits harder than the retargeting rule requires", func(t *testing.T) *chain.Block {
			b := e.candidate()
			b.Bits = chain.MustCompact(chain.ZeroBitsTarget(e.p.Difficulty() + 1))
			return chaintest.Seal(t, b)
		}, chain.ErrBadDifficulty},
		{"bad stated hash", func(t *testing.T) *chain.Block {
			b := chaintest.CloneBlock(mined)
			b.Hash[31] ^= 1
			return b
		}, chain.ErrBadHash},
		{"bad proof", func(t *testing.T) *chain.Block {
			b := e.candidate()
			chaintest.Unmine(t, b, b.Bits)
			return b
		}, chain.ErrBadProof},
		{"tampered timestamp keeps the stated hash", func(t *testing.T) *chain.Block {
			b := chaintest.CloneBlock(mined)
			b.Timestamp++
			return b
		}, chain.ErrBadHash},
		{"tampered timestamp breaks the proof", func(t *testing.T) *chain.Block {
			return breakProof(t, mined, func(b *chain.Block, k int) { b.Timestamp += chain.Timestamp(k) })
		}, chain.ErrBadProof},
		{"tampered index breaks the proof", func(t *testing.T) *chain.Block {
			return breakProof(t, mined, func(b *chain.Block, k int) {
				b.Index += uint64(k)
				b.Transactions[len(b.Transactions)-1] = chain.NewRewardTransaction("miner-c", e.p.Reward, b.Index)
				b.TxRoot = chain.TxRoot(b.Transactions)
			})
		}, chain.ErrBadProof},
		{"tampered transaction breaks the proof", func(t *testing.T) *chain.Block {
			return breakProof(t, mined, func(b *chain.Block, k int) {
				b.Transactions[0].Amount += uint64(k)
				b.Transactions[0].ID = b.Transactions[0].ComputeID()
				b.TxRoot = chain.TxRoot(b.Transactions)
			})
		}, chain.ErrBadProof},
		{"tampered transaction with the old root", func(t *testing.T) *chain.Block {
			b := chaintest.CloneBlock(mined)
			b.Transactions[0].Amount++
			b.Transactions[0].ID = b.Transactions[0].ComputeID()
			return b
		}, chain.ErrBadTxRoot},
		// The root is of the ids the encodings give, not of the stated ones:
		// the JSON form of this block breaks the rule its binary form does.
		{"tampered transaction with the old id", func(t *testing.T) *chain.Block {
			b := chaintest.CloneBlock(mined)
			b.Transactions[0].Recipient = "mallory"
			return b
		}, chain.ErrBadTxRoot},
		{"tx_count not the number of transactions", func(t *testing.T) *chain.Block {
			b := chaintest.CloneBlock(mined)
			b.TxCount++
			chaintest.Mine(t, b, b.Bits)
			return b
		}, chain.ErrBadTxCount},
		{"proof copied from another block", func(t *testing.T) *chain.Block {
			return breakProof(t, mined, func(b *chain.Block, k int) {
				// Another block: same parent, other transactions, with the
				// mined block's proof.
				b.Transactions[0] = chaintest.Tx("erin", "frank", 7, uint64(100+k))
				b.TxRoot = chain.TxRoot(b.Transactions)
			})
		}, chain.ErrBadProof},
		{"time past the future limit", func(t *testing.T) *chain.Block {
			b := e.candidate()
			b.Timestamp = chain.TimestampOf(chaintest.Now.Add(e.p.FutureLimit())) + 1
			return chaintest.Seal(t, b)
		}, chain.ErrTimeTooNew},
		{"time before the median of the last 11", func(t *testing.T) *chain.Block {
			b := e.candidate()
			b.Timestamp = e.medianTime() - 1
			return chaintest.Seal(t, b)
		}, chain.ErrTimeTooOld},
		{"bad tx_root", func(t *testing.T) *chain.Block {
			b := e.candidate()
			b.TxRoot = chain.TxRoot(b.Transactions[:1])
			chaintest.Mine(t, b, b.Bits)
			return b
		}, chain.ErrBadTxRoot},
		{"missing reward", func(t *testing.T) *chain.Block {
			b := e.candidate()
			b.Transactions = b.Transactions[:2]
			return chaintest.Seal(t, b)
		}, chain.ErrBadReward},
		{"reward not last", func(t *testing.T) *chain.Block {
			b := e.candidate()
			b.Transactions[1], b.Transactions[2] = b.Transactions[2], b.Transactions[1]
			return chaintest.Seal(t, b)
		}, chain.ErrBadReward},
		{"two rewards", func(t *testing.T) *chain.Block {
			b := e.candidate()
			b.Transactions[0] = chain.NewRewardTransaction("miner-x", e.p.Reward, b.Index)
			return chaintest.Seal(t, b)
		}, chain.ErrBadReward},
		{"wrong reward amount", func(t *testing.T) *chain.Block {
			b := e.candidate()
			b.Transactions[2] = chain.NewRewardTransaction("miner-c", e.p.Reward+1, b.Index)
			return chaintest.Seal(t, b)
		}, chain.ErrBadReward},
		{"reward nonce is not the index", func(t *testing.T) *chain.Block {
			b := e.candidate()
			b.Transactions[2] = chain.NewRewardTransaction("miner-c", e.p.Reward, b.Index+1)
			return chaintest.Seal(t, b)
		}, chain.ErrBadReward},
		{"empty sender", txCase(e, chaintest.Tx("", "bob", 1, 1)), chain.ErrBadTransaction},
		{"empty recipient", txCase(e, chaintest.Tx("alice", "", 1, 1)), chain.ErrBadTransaction},
		{"address too long", txCase(e, chaintest.Tx(longAddr+"x", "bob", 1, 1)), chain.ErrBadTransaction},
		{"non-printable address", txCase(e, chaintest.Tx("ali\x01ce", "bob", 1, 1)), chain.ErrBadTransaction},
		{"address not UTF-8", txCase(e, chaintest.Tx("ali\xffce", "bob", 1, 1)), chain.ErrBadTransaction},
		{"zero amount", txCase(e, chaintest.Tx("alice", "bob", 0, 1)), chain.ErrBadTransaction},
		{"amount above MaxAmount", txCase(e, chaintest.Tx("alice", "bob", chain.MaxAmount+1, 1)), chain.ErrBadTransaction},
		// A stated id (JSON) that is not its transaction's, under a root of
		// the right ids.
		{"bad transaction id", func(t *testing.T) *chain.Block {
			b := txCase(e, chaintest.Tx("alice", "bob", 1, 1))(t)
			b.Transactions[0].ID[0] ^= 1
			return b
		}, chain.ErrBadTransaction},
		{"reward recipient empty", func(t *testing.T) *chain.Block {
			return chaintest.Seal(t, chaintest.NewBlock(&e.p, e.tip(), "", e.tx1))
		}, chain.ErrBadTransaction},
		{"duplicate transaction in the block", func(t *testing.T) *chain.Block {
			return chaintest.Seal(t, chaintest.NewBlock(&e.p, e.tip(), "m", e.tx1, e.tx1))
		}, chain.ErrDuplicateTx},
		{"transaction already in a main-chain ancestor", func(t *testing.T) *chain.Block {
			return chaintest.Seal(t, chaintest.NewBlock(&e.p, e.tip(), "m", e.tx1, e.txMain))
		}, chain.ErrDuplicateTx},
		{"transaction already in a side-branch ancestor", func(t *testing.T) *chain.Block {
			return chaintest.Seal(t, chaintest.NewBlock(&e.p, e.side[1], "m", e.txSide))
		}, chain.ErrDuplicateTx},
		{"transaction in the main chain below the fork", func(t *testing.T) *chain.Block {
			return chaintest.Seal(t, chaintest.NewBlock(&e.p, e.side[1], "m", e.txLow))
		}, chain.ErrDuplicateTx},
		{"bad index", func(t *testing.T) *chain.Block {
			b := e.candidate()
			b.Index++
			b.Transactions[2] = chain.NewRewardTransaction("miner-c", e.p.Reward, b.Index)
			return chaintest.Seal(t, b)
		}, chain.ErrBadIndex},
		{"index zero", func(t *testing.T) *chain.Block {
			b := e.candidate()
			b.Index = 0
			b.Transactions[2] = chain.NewRewardTransaction("miner-c", e.p.Reward, 0)
			return chaintest.Seal(t, b)
		}, chain.ErrBadIndex},
		{"fake genesis", func(t *testing.T) *chain.Block {
			b := chaintest.CloneBlock(e.c.Genesis())
			b.Transactions = []chain.Transaction{chain.NewRewardTransaction("forger", e.p.Reward, 1)}
			return chaintest.Seal(t, b)
		}, chain.ErrBadGenesis},
		{"index 1 on the tip", func(t *testing.T) *chain.Block {
			b := e.candidate()
			b.Index = 1
			b.Transactions[2] = chain.NewRewardTransaction("miner-c", e.p.Reward, 1)
			return chaintest.Seal(t, b)
		}, chain.ErrBadGenesis},
		{"unknown parent", func(t *testing.T) *chain.Block {
			b := e.candidate()
			b.PreviousHash[0] ^= 0xff
			return chaintest.Seal(t, b)
		}, chain.ErrUnknownParent},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := tc.build(t)
			head := e.c.Head()
			_, err := e.c.AddBlock(b)
			if !errors.Is(err, tc.want) {
				t.Fatalf("got error %v, want %v", err, tc.want)
			}
			var code chain.ErrorCode
			if errors.As(tc.want, &code) {
				if got := chain.RuleCode(err); got != code || !chain.IsRuleError(err) {
					t.Errorf("RuleCode = %v, IsRuleError = %v; want %v, true", got, chain.IsRuleError(err), code)
				}
			} else if chain.IsRuleError(err) {
				t.Errorf("%v is a RuleError, want a sentinel outcome", err)
			}
			if e.c.HasBlock(b.Hash) {
				t.Errorf("rejected block %s was stored", b.Hash)
			}
			if got := e.c.Head(); got.Hash != head.Hash {
				t.Errorf("head moved to %s", got.Hash)
			}
		})
	}
}

// txCase returns a builder of a candidate block holding tx.
func txCase(e *ruleEnv, tx chain.Transaction) func(t *testing.T) *chain.Block {
	return func(t *testing.T) *chain.Block { return chaintest.Seal(t, chaintest.NewBlock(&e.p, e.tip(), "m", tx)) }
}

// TestValidationLimits checks the edge of every limit is accepted.
func TestValidationLimits(t *testing.T) {
	longAddr := strings.Repeat("é", chain.MaxAddressLen/2)
	cases := []struct {
		name  string
		build func(e *ruleEnv) *chain.Block
	}{
		{"timestamp equal to the median", func(e *ruleEnv) *chain.Block {
			b := e.candidate()
			b.Timestamp = e.medianTime()
			return b
		}},
		{"timestamp exactly the future limit ahead", func(e *ruleEnv) *chain.Block {
			b := e.candidate()
			b.Timestamp = chain.TimestampOf(chaintest.Now.Add(e.p.FutureLimit()))
			return b
		}},
		{"MaxBlockTxs transactions", func(e *ruleEnv) *chain.Block {
			return chaintest.NewBlock(&e.p, e.tip(), "m", e.tx1, e.tx2, chaintest.Tx("a", "b", 1, 9))
		}},
		{"longest addresses and the largest amount", func(e *ruleEnv) *chain.Block {
			return chaintest.NewBlock(&e.p, e.tip(), "m", chaintest.Tx(longAddr, longAddr, chain.MaxAmount, 1))
		}},
		{"side branch may hold a transaction of the main chain above the fork", func(e *ruleEnv) *chain.Block {
			return chaintest.NewBlock(&e.p, e.side[1], "m", e.txMain)
		}},
		{"side branch may hold a transaction of another side branch", func(e *ruleEnv) *chain.Block {
			return chaintest.NewBlock(&e.p, e.main[3], "m", e.txSide)
		}},
	}
	e := newRuleEnv(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := chaintest.Seal(t, tc.build(e))
			if err := e.p.CheckBlockSanity(b, chaintest.Now); err != nil {
				t.Fatalf("CheckBlockSanity: %v", err)
			}
			// Add to a copy of the environment's chain state: reopen a fresh
			// environment so that cases do not see each other's blocks.
			e2 := newRuleEnv(t)
			if _, err := e2.c.AddBlock(b); err != nil {
				t.Fatalf("AddBlock: %v", err)
			}
		})
	}
}

func TestKnownBlock(t *testing.T) {
	e := newRuleEnv(t)
	for _, b := range []*chain.Block{e.c.Genesis(), e.main[4], e.tip(), e.side[0], e.side[1]} {
		_, err := e.c.AddBlock(chaintest.CloneBlock(b))
		chaintest.WantErr(t, err, chain.ErrKnownBlock)
		if chain.IsRuleError(err) {
			t.Errorf("known block %d reported as a rule error", b.Index)
		}
	}
}

func TestCheckBlockContext(t *testing.T) {
	p := chain.DefaultParams()
	var parent chain.Hash
	parent[0] = 1
	// The parent came 2 target block times after its own parent: the
	// child's target is easier than the parent's by 2^(T/H).
	parentBits := chain.MustCompact(chain.ZeroBitsTarget(24))
	pe := &chain.Parent{Index: 4, Hash: parent, Bits: parentBits, Timestamp: 100 + chain.Timestamp(2*p.TargetBlockTime.Microseconds()), PrevMark: 100, Mark: 100 + chain.Timestamp(2*p.TargetBlockTime.Microseconds())}
	want, err := p.NextBits(pe)
	if err != nil || want == parentBits {
		t.Fatalf("NextBits %s, %v", want, err)
	}
	b := &chain.Block{Index: 5, Timestamp: 100, PreviousHash: parent, Bits: want}
	cases := []struct {
		name        string
		parentIndex uint64
		parentHash  chain.Hash
		bits        chain.Compact
		median      chain.Timestamp
		want        error // nil: valid
	}{
		{"valid", 4, parent, want, 100, nil},
		{"bad previous hash", 4, chain.Hash{2}, want, 100, chain.ErrBadPrevHash},
		{"bad index", 5, parent, want, 100, chain.ErrBadIndex},
		{"bits of the parent, not the retarget", 4, parent, parentBits, 100, chain.ErrBadDifficulty},
		{"bits one step harder", 4, parent, want - 1, 100, chain.ErrBadDifficulty},
		{"before the median", 4, parent, want, 101, chain.ErrTimeTooOld},
	}
	for _, tc := range cases {
		e := *pe
		e.Index, e.Hash = tc.parentIndex, tc.parentHash
		bb := *b
		bb.Bits = tc.bits
		err := p.CheckBlockContext(&bb, &e, tc.median)
		if tc.want == nil && err != nil || tc.want != nil && !errors.Is(err, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, err, tc.want)
		}
	}
}

func TestMedianTime(t *testing.T) {
	cases := []struct {
		in   []chain.Timestamp
		want chain.Timestamp
	}{
		{nil, 0},
		{[]chain.Timestamp{5}, 5},
		{[]chain.Timestamp{9, 1}, 9},
		{[]chain.Timestamp{3, 1, 2}, 2},
		{[]chain.Timestamp{11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1}, 6},
	}
	for _, tc := range cases {
		if got := chain.MedianTime(append([]chain.Timestamp(nil), tc.in...)); got != tc.want {
			t.Errorf("MedianTime(%v) = %d, want %d", tc.in, got, tc.want)
		}
	}
}

func TestErrorCodes(t *testing.T) {
	for code := chain.ErrMalformed; code <= chain.ErrBadGenesis; code++ {
		if s := code.String(); strings.HasPrefix(s, "code_") || s != code.Error() {
			t.Errorf("code %d has no name (%q)", int(code), s)
		}
		err := chain.RuleErrorf(code, "broken")
		if !errors.Is(err, code) || errors.Is(err, code+1) || chain.RuleCode(err) != code {
			t.Errorf("code %v does not match its RuleError", code)
		}
	}
	if got := chain.ErrorCode(99).String(); got != "code_99" {
		t.Errorf("unknown code name = %q", got)
	}
	if chain.RuleCode(chain.ErrKnownBlock) != 0 || chain.IsRuleError(chain.ErrUnknownParent) {
		t.Error("sentinels must not be rule errors")
	}
}

// TestSanityClock checks CheckBlockSanity against the clock it is given.
func TestSanityClock(t *testing.T) {
	p := chaintest.ParamsAt(t, chaintest.Difficulty)
	g := p.Genesis()
	b := chaintest.NewBlock(&p, g, "m")
	b.Timestamp = chain.TimestampOf(chaintest.Now)
	chaintest.Seal(t, b)
	if err := p.CheckBlockSanity(b, chaintest.Now.Add(-p.FutureLimit())); err != nil {
		t.Errorf("exactly the future limit ahead: %v", err)
	}
	err := p.CheckBlockSanity(b, chaintest.Now.Add(-p.FutureLimit()-time.Microsecond))
	chaintest.WantErr(t, err, chain.ErrTimeTooNew)
}
