package sync

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gossipchain/gossipchain/chain"
)

func submitTx(t *testing.T, n *testNode, sender string) chain.Transaction {
	t.Helper()
	tx, err := chain.NewTransaction(sender, "bob", 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := n.svc.SubmitTransaction(context.Background(), tx); err != nil {
		t.Fatalf("SubmitTransaction: %v", err)
	}
	return tx
}

// A transaction submitted before a node connects reaches its pool by pool
// exchange once it connects (gossip does not replay it).
func TestPoolExchangeOnConnect(t *testing.T) {
	a := newTestNode(t, "poolx")
	var txs []chain.Transaction
	for i := range 300 { // more than one fetch batch
		txs = append(txs, submitTx(t, a, fmt.Sprintf("alice-%d", i)))
	}
	// A restart empties GossipSub's message cache, whose gossip could
	// otherwise bring the most recent ones: only pool exchange can now.
	a = a.restart()
	b := newTestNode(t, "poolx")
	connect(t, b, a)
	waitFor(t, 20*time.Second, "every transaction in the late node's pool", func() bool {
		for _, tx := range txs {
			if !pending(b, tx.ID) {
				return false
			}
		}
		return true
	})
	if b.svc.PoolStats().Fetched < uint64(len(txs)) {
		t.Fatalf("fetched %d, want %d", b.svc.PoolStats().Fetched, len(txs))
	}
}

// A transaction that a reorganisation returns to a node's pool is announced
// again and reaches nodes that never saw it.
func TestPoolReorgTxReachesPeers(t *testing.T) {
	a := newTestNode(t, "poolreorg")
	b := newTestNode(t, "poolreorg")
	c := newTestNode(t, "poolreorg")
	tx := submitTx(t, a, "carol")
	a.mine() // tx confirmed on a's branch only
	if pending(a, tx.ID) {
		t.Fatal("tx still pending after mining")
	}
	b.mine()
	b.mine() // heavier branch without tx
	connect(t, c, b)
	waitSameHead(t, []*testNode{b, c}, b.head().Hash, 20*time.Second)
	connect(t, a, b) // a reorganises to b's branch: tx back in a's pool
	waitSameHead(t, []*testNode{a, b, c}, b.head().Hash, 20*time.Second)
	waitFor(t, 20*time.Second, "tx returned by the reorganisation in every pool", func() bool {
		return pending(a, tx.ID) && pending(b, tx.ID) && pending(c, tx.ID)
	})
}

// A peer flooding the pool-exchange protocol is refused, then banned, while
// an honest peer keeps being served.
func TestPoolFloodIsPenalized(t *testing.T) {
	a := newTestNode(t, "poolflood")
	tx := submitTx(t, a, "dave")
	flood := newRawHost(t, libp2p.DisableRelay())
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := flood.Connect(ctx, peer.AddrInfo{ID: a.node.ID(), Addrs: a.node.Host().Addrs()}); err != nil {
		t.Fatal(err)
	}
	req := appendFrame(nil, append([]byte{poolInventory}, a.svc.genesis[:]...))
	refused := 0
	for i := 0; i < 500 && !a.node.Banned(flood.ID()); i++ {
		s, err := flood.NewStream(network.WithNoDial(ctx, "flood"), a.node.ID(), PoolProtocol)
		if err != nil {
			break
		}
		_, _ = s.Write(req)
		_ = s.CloseWrite()
		if _, err := bufio.NewReader(s).ReadByte(); err != nil {
			refused++
		}
		_ = s.Close()
	}
	waitFor(t, 10*time.Second, "flooding peer banned", func() bool { return a.node.Banned(flood.ID()) })
	if refused == 0 {
		t.Fatal("no flooding request was refused")
	}
	b := newTestNode(t, "poolflood")
	connect(t, b, a)
	waitFor(t, 20*time.Second, "honest peer served", func() bool { return pending(b, tx.ID) })
}

// A peer answering pool requests with replies over the limits, or with
// transactions that were not asked for, is penalised.
func TestPoolBadRepliesArePenalized(t *testing.T) {
	other, err := chain.NewTransaction("eve", "mallory", 5)
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string]struct {
		kind  byte
		reply func(w *bufio.Writer)
	}{
		"huge inventory": {poolInventory, func(w *bufio.Writer) { w.Write(binary.AppendUvarint(nil, 1<<30)) }},
		"too many ids": {poolInventory, func(w *bufio.Writer) {
			body := binary.BigEndian.AppendUint16(nil, MaxPoolInventory+1)
			body = append(body, make([]byte, (MaxPoolInventory+1)*chain.HashSize)...)
			w.Write(appendFrame(nil, body))
		}},
		"endless reply": {poolInventory, func(w *bufio.Writer) {
			w.Write(appendFrame(nil, binary.BigEndian.AppendUint16(nil, 0)))
			for range 1000 {
				w.Write(make([]byte, 1024))
			}
		}},
		"unasked transaction": {poolGet, func(w *bufio.Writer) {
			enc := other.AppendBinary(nil)
			body := binary.BigEndian.AppendUint16(nil, 1)
			body = binary.BigEndian.AppendUint16(body, uint16(len(enc)))
			w.Write(appendFrame(nil, append(body, enc...)))
		}},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			a := newTestNode(t, "poolbad")
			bad := newRawHost(t, libp2p.DisableRelay())
			bad.SetStreamHandler(PoolProtocol, func(s network.Stream) {
				_, _ = bufio.NewReader(s).ReadByte()
				w := bufio.NewWriter(s)
				c.reply(w)
				_ = w.Flush()
				_ = s.Close()
			})
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			if err := a.node.Host().Connect(ctx, peer.AddrInfo{ID: bad.ID(), Addrs: bad.Addrs()}); err != nil {
				t.Fatal(err)
			}
			if c.kind == poolInventory {
				_, err = a.svc.poolx.inventory(ctx, bad.ID())
			} else {
				_, err = a.svc.poolx.get(ctx, bad.ID(), []chain.Hash{{1}})
			}
			if err == nil {
				t.Fatal("bad reply accepted")
			}
			if !a.node.Banned(bad.ID()) {
				t.Fatal("peer with a bad reply not penalized")
			}
		})
	}
}

