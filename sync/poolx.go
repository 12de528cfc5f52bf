package sync

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	gosync "sync"
	"sync/atomic"
	"time"

	"github.com/libp2p/go-libp2p/core/event"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"

	"github.com/gossipchain/gossipchain/chain"
	"github.com/gossipchain/gossipchain/p2p"
)

// PoolProtocol exchanges pending pools: inventories of transaction ids,
// fetches of the transactions a node lacks, and announcements of ids newly
// pending. PROTOCOL.md documents it.
const PoolProtocol protocol.ID = "/gossipchain/pool/1.0.0"

// Limits of the pool-exchange protocol. PROTOCOL.md documents them.
const (
	// MaxPoolInventory bounds the ids of one inventory or announcement.
	MaxPoolInventory = 4096
	// MaxPoolFetch bounds the transactions of one fetch.
	MaxPoolFetch = 256
	// PoolTimeout bounds one pool exchange, on both ends.
	PoolTimeout = 10 * time.Second
	// PoolRebroadcast: a transaction still pending after this long (±
	// timerJitter, drawn for each announcement) is announced again to
	// every peer (and again after as long).
	PoolRebroadcast = 2 * time.Minute
	// poolTick is how often (± timerJitter, from a random phase) the pool
	// is checked for newly pending ids (received, submitted, or returned by
	// a reorganisation).
	poolTick = time.Second
	// maxPoolServing bounds the pool requests served at once, of all peers
	// and of one.
	maxPoolServing = 16

	poolHeaderSize   = 1 + chain.HashSize // kind, genesis
	maxPoolRequest   = poolHeaderSize + 2 + MaxPoolInventory*chain.HashSize
	maxInventoryBody = 2 + MaxPoolInventory*chain.HashSize
	maxFetchBody     = 2 + MaxPoolFetch*(2+maxTxWireSize)
)

// Pool request kinds.
const (
	poolInventory byte = 1 // reply: the ids of the server's pending transactions
	poolGet       byte = 2 // ids → reply: those of them the server has
	poolAnnounce  byte = 3 // ids newly pending at the client → reply: empty ack
)

// poolGate admits the pool requests s serves. Each peer has a request
// budget: an honest peer makes an inventory request and up to 16 fetches (a
// full pool) when it connects, and about one announcement a second after. Its
// share of the requests served at once is all of them (maxPoolServing): a
// smaller one would refuse requests that the budget lets through.
func poolGate(s *Service) *p2p.Gate {
	return p2p.NewGate(p2p.GateConfig{
		Budget:   &p2p.RequestBudget{Burst: 32, Rate: 4, Strikes: 32},
		PerPeer:  maxPoolServing,
		Global:   maxPoolServing,
		Timeout:  PoolTimeout,
		Penalize: s.penalize,
		Protocol: "pool-exchange",
	})
}

// poolExchange is the state of the pool-exchange protocol of a Service.
type poolExchange struct {
	s     *Service
	gate  *p2p.Gate    // admission of the pool requests served (poolGate)
	fetch *poolFetcher // what peers named, and its fetching (poolfetch.go)

	mu          gosync.Mutex
	pending     map[chain.Hash]time.Time // ids pending at the last tick → when to announce again
	rebroadcast time.Duration            // PoolRebroadcast; shorter in tests

	served, fetched, announced, dropped atomic.Uint64
	table                               p2p.StatTable[PoolStats] // PoolStats on /metrics
}

func newPoolExchange(s *Service) *poolExchange {
	px := &poolExchange{s: s, gate: poolGate(s),
		pending: make(map[chain.Hash]time.Time), rebroadcast: PoolRebroadcast}
	px.fetch = newPoolFetcher(px)
	px.table = p2p.StatTable[PoolStats]{
		p2p.CounterStat("sync_pool_served_total", "Pool-exchange requests answered.",
			&px.served, func(s *PoolStats) *uint64 { return &s.Served }),
		p2p.CounterStat("sync_pool_fetched_total", "Transactions added to the pool by pool exchange.",
			&px.fetched, func(s *PoolStats) *uint64 { return &s.Fetched }),
		p2p.CounterStat("sync_pool_announced_total", "Pool announcements sent.",
			&px.announced, func(s *PoolStats) *uint64 { return &s.Announced }),
		p2p.CounterStat("sync_pool_ids_dropped_total", "Transaction ids named by peers and dropped unchecked: over the budget, or evicted from a full set.",
			&px.dropped, func(s *PoolStats) *uint64 { return &s.Dropped }),
	}
	return px
}

