package e2e

import (
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gossipchain/gossipchain/chain"
)

// TestResilienceCrash kills a node with SIGKILL at random moments while it
// mines continuously (--mine), while it syncs a thousand blocks or more from
// a peer, and while it reorganises onto a heavier branch, then restarts it
// on the same data directory. Every restart must open the store (which
// validates it), serve a chain that is valid from the genesis, still hold
// every block it had acknowledged (returned by GET /mine, or seen as its head
// in GET /status), be no lower than the highest of them, keep its peer ID,
// and catch up with its peer again.
func TestResilienceCrash(t *testing.T) {
	kills := scale(10, 120)
	rng := testRand(t)
	opts := quietOpts(nodeOptions{network: "crash", difficulty: 14})
	peer := startNode(t, opts)
	peerAddr := peer.multiaddr()
	// The victim has no bootstrap peer: after each restart it is alone until
	// the test registers the peer, so that branches can diverge.
	victim := startNode(t, opts)
	reportProblems(t, peer, victim)
	peerID := victim.mustStatus().PeerID
	victim.stop()
	baseExtra := slices.Clone(victim.opts.extra)
	tried(t, "%d SIGKILLs of a node (difficulty %d) while mining with --mine, syncing from a peer, or reorganising", kills, opts.difficulty)

	acked := map[chain.Hash]uint64{} // block hash -> height, acknowledged by the victim
	var maxAcked uint64
	ack := func(hash chain.Hash, height uint64) {
		if hash.IsZero() {
			return
		}
		acked[hash] = height
		maxAcked = max(maxAcked, height)
	}
	scenarios := []string{"mining", "syncing", "reorganising"}
	phases := map[string]int{}
	checkedBlocks := 0
	start := time.Now()

	for i := range kills {
		scenario := scenarios[i%len(scenarios)]
		if scenario == "syncing" {
			// The peer moves ahead while the victim is down: by a few hundred
			// blocks, and past whatever the victim mined that it lacks.
			behind := int(maxAcked) - int(peer.mustStatus().Height)
			peer.mineN(max(behind, 0) + scale(800, 1500) + rng.IntN(scale(800, 1500)))
		}

		victim.opts.extra = baseExtra
		if scenario == "mining" {
			victim.opts.extra = append(slices.Clone(baseExtra), "--mine")
		}
		victim.restart()
		if scenario == "mining" {
			// Connected at once, so that its miner does not race ahead of
			// the peer's blocks while the restart is checked.
			if err := victim.register(peerAddr); err != nil {
				t.Fatalf("kill %d: %v", i+1, err)
			}
		}
		checkedBlocks += checkRestart(t, victim, peerID, acked, maxAcked)

		if scenario == "reorganising" {
			// A private branch on the victim, then a heavier one on the peer.
			for range 1 + rng.IntN(8) {
				out := victim.mine()
				ack(out.Hash, out.Index)
			}
			lead := int(victim.mustStatus().Height) - int(peer.mustStatus().Height)
			// Longer than a chain-exchange batch (500 blocks) at times:
			// interrupted half-way, that leaves a side branch which the
			// next sync must resume (see TestResilienceSyncResumesSideBranch).
			peer.mineN(max(lead, 0) + 1 + rng.IntN(scale(400, 900)))
		}
		target := peer.mustStatus()
		before := victim.mustStatus()

		var delay time.Duration
		registered := make(chan error, 1)
		if scenario == "mining" {
			close(registered)
			registeredAt, diagnosed := time.Now(), false
			// Catching up first: the peer's head, whichever branch won, is
			// on the victim's main chain (the victim builds on it).
			waitFor(t, "the mining victim and its peer agree", waitTimeout, func() error {
				p, err := peer.status()
				if err != nil {
					return err
				}
				ok, err := victim.hasOnMain(p.Head, p.Height)
				if err == nil && !ok {
					err = fmt.Errorf("peer head %s@%d not on the victim's main chain", p.Head, p.Height)
				}
				if err != nil && time.Since(registeredAt) > waitTimeout-time.Second && !diagnosed {
					diagnose(t, peer, victim)
					diagnosed = true
				}
				return err
			})
			delay = time.Duration(rng.IntN(400)) * time.Millisecond
		} else {
			// Syncing starts as the connection does: the kill may land
			// during the registration itself, whose error is then expected.
			go func() { registered <- victim.register(peerAddr) }()
			delay = time.Duration(rng.IntN(25)) * time.Millisecond
		}
		// Every other sync or reorganisation is killed at the first sign of
		// progress instead: a new head below the peer's.
		onProgress := scenario != "mining" && i%2 == 0
		started := time.Now()
		killAt := started.Add(delay)
		if onProgress {
			killAt = started.Add(waitTimeout)
		}
		last := before
		for time.Now().Before(killAt) {
			if s, err := victim.status(); err == nil {
				ack(s.Head, s.Height)
				last = s
				if onProgress && s.Head != before.Head {
					break
				}
			}
		}
		delay = time.Since(started).Round(time.Millisecond)
		victim.kill()
		<-registered

		phase := scenario
		if scenario != "mining" {
			switch {
			case last.Head == before.Head:
				phase += ", before its head moved"
			case last.Head == target.Head:
				phase += ", after reaching the peer's head"
			default:
				phase += ", half-way (head moved, below the peer's)"
			}
		}
		phases[phase]++
		t.Logf("kill %d: %s after %s; victim last seen at height %d (peer at %d)", i+1, phase, delay, last.Height, target.Height)
	}

	// A last restart: valid, complete, and back in step with the peer.
	victim.opts.extra = baseExtra
	victim.restart()
	checkedBlocks += checkRestart(t, victim, peerID, acked, maxAcked)
	if err := victim.register(peerAddr); err != nil {
		t.Fatal(err)
	}
	head := sameHead(t, []*node{peer, victim}, 1)
	peer.mustValidChain()

	var summary []string
	for _, p := range slices.Sorted(maps.Keys(phases)) {
		summary = append(summary, fmt.Sprintf("%s: %d", p, phases[p]))
	}
	held(t, "%d SIGKILLs in %s (%s): every restart opened its store, served a valid chain from the genesis, kept peer ID %s, held all %d acknowledged blocks (%d checks) and was never below height %d; it caught up with its peer each time it mined, and at the end (head %s)",
		kills, time.Since(start).Round(time.Second), strings.Join(summary, "; "), peerID, len(acked), checkedBlocks, maxAcked, head)
}

// checkRestart checks a restarted victim: same peer ID, a valid chain, every
// acknowledged block stored, and a height no lower than the highest of them.
// It returns the number of acknowledged blocks checked.
func checkRestart(t *testing.T, victim *node, peerID string, acked map[chain.Hash]uint64, maxAcked uint64) int {
	t.Helper()
	s := victim.mustStatus()
	if s.PeerID != peerID {
		t.Fatalf("peer ID changed across a crash: %s -> %s", peerID, s.PeerID)
	}
	if s.Height < maxAcked {
		t.Fatalf("height %d after a crash, below the acknowledged height %d\n%s", s.Height, maxAcked, victim.LogTail(30))
	}
	onMain := map[chain.Hash]bool{}
	for _, b := range victim.mustValidChain() {
		onMain[b.Hash] = true
	}
	for hash, height := range acked {
		if onMain[hash] {
			continue
		}
		code, err := victim.blockCode(hash.String())
		if err != nil {
			t.Fatal(err)
		}
		if code != http.StatusOK {
			t.Fatalf("acknowledged block %s (height %d) lost across a crash: GET /blocks/{hash} %d\n%s", hash, height, code, victim.LogTail(30))
		}
	}
	return len(acked)
}
