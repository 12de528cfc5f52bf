package p2p

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/multiformats/go-multiaddr"
)

// Nodes bootstrapped to one peer only come to know each other by peer
// exchange and reach their connection target, spread across the network.
func TestDiscoveryReachesTarget(t *testing.T) {
	const count, target = 6, 4
	first := testConfig(t)
	first.TargetPeers = target
	nodes := []*Node{newNode(t, first)}
	for range count - 1 {
		cfg := testConfig(t)
		cfg.TargetPeers = target
		cfg.Bootstrap = []string{nodes[0].Addrs()[0].String()}
		nodes = append(nodes, newNode(t, cfg))
	}
	// At the target, every peer identified (its listen addresses known) and
	// in the address book.
	waitFor(t, 30*time.Second, "every node at its target, every peer identified", func() bool {
		for _, n := range nodes {
			peers := n.Peers()
			if len(peers) < target || n.KnownAddrs() < target {
				return false
			}
			for _, p := range peers {
				if len(p.ListenAddrs) == 0 || !p.InAddrBook {
					return false
				}
			}
		}
		return true
	})
	var found int
	for _, n := range nodes[1:] {
		for _, p := range n.Peers() {
			if p.Source == SourceDiscovery {
				found++
			}
		}
	}
	if found == 0 {
		t.Error("no connection to a peer found by discovery")
	}
}

// A node restarted without its bootstrap list redials the peers of its
// address book.
func TestAddrBookRedialAfterRestart(t *testing.T) {
	acfg := testConfig(t)
	acfg.SkipAddrBook = true // only b may dial
	a := newNode(t, acfg)
	cfg := testConfig(t)
	cfg.Bootstrap = []string{a.Addrs()[0].String()}
	b, err := New(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "b connected to a", func() bool { return connected(b, a) })
	waitFor(t, 10*time.Second, "a in b's address book", func() bool { _, ok := b.book.get(a.ID()); return ok })
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(cfg.DataDir, AddrBookFile)); err != nil {
		t.Fatalf("address book not written: %v", err)
	}
	cfg.Bootstrap = nil
	b2 := newNode(t, cfg)
	waitFor(t, 10*time.Second, "b reconnected to a from its address book", func() bool {
		return connected(b2, a) && b2.DiscoveryStats().Redialled > 0
	})
}

// The address book is bounded: peers of one address group handed over by
// peers of one group share at most newBucketsPerGroup buckets of the new table, whose entries are
// not pushed out by newcomers while they are fresh; kept entries stay out of
// the tables. Entries age out; a corrupt file is moved aside. (Before the
// tables, the book was bounded by evicting the entry touched least recently
// anywhere; TestEclipseThroughAddrBook shows why that changed.)
func TestAddrBookBoundsAndCorruption(t *testing.T) {
	dir := t.TempDir()
	b := openAddrBook(dir, testLogger())
	now := time.Now()
	const room = newBucketsPerGroup * newBucketSize
	ids := make([]peer.ID, 3*room)
	addr := multiaddr.StringCast("/ip4/127.0.0.1/tcp/4001")
	for i := range ids {
		ids[i] = newPeerID(t)
		b.learn(ids[i], []multiaddr.Multiaddr{addr}, SourceDiscovery, "127.0.9", i == 0, nil, now.Add(time.Duration(i)*time.Second))
	}
	if b.len() > 1+room || b.len() <= 1+newBucketSize {
		t.Fatalf("book holds %d entries of one group from one source group, want more than one bucket's %d and at most %d (the kept one and %d buckets)", b.len(), newBucketSize, 1+room, newBucketsPerGroup)
	}
	if _, ok := b.get(ids[0]); !ok {
		t.Fatal("kept entry evicted")
	}
	if _, ok := b.get(ids[1]); !ok {
		t.Fatal("a fresh entry was pushed out of its bucket by a newcomer")
	}
	// Unspecified and ephemeral-free: 0.0.0.0 is not dialable.
	if b.learn(newPeerID(t), []multiaddr.Multiaddr{multiaddr.StringCast("/ip4/0.0.0.0/tcp/1")}, SourceDiscovery, "", false, nil, now) {
		t.Fatal("an unspecified address was kept")
	}
	b.prune(now.Add(AddrBookTTL + time.Hour))
	if b.len() != 1 {
		t.Fatalf("after the TTL %d entries left, want the kept one", b.len())
	}
	if err := b.save(); err != nil {
		t.Fatal(err)
	}
	again := openAddrBook(dir, testLogger())
	if _, ok := again.get(ids[0]); !ok || again.len() != 1 {
		t.Fatalf("reloaded book has %d entries", again.len())
	}

	path := filepath.Join(dir, AddrBookFile)
	if err := os.WriteFile(path, []byte(`{"version":1,"peers":[`), 0o600); err != nil {
		t.Fatal(err)
	}
	broken := openAddrBook(dir, testLogger())
	if broken.len() != 0 {
		t.Fatal("corrupt book loaded entries")
	}
	if _, err := os.Stat(path + ".corrupt"); err != nil {
		t.Fatalf("corrupt book not moved aside: %v", err)
	}
}

