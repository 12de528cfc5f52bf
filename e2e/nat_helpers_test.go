package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gossipchain/gossipchain/api/client"
	"github.com/gossipchain/gossipchain/e2e/netsim"
)

// newInternet builds a simulated internet (e2e/netsim) removed when the
// test ends; the test is skipped unless running as root with ip(8) and
// iptables(8).
func newInternet(t testing.TB) *netsim.Internet {
	t.Helper()
	if err := netsim.Check(); err != nil {
		t.Skipf("skipping: %v (CI runs these tests as root)", err)
	}
	in, err := netsim.New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(in.Close)
	return in
}

// startNATNode starts a node on h: TCP and QUIC on port, HTTP on the
// management address, mDNS on, the given bootstrap peers and flags.
func startNATNode(t testing.TB, h netsim.Host, port int, bootstrap []string, extra ...string) *node {
	t.Helper()
	return startNode(t, nodeOptions{
		network:   "nat",
		netns:     h.NS,
		listenIP:  h.IP,
		p2pPort:   port,
		httpAddr:  h.MgmtIP + ":5000",
		mdns:      true,
		bootstrap: bootstrap,
		extra:     append([]string{"--listen", fmt.Sprintf("/ip4/%s/udp/%d/quic-v1", h.IP, port)}, extra...),
	})
}

// natView returns the "nat" of the node's GET /status (zero when absent).
func (n *node) natView() (client.NATStatus, error) {
	st, err := n.status()
	if err != nil || st.NAT == nil {
		return client.NATStatus{}, err
	}
	return *st.NAT, nil
}

// directPeer reports whether n has a direct (not relayed) connection to
// the peer id whose remote address is on ip.
func (n *node) directPeer(id, ip string) (bool, error) {
	ps, err := n.peers()
	if err != nil {
		return false, err
	}
	for _, p := range ps {
		if p.ID == id && !p.Limited && strings.HasPrefix(p.ConnAddr, "/ip4/"+ip+"/") {
			return true, nil
		}
	}
	return false, nil
}

// natWait is the deadline of the NAT conditions: AutoNAT's dial-back of a
// private node ends with a timeout (up to 15 s), before reservations and
// hole punches can start.
const natWait = 2 * time.Minute

// bootAddrs returns n's TCP and QUIC multiaddrs on ip with its peer ID.
func bootAddrs(t testing.TB, n *node, ip string, port int) []string {
	t.Helper()
	id := n.mustStatus().PeerID
	return []string{
		fmt.Sprintf("/ip4/%s/udp/%d/quic-v1/p2p/%s", ip, port, id),
		fmt.Sprintf("/ip4/%s/tcp/%d/p2p/%s", ip, port, id),
	}
}
