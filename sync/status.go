package sync

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	gosync "sync"
	"time"

	"github.com/libp2p/go-libp2p/core/event"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gossipchain/gossipchain/chain"
)

// maxStatusFrame bounds the status frame; a status is exactly statusSize.
const maxStatusFrame = 256

// watchPeers greets every peer that connects and forgets every peer that
// disconnects. The event bus delivers the events in order; the work is done
// in other goroutines so that the bus is never blocked.
func (s *Service) watchPeers(sub event.Subscription) {
	watchConnections(s.ctx, sub, func(p peer.ID) { s.spawn(func() { s.greet(p) }) }, s.forget)
}

// watchConnections calls connected and gone with the peers of the
// connectedness events of sub, in order, until ctx ends or sub closes.
func watchConnections(ctx context.Context, sub event.Subscription, connected, gone func(peer.ID)) {
	for {
		select {
		case <-ctx.Done():
			return
		case e, ok := <-sub.Out():
			if !ok {
				return
			}
			ev := e.(event.EvtPeerConnectednessChanged)
			switch ev.Connectedness {
			case network.Connected:
				connected(ev.Peer)
			case network.NotConnected:
				gone(ev.Peer)
			}
		}
	}
}

// statusLoop exchanges statuses with every connected peer once per
// StatusInterval ± timerJitter, from a random phase (see schedule).
func (s *Service) statusLoop() {
	repeat(s.ctx, newSchedule(s.self, statusTimer, s.cfg.StatusInterval), func() { s.announce("") })
}

// greet exchanges statuses with a newly connected peer. Both ends greet, so
// each learns the other's status even if one end's attempt fails.
func (s *Service) greet(p peer.ID) {
	st, err := s.exchangeStatus(s.ctx, p)
	if err != nil {
		s.log.Debug("status exchange failed", "peer", p, "err", err)
		return
	}
	s.onStatus(p, st)
}

// exchangeStatus sends our status to p and returns p's; a peer that
// answers a malformed status is penalised.
func (s *Service) exchangeStatus(ctx context.Context, p peer.ID) (Status, error) {
	st, err := requestStatus(ctx, s.host, p, s.localStatus(), s.cfg.StatusTimeout)
	if err != nil {
		if isViolation(err) {
			s.penalize(p, err.Error())
		}
		return Status{}, err
	}
	s.stats.statusExchanges.Add(1)
	return st, nil
}

// requestStatus sends local to p over a new status stream of h and returns
// p's status, all within timeout. A malformed answer is a *violation.
func requestStatus(ctx context.Context, h host.Host, p peer.ID, local Status, timeout time.Duration) (Status, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	str, err := h.NewStream(network.WithNoDial(ctx, "status"), p, StatusProtocol)
	if err != nil {
		return Status{}, fmt.Errorf("open status stream: %w", err)
	}
	stop := context.AfterFunc(ctx, func() { _ = str.Reset() })
	defer stop()
	_ = str.SetDeadline(time.Now().Add(timeout))

	msg := appendFrame(make([]byte, 0, statusSize+2), appendStatus(make([]byte, 0, statusSize), local))
	if _, err := str.Write(msg); err != nil {
		_ = str.Reset()
		return Status{}, fmt.Errorf("write status: %w", err)
	}
	if err := str.CloseWrite(); err != nil {
		_ = str.Reset()
		return Status{}, fmt.Errorf("close status stream for writing: %w", err)
	}
	st, err := readStatus(str)
	if err != nil {
		_ = str.Reset()
		return Status{}, err
	}
	_ = str.Close()
	return st, nil
}

// readStatus reads one status frame; a malformed one is a *violation.
func readStatus(str network.Stream) (Status, error) {
	body, err := readFrame(bufio.NewReaderSize(str, maxStatusFrame), make([]byte, statusSize), maxStatusFrame)
	if err != nil {
		if errors.Is(err, errFrameTooLarge) {
			return Status{}, violationf("malformed status: %v", err)
		}
		return Status{}, fmt.Errorf("read status: %w", err)
	}
	st, err := decodeStatus(body)
	if err != nil {
		return Status{}, violationf("malformed status: %v", err)
	}
	return st, nil
}

