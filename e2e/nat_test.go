package e2e

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/gossipchain/gossipchain/api/client"
	"github.com/gossipchain/gossipchain/chain"
	"github.com/gossipchain/gossipchain/e2e/netsim"
)

// natNet is the topology of TestNAT: a public relay/bootstrap node and a
// second public node, and two LANs of two nodes, each behind its own
// MASQUERADE router. Every node is started with the relay's addresses only.
type natNet struct {
	relay, other *node
	lans         [2]*netsim.LAN
	private      [2][2]*node // private[lan][host]
}

func newNATNet(t *testing.T, kind netsim.NATKind) *natNet {
	t.Helper()
	in := newInternet(t)
	nn := &natNet{}
	rh, err := in.PublicHost()
	if err != nil {
		t.Fatal(err)
	}
	oh, err := in.PublicHost()
	if err != nil {
		t.Fatal(err)
	}
	nn.relay = startNATNode(t, rh, 4001, nil, "--relay-service")
	boot := bootAddrs(t, nn.relay, rh.IP, 4001)
	nn.other = startNATNode(t, oh, 4001, boot)
	for i := range nn.lans {
		if nn.lans[i], err = in.PrivateLAN(2, kind); err != nil {
			t.Fatal(err)
		}
		for j, h := range nn.lans[i].Hosts {
			// Distinct ports: a NAT keeps a source port only if free.
			nn.private[i][j] = startNATNode(t, h, 4001+j, boot)
		}
	}
	return nn
}

func (nn *natNet) privates() []*node {
	return []*node{nn.private[0][0], nn.private[0][1], nn.private[1][0], nn.private[1][1]}
}

// punched waits until a node of LAN A has a direct connection to a node of
// LAN B, through B's router (which forwards nothing unasked: the
// connection was hole-punched), and returns the two.
func (nn *natNet) punched(t *testing.T) (a, b *node) {
	t.Helper()
	waitFor(t, "a node of LAN A holds a hole-punched direct connection to one of LAN B", natWait, func() error {
		for _, x := range nn.private[0] {
			for _, y := range nn.private[1] {
				ok, err := x.directPeer(y.mustStatus().PeerID, nn.lans[1].Router.IP)
				if err != nil {
					return err
				}
				if ok {
					a, b = x, y
					return nil
				}
			}
		}
		return errors.New("no direct connection between the LANs yet")
	})
	return a, b
}

