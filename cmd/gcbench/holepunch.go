package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/gossipchain/gossipchain/e2e/launch"
	"github.com/gossipchain/gossipchain/e2e/netsim"
)

// holepunchAttempt is what one attempt of the holepunch benchmark saw, in
// time since the two private nodes were started.
type holepunchAttempt struct {
	private, reserved, direct time.Duration // zero: not reached
	err                       error
}

// runHolepunch measures NAT traversal (item 10) on a simulated internet of
// network namespaces (e2e/netsim): per attempt, a public relay node
// (--relay-service) and a second public node, and two private nodes, each
// alone behind its own NAT router of the kind tried, all bootstrapped to the
// relay. It reports, per NAT kind, the share of attempts in which the two
// private nodes end up directly connected (hole-punched) within --timeout,
// and the time from their start to that connection against the time to
// their relay reservations in the same attempts. Needs root.
func runHolepunch(ctx context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("holepunch", flag.ContinueOnError)
	attempts := fs.Int("attempts", 20, "`number` of attempts per NAT kind")
	parallel := fs.Int("parallel", 4, "attempts run at once, each on its own simulated internet")
	kinds := fs.String("nat", string(netsim.Masquerade)+","+string(netsim.RandomFully), "NAT `kinds` to try: masquerade (endpoint-independent mapping), random-fully (a random port per flow, symmetric-like)")
	timeout := fs.Duration("timeout", 60*time.Second, "how long an attempt waits for the direct connection")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := netsim.Check(); err != nil {
		return err
	}
	if *attempts < 1 || *parallel < 1 {
		return errors.New("--attempts and --parallel must be at least 1")
	}
	if _, err := e.gossipchain(ctx); err != nil { // built once, before the attempts run in parallel
		return err
	}
	for i, kind := range strings.Split(*kinds, ",") {
		kind := netsim.NATKind(strings.TrimSpace(kind))
		if kind != netsim.Masquerade && kind != netsim.RandomFully {
			return fmt.Errorf("--nat: unknown kind %q", kind)
		}
		e.logf("NAT %s: %d attempts, %d at a time", kind, *attempts, *parallel)
		res := make([]holepunchAttempt, *attempts)
		sem := make(chan struct{}, *parallel)
		var wg sync.WaitGroup
		for a := range res {
			wg.Add(1)
			go func() {
				defer wg.Done()
				select {
				case sem <- struct{}{}:
				case <-ctx.Done():
					res[a].err = ctx.Err()
					return
				}
				defer func() { <-sem }()
				dir := filepath.Join(e.workDir, fmt.Sprintf("%s-%02d", kind, a))
				res[a] = holepunchOnce(ctx, e, dir, kind, *timeout)
				if res[a].err != nil {
					e.logf("NAT %s attempt %d: %v", kind, a, res[a].err)
				}
			}()
		}
		wg.Wait()
		if err := ctx.Err(); err != nil {
			return err
		}
		e.sink.add(holepunchRow(i, kind, res, *timeout, e.command))
	}
	e.sink.noteFirst("NAT traversal runs on network namespaces of this machine (one simulated internet per attempt, " +
		"no real network); AutoNAT's dial-back of a private node ends with a timeout of up to 15 s, which dominates the time to a reservation")
	return nil
}

// holepunchRow is the row of one NAT kind.
func holepunchRow(i int, kind netsim.NATKind, res []holepunchAttempt, timeout time.Duration, command string) Row {
	var direct, reserved, punch []time.Duration
	failed := 0
	for _, r := range res {
		if r.err != nil {
			failed++
			continue
		}
		if r.reserved > 0 {
			reserved = append(reserved, r.reserved)
		}
		if r.direct > 0 {
			direct = append(direct, r.direct)
			if r.reserved > 0 {
				punch = append(punch, r.direct-r.reserved)
			}
		}
	}
	ran := len(res) - failed
	row := Row{
		ID:      fmt.Sprintf("10%c", 'a'+i),
		Item:    "NAT traversal",
		What:    fmt.Sprintf("two private nodes, each behind its own NAT (%s), bootstrapped to a public relay: attempts that end with a direct (hole-punched) connection within %s", kind, fmtDur(timeout)),
		Figure:  fmt.Sprintf("%d of %d (%.0f%%)", len(direct), ran, 100*float64(len(direct))/float64(max(ran, 1))),
		Command: command,
	}
	if failed > 0 {
		row.Figure += fmt.Sprintf("; %d attempts failed to set up", failed)
	}
	if len(direct) > 0 {
		row.Ratio = fmt.Sprintf("start to direct connection %s; start to both relay reservations %s, same attempts (%s of the time to the direct connection); direct connection after the reservations %s",
			durSpread(direct), durSpread(reserved), fmtRatio(float64(median(secs(reserved)))/median(secs(direct))), durSpread(punch))
	} else {
		row.Ratio = fmt.Sprintf("start to both relay reservations %s; no direct connection", durSpread(reserved))
	}
	switch kind {
	case netsim.Masquerade:
		row.Goal = "published libp2p success rate in the wild: about 70%"
	case netsim.RandomFully:
		row.Notes = append(row.Notes, "random-fully gives every new flow a random source port: the address the relay observed "+
			"is not the one a packet toward the other peer leaves from, so each side punches toward a port the other NAT never "+
			"opened; DCUtR cannot succeed (it would need port prediction)")
	}
	return row
}

