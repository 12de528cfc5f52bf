package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gossipchain/gossipchain/api/client"
)

// TestResilienceSyncResumesSideBranch: a node that already stores the
// first part of a heavier branch as a side branch, longer than one
// chain-exchange batch (500 blocks), must still adopt that branch when it
// syncs from a peer holding all of it. This is the state a node is left in
// when a sync is interrupted (a crash, a lost connection, a peer that stops
// answering) before the fetched branch outweighs its own, and the state the
// crash test reaches when a long reorganisation is killed half-way.
func TestResilienceSyncResumesSideBranch(t *testing.T) {
	// Neither node redials the other from its address book: the test needs
	// them apart until the second /nodes/register.
	noRedial := []string{"--dial-known=false"}
	opts := quietOpts(nodeOptions{network: "sidebranch", difficulty: 8})
	opts.extra = append(opts.extra, noRedial...)
	peer := startNode(t, opts)
	lagger := startNode(t, nodeOptions{network: opts.network, difficulty: opts.difficulty, extra: noRedial})
	reportProblems(t, peer, lagger)
	peer.mineN(10)
	if err := lagger.register(peer.multiaddr()); err != nil {
		t.Fatal(err)
	}
	common := sameHead(t, []*node{peer, lagger}, 11)
	// Apart again: the node restarts with no peer.
	lagger.stop()
	lagger.restart()

	// The peer's branch: 1200 blocks above the common head.
	peer.mineN(1200)
	branch, err := peer.fetchChain()
	if err != nil {
		t.Fatal(err)
	}
	branch = branch[11:]
	// The node's own branch: 700 blocks, heavier than the first 600 of the
	// peer's, which it is then given and stores as a side branch.
	lagger.mineN(700)
	for _, b := range branch[:600] {
		data, _ := json.Marshal(b)
		var out client.BlockSubmitted
		if code, err := lagger.do(http.MethodPost, "/blocks", string(data), &out); err != nil || code != http.StatusCreated || out.Status != "side_branch" {
			t.Fatalf("POST /blocks %d: %d %q %v", b.Index, code, out.Status, err)
		}
	}
	target := peer.mustStatus()
	tried(t, "a node holding 600 blocks of a peer's heavier branch as a side branch (over the fork at %s) syncs from that peer", common)

	if err := lagger.register(peer.multiaddr()); err != nil {
		t.Fatal(err)
	}
	start, diagnosed := time.Now(), false
	waitFor(t, "the node adopts the peer's heavier branch", 20*time.Second, func() error {
		ok, err := lagger.hasOnMain(target.Head, target.Height)
		if err == nil && !ok {
			s, _ := lagger.status()
			err = fmt.Errorf("node at height %d (%s), peer at %d", s.Height, s.Head, target.Height)
		}
		if err != nil && time.Since(start) > 19*time.Second && !diagnosed {
			diagnose(t, peer, lagger)
			for _, l := range strings.Split(lagger.Log(), "\n") {
				if strings.Contains(l, "sync failed") {
					t.Logf("lagging node: %s", l)
					break
				}
			}
			diagnosed = true
		}
		return err
	})
	lagger.mustValidChain()
	held(t, "the node adopted the peer's branch (height %d) in %s", target.Height, time.Since(start).Round(time.Millisecond))
}
