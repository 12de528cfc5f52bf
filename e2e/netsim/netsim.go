// Package netsim builds a simulated internet of Linux network namespaces: a
// public segment holding public hosts and the WAN side of NAT routers, and
// behind each router a private LAN whose hosts it masquerades with
// iptables, with the firewall of a home router. The end-to-end tests and
// gcbench's holepunch benchmark run gossipchain processes in it. It needs
// root, ip(8) and iptables(8).
//
// Every host also has a management interface on a bridge of its own
// (multicast off, so mDNS ignores it) on which the machine's own namespace,
// which has an address only there, reaches the hosts' HTTP APIs; no route
// leads from it anywhere else.
//
// The public segment uses addresses of a public range (7.0.0.0/8), because
// AutoNAT and hole punching ignore private and documentation ranges. They
// exist only inside the namespaces, none of which has a route out of them.
package netsim

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
)

// NATKind says how a router maps its private hosts' flows.
type NATKind string

// NAT kinds.
const (
	// Masquerade: iptables MASQUERADE keeps the source port when it is
	// free, so a mapping does not depend on the destination
	// (endpoint-independent mapping, address-and-port-dependent filtering).
	Masquerade NATKind = "masquerade"
	// RandomFully: MASQUERADE --random-fully picks a random source port for
	// every new flow, so a mapping depends on the destination
	// (symmetric-like): the address one peer observed is not the one a
	// packet toward another peer leaves from.
	RandomFully NATKind = "random-fully"
)

// Host is one namespace of the internet.
type Host struct {
	NS     string // namespace name
	IP     string // address on its LAN or on the public segment
	MgmtIP string // address on the management bridge
}

// Command returns a command running name with args inside h.
func (h Host) Command(name string, args ...string) *exec.Cmd {
	return exec.Command("ip", append([]string{"netns", "exec", h.NS, name}, args...)...)
}

// LAN is a private LAN behind one NAT router.
type LAN struct {
	Router Host   // Router.IP is its WAN (public) address
	Prefix string // the LAN's /24, e.g. "10.235.3"
	Hosts  []Host
}

// Internet is one simulated internet. Its methods are not safe for
// concurrent use; separate Internets are.
type Internet struct {
	tag        string
	pubPrefix  string
	mgmtPrefix string
	lanX       int
	pubBridge  string
	mgmtBridge string
	seq        int
	publics    int
	lans       int

	mu      sync.Mutex
	nss     []string
	bridges []string
	closed  bool
}

// Check reports why this machine cannot build a simulated internet, or nil.
func Check() error {
	if os.Geteuid() != 0 {
		return errors.New("the simulated internet creates network namespaces and NAT rules and needs root")
	}
	for _, tool := range []string{"ip", "iptables"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("%s is not installed (.ci/run installs iptables)", tool)
		}
	}
	return nil
}

var seq atomic.Int32

// New creates the public segment and the management bridge of a new
// internet. Close removes everything it created, also after an error.
func New() (*Internet, error) {
	if err := Check(); err != nil {
		return nil, err
	}
	s := int(seq.Add(1))
	pid := os.Getpid()
	x := (pid+s)%250 + 1
	in := &Internet{
		tag:        fmt.Sprintf("%d%d", pid%1000, s%100),
		pubPrefix:  fmt.Sprintf("7.%d.%d", pid%250+1, s%250),
		mgmtPrefix: fmt.Sprintf("10.234.%d", x),
		lanX:       x,
	}
	var err error
	if in.pubBridge, err = in.bridge("p", ""); err != nil {
		in.Close()
		return nil, err
	}
	if in.mgmtBridge, err = in.bridge("m", in.mgmtPrefix+".254/24"); err != nil {
		in.Close()
		return nil, err
	}
	return in, nil
}

