package sync

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/gossipchain/gossipchain/chain"
	"github.com/gossipchain/gossipchain/chain/store"
	"github.com/gossipchain/gossipchain/p2p"
)

// TestOtherNetworkNamesFlags checks the reason logged when a peer of another
// network is disconnected: the flags that differ, as the user types them.
func TestOtherNetworkNamesFlags(t *testing.T) {
	s := &Service{params: chain.DefaultParams()}
	fixed, err := chain.NewParams(chain.DefaultNetwork, 12)
	if err != nil {
		t.Fatal(err)
	}
	signed := chain.DefaultParams()
	signed.Ledger = chain.LedgerSigned
	other, err := chain.NewRetargetParams("othernet", 7*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		peer chain.Params
		want string
	}{
		{fixed, "the peer runs with --difficulty 12, this node with no --difficulty (it retargets from 22 bits)"},
		{signed, "the peer runs with --ledger signed, this node with --ledger open"},
		{other, "its genesis is of no other --network, --ledger, --difficulty, --initial-difficulty, --target-block-time or --half-life near this node's"},
	} {
		if got := s.otherNetwork(tt.peer.Genesis().Hash); got != tt.want {
			t.Errorf("peer %s: %q, want %q", tt.peer.Name, got, tt.want)
		}
	}
}

// TestOtherNetworkGuessesOnce checks that a genesis is described once and
// the answer reused, and that past maxOtherNetworks genesis hashes (a peer
// inventing them) no guess is made any more.
func TestOtherNetworkGuessesOnce(t *testing.T) {
	s := &Service{params: chain.DefaultParams()}
	fixed, err := chain.NewParams(chain.DefaultNetwork, 12)
	if err != nil {
		t.Fatal(err)
	}
	want := "the peer runs with --difficulty 12, this node with no --difficulty (it retargets from 22 bits)"
	genesis := fixed.Genesis().Hash
	for range 2 {
		if got := s.otherNetwork(genesis); got != want {
			t.Fatalf("got %q, want %q", got, want)
		}
	}
	if n := len(s.otherNets.m); n != 1 {
		t.Fatalf("%d genesis hashes kept after asking twice for one, want 1", n)
	}
	for i := range maxOtherNetworks {
		s.otherNets.put(chain.Hash{0xff, byte(i)}, "invented")
	}
	if got := s.otherNetwork(genesis); got != want {
		t.Fatalf("a kept genesis once the cache is full: %q, want %q", got, want)
	}
	if got, want := s.otherNetwork(chain.Hash{0xee}), "its genesis is of another network"; got != want {
		t.Fatalf("a new genesis once the cache is full: %q, want %q", got, want)
	}
	if n := len(s.otherNets.m); n != maxOtherNetworks {
		t.Fatalf("%d genesis hashes kept, want at most %d", n, maxOtherNetworks)
	}
}

// TestNewNodeFailureClosesWhatItOpened checks that a node that fails
// half-way (here its p2p port is in use) returns the error and closes
// its chain, so that the data directory opens again at once.
func TestNewNodeFailureClosesWhatItOpened(t *testing.T) {
	held, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	dir := t.TempDir()
	cfg := NodeConfig{
		Params:  testParams(t, "failnet", testDifficulty),
		DataDir: dir,
		Logger:  testLogger(),
		P2P:     p2p.Config{ListenAddrs: []string{fmt.Sprintf("/ip4/127.0.0.1/tcp/%d", held.Addr().(*net.TCPAddr).Port)}},
	}
	if n, err := NewNode(context.Background(), cfg); err == nil || n != nil {
		t.Fatalf("NewNode listening on a port in use: %v, %v", n, err)
	}
	c, err := store.Open(store.Config{Params: cfg.Params, Path: filepath.Join(dir, ChainFile)})
	if err != nil {
		t.Fatalf("the chain of the failed node is still open: %v", err)
	}
	c.Close()
}
