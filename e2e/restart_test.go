package e2e

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/gossipchain/gossipchain/api/client"
)

// A node killed with SIGKILL keeps its peer ID, its chain and its pending
// transactions, and catches up with what it missed once it rejoins.
func TestKillAndRestart(t *testing.T) {
	nodes := startLine(t, 3, nodeOptions{})
	a, c := nodes[0], nodes[2]
	a.mine()
	sameHead(t, nodes, 2)
	c.mine()
	sameHead(t, nodes, 3)
	before := c.mustStatus()

	var tx client.TxAccepted
	if code, err := c.do(http.MethodPost, "/transactions/new", `{"sender": "carol", "recipient": "dave", "amount": 3}`, &tx); err != nil || code != http.StatusCreated {
		t.Fatalf("POST /transactions/new: %d %v", code, err)
	}
	c.kill()

	a.mine()
	sameHead(t, nodes[:2], 4)
	a.mine()
	sameHead(t, nodes[:2], 5)

	// Alone first (no bootstrap): what was on disk must be there.
	// Its peers know its address and it knows theirs: it listens elsewhere and
	// dials nobody from its address book while it must stay alone.
	bootstrap, port, extra := c.opts.bootstrap, c.opts.p2pPort, c.opts.extra
	c.opts.bootstrap, c.opts.p2pPort = nil, freePort(t)
	c.opts.extra = append(append([]string(nil), extra...), "--dial-known=false")
	c.restart()
	after := c.mustStatus()
	if after.PeerID != before.PeerID {
		t.Fatalf("peer ID changed across restart: %s → %s", before.PeerID, after.PeerID)
	}
	if after.Head != before.Head || after.Height != before.Height {
		t.Fatalf("chain lost across SIGKILL: head %s@%d → %s@%d", before.Head, before.Height, after.Head, after.Height)
	}
	var loc client.TxStatus
	if code, err := c.getJSON("/transactions/"+tx.ID.String(), &loc); err != nil || code != http.StatusOK || loc.Status != "pending" {
		t.Fatalf("acknowledged transaction lost across SIGKILL: %d %+v %v", code, loc, err)
	}
	c.stop()

	// Then rejoin: it catches up with the blocks mined while it was away.
	c.opts.bootstrap, c.opts.p2pPort, c.opts.extra = bootstrap, port, extra
	c.restart()
	head := sameHead(t, nodes, 5)
	waitFor(t, "transaction pending or confirmed after catching up", waitTimeout, func() error {
		if code, err := c.getJSON("/transactions/"+tx.ID.String(), &loc); err != nil || code != http.StatusOK {
			return fmt.Errorf("%d %v", code, err)
		}
		return nil
	})
	t.Logf("rejoined at head %s; transaction %s is %s", head, tx.ID, loc.Status)
}
