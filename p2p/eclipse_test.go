package p2p

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/peerstore"
	"github.com/libp2p/go-libp2p/p2p/net/swarm"
)

// Eclipse through the address book (Heilman et al.): 200 identities on
// their own loopback addresses, in 8 address groups, connect to a victim and
// answer its peer-exchange requests with each other's signed records. The
// victim's tried table keeps the honest peers it dialled and that served,
// none of the attackers is an outbound candidate by its inbound connection
// alone, and after a restart the victim redials its anchors and tried peers
// first and is connected to honest peers, not to the attackers.
func TestEclipseThroughAddrBook(t *testing.T) {
	const honestCount, attackGroups, perGroup = 8, 8, 25
	honest := make([]*Node, honestCount)
	isHonest := make(map[peer.ID]bool)
	for i := range honest {
		cfg := testConfig(t)
		cfg.ListenAddrs = []string{fmt.Sprintf("/ip4/127.0.%d.1/tcp/0", 10+i)}
		cfg.SkipAddrBook = true // only the victim dials them
		if i > 0 {
			cfg.Bootstrap = []string{honest[0].Addrs()[0].String()}
		}
		honest[i] = newNode(t, cfg)
		isHonest[honest[i].ID()] = true
	}
	waitFor(t, 30*time.Second, "the honest peers connected to the first", func() bool {
		return len(honest[0].Host().Network().Peers()) == honestCount-1
	})

	vcfg := testConfig(t)
	vcfg.ListenAddrs = []string{"/ip4/127.0.1.1/tcp/0"}
	vcfg.Bootstrap = []string{honest[0].Addrs()[0].String()}
	// The worst case for learning: a public node whose inbound allowance
	// admits every attacker at once (a default node refuses all but a few).
	vcfg.MaxInbound = 2 * attackGroups * perGroup
	victim, err := New(t.Context(), vcfg)
	if err != nil {
		t.Fatal(err)
	}
	defer victim.Close()
	if err := victim.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 60*time.Second, "the victim at its target, the honest peers it dialled tried", func() bool {
		return len(victim.Host().Network().Peers()) >= honestCount && victim.book.counts().Tried >= honestCount-1
	})

	attackers := startAttackers(t, attackGroups, perGroup)
	vinfo := peer.AddrInfo{ID: victim.ID(), Addrs: victim.Host().Addrs()}
	// A handshake may time out on a loaded machine: each attacker retries
	// until parallel's deadline, as a real attacker would.
	parallel(t, attackers, func(ctx context.Context, a host.Host) error {
		for {
			err := a.Connect(ctx, vinfo)
			if err == nil || ctx.Err() != nil {
				return err
			}
			a.Network().(*swarm.Swarm).Backoff().Clear(victim.ID())
		}
	})
	waitFor(t, 60*time.Second, "every attacker identified by the victim", func() bool {
		for _, a := range attackers {
			if protos, _ := victim.Host().Peerstore().SupportsProtocols(a.ID(), DiscoveryProtocol(testNetwork)); len(protos) == 0 {
				return false
			}
		}
		return true
	})
	// Learnt from itself, an attacker is filed under its own group: one
	// new bucket per group.
	waitFor(t, 10*time.Second, "the attackers' inbound-only entries", func() bool {
		return victim.book.counts().InboundOnly >= attackGroups
	})
	// The worst case of learning: the victim asks every attacker for peers.
	parallel(t, attackers, func(ctx context.Context, a host.Host) error {
		victim.askPeer(a.ID())
		return nil
	})
	c := victim.book.counts()
	honestTried, attackTried, candidates := 0, 0, 0
	sources := make(map[string]bool)
	victim.book.mu.Lock()
	for _, e := range victim.book.entries {
		if !isHonest[e.ID] {
			sources[e.SourceGroup] = true
		}
		switch {
		case e.Tried && isHonest[e.ID]:
			honestTried++
		case e.Tried:
			attackTried++
		}
	}
	victim.book.mu.Unlock()
	for _, e := range victim.book.dueEntries(time.Now()) {
		if !isHonest[e.ID] {
			candidates++
		}
	}
	t.Logf("HELD: after the attack the book holds %d entries: %d tried (%d honest, %d attackers), %d new, %d inbound-only, %d kept; %d attacker entries (handed over from %d source groups) are dial candidates, all behind the tried ones",
		victim.book.len(), c.Tried, honestTried, attackTried, c.New, c.InboundOnly, c.Kept, candidates, len(sources))
	if honestTried <= attackTried || honestTried < honestCount-1 {
		t.Fatalf("tried table: %d honest, %d attackers; want the %d honest peers that served, a majority", honestTried, attackTried, honestCount-1)
	}
	due := victim.book.dueEntries(time.Now())
	for i, e := range due[:min(len(due), honestCount)] {
		if !isHonest[e.ID] {
			t.Fatalf("dial candidate %d is an attacker; want the anchors, kept and tried honest peers first", i)
		}
	}

	if err := victim.Close(); err != nil {
		t.Fatal(err)
	}
	saved := openAddrBook(vcfg.DataDir, testLogger())
	if len(saved.anchors) != MaxAnchors {
		t.Fatalf("%d anchors saved, want %d", len(saved.anchors), MaxAnchors)
	}
	for _, a := range saved.anchors {
		if !isHonest[a] {
			t.Fatalf("anchor %s is an attacker", a)
		}
	}

	// Restarted from its book alone, the attackers still listening.
	vcfg.Bootstrap = nil
	restarted := newNode(t, vcfg)
	waitFor(t, 60*time.Second, "the restarted victim at its target", func() bool {
		return len(restarted.outboundPeers()) >= restarted.cfg.TargetPeers
	})
	good, bad := 0, 0
	for _, p := range restarted.outboundPeers() {
		if isHonest[p] {
			good++
		} else {
			bad++
		}
	}
	t.Logf("HELD: restarted from its book, the victim dialled %d honest peers and %d attackers", good, bad)
	if good <= bad || good < honestCount-1 {
		t.Fatalf("restarted victim: %d honest and %d attacker outbound peers", good, bad)
	}
}