// A transaction still pending after the rebroadcast interval is announced
// again to every peer (gossip would not carry it twice).
func TestPoolRebroadcastsLongPending(t *testing.T) {
	a := newTestNode(t, "poolrebroadcast")
	a.svc.poolx.mu.Lock()
	a.svc.poolx.rebroadcast = 500 * time.Millisecond
	a.svc.poolx.mu.Unlock()
	tx := submitTx(t, a, "frank")
	listener := newRawHost(t, libp2p.DisableRelay())
	announced := make(chan int, 64)
	listener.SetStreamHandler(PoolProtocol, func(s network.Stream) {
		defer s.Close()
		body, err := readFrame(bufio.NewReader(s), nil, maxPoolRequest)
		if err != nil || len(body) < poolHeaderSize {
			return
		}
		switch body[0] {
		case poolInventory:
			_, _ = s.Write(appendFrame(nil, binary.BigEndian.AppendUint16(nil, 0)))
		case poolAnnounce:
			_, _ = s.Write(appendFrame(nil, nil))
			ids, err := decodeIDs(body[poolHeaderSize:], MaxPoolInventory)
			if err == nil && len(ids) == 1 && ids[0] == tx.ID {
				announced <- 1
			}
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := listener.Connect(ctx, peer.AddrInfo{ID: a.node.ID(), Addrs: a.node.Host().Addrs()}); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		select {
		case <-announced:
		case <-ctx.Done():
			t.Fatalf("announcement %d of the pending transaction not received", i+1)
		}
	}
}
