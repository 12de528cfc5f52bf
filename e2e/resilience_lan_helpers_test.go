package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"testing"
)

// splitLAN is a simulated LAN (see lan) that can be partitioned: a host's
// port is moved from the LAN bridge to a second, unconnected bridge, so that
// its traffic to the hosts left behind is dropped silently, while the hosts
// moved together still reach each other. Every host also has a management
// interface on a third bridge (multicast off, so mDNS ignores it) on which
// the test reaches the nodes' HTTP APIs whatever the state of the LAN.
type splitLAN struct {
	*lan
	cutBridge  string
	mgmtBridge string
	mgmtPrefix string
}

// newSplitLAN creates k hosts; it skips the test unless running as root.
func newSplitLAN(t *testing.T, k int) *splitLAN {
	t.Helper()
	l := newLAN(t, k)
	s := &splitLAN{
		lan:        l,
		cutBridge:  "gccb" + l.tag,
		mgmtBridge: "gcmb" + l.tag,
		mgmtPrefix: fmt.Sprintf("10.232.%d", os.Getpid()%250+1),
	}
	t.Cleanup(s.teardown)
	s.run("ip", "link", "add", s.cutBridge, "type", "bridge")
	s.run("ip", "link", "set", s.cutBridge, "up")
	s.run("ip", "link", "add", s.mgmtBridge, "type", "bridge")
	s.run("ip", "addr", "add", s.mgmtPrefix+".254/24", "dev", s.mgmtBridge)
	s.run("ip", "link", "set", s.mgmtBridge, "up")
	for i := 1; i <= k; i++ {
		veth := fmt.Sprintf("gm%s-%d", l.tag, i)
		ns := l.hosts[i-1]
		s.run("ip", "link", "add", veth, "type", "veth", "peer", "name", "mgmt0", "netns", ns)
		s.run("ip", "link", "set", veth, "master", s.mgmtBridge, "up")
		s.run("ip", "netns", "exec", ns, "ip", "addr", "add", s.mgmtIP(i)+"/24", "dev", "mgmt0")
		s.run("ip", "netns", "exec", ns, "ip", "link", "set", "mgmt0", "up", "multicast", "off")
	}
	return s
}

func (s *splitLAN) mgmtIP(i int) string { return fmt.Sprintf("%s.%d", s.mgmtPrefix, i) }

// teardown removes the two bridges; the namespaces, and with them every
// veth pair, are removed by the lan's own teardown.
func (s *splitLAN) teardown() {
	exec.Command("ip", "link", "del", s.cutBridge).Run()
	exec.Command("ip", "link", "del", s.mgmtBridge).Run()
}

// startHostNode starts a node in host i (1-based): p2p on the LAN address
// with mDNS, HTTP on the management address.
func (s *splitLAN) startHostNode(i int, opts nodeOptions) *node {
	return s.startHostNodeHTTP(i, opts, s.mgmtIP(i))
}

// cut moves the LAN ports of the given hosts to the cut bridge.
func (s *splitLAN) cut(hosts ...int) {
	for _, i := range hosts {
		s.run("ip", "link", "set", s.vethOf(i), "master", s.cutBridge)
	}
}

// heal moves the LAN ports of the given hosts back to the LAN bridge.
func (s *splitLAN) heal(hosts ...int) {
	for _, i := range hosts {
		s.run("ip", "link", "set", s.vethOf(i), "master", s.bridge)
	}
}