// holepunchOnce runs one attempt in dir.
func holepunchOnce(ctx context.Context, e *env, dir string, kind netsim.NATKind, timeout time.Duration) (res holepunchAttempt) {
	in, err := netsim.New()
	if err != nil {
		return holepunchAttempt{err: err}
	}
	defer in.Close()
	var nodes []*node
	defer func() {
		for _, n := range nodes {
			e.procs.stop(n)
		}
	}()
	start := func(name string, h netsim.Host, boot []string, extra ...string) (*node, error) {
		n, err := startNetnsNode(ctx, e, filepath.Join(dir, name), name, h, boot, extra...)
		if n != nil {
			nodes = append(nodes, n)
		}
		return n, err
	}
	relayHost, err := in.PublicHost()
	if err != nil {
		return holepunchAttempt{err: err}
	}
	otherHost, err := in.PublicHost()
	if err != nil {
		return holepunchAttempt{err: err}
	}
	var lans [2]*netsim.LAN
	for i := range lans {
		if lans[i], err = in.PrivateLAN(1, kind); err != nil {
			return holepunchAttempt{err: err}
		}
	}
	relay, err := start("relay", relayHost, nil, "--relay-service")
	if err != nil {
		return holepunchAttempt{err: err}
	}
	boot := []string{
		fmt.Sprintf("/ip4/%s/udp/4001/quic-v1/p2p/%s", relayHost.IP, relay.peerID),
		fmt.Sprintf("/ip4/%s/tcp/4001/p2p/%s", relayHost.IP, relay.peerID),
	}
	if _, err := start("public", otherHost, boot); err != nil {
		return holepunchAttempt{err: err}
	}
	t0 := time.Now()
	a, err := start("a", lans[0].Hosts[0], boot)
	if err != nil {
		return holepunchAttempt{err: err}
	}
	b, err := start("b", lans[1].Hosts[0], boot)
	if err != nil {
		return holepunchAttempt{err: err}
	}
	err = waitFor(ctx, 100*time.Millisecond, time.Until(t0.Add(timeout)), func() (bool, error) {
		now := time.Since(t0)
		va, erra := a.Client().Status(ctx)
		vb, errb := b.Client().Status(ctx)
		if erra == nil && errb == nil && va.NAT != nil && vb.NAT != nil {
			if res.private == 0 && va.NAT.Reachability == "private" && vb.NAT.Reachability == "private" {
				res.private = now
			}
			if res.reserved == 0 && len(va.NAT.RelayAddrs) > 0 && len(vb.NAT.RelayAddrs) > 0 {
				res.reserved = now
			}
		}
		if ok, err := directTo(ctx, a, b.peerID, lans[1].Router.IP); err == nil && ok {
			res.direct = now
			return true, nil
		}
		return false, nil
	})
	if err != nil && !errors.Is(err, errNotWithin) {
		return holepunchAttempt{err: err}
	}
	return res
}

// startNetnsNode starts a node inside h: TCP and QUIC on port 4001 of its
// address, mDNS on, HTTP on its management address.
func startNetnsNode(ctx context.Context, e *env, dataDir, name string, h netsim.Host, boot []string, extra ...string) (*node, error) {
	args := []string{"--network", benchNetwork, "--difficulty", fmt.Sprint(benchDifficulty),
		"--listen", fmt.Sprintf("/ip4/%s/tcp/4001", h.IP), "--listen", fmt.Sprintf("/ip4/%s/udp/4001/quic-v1", h.IP),
		"--log-level", "debug"}
	for _, b := range boot {
		args = append(args, "--bootstrap", b)
	}
	args = append(args, extra...)
	return e.launch(ctx, launch.Options{Name: name, DataDir: dataDir, HTTP: h.MgmtIP + ":5000", Args: args, Netns: h.NS})
}

// directTo reports whether n has a direct (not relayed) connection to id
// whose remote address is on ip.
func directTo(ctx context.Context, n *node, id, ip string) (bool, error) {
	peers, err := n.Client().Peers(ctx)
	if err != nil {
		return false, err
	}
	for _, p := range peers {
		if p.ID == id && !p.Limited && strings.HasPrefix(p.ConnAddr, "/ip4/"+ip+"/") {
			return true, nil
		}
	}
	return false, nil
}

func secs(ds []time.Duration) []float64 {
	out := make([]float64, len(ds))
	for i, d := range ds {
		out[i] = d.Seconds()
	}
	return out
}

// durSpread formats durations as their median, minimum and maximum.
func durSpread(ds []time.Duration) string {
	if len(ds) == 0 {
		return "none"
	}
	return summarize(secs(ds)).format(func(s float64) string { return fmtDur(time.Duration(s * float64(time.Second))) })
}
