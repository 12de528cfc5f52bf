package e2e

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gossipchain/gossipchain/chain"
	gsync "github.com/gossipchain/gossipchain/sync"
)

// TestUnfundedFlood: one peer gossips 10,000 correctly signed transactions
// from 5,000 fresh keys that own nothing to a node of a signed network. The
// node refuses them by an account look-up, before any signature, so that
// they cost it less CPU than they cost the attacker to make; past its
// budget the sender's transactions are rejected (its gossip score falls).
// A funded payment then still enters the pool of the node and of its
// honest peer.
func TestUnfundedFlood(t *testing.T) {
	dir := t.TempDir()
	alice := newWalletKey(t, filepath.Join(dir, "alice.key"))
	bob := newWalletKey(t, filepath.Join(dir, "bob.key"))
	a := startNode(t, signedOpts("unfundedflood", "--miner-address", alice))
	b := startNode(t, signedOpts("unfundedflood"))
	if err := b.register(a.multiaddr()); err != nil {
		t.Fatal(err)
	}
	a.mine()

	h := startHostile(t, a)
	const n, keys = 10_000, 5_000
	// One scrape of /metrics per look: the node's CPU is measured meanwhile.
	counts := func() (refused, over float64) {
		m, err := a.metrics()
		if err != nil {
			t.Fatal(err)
		}
		over = m[rejected("transactions", chain.ErrInsufficientBalance.String())] + m[rejected("transactions", chain.ErrBadNonce.String())]
		return m["gossipchain_sync_transactions_ignored_total"] + over, over
	}
	refused0, _ := counts()
	cpu0 := procCPUSeconds(t, a.Pid())
	out := h.do("unfunded %d %d", n, keys)
	tried(t, "one peer gossips %d signed transactions from %d fresh keys that own nothing, in %.1f s and %.2f s of its CPU", n, keys, out["seconds"], out["cpu_seconds"])
	// Every transaction the node reads is refused at once; once the sender
	// is graylisted, the node reads none: wait until the count stays put.
	var read, over float64
	last, since := -1.0, time.Now()
	waitFor(t, "the refusals settled", waitTimeout, func() error {
		r, o := counts()
		if read, over = r-refused0, o; read != last {
			last, since = read, time.Now()
		}
		if time.Since(since) < 3*time.Second {
			return fmt.Errorf("%v refused so far", read)
		}
		return nil
	})
	victimCPU := procCPUSeconds(t, a.Pid()) - cpu0
	attackerCPU := out["cpu_seconds"].(float64)
	t.Logf("the node read %v of them, rejected %v, and spent %.2f s of CPU from the start of the flood to 3 s after its end (the attacker %.2f s)", read, over, victimCPU, attackerCPU)
	if over == 0 || read < gsync.UnplaceableBurst {
		t.Fatalf("%v refused, %v of them rejected: want the budget of %d ignored, then rejections", read, over, gsync.UnplaceableBurst)
	}
	if victimCPU >= attackerCPU {
		t.Fatalf("the flood cost the node %.2f s of CPU, the attacker %.2f s: want less for the node", victimCPU, attackerCPU)
	}
	held(t, "the sender's transactions rejected past its budget of %d; the node's CPU below the attacker's", gsync.UnplaceableBurst)

	id := walletSend(t, a, filepath.Join(dir, "alice.key"), bob, 1)
	waitPending(t, []chain.Hash{id}, a, b)
	held(t, "a funded payment pending on the node and its honest peer")
}

// procCPUSeconds reads the user and system CPU time of process pid from
// /proc/<pid>/stat (in clock ticks of 1/100 s).
func procCPUSeconds(t testing.TB, pid int) float64 {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		t.Fatal(err)
	}
	// The fields after the command name, which is in parentheses.
	f := strings.Fields(string(data[bytes.LastIndexByte(data, ')')+1:]))
	if len(f) < 13 {
		t.Fatalf("/proc/%d/stat: %d fields", pid, len(f))
	}
	utime, err1 := strconv.ParseFloat(f[11], 64)
	stime, err2 := strconv.ParseFloat(f[12], 64)
	if err1 != nil || err2 != nil {
		t.Fatalf("/proc/%d/stat: utime %q, stime %q", pid, f[11], f[12])
	}
	return (utime + stime) / 100
}
