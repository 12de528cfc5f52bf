package sync

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"runtime/pprof"
	"strings"
	gosync "sync"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gossipchain/gossipchain/chain"
	"github.com/gossipchain/gossipchain/p2p"
)

// poolIDList is the body of an inventory reply or the id list of a request:
// a uint16 count, then the ids.
func poolIDList(ids []chain.Hash) []byte {
	b := binary.BigEndian.AppendUint16(make([]byte, 0, 2+len(ids)*chain.HashSize), uint16(len(ids)))
	for _, id := range ids {
		b = append(b, id[:]...)
	}
	return b
}

func randomHashes(n int) []chain.Hash {
	ids := make([]chain.Hash, n)
	for i := range ids {
		ids[i] = randomHash()
	}
	return ids
}

// newPoolAnnouncer starts a raw host that names transactions it does not
// have: its inventory is MaxPoolInventory random ids, and it answers a fetch
// with none of them, at once or, if stall, not before the asker gives up.
// It dials victim.
func newPoolAnnouncer(t *testing.T, victim *testNode, stall bool) host.Host {
	t.Helper()
	h := newRawHost(t, libp2p.DisableRelay())
	h.SetStreamHandler(PoolProtocol, func(s network.Stream) {
		defer s.Close()
		body, err := readFrame(bufio.NewReader(s), nil, maxPoolRequest)
		if err != nil || len(body) < poolHeaderSize {
			_ = s.Reset()
			return
		}
		switch body[0] {
		case poolInventory:
			_, _ = s.Write(appendFrame(nil, poolIDList(randomHashes(MaxPoolInventory))))
		case poolGet:
			if stall {
				select {
				case <-t.Context().Done():
				case <-time.After(2 * PoolTimeout):
				}
				_ = s.Reset()
				return
			}
			_, _ = s.Write(appendFrame(nil, poolIDList(nil)))
		case poolAnnounce:
			_, _ = s.Write(appendFrame(nil, nil))
		}
	})
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := h.Connect(ctx, peer.AddrInfo{ID: victim.node.ID(), Addrs: victim.node.Host().Addrs()}); err != nil {
		t.Fatalf("connect to the victim: %v", err)
	}
	return h
}

// announceRandom announces MaxPoolInventory random ids to victim from h
// every period until ctx ends or h is cut off.
func announceRandom(ctx context.Context, h host.Host, victim peer.ID, genesis chain.Hash, period time.Duration) {
	tick := time.NewTicker(period)
	defer tick.Stop()
	for {
		s, err := h.NewStream(network.WithNoDial(ctx, "announce"), victim, PoolProtocol)
		if err != nil {
			return
		}
		body := append(append([]byte{poolAnnounce}, genesis[:]...), poolIDList(randomHashes(MaxPoolInventory))...)
		_ = s.SetDeadline(time.Now().Add(PoolTimeout))
		_, _ = s.Write(appendFrame(nil, body))
		_ = s.CloseWrite()
		_, _ = bufio.NewReader(s).ReadByte()
		_ = s.Close()
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// poolRequestGoroutines counts the goroutines of the test binary, of every
// node, in a pool inventory request or fetch.
func poolRequestGoroutines() int {
	var buf bytes.Buffer
	_ = pprof.Lookup("goroutine").WriteTo(&buf, 2)
	n := 0
	for _, g := range strings.Split(buf.String(), "\n\n") {
		if strings.Contains(g, "(*poolExchange).get(") || strings.Contains(g, "(*poolExchange).inventory(") ||
			strings.Contains(g, "(*poolExchange).fetchMissing(") {
			n++
		}
	}
	return n
}

// TestPoolAnnounceFlood: 16 identities announce random ids at their
// request budget (4 announcements a second of MaxPoolInventory ids), name
// more in their inventories, and deliver none of them (half answer a fetch
// with nothing, half let it time out). The victim keeps its pool requests
// in flight within the workers of its fetcher, penalises every announcer,
// and a transaction of an honest peer it dialled reaches its pool through
// pool exchange meanwhile.
func TestPoolAnnounceFlood(t *testing.T) {
	const attackers = 16
	// Room for every announcer: the victim does not shed them before it
	// has judged them.
	victim := startNetNode(t, testParams(t, "poolannounce", testDifficulty), t.TempDir(), nil,
		func(c *p2p.Config) { c.MaxInbound = 2 * attackers })
	honest := newTestNode(t, "poolannounce")
	tx := submitTx(t, honest, "honest")
	honest = honest.restart() // gossip's message cache cannot bring tx: only pool exchange can

	ctx, cancel := context.WithCancel(t.Context())
	var wg gosync.WaitGroup
	defer wg.Wait()
	defer cancel()
	var evil []host.Host
	for i := range attackers {
		h := newPoolAnnouncer(t, victim, i%2 == 1)
		evil = append(evil, h)
		wg.Go(func() { announceRandom(ctx, h, victim.node.ID(), victim.svc.genesis, 260*time.Millisecond) })
	}
	peak := 0
	var peakMu gosync.Mutex
	wg.Go(func() {
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			n := poolRequestGoroutines()
			peakMu.Lock()
			peak = max(peak, n)
			peakMu.Unlock()
		}
	})
	connect(t, victim, honest)
	waitFor(t, 30*time.Second, "the honest peer's transaction in the victim's pool", func() bool { return pending(victim, tx.ID) })
	if victim.svc.PoolStats().Fetched == 0 {
		t.Fatal("the honest transaction did not come by pool exchange")
	}
	waitFor(t, 120*time.Second, "every announcer penalised", func() bool {
		for _, h := range evil {
			if !victim.node.Banned(h.ID()) {
				return false
			}
		}
		return true
	})
	if victim.node.Banned(honest.node.ID()) {
		t.Fatal("the honest peer was penalised")
	}
	cancel()
	wg.Wait()
	// Two nodes run fetchers in this binary: the victim, and the honest
	// peer, which fetches from the victim.
	if peak > 2*poolWorkers {
		t.Fatalf("%d pool requests in flight at once, bound %d per node", peak, poolWorkers)
	}
	st := victim.svc.PoolStats()
	t.Logf("peak pool requests in flight %d; ids dropped %d; penalised %d", peak, st.Dropped, victim.svc.Stats().PeersPenalized)
}