// PoolStats are the counters of the pool-exchange protocol.
type PoolStats struct {
	Served    uint64 // pool requests answered
	Fetched   uint64 // transactions added to the pool from pool exchange
	Announced uint64 // announcements sent
	Dropped   uint64 // ids named by peers and dropped unchecked (poolfetch.go)
}

// PoolStats returns the counters of the pool-exchange protocol.
func (s *Service) PoolStats() PoolStats {
	var st PoolStats
	s.poolx.table.Snapshot(&st)
	return st
}

// startPoolExchange registers the protocol and starts its loops. s.mu must
// be held.
func (s *Service) startPoolExchange() error {
	sub, err := s.host.EventBus().Subscribe(new(event.EvtPeerIdentificationCompleted))
	if err != nil {
		return fmt.Errorf("subscribe to identify events: %w", err)
	}
	s.host.SetStreamHandler(PoolProtocol, p2p.DirectOnly(s.poolx.handle))
	s.goLocked(func() { s.poolx.watch(sub) })
	s.goLocked(s.poolx.announceLoop)
	s.poolx.fetch.start()
	return nil
}

// watch schedules a request for the inventory of every newly identified
// peer that speaks the protocol.
func (px *poolExchange) watch(sub event.Subscription) {
	s := px.s
	defer sub.Close()
	for {
		select {
		case <-s.ctx.Done():
			return
		case e, ok := <-sub.Out():
			if !ok {
				return
			}
			ev, ok := e.(event.EvtPeerIdentificationCompleted)
			if !ok {
				continue
			}
			for _, pr := range ev.Protocols {
				if pr == PoolProtocol {
					px.fetch.wantInventory(ev.Peer)
					break
				}
			}
		}
	}
}

// announceLoop announces to every peer, once a tick, the ids newly pending
// here (submitted, received, or returned to the pool by a reorganisation)
// and those pending for longer than PoolRebroadcast since last announced.
// Gossip cannot carry them again: pubsub drops an id it has seen for its
// seen-cache period. Both the tick and the rebroadcast interval vary by
// timerJitter, so that the nodes that received a transaction together do
// not announce it again together.
func (px *poolExchange) announceLoop() {
	s := px.s
	sch := newSchedule(s.self, poolTimer, poolTick)
	repeat(s.ctx, sch, func() { px.announceNew(sch) })
}

// announceNew announces the ids newly pending or due again (see
// announceLoop); sch draws the next due times.
func (px *poolExchange) announceNew(sch *schedule) {
	s := px.s
	now := time.Now()
	txs := s.chain.Pending(MaxPoolInventory)
	var ids []chain.Hash
	px.mu.Lock()
	current := make(map[chain.Hash]time.Time, len(txs))
	for _, tx := range txs {
		due, ok := px.pending[tx.ID]
		if !ok || !now.Before(due) {
			ids = append(ids, tx.ID)
			due = now.Add(sch.vary(px.rebroadcast))
		}
		current[tx.ID] = due
	}
	px.pending = current
	px.mu.Unlock()
	if len(ids) == 0 {
		return
	}
	for _, p := range s.host.Network().Peers() {
		if protos, err := s.host.Peerstore().SupportsProtocols(p, PoolProtocol); err != nil || len(protos) == 0 {
			continue
		}
		s.spawn(func() {
			if err := px.announce(p, ids); err != nil {
				s.log.Debug("pool announcement failed", "peer", p, "err", err)
			}
		})
	}
}

