package e2e

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/gossipchain/gossipchain/api/client"
)

// targetPeers is the node's default connection target D (p2p.DefaultTargetPeers).
const targetPeers = 8

func (n *node) peers() ([]client.Peer, error) {
	var out []client.Peer
	code, err := n.getJSON("/peers", &out)
	if err == nil && code != http.StatusOK {
		err = fmt.Errorf("GET /peers: %d", code)
	}
	return out, err
}

// bareAddr is a node's multiaddr without its /p2p/ part.
func bareAddr(full string) string {
	i := strings.Index(full, "/p2p/")
	if i < 0 {
		return full
	}
	return full[:i]
}

// Twelve nodes, each bootstrapped to node 1 only, find each other: every one
// reaches min(D, 11) peers. With node 1 stopped and blocks mined on two
// others, every remaining node converges on one head.
func TestDiscoveryTwelveNodes(t *testing.T) {
	const count = 12
	want := min(targetPeers, count-1)
	first := startNode(t, nodeOptions{})
	boot := first.multiaddr()
	nodes := []*node{first}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range count - 1 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n := startNode(t, nodeOptions{bootstrap: []string{boot}})
			mu.Lock()
			nodes = append(nodes, n)
			mu.Unlock()
		}()
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	waitFor(t, fmt.Sprintf("every node has at least %d peers", want), waitTimeout, func() error {
		for i, n := range nodes {
			s, err := n.status()
			if err != nil {
				return err
			}
			if s.Peers < want {
				return fmt.Errorf("node %d has %d peers", i, s.Peers)
			}
		}
		return nil
	})
	// /peers of a node: listen addresses, never an inbound ephemeral port.
	ps, err := first.peers()
	if err != nil {
		t.Fatal(err)
	}
	listen := map[string]string{}
	for _, n := range nodes {
		s := n.mustStatus()
		listen[s.PeerID] = bareAddr(n.multiaddr())
	}
	for _, p := range ps {
		if p.Addr != listen[p.ID] || !p.InAddrBook {
			t.Errorf("node 1 shows peer %s at %q (in book %t), its listen address is %q", p.ID, p.Addr, p.InAddrBook, listen[p.ID])
		}
	}

	first.stop()
	rest := nodes[1:]
	// One block on each of two nodes, one after the other (two blocks of the
	// same height mined at once would tie, and a tie keeps the first seen).
	rest[0].mine()
	sameHead(t, rest, 2)
	rest[5].mine()
	head := sameHead(t, rest, 3)
	t.Logf("%d nodes converged on %s without node 1", len(rest), head)
}

// A node restarted without a bootstrap list (mDNS off) reconnects from its
// address book and catches up.
func TestAddrBookRestartCatchesUp(t *testing.T) {
	a := startNode(t, nodeOptions{})
	b := startNode(t, nodeOptions{bootstrap: []string{a.multiaddr()}})
	c := startNode(t, nodeOptions{bootstrap: []string{a.multiaddr()}})
	waitFor(t, "c knows a and b", waitTimeout, func() error {
		if s := c.mustStatus(); s.Peers < 2 {
			return fmt.Errorf("c has %d peers", s.Peers)
		}
		return nil
	})
	c.stop()
	a.mine()
	sameHead(t, []*node{a, b}, 2)
	b.mine()
	sameHead(t, []*node{a, b}, 3)
	c.opts.bootstrap = nil
	c.restart()
	head := sameHead(t, []*node{a, b, c}, 3)
	waitFor(t, "c reconnected to both from its address book", waitTimeout, func() error {
		ps, err := c.peers()
		if err != nil {
			return err
		}
		if len(ps) < 2 {
			return fmt.Errorf("c has %d peers", len(ps))
		}
		return nil
	})
	if !loggedRedial(a, b, c) {
		t.Fatal("no INFO line about a dial from the address book")
	}
	t.Logf("c caught up to %s from its address book", head)
}

