package sync

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gossipchain/gossipchain/chain"
	"github.com/gossipchain/gossipchain/p2p"
)

// bigBlocks builds count blocks on parent of about size bytes each (many
// transactions with long addresses).
func bigBlocks(t testing.TB, params chain.Params, parent *chain.Block, count, size int, tag string) []*chain.Block {
	t.Helper()
	long := strings.Repeat("x", chain.MaxAddressLen)
	perTx := 2 + len(long) + 2 + len(long) + 16
	out := make([]*chain.Block, 0, count)
	for i := range count {
		var txs []chain.Transaction
		for j := range min(size/perTx, params.MaxBlockTxs-1) {
			tx := chain.Transaction{Sender: long, Recipient: fmt.Sprintf("%s-%d-%d-%s", tag, i, j, long[:chain.MaxAddressLen-40]), Amount: 1, Nonce: uint64(j)}
			tx.ID = tx.ComputeID()
			txs = append(txs, tx)
		}
		b := buildBlocks(t, params, parent, 1, tag, txs...)[0]
		out = append(out, b)
		parent = b
	}
	return out
}

// TestUnreadRepliesDoNotHoldTheStore: peers that ask for the chain and never
// read the replies (every serving slot taken, each reply several times the
// transport's buffers) do not hold a store transaction open, so writes that
// must grow the store's mapping still go through and reads answer.
func TestUnreadRepliesDoNotHoldTheStore(t *testing.T) {
	n := newTestNode(t, testNetwork)
	params := n.params
	served := bigBlocks(t, params, n.chain.Genesis(), 24, 400<<10, "served")
	addBlocks(t, n.chain, served)

	// Each peer has DefaultMaxServingPerPeer slots: enough peers to take
	// them all.
	var h host.Host
	req := appendFrame(nil, appendRequest(nil, blockRequest{Locator: []chain.Hash{n.chain.Genesis().Hash}, Max: MaxBlocksPerRequest}))
	for i := range DefaultMaxServing {
		if i%DefaultMaxServingPerPeer == 0 {
			h = newRawHost(t)
			dialRaw(t, n, h)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		s, err := h.NewStream(network.WithNoDial(ctx, "test"), n.node.ID(), BlocksProtocol)
		cancel()
		if err != nil {
			t.Fatalf("stream %d: %v", i, err)
		}
		t.Cleanup(func() { s.Reset() })
		if _, err := s.Write(req); err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		// The reply is never read.
	}
	waitFor(t, 10*time.Second, "every serving slot taken", func() bool { return n.svc.gate.Serving() == DefaultMaxServing })

	// Writes that grow the file well past its mapping, and reads, while the
	// replies stay unread.
	more := bigBlocks(t, params, served[len(served)-1], 48, 400<<10, "more")
	done := make(chan error, 1)
	go func() {
		for i := 0; i < len(more); i += 8 {
			if _, _, err := n.chain.AddBlocks(more[i : i+8]); err != nil {
				done <- err
				return
			}
			if _, err := n.chain.BlockByHeight(2); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("the store is held: writes stalled behind unread replies (height %d)", n.head().Height)
	}
	if got, want := n.head().Height, uint64(1+len(served)+len(more)); got != want {
		t.Fatalf("height %d, want %d", got, want)
	}
}

// TestSyncInFlightAdmitted: the requests a sync session keeps in flight to
// one peer are all admitted by a server with the default limits, and are
// its whole share.
func TestSyncInFlightAdmitted(t *testing.T) {
	n := newTestNode(t, testNetwork)
	client := peer.ID("client")
	now := time.Now()
	for i := range syncInFlight {
		release, r := n.svc.gate.Admit(client, now)
		if r != p2p.Admitted {
			t.Fatalf("request %d of the %d in flight: %v, want admitted", i+1, syncInFlight, r)
		}
		defer release()
	}
	if _, r := n.svc.gate.Admit(client, now); r != p2p.PeerBusy {
		t.Fatalf("request %d: %v, want %v", syncInFlight+1, r, p2p.PeerBusy)
	}
}
