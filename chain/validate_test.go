package chain

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// ruleEnv is a chain to validate blocks against:
//
//	genesis - a2 - a3 - ... - a12      main chain, a2 holds txLow, a5 txMain
//	                 \
//	                  s4 - s5          side branch, s5 holds txSide
//
// with small block limits (at most 4 transactions, 900 bytes).
type ruleEnv struct {
	p      Params
	c      *Chain
	main   []*Block // main[i] is the block at height i+1
	side   []*Block // s4, s5
	txLow  Transaction
	txMain Transaction
	txSide Transaction
	tx1    Transaction // pending-style transactions for candidate blocks
	tx2    Transaction
}

func newRuleEnv(t *testing.T) *ruleEnv {
	t.Helper()
	p := testParams(t, testDifficulty)
	p.MaxBlockTxs = 4
	p.MaxBlockSize = 900
	e := &ruleEnv{
		p:      p,
		c:      openChain(t, testConfig(t, p)),
		txLow:  makeTx("oscar", "peggy", 4, 0),
		txMain: makeTx("alice", "bob", 5, 1),
		txSide: makeTx("carol", "dave", 6, 2),
		tx1:    makeTx("erin", "frank", 7, 3),
		tx2:    makeTx("grace", "heidi", 8, 4),
	}
	e.main = []*Block{e.c.Genesis()}
	for h := 2; h <= 12; h++ {
		var txs []Transaction
		switch h {
		case 2:
			txs = append(txs, e.txLow)
		case 5:
			txs = append(txs, e.txMain)
		}
		b := nextBlock(t, &e.p, e.tip(), "miner-a", txs...)
		mustAdd(t, e.c, b)
		e.main = append(e.main, b)
	}
	s4 := nextBlock(t, &e.p, e.main[2], "miner-s")
	s5 := nextBlock(t, &e.p, s4, "miner-s", e.txSide)
	for _, b := range []*Block{s4, s5} {
		if res := mustAdd(t, e.c, b); res.Status != SideBranch {
			t.Fatalf("side block %d: status %v, want side_branch", b.Index, res.Status)
		}
	}
	e.side = []*Block{s4, s5}
	return e
}

func (e *ruleEnv) tip() *Block { return e.main[len(e.main)-1] }

// candidate returns an unmined block on the tip with tx1, tx2 and the reward.
func (e *ruleEnv) candidate() *Block { return newBlock(&e.p, e.tip(), "miner-c", e.tx1, e.tx2) }

// medianTime is the median time of the last 11 main-chain blocks.
func (e *ruleEnv) medianTime() Timestamp {
	var ts []Timestamp
	for _, b := range e.main[len(e.main)-MedianTimeBlocks:] {
		ts = append(ts, b.Timestamp)
	}
	return MedianTime(ts)
}

