package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/gossipchain/gossipchain/api/client"
)

// lan is a simulated LAN: one network namespace per host, joined by a
// bridge in the machine's own namespace, which also gives the test an
// address on it to reach each host's HTTP API.
type lan struct {
	t      *testing.T
	bridge string
	prefix string // e.g. "10.231.7" for 10.231.7.0/24
	hosts  []string
	tag    string
}

// lanSeq numbers the LANs created by this test process.
var lanSeq atomic.Int32

// newLAN creates a bridge and k namespaces on it; everything is removed
// when the test ends. It skips the test unless running as root with ip(8).
func newLAN(t *testing.T, k int) *lan {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("skipping: simulated LAN tests create network namespaces and need root (CI runs them as root)")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("skipping: ip(8) from iproute2 is not installed")
	}
	// Names and subnets differ per LAN: a namespace's interfaces outlive
	// `ip netns del` for a moment, so the next test must not reuse them.
	seq := int(lanSeq.Add(1))
	pid := os.Getpid()
	l := &lan{t: t, tag: fmt.Sprintf("%d%d", pid%10000, seq%100), prefix: fmt.Sprintf("10.231.%d", (pid+seq)%250+1)}
	l.bridge = "gcbr" + l.tag
	t.Cleanup(l.teardown)
	l.run("ip", "link", "add", l.bridge, "type", "bridge")
	l.run("ip", "addr", "add", l.prefix+".254/24", "dev", l.bridge)
	l.run("ip", "link", "set", l.bridge, "up")
	for i := 0; i < k; i++ {
		l.addHost()
	}
	return l
}

// addHost adds one namespace with a veth on the bridge and returns its name.
func (l *lan) addHost() string {
	i := len(l.hosts) + 1
	ns := fmt.Sprintf("gc%s-%d", l.tag, i)
	veth := fmt.Sprintf("gv%s-%d", l.tag, i)
	l.hosts = append(l.hosts, ns)
	l.run("ip", "netns", "add", ns)
	l.run("ip", "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", ns)
	l.run("ip", "link", "set", veth, "master", l.bridge, "up")
	l.run("ip", "netns", "exec", ns, "ip", "addr", "add", l.ip(i)+"/24", "dev", "eth0")
	l.run("ip", "netns", "exec", ns, "ip", "link", "set", "eth0", "up", "multicast", "on")
	l.run("ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up")
	return ns
}

// ip returns the address of host i (1-based).
func (l *lan) ip(i int) string { return fmt.Sprintf("%s.%d", l.prefix, i) }

// vethOf returns the bridge-side interface of host i (1-based).
func (l *lan) vethOf(i int) string { return fmt.Sprintf("gv%s-%d", l.tag, i) }

func (l *lan) run(args ...string) {
	l.t.Helper()
	if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
		l.t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

func (l *lan) teardown() {
	for _, ns := range l.hosts {
		exec.Command("ip", "netns", "del", ns).Run()
	}
	exec.Command("ip", "link", "del", l.bridge).Run()
}

// startHostNode starts a node in host i (1-based) with mDNS on and no
// bootstrap list, its HTTP API on the host's LAN address.
func (l *lan) startHostNode(i int, opts nodeOptions) *node {
	return l.startHostNodeHTTP(i, opts, l.ip(i))
}

// startHostNodeHTTP starts a node in host i (1-based) with mDNS on, p2p on
// the host's LAN address and its HTTP API on httpIP.
func (l *lan) startHostNodeHTTP(i int, opts nodeOptions, httpIP string) *node {
	opts.netns = l.hosts[i-1]
	opts.listenIP = l.ip(i)
	opts.p2pPort = 4001
	opts.httpAddr = httpIP + ":5000"
	opts.mdns = true
	return startNode(l.t, opts)
}

// Nodes in separate namespaces on one bridge find each other through mDNS
// alone and converge on one chain.
func TestLANDiscoveryByMDNS(t *testing.T) {
	l := newLAN(t, 3)
	var nodes []*node
	for i := 1; i <= 3; i++ {
		nodes = append(nodes, l.startHostNode(i, nodeOptions{network: "lan"}))
	}
	waitFor(t, "every node finds the others through mDNS", waitTimeout, func() error {
		for i, n := range nodes {
			var peers []client.Peer
			if _, err := n.getJSON("/peers", &peers); err != nil {
				return err
			}
			if len(peers) < 2 {
				return fmt.Errorf("node %d has %d peers: %v", i, len(peers), peers)
			}
		}
		return nil
	})
	for i, n := range nodes {
		n.mine()
		sameHead(t, nodes, uint64(i+2))
	}
}