// startAttackers starts groups×perGroup libp2p hosts, each on its own
// address 127.0.(200+g).(i+1), that speak the discovery protocol of
// testNetwork and answer it with the signed records of other attackers.
func startAttackers(t *testing.T, groups, perGroup int) []host.Host {
	t.Helper()
	ips := make([]string, 0, groups*perGroup)
	for g := range groups {
		for i := range perGroup {
			ips = append(ips, fmt.Sprintf("127.0.%d.%d", 200+g, i+1))
		}
	}
	hosts := loopbackHosts(t, ips, libp2p.DisableRelay())
	var mu sync.Mutex
	var recs [][]byte
	waitFor(t, 30*time.Second, "every attacker's signed record", func() bool {
		recs = recs[:0]
		for _, h := range hosts {
			cab, ok := peerstore.GetCertifiedAddrBook(h.Peerstore())
			if !ok {
				t.Fatal("no certified address book")
			}
			env := cab.GetPeerRecord(h.ID())
			if env == nil {
				return false
			}
			b, err := env.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			recs = append(recs, b)
		}
		return true
	})
	for _, h := range hosts {
		h.SetStreamHandler(DiscoveryProtocol(testNetwork), func(s network.Stream) {
			_ = s.SetDeadline(time.Now().Add(DiscoveryTimeout))
			if _, err := bufio.NewReader(s).Discard(2); err != nil {
				_ = s.Reset()
				return
			}
			mu.Lock()
			out := make([][]byte, MaxPeerRecords)
			for i := range out {
				out[i] = recs[rand.IntN(len(recs))]
			}
			mu.Unlock()
			if err := writePeers(s, out); err != nil {
				_ = s.Reset()
				return
			}
			_ = s.Close()
		})
	}
	return hosts
}

// parallel runs f for every host, 16 at a time, and fails the test on an
// error.
func parallel(t *testing.T, hosts []host.Host, f func(ctx context.Context, h host.Host) error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	sem := make(chan struct{}, 8)
	errs := make(chan error, len(hosts))
	var wg sync.WaitGroup
	for _, h := range hosts {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			errs <- f(ctx, h)
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}

// The book's file of version 1 (no tables, key or anchors) opens: learnt
// peers start in the new table, those of unknown source (the inbound peers
// version 1 learnt) are not dialled, kept ones stay kept, and the next save
// writes version 2.
func TestAddrBookMigratesVersion1(t *testing.T) {
	dir := t.TempDir()
	kept, found, inbound := newPeerID(t), newPeerID(t), newPeerID(t)
	now := time.Now().UTC().Format(time.RFC3339Nano)
	v1 := fmt.Sprintf(`{"version": 1, "peers": [
 {"id": %q, "addrs": ["/ip4/127.0.10.1/tcp/4001"], "source": "bootstrap", "kept": true, "added": %q},
 {"id": %q, "addrs": ["/ip4/127.0.11.1/tcp/4001"], "source": "discovery", "added": %q, "last_seen": %q},
 {"id": %q, "addrs": ["/ip4/127.0.12.1/tcp/4001"], "source": "unknown", "added": %q, "last_seen": %q}]}`,
		kept, now, found, now, now, inbound, now, now)
	path := filepath.Join(dir, AddrBookFile)
	if err := os.WriteFile(path, []byte(v1), 0o600); err != nil {
		t.Fatal(err)
	}
	b := openAddrBook(dir, testLogger())
	if got := b.counts(); got != (bookCounts{New: 2, InboundOnly: 1, Kept: 1}) {
		t.Fatalf("migrated book: got %+v, want 2 new (1 inbound-only) and 1 kept", got)
	}
	var due []peer.ID
	for _, e := range b.dueEntries(time.Now()) {
		due = append(due, e.ID)
	}
	if len(due) != 2 || due[0] != kept || due[1] != found {
		t.Fatalf("dial candidates %v, want the kept then the discovered peer", due)
	}
	if err := b.save(); err != nil {
		t.Fatal(err)
	}
	again := openAddrBook(dir, testLogger())
	if again.len() != 3 || string(again.key) != string(b.key) {
		t.Fatalf("rewritten book: %d entries, key kept %v", again.len(), string(again.key) == string(b.key))
	}
}