// request sends one pool request to p and returns the reply body, at most
// maxReply bytes, within PoolTimeout or ctx's deadline if sooner. A reply
// over its limit penalises p.
func (px *poolExchange) request(ctx context.Context, p peer.ID, kind byte, ids []chain.Hash, maxReply int) ([]byte, error) {
	s := px.s
	ctx, cancel := context.WithTimeout(ctx, PoolTimeout)
	defer cancel()
	str, err := s.host.NewStream(network.WithNoDial(ctx, "pool"), p, PoolProtocol)
	if err != nil {
		return nil, fmt.Errorf("open pool stream: %w", err)
	}
	stop := context.AfterFunc(ctx, func() { _ = str.Reset() })
	defer stop()
	if deadline, ok := ctx.Deadline(); ok {
		_ = str.SetDeadline(deadline)
	}
	body := make([]byte, 0, poolHeaderSize+2+len(ids)*chain.HashSize)
	body = append(append(body, kind), s.genesis[:]...)
	if kind != poolInventory {
		body = binary.BigEndian.AppendUint16(body, uint16(len(ids)))
		for i := range ids {
			body = append(body, ids[i][:]...)
		}
	}
	if _, err := str.Write(appendFrame(nil, body)); err != nil {
		_ = str.Reset()
		return nil, fmt.Errorf("write pool request: %w", err)
	}
	if err := str.CloseWrite(); err != nil {
		_ = str.Reset()
		return nil, fmt.Errorf("close pool request: %w", err)
	}
	r := bufio.NewReaderSize(str, 4096)
	reply, err := readFrame(r, nil, maxReply)
	if err != nil {
		_ = str.Reset()
		if errors.Is(err, errFrameTooLarge) {
			s.penalize(p, "pool reply too large: "+err.Error())
		}
		return nil, fmt.Errorf("read pool reply: %w", err)
	}
	if _, err := r.ReadByte(); !errors.Is(err, io.EOF) {
		_ = str.Reset()
		if err == nil {
			s.penalize(p, "data after the pool reply")
		}
		return nil, errors.New("pool reply not closed after its frame")
	}
	_ = str.Close()
	return reply, nil
}

func (px *poolExchange) inventory(ctx context.Context, p peer.ID) ([]chain.Hash, error) {
	body, err := px.request(ctx, p, poolInventory, nil, maxInventoryBody)
	if err != nil {
		return nil, err
	}
	ids, err := decodeIDs(body, MaxPoolInventory)
	if err != nil {
		px.s.penalize(p, "malformed pool inventory: "+err.Error())
		return nil, err
	}
	return ids, nil
}

func (px *poolExchange) get(ctx context.Context, p peer.ID, ids []chain.Hash) ([]chain.Transaction, error) {
	body, err := px.request(ctx, p, poolGet, ids, maxFetchBody)
	if err != nil {
		return nil, err
	}
	want := make(map[chain.Hash]bool, len(ids))
	for _, id := range ids {
		want[id] = true
	}
	txs, err := decodeTxs(body, want)
	if err != nil {
		px.s.penalize(p, "malformed pool fetch reply: "+err.Error())
		return nil, err
	}
	return txs, nil
}

func (px *poolExchange) announce(p peer.ID, ids []chain.Hash) error {
	if _, err := px.request(px.s.ctx, p, poolAnnounce, ids, 0); err != nil {
		return err
	}
	px.announced.Add(1)
	return nil
}