// handleStatus answers a status exchange: read the peer's status, send ours.
func (s *Service) handleStatus(str network.Stream) {
	if !s.enter() {
		_ = str.Reset()
		return
	}
	defer s.leave()
	stop := context.AfterFunc(s.ctx, func() { _ = str.Reset() })
	defer stop()
	p := str.Conn().RemotePeer()
	st, err := answerStatus(str, s.cfg.StatusTimeout, s.localStatus)
	if err != nil {
		if isViolation(err) {
			s.penalize(p, err.Error())
			return
		}
		s.log.Debug("status exchange failed", "peer", p, "err", err)
		return
	}
	s.stats.statusExchanges.Add(1)
	s.onStatus(p, st)
}

// answerStatus reads the status of str's peer and answers with local(),
// all within timeout; str is closed, or reset on error. A malformed status
// is a *violation.
func answerStatus(str network.Stream, timeout time.Duration, local func() Status) (Status, error) {
	_ = str.SetDeadline(time.Now().Add(timeout))
	st, err := readStatus(str)
	if err != nil {
		_ = str.Reset()
		return Status{}, err
	}
	msg := appendFrame(make([]byte, 0, statusSize+2), appendStatus(make([]byte, 0, statusSize), local()))
	if _, err := str.Write(msg); err != nil {
		_ = str.Reset()
		return Status{}, fmt.Errorf("write status: %w", err)
	}
	_ = str.Close()
	return st, nil
}

// onStatus acts on a peer's status: a peer of another network is
// disconnected; otherwise its status is kept and, if its chain is heavier than
// ours, a sync from it is queued.
func (s *Service) onStatus(p peer.ID, st Status) {
	if s.keepStatus(p, st) && st.Work.Cmp(s.chain.Head().Work) > 0 {
		s.requestSync(p, false)
	}
}

// keepStatus records the status of a connected peer of our network and
// reports whether it did; a peer of another network is disconnected.
func (s *Service) keepStatus(p peer.ID, st Status) bool {
	if st.Genesis != s.genesis {
		s.stats.peersWrongNetwork.Add(1)
		s.forget(p)
		s.log.Info("disconnecting peer of another network", "peer", p, "differs", s.otherNetwork(st.Genesis), "genesis", st.Genesis)
		_ = s.host.Network().ClosePeer(p)
		return false
	}
	if s.host.Network().Connectedness(p) != network.Connected {
		return false
	}
	s.mu.Lock()
	s.peers[p] = st
	s.mu.Unlock()
	return true
}

// otherNetwork names how the network of genesis differs from ours, in the
// terms of the flags that set it ("the peer runs with --difficulty 12, this
// node with no --difficulty (it retargets from 22 bits)"), when a setting
// near ours gives that genesis. Guessing hashes thousands of genesis blocks
// (about 7 ms when nothing matches), so the answer is kept per genesis: a
// peer of another network is redialled, or comes back, again and again.
func (s *Service) otherNetwork(genesis chain.Hash) string {
	if d, ok := s.otherNets.get(genesis); ok {
		return d
	}
	if s.otherNets.full() {
		// Many other networks, or a peer inventing genesis hashes: no more
		// guesses.
		return "its genesis is of another network"
	}
	ours := s.params.Net()
	names := []string{ours.Name}
	if ours.Name != chain.DefaultNetwork {
		names = append(names, chain.DefaultNetwork)
	}
	d := "its genesis is of no other --network, --ledger, --difficulty, --initial-difficulty, --target-block-time or --half-life near this node's"
	if theirs, ok := chain.GuessNetParams(genesis, ours, names...); ok {
		t, o := chain.Settings(theirs, ours)
		d = "the peer runs with " + t + ", this node with " + o
	}
	s.otherNets.put(genesis, d)
	return d
}

// maxOtherNetworks bounds the genesis hashes otherNetwork describes.
const maxOtherNetworks = 64

// otherNetworks holds otherNetwork's answers, at most maxOtherNetworks. It is
// safe for concurrent use.
type otherNetworks struct {
	mu gosync.Mutex
	m  map[chain.Hash]string
}

func (o *otherNetworks) get(genesis chain.Hash) (string, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	d, ok := o.m[genesis]
	return d, ok
}

func (o *otherNetworks) full() bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.m) >= maxOtherNetworks
}

func (o *otherNetworks) put(genesis chain.Hash, d string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.m == nil {
		o.m = make(map[chain.Hash]string)
	}
	if len(o.m) < maxOtherNetworks {
		o.m[genesis] = d
	}
}