// TestNAT runs nodes behind two NATs on a simulated internet: they learn
// they are not reachable, reserve relay slots, punch holes to each other and
// keep exchanging blocks directly once the public nodes are gone.
func TestNAT(t *testing.T) {
	nn := newNATNet(t, netsim.Masquerade)

	t.Run("PrivateNodesLearnReachabilityAndReserve", func(t *testing.T) {
		for i, n := range nn.privates() {
			waitFor(t, fmt.Sprintf("private node %d: not publicly reachable, with a relay reservation", i), natWait, func() error {
				v, err := n.natView()
				if err != nil {
					return err
				}
				if v.Reachability != "private" {
					return fmt.Errorf("reachability %q", v.Reachability)
				}
				if len(v.RelayAddrs) == 0 || !strings.Contains(v.RelayAddrs[0], "/p2p/"+nn.relay.mustStatus().PeerID+"/p2p-circuit") {
					return fmt.Errorf("relay addresses %v", v.RelayAddrs)
				}
				return nil
			})
		}
		out, errOut, code := gossipchain(t, "status", "--node", nn.private[0][0].url)
		if code != 0 || !strings.Contains(out, "reachability") || !strings.Contains(out, "private, relay reservations on 1 relay(s)") {
			t.Errorf("gossipchain status: %d\n%s%s", code, out, errOut)
		}
	})

	t.Run("PublicNodeSaysSo", func(t *testing.T) {
		for name, n := range map[string]*node{"relay": nn.relay, "other": nn.other} {
			waitFor(t, name+": publicly reachable, AutoNAT v2 confirmed an address, no relayed address", natWait, func() error {
				v, err := n.natView()
				if err != nil {
					return err
				}
				if v.Reachability != "public" || len(v.ReachableAddrs) == 0 {
					return fmt.Errorf("reachability %q, reachable %v", v.Reachability, v.ReachableAddrs)
				}
				if len(v.RelayAddrs) != 0 || slices.ContainsFunc(v.AnnouncedAddrs, func(a string) bool { return strings.Contains(a, "p2p-circuit") }) {
					return fmt.Errorf("a public node announces relayed addresses: %v", v.AnnouncedAddrs)
				}
				if name == "relay" && !v.RelayServing {
					return errors.New("the relay service is not running")
				}
				if name == "other" && v.RelayServing {
					return errors.New("relay service running without --relay-service")
				}
				return nil
			})
		}
	})

	t.Run("MDNSInsideEachLAN", func(t *testing.T) {
		for i := range nn.private {
			x, y := nn.private[i][0], nn.private[i][1]
			waitFor(t, fmt.Sprintf("LAN %d: the two nodes found each other by mDNS, directly on the LAN", i), natWait, func() error {
				ps, err := x.peers()
				if err != nil {
					return err
				}
				id := y.mustStatus().PeerID
				for _, p := range ps {
					if p.ID == id && p.Source == "mdns" && strings.HasPrefix(p.ConnAddr, "/ip4/"+nn.lans[i].Prefix+".") {
						return nil
					}
				}
				return fmt.Errorf("peers %+v", ps)
			})
		}
	})

	var a, b *node
	t.Run("HolePunchBlocksAndTransactions", func(t *testing.T) {
		a, b = nn.punched(t)
		// QUIC punches; outgoing TCP has no port reuse and cannot.
		ps, err := a.peers()
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range ps {
			if p.ID == b.mustStatus().PeerID && !strings.Contains(p.ConnAddr, "/quic-v1") {
				t.Errorf("the punched connection is not QUIC: %s", p.ConnAddr)
			}
		}
		punches := int64(0)
		for _, n := range nn.privates() {
			v, err := n.natView()
			if err != nil {
				t.Fatal(err)
			}
			punches += v.HolePunchesOK
		}
		if punches == 0 {
			t.Error("a direct connection between the LANs but no hole punch counted")
		}
		a.mine()
		sameHead(t, nn.privates(), 2)
		txID := postTx(t, b, "bob", "alice", 7)
		waitFor(t, "the transaction from LAN B is pending in LAN A", natWait, func() error { return pendingHas(a, txID) })
		a.mine()
		sameHead(t, nn.privates(), 3)
		if err := confirmed(b, txID); err != nil {
			t.Fatal(err)
		}
	})
	if a == nil {
		t.Fatal("no hole-punched connection")
	}

	t.Run("DirectAfterPublicNodesStop", func(t *testing.T) {
		// Without the public nodes, the punched connection is the only
		// path between the LANs.
		nn.relay.stop()
		nn.other.stop()
		a.mine()
		sameHead(t, nn.privates(), 4)
		b.mine()
		sameHead(t, nn.privates(), 5)
		txID := postTx(t, b, "carol", "dave", 3)
		waitFor(t, "the transaction from LAN B is pending in LAN A without the relay", natWait, func() error { return pendingHas(a, txID) })
		a.mine()
		sameHead(t, nn.privates(), 6)
		if err := confirmed(b, txID); err != nil {
			t.Fatal(err)
		}
		if ok, err := a.directPeer(b.mustStatus().PeerID, nn.lans[1].Router.IP); err != nil || !ok {
			t.Fatalf("the punched connection is gone: %v %v", ok, err)
		}
	})
}

// postTx posts a transaction to n and returns its id.
func postTx(t *testing.T, n *node, from, to string, amount int) chain.Hash {
	t.Helper()
	var out client.TxAccepted
	code, err := n.do(http.MethodPost, "/transactions/new", fmt.Sprintf(`{"sender":%q,"recipient":%q,"amount":%d}`, from, to, amount), &out)
	if err != nil || code != http.StatusCreated || out.ID.IsZero() {
		t.Fatalf("POST /transactions/new: %d %+v %v", code, out, err)
	}
	return out.ID
}

func pendingHas(n *node, id chain.Hash) error {
	var out client.TxStatus
	code, err := n.getJSON("/transactions/"+id.String(), &out)
	if err != nil {
		return err
	}
	if code != http.StatusOK || out.Status != "pending" {
		return fmt.Errorf("transaction %s: %d %q", id, code, out.Status)
	}
	return nil
}

func confirmed(n *node, id chain.Hash) error {
	var out client.TxStatus
	code, err := n.getJSON("/transactions/"+id.String(), &out)
	if err != nil {
		return err
	}
	if code != http.StatusOK || out.Status != "confirmed" {
		return fmt.Errorf("transaction %s: %d %q, want confirmed", id, code, out.Status)
	}
	return nil
}