func run(args ...string) error {
	if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
		return fmt.Errorf("%s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

func runAll(cmds ...[]string) error {
	for _, c := range cmds {
		if err := run(c...); err != nil {
			return err
		}
	}
	return nil
}

// bridge creates a bridge, with an address of the machine's namespace on it
// when addr is not empty.
func (in *Internet) bridge(kind, addr string) (string, error) {
	in.mu.Lock()
	name := fmt.Sprintf("gn%s%s%d", kind, in.tag, len(in.bridges))
	in.mu.Unlock()
	if err := run("ip", "link", "add", name, "type", "bridge"); err != nil {
		return "", err
	}
	in.mu.Lock()
	in.bridges = append(in.bridges, name)
	in.mu.Unlock()
	if addr != "" {
		if err := run("ip", "addr", "add", addr, "dev", name); err != nil {
			return "", err
		}
	}
	return name, run("ip", "link", "set", name, "up")
}

// namespace creates a namespace with its loopback up.
func (in *Internet) namespace() (string, error) {
	in.seq++
	ns := fmt.Sprintf("gn%s-%d", in.tag, in.seq)
	if err := run("ip", "netns", "add", ns); err != nil {
		return "", err
	}
	in.mu.Lock()
	in.nss = append(in.nss, ns)
	in.mu.Unlock()
	return ns, run("ip", "-n", ns, "link", "set", "lo", "up")
}

// plug connects ns to bridge by a veth named ifname inside ns with address
// addr (a /24); multicast says whether mDNS may use it.
func (in *Internet) plug(ns, bridge, ifname, addr string, multicast bool) error {
	in.seq++
	outer := fmt.Sprintf("gv%s-%d", in.tag, in.seq)
	mc := "off"
	if multicast {
		mc = "on"
	}
	return runAll(
		[]string{"ip", "link", "add", outer, "type", "veth", "peer", "name", ifname, "netns", ns},
		[]string{"ip", "link", "set", outer, "master", bridge, "up"},
		[]string{"ip", "-n", ns, "addr", "add", addr + "/24", "dev", ifname},
		[]string{"ip", "-n", ns, "link", "set", ifname, "up", "multicast", mc},
	)
}

// host creates a namespace plugged into bridge at ip, with its management
// interface.
func (in *Internet) host(bridge, ip string) (Host, error) {
	ns, err := in.namespace()
	if err != nil {
		return Host{}, err
	}
	h := Host{NS: ns, IP: ip}
	if err := in.plug(ns, bridge, "eth0", ip, true); err != nil {
		return Host{}, err
	}
	h.MgmtIP = fmt.Sprintf("%s.%d", in.mgmtPrefix, in.seq%250+1)
	return h, in.plug(ns, in.mgmtBridge, "mgmt0", h.MgmtIP, false)
}

// PublicHost adds a host on the public segment.
func (in *Internet) PublicHost() (Host, error) {
	in.publics++
	return in.host(in.pubBridge, fmt.Sprintf("%s.%d", in.pubPrefix, in.publics))
}

// PrivateLAN adds a NAT router of the given kind on the public segment and
// k hosts behind it, whose default route is the router.
func (in *Internet) PrivateLAN(k int, kind NATKind) (*LAN, error) {
	in.lans++
	l := &LAN{Prefix: fmt.Sprintf("10.%d.%d", 234+in.lans, in.lanX)}
	r, err := in.namespace()
	if err != nil {
		return nil, err
	}
	l.Router = Host{NS: r, IP: fmt.Sprintf("%s.%d", in.pubPrefix, 100+in.lans)}
	bridge, err := in.bridge("l", "")
	if err != nil {
		return nil, err
	}
	if err := in.plug(r, in.pubBridge, "wan0", l.Router.IP, true); err != nil {
		return nil, err
	}
	if err := in.plug(r, bridge, "lan0", l.Prefix+".1", true); err != nil {
		return nil, err
	}
	masq := []string{"ip", "netns", "exec", r, "iptables", "-t", "nat", "-A", "POSTROUTING", "-o", "wan0", "-j", "MASQUERADE"}
	switch kind {
	case Masquerade:
	case RandomFully:
		masq = append(masq, "--random-fully")
	default:
		return nil, fmt.Errorf("unknown NAT kind %q", kind)
	}
	ipt := func(args ...string) []string { return append([]string{"ip", "netns", "exec", r, "iptables"}, args...) }
	// A home router's firewall: from the WAN only replies and related
	// traffic pass. Unsolicited packets are dropped before conntrack
	// confirms an entry for them, so that the first packet of a hole punch,
	// arriving before this side sent its own, does not take the mapping this
	// side's packets need (a router accepting it would masquerade them from
	// another port).
	if err := runAll(
		[]string{"ip", "netns", "exec", r, "sysctl", "-qw", "net.ipv4.ip_forward=1"},
		masq,
		ipt("-A", "INPUT", "-i", "wan0", "-m", "conntrack", "--ctstate", "ESTABLISHED,RELATED", "-j", "ACCEPT"),
		ipt("-A", "INPUT", "-i", "wan0", "-j", "DROP"),
		ipt("-A", "FORWARD", "-i", "wan0", "-m", "conntrack", "--ctstate", "ESTABLISHED,RELATED", "-j", "ACCEPT"),
		ipt("-A", "FORWARD", "-i", "wan0", "-j", "DROP"),
	); err != nil {
		return nil, err
	}
	for j := 1; j <= k; j++ {
		h, err := in.host(bridge, fmt.Sprintf("%s.%d", l.Prefix, j+1))
		if err != nil {
			return nil, err
		}
		if err := run("ip", "-n", h.NS, "route", "add", "default", "via", l.Prefix+".1"); err != nil {
			return nil, err
		}
		l.Hosts = append(l.Hosts, h)
	}
	return l, nil
}

// Close flushes the routers' rules and removes the namespaces (with their
// veths) and the bridges. It is idempotent.
func (in *Internet) Close() {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.closed {
		return
	}
	in.closed = true
	for _, ns := range in.nss {
		exec.Command("ip", "netns", "exec", ns, "iptables", "-t", "nat", "-F").Run()
		exec.Command("ip", "netns", "exec", ns, "iptables", "-F").Run()
		exec.Command("ip", "netns", "del", ns).Run()
	}
	for _, b := range in.bridges {
		exec.Command("ip", "link", "del", b).Run()
	}
}