// breakProof applies mutate(b, k) for k = 1, 2, ... to copies of b and
// returns the first copy whose recomputed hash fails b's difficulty: the
// mutation invalidates the proof.
func breakProof(t *testing.T, b *Block, mutate func(b *Block, k int)) *Block {
	t.Helper()
	for k := 1; k < 1000; k++ {
		c := cloneBlock(b)
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
	longAddr := strings.Repeat("x", MaxAddressLen)
	mined := seal(t, e.candidate())

	cases := []struct {
		name  string
		build func(t *testing.T) *Block // the block to add
		want  error                     // the rule it breaks
	}{
		{"too many transactions", func(t *testing.T) *Block {
			return seal(t, newBlock(&e.p, e.tip(), "m", e.tx1, e.tx2, makeTx("a", "b", 1, 9), makeTx("a", "b", 1, 10)))
		}, ErrTooLarge},
		{"too large", func(t *testing.T) *Block {
			return seal(t, newBlock(&e.p, e.tip(), "m",
				makeTx(longAddr, longAddr, 1, 1), makeTx(longAddr, longAddr, 1, 2), makeTx(longAddr, longAddr, 1, 3)))
		}, ErrTooLarge},
		{"no transactions at all", func(t *testing.T) *Block {
			b := e.candidate()
			b.Transactions = nil
			return seal(t, b)
		}, ErrBadReward},
		{"bits easier than the network's maximum target", func(t *testing.T) *Block {
			b := e.candidate()
			b.Bits = MustCompact(ZeroBitsTarget(e.p.Difficulty() - 1))
			return seal(t, b)
		}, ErrBadDifficulty},
		{"bits that do not decode", func(t *testing.T) *Block {
			b := e.candidate()
			b.Bits = 0x1d800001 // negative
			b.TxRoot = TxRoot(b.Transactions)
			b.Hash = b.ComputeHash()
			return b
		}, ErrBadDifficulty},
		{"bits harder than the retargeting rule requires", func(t *testing.T) *Block {
			b := e.candidate()
			b.Bits = MustCompact(ZeroBitsTarget(e.p.Difficulty() + 1))
			return seal(t, b)
		}, ErrBadDifficulty},
		{"bad stated hash", func(t *testing.T) *Block {
			b := cloneBlock(mined)
			b.Hash[31] ^= 1
			return b
		}, ErrBadHash},
		{"bad proof", func(t *testing.T) *Block {
			b := e.candidate()
			unmine(t, b, b.Bits)
			return b
		}, ErrBadProof},
		{"tampered timestamp keeps the stated hash", func(t *testing.T) *Block {
			b := cloneBlock(mined)
			b.Timestamp++
			return b
		}, ErrBadHash},
		{"tampered timestamp breaks the proof", func(t *testing.T) *Block {
			return breakProof(t, mined, func(b *Block, k int) { b.Timestamp += Timestamp(k) })
		}, ErrBadProof},
		{"tampered index breaks the proof", func(t *testing.T) *Block {
			return breakProof(t, mined, func(b *Block, k int) {
				b.Index += uint64(k)
				b.Transactions[len(b.Transactions)-1] = NewRewardTransaction("miner-c", e.p.Reward, b.Index)
				b.TxRoot = TxRoot(b.Transactions)
			})
		}, ErrBadProof},
		{"tampered transaction breaks the proof", func(t *testing.T) *Block {
			return breakProof(t, mined, func(b *Block, k int) {
				b.Transactions[0].Amount += uint64(k)
				b.Transactions[0].ID = b.Transactions[0].ComputeID()
				b.TxRoot = TxRoot(b.Transactions)
			})
		}, ErrBadProof},
		{"tampered transaction with the old root", func(t *testing.T) *Block {
			b := cloneBlock(mined)
			b.Transactions[0].Amount++
			b.Transactions[0].ID = b.Transactions[0].ComputeID()
			return b
		}, ErrBadTxRoot},
		{"tampered transaction with the old id", func(t *testing.T) *Block {
			b := cloneBlock(mined)
			b.Transactions[0].Recipient = "mallory"
			return b
		}, ErrBadTransaction},
		{"proof copied from another block", func(t *testing.T) *Block {
			return breakProof(t, mined, func(b *Block, k int) {
				// Another block: same parent, other transactions, with the
				// mined block's proof.
				b.Transactions[0] = makeTx("erin", "frank", 7, uint64(100+k))
				b.TxRoot = TxRoot(b.Transactions)
			})
		}, ErrBadProof},
		{"time past the future limit", func(t *testing.T) *Block {
			b := e.candidate()
			b.Timestamp = TimestampOf(testNow.Add(e.p.FutureLimit())) + 1
			return seal(t, b)
		}, ErrTimeTooNew},
		{"time before the median of the last 11", func(t *testing.T) *Block {
			b := e.candidate()
			b.Timestamp = e.medianTime() - 1
			return seal(t, b)
		}, ErrTimeTooOld},
		{"bad tx_root", func(t *testing.T) *Block {
			b := e.candidate()
			b.TxRoot = TxRoot(b.Transactions[:1])
			mine(t, b, b.Bits)
			return b
		}, ErrBadTxRoot},
		{"missing reward", func(t *testing.T) *Block {
			b := e.candidate()
			b.Transactions = b.Transactions[:2]
			return seal(t, b)
		}, ErrBadReward},
		{"reward not last", func(t *testing.T) *Block {
			b := e.candidate()
			b.Transactions[1], b.Transactions[2] = b.Transactions[2], b.Transactions[1]
			return seal(t, b)
		}, ErrBadReward},
		{"two rewards", func(t *testing.T) *Block {
			b := e.candidate()
			b.Transactions[0] = NewRewardTransaction("miner-x", e.p.Reward, b.Index)
			return seal(t, b)
		}, ErrBadReward},
		{"wrong reward amount", func(t *testing.T) *Block {
			b := e.candidate()
			b.Transactions[2] = NewRewardTransaction("miner-c", e.p.Reward+1, b.Index)
			return seal(t, b)
		}, ErrBadReward},
		{"reward nonce is not the index", func(t *testing.T) *Block {
			b := e.candidate()
			b.Transactions[2] = NewRewardTransaction("miner-c", e.p.Reward, b.Index+1)
			return seal(t, b)
		}, ErrBadReward},
		{"empty sender", txCase(e, makeTx("", "bob", 1, 1)), ErrBadTransaction},
		{"empty recipient", txCase(e, makeTx("alice", "", 1, 1)), ErrBadTransaction},
		{"address too long", txCase(e, makeTx(longAddr+"x", "bob", 1, 1)), ErrBadTransaction},
		{"non-printable address", txCase(e, makeTx("ali\x01ce", "bob", 1, 1)), ErrBadTransaction},
		{"address not UTF-8", txCase(e, makeTx("ali\xffce", "bob", 1, 1)), ErrBadTransaction},
		{"zero amount", txCase(e, makeTx("alice", "bob", 0, 1)), ErrBadTransaction},
		{"amount above MaxAmount", txCase(e, makeTx("alice", "bob", MaxAmount+1, 1)), ErrBadTransaction},
		{"bad transaction id", func(t *testing.T) *Block {
			tx := makeTx("alice", "bob", 1, 1)
			tx.ID[0] ^= 1
			return txCase(e, tx)(t)
		}, ErrBadTransaction},
		{"reward recipient empty", func(t *testing.T) *Block {
			return seal(t, newBlock(&e.p, e.tip(), "", e.tx1))
		}, ErrBadTransaction},
		{"duplicate transaction in the block", func(t *testing.T) *Block {
			return seal(t, newBlock(&e.p, e.tip(), "m", e.tx1, e.tx1))
		}, ErrDuplicateTx},
		{"transaction already in a main-chain ancestor", func(t *testing.T) *Block {
			return seal(t, newBlock(&e.p, e.tip(), "m", e.tx1, e.txMain))
		}, ErrDuplicateTx},
		{"transaction already in a side-branch ancestor", func(t *testing.T) *Block {
			return seal(t, newBlock(&e.p, e.side[1], "m", e.txSide))
		}, ErrDuplicateTx},
		{"transaction in the main chain below the fork", func(t *testing.T) *Block {
			return seal(t, newBlock(&e.p, e.side[1], "m", e.txLow))
		}, ErrDuplicateTx},
		{"bad index", func(t *testing.T) *Block {
			b := e.candidate()
			b.Index++
			b.Transactions[2] = NewRewardTransaction("miner-c", e.p.Reward, b.Index)
			return seal(t, b)
		}, ErrBadIndex},
		{"index zero", func(t *testing.T) *Block {
			b := e.candidate()
			b.Index = 0
			b.Transactions[2] = NewRewardTransaction("miner-c", e.p.Reward, 0)
			return seal(t, b)
		}, ErrBadIndex},
		{"fake genesis", func(t *testing.T) *Block {
			b := cloneBlock(e.c.Genesis())
			b.Transactions = []Transaction{NewRewardTransaction("forger", e.p.Reward, 1)}
			return seal(t, b)
		}, ErrBadGenesis},
		{"index 1 on the tip", func(t *testing.T) *Block {
			b := e.candidate()
			b.Index = 1
			b.Transactions[2] = NewRewardTransaction("miner-c", e.p.Reward, 1)
			return seal(t, b)
		}, ErrBadGenesis},
		{"unknown parent", func(t *testing.T) *Block {
			b := e.candidate()
			b.PreviousHash[0] ^= 0xff
			return seal(t, b)
		}, ErrUnknownParent},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := tc.build(t)
			head := e.c.Head()
			_, err := e.c.AddBlock(b)
			if !errors.Is(err, tc.want) {
				t.Fatalf("got error %v, want %v", err, tc.want)
			}
			var code ErrorCode
			if errors.As(tc.want, &code) {
				if got := RuleCode(err); got != code || !IsRuleError(err) {
					t.Errorf("RuleCode = %v, IsRuleError = %v; want %v, true", got, IsRuleError(err), code)
				}
			} else if IsRuleError(err) {
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
func txCase(e *ruleEnv, tx Transaction) func(t *testing.T) *Block {
	return func(t *testing.T) *Block { return seal(t, newBlock(&e.p, e.tip(), "m", tx)) }
}

// TestValidationLimits checks the edge of every limit is accepted.
func TestValidationLimits(t *testing.T) {
	longAddr := strings.Repeat("é", MaxAddressLen/2)
	cases := []struct {
		name  string
		build func(e *ruleEnv) *Block
	}{
		{"timestamp equal to the median", func(e *ruleEnv) *Block {
			b := e.candidate()
			b.Timestamp = e.medianTime()
			return b
		}},
		{"timestamp exactly the future limit ahead", func(e *ruleEnv) *Block {
			b := e.candidate()
			b.Timestamp = TimestampOf(testNow.Add(e.p.FutureLimit()))
			return b
		}},
		{"MaxBlockTxs transactions", func(e *ruleEnv) *Block {
			return newBlock(&e.p, e.tip(), "m", e.tx1, e.tx2, makeTx("a", "b", 1, 9))
		}},
		{"longest addresses and the largest amount", func(e *ruleEnv) *Block {
			return newBlock(&e.p, e.tip(), "m", makeTx(longAddr, longAddr, MaxAmount, 1))
		}},
		{"side branch may hold a transaction of the main chain above the fork", func(e *ruleEnv) *Block {
			return newBlock(&e.p, e.side[1], "m", e.txMain)
		}},
		{"side branch may hold a transaction of another side branch", func(e *ruleEnv) *Block {
			return newBlock(&e.p, e.main[3], "m", e.txSide)
		}},
	}
	e := newRuleEnv(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := seal(t, tc.build(e))
			if err := e.p.CheckBlockSanity(b, testNow); err != nil {
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
	for _, b := range []*Block{e.c.Genesis(), e.main[4], e.tip(), e.side[0], e.side[1]} {
		_, err := e.c.AddBlock(cloneBlock(b))
		wantErr(t, err, ErrKnownBlock)
		if IsRuleError(err) {
			t.Errorf("known block %d reported as a rule error", b.Index)
		}
	}
}

func TestCheckBlockContext(t *testing.T) {
	p := DefaultParams()
	var parent Hash
	parent[0] = 1
	// The parent came 2 target block times after its own parent: the
	// child's target is easier than the parent's by 2^(T/H).
	parentBits := MustCompact(ZeroBitsTarget(20))
	pe := &Parent{Index: 4, Hash: parent, Bits: parentBits, Timestamp: 100 + Timestamp(2*p.TargetBlockTime.Microseconds()), PrevMark: 100, Mark: 100 + Timestamp(2*p.TargetBlockTime.Microseconds())}
	want, err := p.NextBits(pe)
	if err != nil || want == parentBits {
		t.Fatalf("NextBits %s, %v", want, err)
	}
	b := &Block{Index: 5, Timestamp: 100, PreviousHash: parent, Bits: want}
	cases := []struct {
		name        string
		parentIndex uint64
		parentHash  Hash
		bits        Compact
		median      Timestamp
		want        error // nil: valid
	}{
		{"valid", 4, parent, want, 100, nil},
		{"bad previous hash", 4, Hash{2}, want, 100, ErrBadPrevHash},
		{"bad index", 5, parent, want, 100, ErrBadIndex},
		{"bits of the parent, not the retarget", 4, parent, parentBits, 100, ErrBadDifficulty},
		{"bits one step harder", 4, parent, want - 1, 100, ErrBadDifficulty},
		{"before the median", 4, parent, want, 101, ErrTimeTooOld},
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
		in   []Timestamp
		want Timestamp
	}{
		{nil, 0},
		{[]Timestamp{5}, 5},
		{[]Timestamp{9, 1}, 9},
		{[]Timestamp{3, 1, 2}, 2},
		{[]Timestamp{11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1}, 6},
	}
	for _, tc := range cases {
		if got := MedianTime(append([]Timestamp(nil), tc.in...)); got != tc.want {
			t.Errorf("MedianTime(%v) = %d, want %d", tc.in, got, tc.want)
		}
	}
}

func TestErrorCodes(t *testing.T) {
	for code := ErrMalformed; code <= ErrBadGenesis; code++ {
		if s := code.String(); strings.HasPrefix(s, "code_") || s != code.Error() {
			t.Errorf("code %d has no name (%q)", int(code), s)
		}
		err := ruleErrorf(code, "broken")
		if !errors.Is(err, code) || errors.Is(err, code+1) || RuleCode(err) != code {
			t.Errorf("code %v does not match its RuleError", code)
		}
	}
	if got := ErrorCode(99).String(); got != "code_99" {
		t.Errorf("unknown code name = %q", got)
	}
	if RuleCode(ErrKnownBlock) != 0 || IsRuleError(ErrUnknownParent) {
		t.Error("sentinels must not be rule errors")
	}
}

// TestSanityClock checks CheckBlockSanity against the clock it is given.
func TestSanityClock(t *testing.T) {
	p := testParams(t, testDifficulty)
	g := p.Genesis()
	b := newBlock(&p, g, "m")
	b.Timestamp = TimestampOf(testNow)
	seal(t, b)
	if err := p.CheckBlockSanity(b, testNow.Add(-p.FutureLimit())); err != nil {
		t.Errorf("exactly the future limit ahead: %v", err)
	}
	err := p.CheckBlockSanity(b, testNow.Add(-p.FutureLimit()-time.Microsecond))
	wantErr(t, err, ErrTimeTooNew)
}
