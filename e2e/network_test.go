package e2e

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/gossipchain/gossipchain/api/client"
	"github.com/gossipchain/gossipchain/chain"
)

// startLine starts k nodes bootstrapped in a line: node i to node i-1.
func startLine(t *testing.T, k int, opts nodeOptions) []*node {
	t.Helper()
	nodes := make([]*node, 0, k)
	for i := 0; i < k; i++ {
		o := opts
		if i > 0 {
			o.bootstrap = []string{nodes[i-1].multiaddr()}
		}
		nodes = append(nodes, startNode(t, o))
	}
	return nodes
}

// Three processes bootstrapped by multiaddr converge after each mines, and
// a transaction posted to one is mined by another.
func TestThreeNodesConverge(t *testing.T) {
	nodes := startLine(t, 3, nodeOptions{})
	waitFor(t, "peers connected", waitTimeout, func() error {
		for i, n := range nodes {
			s, err := n.status()
			if err != nil {
				return err
			}
			if s.Peers < 1 {
				return fmt.Errorf("node %d has no peers", i)
			}
		}
		return nil
	})
	// Each block must reach every node before the next is mined, or two
	// nodes could mine at the same height and one block would be orphaned.
	var head chain.Hash
	for i, n := range nodes {
		n.mine()
		head = sameHead(t, nodes, uint64(i+2))
	}

	var txResp client.TxAccepted
	code, err := nodes[0].do(http.MethodPost, "/transactions/new", `{"sender": "alice", "recipient": "bob", "amount": 7}`, &txResp)
	if err != nil || code != http.StatusCreated || txResp.ID.IsZero() {
		t.Fatalf("POST /transactions/new: %d %+v %v", code, txResp, err)
	}
	waitFor(t, "transaction pending on every node", waitTimeout, func() error {
		for i, n := range nodes {
			var loc map[string]any
			if c, err := n.getJSON("/transactions/"+txResp.ID.String(), &loc); err != nil || c != http.StatusOK {
				return fmt.Errorf("node %d: %d %v %v", i, c, loc, err)
			}
		}
		return nil
	})
	mined := nodes[2].mine()
	newHead := sameHead(t, nodes, 5)
	if newHead == head {
		t.Fatalf("head did not move")
	}
	found := false
	for _, tx := range mined.Transactions {
		if tx.ID == txResp.ID {
			found = true
		}
	}
	if !found {
		t.Fatalf("transaction %s not in the block mined by node 2: %v", txResp.ID, mined)
	}
	for i, n := range nodes {
		s := n.mustStatus()
		if s.Pending != 0 {
			t.Errorf("node %d still has %d pending", i, s.Pending)
		}
		hashes, err := n.chainHashes()
		if err != nil || len(hashes) != 5 || hashes[4] != newHead {
			t.Errorf("node %d chain %v %v", i, hashes, err)
		}
	}
}

// Nodes of different networks connected by bootstrap never share blocks.
func TestNetworksDoNotMix(t *testing.T) {
	a := startNode(t, nodeOptions{network: "alpha"})
	b := startNode(t, nodeOptions{network: "beta", bootstrap: []string{a.multiaddr()}})
	a.mine()
	b.mine()
	b.mine()
	// Give the status exchange a chance to run (and fail) before checking.
	waitFor(t, "beta's status exchange with alpha refused", waitTimeout, func() error {
		if v, err := b.metric("gossipchain_sync_peers_wrong_network_total"); err != nil || v < 1 {
			return fmt.Errorf("peers_wrong_network_total = %v, %v", v, err)
		}
		return nil
	})
	sa, sb := a.mustStatus(), b.mustStatus()
	if sa.Genesis == sb.Genesis {
		t.Fatalf("networks alpha and beta share genesis %s", sa.Genesis)
	}
	if sa.Height != 2 || sb.Height != 3 {
		t.Fatalf("heights %d and %d, want 2 and 3", sa.Height, sb.Height)
	}
	if sa.Peers != 0 || sb.Peers != 0 {
		t.Logf("peers after status exchange: alpha %d beta %d", sa.Peers, sb.Peers)
	}
}
