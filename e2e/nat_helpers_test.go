package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// internet is a simulated internet of network namespaces: a public segment
// (a bridge) holding public hosts and the WAN side of NAT routers, and
// behind each router a private LAN (its own bridge) of hosts whose default
// route is the router, which masquerades them with iptables. Every host also
// has a management interface on a bridge of its own (multicast off, so mDNS
// ignores it) on which the test reaches the nodes' HTTP APIs; no route leads
// from it anywhere else, and the machine's own namespace has an address only
// on it.
//
// The public segment uses addresses of a public range (7.0.0.0/8): AutoNAT
// and hole punching ignore private and documentation ranges. They exist only
// inside the test's namespaces, none of which has a route out of them.
type internet struct {
	t          testing.TB
	tag        string
	pubPrefix  string // e.g. "7.12.3" for 7.12.3.0/24
	pubBridge  string
	mgmtBridge string
	mgmtPrefix string
	seq        int // interface and host numbering
	publics    int
	lans       []*privateLAN
	nss        []string // namespaces, removed at the end
	bridges    []string // bridges, removed at the end
	nats       []string // NAT namespaces whose rules are flushed at the end
}

// netHost is one namespace of the internet.
type netHost struct {
	ns     string
	ip     string // on its LAN or on the public segment
	mgmtIP string
}

// privateLAN is a LAN behind one NAT router.
type privateLAN struct {
	router netHost // ip is its WAN (public) address
	bridge string
	prefix string // e.g. "10.235.3"
	hosts  []netHost
}

// NAT kinds of privateLAN.
const (
	// natMasquerade: iptables MASQUERADE keeps the source port when it is
	// free: a mapping does not depend on the destination.
	natMasquerade = "masquerade"
	// natRandom: MASQUERADE --random-fully picks a random source port for
	// every new flow: a mapping depends on the destination
	// (symmetric-like), so the address a peer observed is not the one a
	// hole punch toward another peer leaves from.
	natRandom = "random-fully"
)

var internetSeq atomic.Int32

// newInternet creates the public segment and the management bridge; the
// test is skipped unless running as root with ip(8) and iptables(8).
func newInternet(t testing.TB) *internet {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("skipping: the simulated internet creates network namespaces and NAT rules and needs root (CI runs it as root)")
	}
	for _, tool := range []string{"ip", "iptables"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("skipping: %s is not installed (.ci/run installs iptables)", tool)
		}
	}
	seq := int(internetSeq.Add(1))
	pid := os.Getpid()
	x := (pid+seq)%250 + 1
	in := &internet{
		t:          t,
		tag:        fmt.Sprintf("%d%d", pid%1000, seq%10),
		pubPrefix:  fmt.Sprintf("7.%d.%d", pid%250+1, seq%250),
		mgmtPrefix: fmt.Sprintf("10.234.%d", x),
	}
	t.Cleanup(in.teardown)
	in.pubBridge = in.bridge("p", "")
	in.mgmtBridge = in.bridge("m", in.mgmtPrefix+".254/24")
	return in
}

