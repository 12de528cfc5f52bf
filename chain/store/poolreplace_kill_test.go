package store

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gossipchain/gossipchain/chain"
	"github.com/gossipchain/gossipchain/chain/chaintest"
)

// The replacement kill test: a child process funds 8 senders on a signed
// network, then each sender submits transactions and replaces each one
// three times with higher fees, while the child mines; it reports every
// acknowledged transaction with its sender, nonce and fee. The parent
// kills it with SIGKILL at a random moment, reopens the store and checks
// that each reported (sender, nonce) is held exactly once: pending, by the
// last acknowledged transaction or a later replacement; or in a block, by
// any of them (a block mined from a template taken before a replacement
// confirms the one it holds, and the replacement leaves the pool).

const killReplaceChildEnv = "GOSSIPCHAIN_KILL_REPLACE_CHILD" // set in the child: the store path

// killReplaceSenders is the number of funded senders of the child.
const killReplaceSenders = 8

func killReplaceParams(t testing.TB) chain.Params {
	p := killParams(t)
	p.Ledger = chain.LedgerSigned
	p.Reward = 1 << 40
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestKillReplaceChildHelper is the child's body; it does nothing in a
// normal run.
func TestKillReplaceChildHelper(t *testing.T) {
	path := os.Getenv(killReplaceChildEnv)
	if path == "" {
		t.Skip("only runs as the child of TestKillReplacement")
	}
	p := killReplaceParams(t)
	c, err := Open(Config{Params: p, Path: path, Logger: quietLogger()})
	if err != nil {
		fmt.Printf("open-error %v\n", err)
		os.Exit(3)
	}
	_, minerAddr := chaintest.Key(t, "kill miner")
	m, err := newMiner(c, minerAddr)
	if err != nil {
		os.Exit(3)
	}
	var mu sync.Mutex
	out := bufio.NewWriter(os.Stdout)
	say := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(out, format+"\n", args...)
		out.Flush()
	}
	parent := c.Genesis()
	for i := range killReplaceSenders {
		_, addr := chaintest.Key(t, fmt.Sprint("payer ", i))
		b := chaintest.NextBlock(t, &p, parent, addr)
		if _, err := c.AddBlock(b); err != nil {
			say("error fund %v", err)
			os.Exit(4)
		}
		parent = b
	}
	_, payee := chaintest.Key(t, "payee")
	for i := range killReplaceSenders {
		key, addr := chaintest.Key(t, fmt.Sprint("payer ", i))
		go func() {
			for nonce := uint64(0); ; nonce++ {
				fee := uint64(1)
				for range 4 { // the transaction and three replacements
					tx, err := chain.SignTransactionFee(key, payee, 1, fee, nonce, c.Genesis().Hash)
					if err != nil {
						say("error sign %v", err)
						os.Exit(4)
					}
					if err := c.AddTransaction(tx); err == nil {
						say("acked %s %d %d", addr, nonce, fee)
					}
					fee = chain.ReplacementFee(fee, 0, tx.EncodedSize())
				}
			}
		}()
	}
	say("started")
	mineUntilKilled(m, say)
}

// TestKillReplacement: a replacement and the transaction it replaces are
// never both lost nor both kept across SIGKILL, and what was acknowledged
// last is kept pending (or a later replacement) unless a block confirmed
// one of them.
func TestKillReplacement(t *testing.T) {
	if os.Getenv(killReplaceChildEnv) != "" {
		t.Skip("in the child")
	}
	type slot struct {
		sender string
		nonce  uint64
	}
	killPoolRounds(t, "TestKillReplaceChildHelper", killReplaceChildEnv, killReplaceParams(t), 100*time.Millisecond,
		func(round int, lines []string, c *Chain, heldTxs func(func(*chain.Transaction, bool))) int {
			acked := map[slot]uint64{} // the highest acknowledged fee
			for _, line := range lines {
				f := strings.Fields(line)
				switch {
				case len(f) == 4 && f[0] == "acked":
					nonce, err1 := strconv.ParseUint(f[2], 10, 64)
					fee, err2 := strconv.ParseUint(f[3], 10, 64)
					if err1 != nil || err2 != nil {
						t.Fatalf("bad line %q", line)
					}
					s := slot{f[1], nonce}
					acked[s] = max(acked[s], fee)
				case strings.HasPrefix(line, "open-error"), strings.HasPrefix(line, "error"):
					t.Fatalf("round %d: child: %s", round, line)
				}
			}
			held := map[slot][]uint64{} // the fees of the transactions held
			confirmed := map[slot]bool{}
			heldTxs(func(tx *chain.Transaction, inChain bool) {
				if !tx.IsReward() {
					s := slot{tx.Sender, tx.Nonce}
					held[s] = append(held[s], tx.Fee)
					confirmed[s] = inChain
				}
			})
			for s, fees := range held {
				if len(fees) != 1 {
					t.Errorf("round %d: nonce %d of %s held %d times (fees %v)", round, s.nonce, s.sender, len(fees), fees)
				}
			}
			for s, fee := range acked {
				if fees := held[s]; len(fees) == 0 || (!confirmed[s] && fees[0] < fee) {
					a, _ := c.Account(s.sender)
					t.Errorf("round %d: nonce %d of %s acknowledged with fee %d, held %v; account %+v", round, s.nonce, s.sender, fee, fees, a)
				}
			}
			t.Logf("round %d: %d nonces acknowledged, %d pending and height %d after reopening", round, len(acked), c.PendingCount(), c.Head().Height)
			return len(acked)
		})
}