func rawHost(t *testing.T) host.Host {
	t.Helper()
	h, err := libp2p.New(libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"), libp2p.DisableRelay())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	return h
}

// A peer flooding the discovery protocol with requests is refused, then
// banned, while an honest peer keeps being served.
func TestDiscoveryFloodIsPenalized(t *testing.T) {
	n := newNode(t, testConfig(t))
	honest := newNode(t, testConfig(t))
	connect(t, honest, n)
	flood := rawHost(t)
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	if err := flood.Connect(ctx, peer.AddrInfo{ID: n.ID(), Addrs: n.Host().Addrs()}); err != nil {
		t.Fatal(err)
	}
	proto := DiscoveryProtocol(testNetwork)
	refused := 0
	for i := 0; i < 200 && !n.Banned(flood.ID()); i++ {
		s, err := flood.NewStream(network.WithNoDial(ctx, "flood"), n.ID(), proto)
		if err != nil {
			break // the connection was closed by the ban
		}
		_, _ = s.Write([]byte{1, MaxPeerRecords})
		_ = s.CloseWrite()
		if _, err := bufio.NewReader(s).ReadByte(); err != nil {
			refused++
		}
		_ = s.Close()
	}
	waitFor(t, 10*time.Second, "flooding peer banned", func() bool { return n.Banned(flood.ID()) })
	if refused == 0 {
		t.Fatal("no flooding request was refused")
	}
	if _, err := honest.requestPeers(ctx, n.ID()); err != nil {
		t.Fatalf("honest peer not served during the flood: %v", err)
	}
}

// A peer answering with more records than allowed, an oversized record or a
// forged one is penalised by the asking node.
func TestDiscoveryBadRepliesArePenalized(t *testing.T) {
	cases := map[string]func(w *bufio.Writer){
		"too many records": func(w *bufio.Writer) { w.Write(binary.AppendUvarint(nil, MaxPeerRecords+1)) },
		"huge record": func(w *bufio.Writer) {
			w.Write(binary.AppendUvarint(nil, 1))
			w.Write(binary.AppendUvarint(nil, 1<<30))
		},
		"garbage record": func(w *bufio.Writer) {
			w.Write(binary.AppendUvarint(nil, 1))
			w.Write(binary.AppendUvarint(nil, 5))
			w.Write([]byte("hello"))
		},
		"endless reply": func(w *bufio.Writer) {
			w.Write(binary.AppendUvarint(nil, 0))
			for range 1000 {
				w.Write(make([]byte, 1024))
			}
		},
	}
	for name, reply := range cases {
		t.Run(name, func(t *testing.T) {
			n := newNode(t, testConfig(t))
			bad := rawHost(t)
			bad.SetStreamHandler(DiscoveryProtocol(testNetwork), func(s network.Stream) {
				w := bufio.NewWriter(s)
				reply(w)
				_ = w.Flush()
				_ = s.Close()
			})
			ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
			defer cancel()
			if err := n.Host().Connect(ctx, peer.AddrInfo{ID: bad.ID(), Addrs: bad.Addrs()}); err != nil {
				t.Fatal(err)
			}
			if _, err := n.requestPeers(ctx, bad.ID()); err == nil {
				t.Fatal("bad reply accepted")
			}
			if !n.Banned(bad.ID()) {
				t.Fatal("peer with a bad reply not penalized")
			}
		})
	}
}

func newPeerID(t *testing.T) peer.ID {
	t.Helper()
	_, pub, err := crypto.GenerateEd25519Key(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	id, err := peer.IDFromPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return id
}