// handle serves one pool request.
func (px *poolExchange) handle(str network.Stream) {
	s := px.s
	if !s.enter() {
		_ = str.Reset()
		return
	}
	defer s.leave()
	release := px.gate.AdmitStream(str)
	if release == nil {
		return
	}
	defer release()
	stop := context.AfterFunc(s.ctx, func() { _ = str.Reset() })
	defer stop()
	p := str.Conn().RemotePeer()

	body, err := readFrame(bufio.NewReaderSize(str, 4096), nil, maxPoolRequest)
	if err != nil {
		_ = str.Reset()
		if errors.Is(err, errFrameTooLarge) {
			s.penalize(p, "pool request too large: "+err.Error())
		}
		return
	}
	if len(body) < poolHeaderSize {
		_ = str.Reset()
		s.penalize(p, "malformed pool request: truncated")
		return
	}
	if chain.Hash(body[1:poolHeaderSize]) != s.genesis {
		_ = str.Reset() // another network: nothing to exchange
		return
	}
	kind, rest := body[0], body[poolHeaderSize:]
	var reply []byte
	switch kind {
	case poolInventory:
		if len(rest) != 0 {
			_ = str.Reset()
			s.penalize(p, "malformed pool inventory request")
			return
		}
		txs := s.chain.Pending(MaxPoolInventory)
		reply = binary.BigEndian.AppendUint16(make([]byte, 0, 2+len(txs)*chain.HashSize), uint16(len(txs)))
		for _, tx := range txs {
			reply = append(reply, tx.ID[:]...)
		}
	case poolGet, poolAnnounce:
		limit := MaxPoolInventory
		if kind == poolGet {
			limit = MaxPoolFetch
		}
		ids, err := decodeIDs(rest, limit)
		if err != nil {
			_ = str.Reset()
			s.penalize(p, "malformed pool request: "+err.Error())
			return
		}
		if kind == poolAnnounce {
			px.fetch.named(p, ids)
			break
		}
		reply = make([]byte, 2, 2+len(ids)*(2+maxTxWireSize))
		count := 0
		for _, id := range ids {
			loc, err := s.chain.FindTransaction(id)
			if err != nil || !loc.Pending {
				continue
			}
			enc := loc.Tx.AppendBinary(nil)
			reply = binary.BigEndian.AppendUint16(reply, uint16(len(enc)))
			reply = append(reply, enc...)
			count++
		}
		binary.BigEndian.PutUint16(reply, uint16(count))
	default:
		_ = str.Reset()
		s.penalize(p, fmt.Sprintf("unknown pool request kind %d", kind))
		return
	}
	if _, err := str.Write(appendFrame(nil, reply)); err != nil {
		_ = str.Reset()
		return
	}
	_ = str.Close()
	px.served.Add(1)
}

// decodeIDs decodes a big-endian uint16 count followed by that many ids.
func decodeIDs(b []byte, limit int) ([]chain.Hash, error) {
	if len(b) < 2 {
		return nil, errors.New("id list truncated")
	}
	n := int(binary.BigEndian.Uint16(b))
	if n > limit {
		return nil, fmt.Errorf("%d ids, limit %d", n, limit)
	}
	if len(b) != 2+n*chain.HashSize {
		return nil, fmt.Errorf("id list is %d bytes, want %d for %d ids", len(b), 2+n*chain.HashSize, n)
	}
	ids := make([]chain.Hash, n)
	for i := range ids {
		copy(ids[i][:], b[2+i*chain.HashSize:])
	}
	return ids, nil
}

// decodeTxs decodes a fetch reply: a uint16 count, then for each
// transaction a uint16 length and its binary encoding. Every transaction
// must be one of want, at most once.
func decodeTxs(b []byte, want map[chain.Hash]bool) ([]chain.Transaction, error) {
	if len(b) < 2 {
		return nil, errors.New("reply truncated")
	}
	n := int(binary.BigEndian.Uint16(b))
	if n > len(want) {
		return nil, fmt.Errorf("%d transactions for %d ids asked", n, len(want))
	}
	b = b[2:]
	txs := make([]chain.Transaction, 0, n)
	for range n {
		if len(b) < 2 {
			return nil, errors.New("reply truncated")
		}
		size := int(binary.BigEndian.Uint16(b))
		if size > maxTxWireSize || len(b) < 2+size {
			return nil, fmt.Errorf("transaction of %d bytes (limit %d, %d left)", size, maxTxWireSize, len(b)-2)
		}
		tx, err := chain.DecodeTransaction(b[2 : 2+size])
		if err != nil {
			return nil, err
		}
		if !want[tx.ID] {
			return nil, fmt.Errorf("transaction %s was not asked for", tx.ID)
		}
		delete(want, tx.ID)
		txs = append(txs, tx)
		b = b[2+size:]
	}
	if len(b) != 0 {
		return nil, fmt.Errorf("%d bytes after the last transaction", len(b))
	}
	return txs, nil
}