// Two nodes joined only by POST /nodes/register reconnect by themselves after
// one restarts, and /nodes/resolve answers as in the tutorial.
func TestRegisteredPeersReconnect(t *testing.T) {
	a := startNode(t, nodeOptions{})
	b := startNode(t, nodeOptions{})
	var reg client.Registered
	code, err := b.do(http.MethodPost, "/nodes/register", fmt.Sprintf(`{"nodes": [%q]}`, a.url), &reg)
	if err != nil || code != http.StatusCreated {
		t.Fatalf("POST /nodes/register: %d %v", code, err)
	}
	waitFor(t, "a sees b at its listen address", waitTimeout, func() error {
		ps, err := a.peers()
		if err != nil {
			return err
		}
		if len(ps) != 1 || ps[0].Addr != bareAddr(b.multiaddr()) {
			return fmt.Errorf("a's peers %+v, want b at %s", ps, bareAddr(b.multiaddr()))
		}
		return nil
	})

	b.stop()
	a.mine()
	a.mine()
	b.restart()
	waitFor(t, "b redialled a after its restart", waitTimeout, func() error {
		ps, err := b.peers()
		if err != nil {
			return err
		}
		if len(ps) != 1 || ps[0].ID != a.mustStatus().PeerID || ps[0].Height == nil {
			return fmt.Errorf("b's peers %+v (want a, with its status)", ps)
		}
		return nil
	})
	// Either side may reconnect first: a dial from the address book logs
	// that it came from there; one that another protocol's stream opened
	// (a's status re-exchange, say) is logged as a peer connected.
	if !loggedRedial(a, b) && !loggedSinceStart(b, `msg="peer connected"`) {
		t.Fatal("the reconnection was not logged")
	}
	var res client.Resolved
	if code, err := b.getJSON("/nodes/resolve", &res); err != nil || code != http.StatusOK {
		t.Fatalf("GET /nodes/resolve: %d %v", code, err)
	}
	// b was behind when it came back: whether the chain exchange that
	// followed the status or this call adopted a's chain, it was replaced.
	if res.Message != "Our chain was replaced" || len(res.NewChain) != 3 {
		t.Fatalf("b's resolve: %q with %d blocks, want replaced by a's 3", res.Message, len(res.NewChain))
	}
	if code, err := a.getJSON("/nodes/resolve", &res); err != nil || code != http.StatusOK || res.Message != "Our chain is authoritative" {
		t.Fatalf("a's resolve: %d %q %v", code, res.Message, err)
	}
	sameHead(t, []*node{a, b}, 3)
	// total_nodes lists b at the address it listens on, whichever end dialled.
	code, err = a.do(http.MethodPost, "/nodes/register", fmt.Sprintf(`{"nodes": [%q]}`, b.url), &reg)
	if err != nil || code != http.StatusCreated || len(reg.TotalNodes) != 1 || reg.TotalNodes[0] != b.multiaddr() {
		t.Fatalf("a's total_nodes %v (%d %v), want [%s]", reg.TotalNodes, code, err, b.multiaddr())
	}
}

// A transaction submitted on a node before another joins is in the late
// node's pool soon after it connects.
func TestPoolReachesLateNode(t *testing.T) {
	a := startNode(t, nodeOptions{})
	var tx client.TxAccepted
	if code, err := a.do(http.MethodPost, "/transactions/new", `{"sender": "alice", "recipient": "bob", "amount": 4}`, &tx); err != nil || code != http.StatusCreated {
		t.Fatalf("POST /transactions/new: %d %v", code, err)
	}
	if tx.ID.IsZero() {
		t.Fatal("no transaction id")
	}
	// A restart empties GossipSub's message cache, whose gossip could
	// otherwise bring a transaction of the last seconds: only pool exchange
	// can deliver it now.
	a.stop()
	a.restart()
	b := startNode(t, nodeOptions{bootstrap: []string{a.multiaddr()}})
	waitFor(t, "the transaction pending on the late node", waitTimeout, func() error {
		var loc client.TxStatus
		code, err := b.getJSON("/transactions/"+tx.ID.String(), &loc)
		if err != nil || code != http.StatusOK || loc.Status != "pending" {
			return fmt.Errorf("%d %+v %v", code, loc, err)
		}
		return nil
	})
	if v, err := b.metric("sync_pool_fetched_total"); err != nil || v < 1 {
		t.Fatalf("sync_pool_fetched_total %v %v, want >= 1", v, err)
	}
	ps, err := b.peers()
	if err != nil || len(ps) != 1 || ps[0].Height == nil || ps[0].Head == "" || ps[0].TotalWork == "" {
		t.Fatalf("b's /peers lacks the status of a: %+v %v", ps, err)
	}
}

// loggedSinceStart reports whether n logged a line containing text since it
// last started.
func loggedSinceStart(n *node, text string) bool {
	logs := n.Log()
	if i := strings.LastIndex(logs, `msg="starting gossipchain"`); i >= 0 {
		logs = logs[i:]
	}
	return strings.Contains(logs, text)
}

// loggedRedial reports whether one of nodes logged a dial from its address
// book (whichever side redials first).
func loggedRedial(nodes ...*node) bool {
	for _, n := range nodes {
		if strings.Contains(n.Log(), "from the address book") {
			return true
		}
	}
	return false
}

// A transaction that a reorganisation returns to a node's pool reaches a node
// that never saw it.
func TestReorgTransactionReachesOthers(t *testing.T) {
	a := startNode(t, nodeOptions{})
	b := startNode(t, nodeOptions{})
	var tx client.TxAccepted
	if code, err := a.do(http.MethodPost, "/transactions/new", `{"sender": "gina", "recipient": "hal", "amount": 2}`, &tx); err != nil || code != http.StatusCreated {
		t.Fatalf("POST /transactions/new: %d %v", code, err)
	}
	a.mine() // the transaction confirmed on a's branch only
	b.mine()
	b.mine() // a heavier branch without it
	c := startNode(t, nodeOptions{bootstrap: []string{b.multiaddr()}})
	sameHead(t, []*node{b, c}, 3)
	if code, err := a.do(http.MethodPost, "/nodes/register", fmt.Sprintf(`{"nodes": [%q]}`, b.multiaddr()), nil); err != nil || code != http.StatusCreated {
		t.Fatalf("POST /nodes/register: %d %v", code, err)
	}
	sameHead(t, []*node{a, b, c}, 3) // a reorganised: the transaction is pending again
	for _, n := range []*node{a, b, c} {
		waitFor(t, "the returned transaction pending on "+n.opts.httpAddr, waitTimeout, func() error {
			var loc client.TxStatus
			code, err := n.getJSON("/transactions/"+tx.ID.String(), &loc)
			if err != nil || code != http.StatusOK || loc.Status != "pending" {
				return fmt.Errorf("%d %+v %v", code, loc, err)
			}
			return nil
		})
	}
}