func (in *internet) run(args ...string) {
	in.t.Helper()
	if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
		in.t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// bridge creates a bridge (with an address of the machine's namespace on it
// when addr is not empty).
func (in *internet) bridge(kind, addr string) string {
	name := fmt.Sprintf("gn%s%s%d", kind, in.tag, len(in.bridges))
	in.run("ip", "link", "add", name, "type", "bridge")
	in.bridges = append(in.bridges, name)
	if addr != "" {
		in.run("ip", "addr", "add", addr, "dev", name)
	}
	in.run("ip", "link", "set", name, "up")
	return name
}

// namespace creates a namespace with its loopback up.
func (in *internet) namespace() string {
	in.seq++
	ns := fmt.Sprintf("gn%s-%d", in.tag, in.seq)
	in.run("ip", "netns", "add", ns)
	in.nss = append(in.nss, ns)
	in.run("ip", "-n", ns, "link", "set", "lo", "up")
	return ns
}

// plug connects ns to bridge by a veth named ifname inside ns, with
// address addr (a /24); multicast says whether mDNS may use it.
func (in *internet) plug(ns, bridge, ifname, addr string, multicast bool) {
	in.seq++
	outer := fmt.Sprintf("gv%s-%d", in.tag, in.seq)
	in.run("ip", "link", "add", outer, "type", "veth", "peer", "name", ifname, "netns", ns)
	in.run("ip", "link", "set", outer, "master", bridge, "up")
	in.run("ip", "-n", ns, "addr", "add", addr+"/24", "dev", ifname)
	mc := "off"
	if multicast {
		mc = "on"
	}
	in.run("ip", "-n", ns, "link", "set", ifname, "up", "multicast", mc)
}

// mgmt gives ns its management interface and returns its address.
func (in *internet) mgmt(ns string) string {
	ip := fmt.Sprintf("%s.%d", in.mgmtPrefix, in.seq%250+1)
	in.plug(ns, in.mgmtBridge, "mgmt0", ip, false)
	return ip
}

// publicHost adds a host on the public segment.
func (in *internet) publicHost() netHost {
	in.publics++
	ns := in.namespace()
	h := netHost{ns: ns, ip: fmt.Sprintf("%s.%d", in.pubPrefix, in.publics)}
	in.plug(ns, in.pubBridge, "eth0", h.ip, true)
	h.mgmtIP = in.mgmt(ns)
	return h
}

// privateLAN adds a NAT router of the given kind on the public segment and
// k hosts behind it.
func (in *internet) privateLAN(k int, kind string) *privateLAN {
	i := len(in.lans) + 1
	l := &privateLAN{prefix: fmt.Sprintf("10.%d.%d", 234+i, (os.Getpid()+int(internetSeq.Load()))%250+1)}
	in.lans = append(in.lans, l)
	l.router = netHost{ns: in.namespace(), ip: fmt.Sprintf("%s.%d", in.pubPrefix, 100+i)}
	l.bridge = in.bridge("l", "")
	r := l.router.ns
	in.plug(r, in.pubBridge, "wan0", l.router.ip, true)
	in.plug(r, l.bridge, "lan0", l.prefix+".1", true)
	in.run("ip", "netns", "exec", r, "sysctl", "-qw", "net.ipv4.ip_forward=1")
	rule := []string{"ip", "netns", "exec", r, "iptables", "-t", "nat", "-A", "POSTROUTING", "-o", "wan0", "-j", "MASQUERADE"}
	switch kind {
	case natMasquerade:
	case natRandom:
		rule = append(rule, "--random-fully")
	default:
		in.t.Fatalf("unknown NAT kind %q", kind)
	}
	in.run(rule...)
	// A home router's firewall: from the WAN, only replies and related
	// traffic pass. Unsolicited packets are dropped before conntrack
	// confirms an entry for them, so that a hole punch's first packet,
	// arriving before this side sent its own, does not take the mapping
	// this side's packets need.
	for _, chain := range []string{"INPUT", "FORWARD"} {
		in.run("ip", "netns", "exec", r, "iptables", "-A", chain, "-i", "wan0", "-m", "conntrack", "--ctstate", "ESTABLISHED,RELATED", "-j", "ACCEPT")
		in.run("ip", "netns", "exec", r, "iptables", "-A", chain, "-i", "wan0", "-j", "DROP")
	}
	in.nats = append(in.nats, r)
	for j := 1; j <= k; j++ {
		ns := in.namespace()
		h := netHost{ns: ns, ip: fmt.Sprintf("%s.%d", l.prefix, j+1)}
		in.plug(ns, l.bridge, "eth0", h.ip, true)
		in.run("ip", "-n", ns, "route", "add", "default", "via", l.prefix+".1")
		h.mgmtIP = in.mgmt(ns)
		l.hosts = append(l.hosts, h)
	}
	return l
}

// teardown flushes the NAT rules and removes the namespaces (with their
// veths) and the bridges.
func (in *internet) teardown() {
	for _, ns := range in.nats {
		exec.Command("ip", "netns", "exec", ns, "iptables", "-t", "nat", "-F").Run()
		exec.Command("ip", "netns", "exec", ns, "iptables", "-F").Run()
	}
	for _, ns := range in.nss {
		exec.Command("ip", "netns", "del", ns).Run()
	}
	for _, b := range in.bridges {
		exec.Command("ip", "link", "del", b).Run()
	}
}

// startNATNode starts a node on h: TCP and QUIC on port, HTTP on the
// management address, mDNS on, the given bootstrap peers and flags.
func startNATNode(t testing.TB, h netHost, port int, bootstrap []string, extra ...string) *node {
	t.Helper()
	return startNode(t, nodeOptions{
		network:   "nat",
		netns:     h.ns,
		listenIP:  h.ip,
		p2pPort:   port,
		httpAddr:  h.mgmtIP + ":5000",
		mdns:      true,
		bootstrap: bootstrap,
		extra:     append([]string{"--listen", fmt.Sprintf("/ip4/%s/udp/%d/quic-v1", h.ip, port)}, extra...),
	})
}

// natView is the part of GET /status and /peers the NAT tests read.
type natView struct {
	PeerID string `json:"peer_id"`
	NAT    struct {
		Reachability   string   `json:"reachability"`
		ReachableAddrs []string `json:"reachable_addrs"`
		AnnouncedAddrs []string `json:"announced_addrs"`
		RelayAddrs     []string `json:"relay_addrs"`
		RelayServing   bool     `json:"relay_serving"`
		HolePunchesOK  int64    `json:"hole_punches_ok"`
	} `json:"nat"`
}

type natPeer struct {
	ID       string `json:"id"`
	ConnAddr string `json:"conn_addr"`
	Source   string `json:"source"`
	Limited  bool   `json:"limited"`
}

func (n *node) natView() (natView, error) {
	var v natView
	_, err := n.getJSON("/status", &v)
	return v, err
}

func (n *node) natPeers() ([]natPeer, error) {
	var ps []natPeer
	_, err := n.getJSON("/peers", &ps)
	return ps, err
}

// directPeer reports whether n has a direct (not relayed) connection to
// the peer id whose remote address is on ip.
func (n *node) directPeer(id, ip string) (bool, error) {
	ps, err := n.natPeers()
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

// waitNAT polls cond every 200 ms until it returns nil or natWait passes.
func waitNAT(t testing.TB, what string, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(natWait)
	var err error
	for time.Now().Before(deadline) {
		if err = cond(); err == nil {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("%s: not reached within %s: %v", what, natWait, err)
}

// bootAddrs returns n's TCP and QUIC multiaddrs on ip with its peer ID.
func bootAddrs(t testing.TB, n *node, ip string, port int) []string {
	t.Helper()
	id := n.mustStatus().PeerID
	return []string{
		fmt.Sprintf("/ip4/%s/udp/%d/quic-v1/p2p/%s", ip, port, id),
		fmt.Sprintf("/ip4/%s/tcp/%d/p2p/%s", ip, port, id),
	}
}
