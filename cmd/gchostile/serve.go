package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/big"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gossipchain/gossipchain/chain"
)

// serveModes are the chain-exchange replies the hostile server gives. Every
// one answers a request from a target that believes our forged status (a
// chain 1000 blocks heavier than its own).
var serveModes = map[string]bool{
	"bad_block":       true, // one well-formed block that fails the proof of work
	"unlinked":        true, // a second block that does not link to the first
	"wrong_start":     true, // a first block that follows no locator hash
	"endless":         true, // linked blocks without end, past the count asked for
	"oversized_frame": true, // a block frame announcing 64 MiB
	"bad_header":      true, // a reply header of the wrong length
	"stall":           true, // a header, then silence
	"not_found":       true, // the code for "another network", then a status no heavier than the target's
	"known":           true, // every time, one block the target already has
	"empty":           true, // every time, no block at all
}

// serve connects a fresh identity that claims a heavier chain and answers
// the target's chain-exchange requests as mode says.
func (a *attacker) serve(ctx context.Context, mode string) (map[string]any, error) {
	if !serveModes[mode] {
		return nil, fmt.Errorf("unknown serve mode %q", mode)
	}
	var known *chain.Block
	if mode == "known" {
		blocks, err := a.fetchChain(ctx)
		if err != nil || len(blocks) < 2 {
			return nil, fmt.Errorf("fetch the target's chain: %v", err)
		}
		known = blocks[1]
	}
	id, err := a.newIdentity()
	if err != nil {
		return nil, err
	}
	var (
		served, finished atomic.Int64
		sentMu           sync.Mutex
		sent             []string // hashes of the first blocks sent
	)
	seen := a.claimLead(id, 1000, func(forged, theirs status) status {
		if mode == "not_found" && served.Load() > 0 {
			// Answered once as another network: from then on, claim
			// nothing to sync, so that only that answer is judged.
			return theirs
		}
		return forged
	})
	id.host.SetStreamHandler(blocksProtocol, func(s network.Stream) {
		st := seen()
		m := mode
		if served.Add(1) > 1 && mode == "not_found" {
			m = "empty"
		}
		defer finished.Add(1)
		if m == "known" {
			a.serveKnown(s, st, known)
			return
		}
		err := a.serveReply(id, s, m, st, func(b *chain.Block) {
			sentMu.Lock()
			if len(sent) < 8 {
				sent = append(sent, b.Hash.String())
			}
			sentMu.Unlock()
		})
		id.log.Info("served a forged reply", "mode", mode, "err", err)
		if err != nil {
			s.Reset()
			return
		}
		s.Close()
	})
	if err := id.connect(ctx, a.target); err != nil {
		return nil, fmt.Errorf("connect: %w", err)
	}
	// Answer once a reply was given (begun, for a stall), so that the
	// caller can look for the consequences at once.
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if finished.Load() > 0 || mode == "stall" && served.Load() > 0 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	sentMu.Lock()
	defer sentMu.Unlock()
	return map[string]any{"peer": id.host.ID().String(), "mode": mode, "requests": served.Load(), "blocks": append([]string{}, sent...)}, nil
}

// claimLead answers the target's status exchanges on id with a status
// lead blocks heavier than the target's own, passed through edit if not
// nil. It returns a function that gives the target's last status.
func (a *attacker) claimLead(id *identity, lead uint64, edit func(forged, theirs status) status) func() status {
	var (
		mu   sync.Mutex
		seen status
	)
	id.host.SetStreamHandler(statusProtocol, func(s network.Stream) {
		_ = s.SetDeadline(time.Now().Add(10 * time.Second))
		st, err := readStatus(s)
		if err != nil {
			s.Reset()
			return
		}
		mu.Lock()
		seen = st
		mu.Unlock()
		forged := status{
			genesis: st.genesis,
			head:    randomHash(),
			height:  st.height + lead,
			work:    new(big.Int).Add(st.work, new(big.Int).Lsh(new(big.Int).SetUint64(lead), uint(a.params.Difficulty()))),
		}
		if edit != nil {
			forged = edit(forged, st)
		}
		if _, err := s.Write(frame(forged.encode())); err != nil {
			s.Reset()
			return
		}
		s.Close()
	})
	return func() status {
		mu.Lock()
		defer mu.Unlock()
		return seen
	}
}

// serveKnown answers one request with the block known, which the target
// already has, whatever it asked for.
func (a *attacker) serveKnown(s network.Stream, st status, known *chain.Block) {
	if _, err := readFrame(bufio.NewReader(s), maxRequestBody); err != nil {
		s.Reset()
		return
	}
	hdr := []byte{codeOK}
	hdr = binary.BigEndian.AppendUint64(hdr, st.height+1000)
	h := randomHash()
	msg := frame(append(hdr, h[:]...))
	msg = append(msg, frame(known.AppendBinary(nil))...)
	if _, err := s.Write(append(msg, 0)); err != nil {
		s.Reset()
		return
	}
	s.Close()
}

// serveReply reads one request and answers it according to mode.
func (a *attacker) serveReply(id *identity, s network.Stream, mode string, st status, record func(*chain.Block)) error {
	r := bufio.NewReader(s)
	body, err := readFrame(r, maxRequestBody)
	if err != nil || len(body) < 2+32+4 {
		return fmt.Errorf("read request: %v", err)
	}
	var tip chain.Hash
	copy(tip[:], body[2:34])
	w := bufio.NewWriter(s)
	defer w.Flush()
	okHeader := func() {
		hdr := []byte{codeOK}
		hdr = binary.BigEndian.AppendUint64(hdr, st.height+1000)
		h := randomHash()
		w.Write(frame(append(hdr, h[:]...)))
	}
	parent := &chain.Block{Index: st.height, Hash: tip}
	block := func(prev *chain.Block, seal func(*attacker, *chain.Block)) *chain.Block {
		b := a.child(prev, []*chain.Block{prev}, nil, seal)
		if seal == nil {
			b.Hash = b.ComputeHash()
		}
		return b
	}
	writeBlock := func(b *chain.Block) error {
		record(b)
		_, err := w.Write(frame(b.AppendBinary(nil)))
		return err
	}
	switch mode {
	case "bad_block":
		okHeader()
		writeBlock(block(parent, unmined))
		return w.WriteByte(0)
	case "unlinked":
		okHeader()
		first := block(parent, mined)
		writeBlock(first)
		stray := block(first, nil)
		stray.PreviousHash = randomHash()
		stray.Hash = stray.ComputeHash()
		writeBlock(stray)
		return w.WriteByte(0)
	case "wrong_start":
		okHeader()
		b := block(parent, nil)
		b.PreviousHash = randomHash()
		b.Hash = b.ComputeHash()
		writeBlock(b)
		return w.WriteByte(0)
	case "endless":
		okHeader()
		prev := parent
		for i := 0; ; i++ {
			b := block(prev, nil)
			if err := writeBlock(b); err != nil {
				return fmt.Errorf("after %d blocks: %w", i, err)
			}
			prev = b
			if i%64 == 0 {
				if err := w.Flush(); err != nil {
					return fmt.Errorf("after %d blocks: %w", i, err)
				}
			}
		}
	case "oversized_frame":
		okHeader()
		w.Write(binary.AppendUvarint(nil, 64<<20))
		_, err := w.Write(make([]byte, 4096))
		return err
	case "bad_header":
		_, err := w.Write(frame([]byte{codeOK, 1, 2, 3, 4}))
		return err
	case "stall":
		okHeader()
		if err := w.Flush(); err != nil {
			return err
		}
		select {
		case <-id.ctx.Done():
		case <-time.After(5 * time.Minute):
		}
		return fmt.Errorf("stalled until closed")
	case "not_found":
		_, err := w.Write(frame([]byte{codeNotFound}))
		return err
	case "empty":
		okHeader()
		return w.WriteByte(0)
	}
	return fmt.Errorf("unknown mode %q", mode)
}

// badStatus sends a status of the wrong length from a fresh identity.
func (a *attacker) badStatus(ctx context.Context) (map[string]any, error) {
	id, err := a.newIdentity()
	if err != nil {
		return nil, err
	}
	if err := id.connect(ctx, a.target); err != nil {
		return nil, fmt.Errorf("connect: %w", err)
	}
	s, err := id.host.NewStream(ctx, a.target.ID, statusProtocol)
	if err != nil {
		return nil, fmt.Errorf("open status stream: %w", err)
	}
	_ = s.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := s.Write(frame(randomBytes(50))); err != nil {
		s.Reset()
		return nil, err
	}
	_ = s.CloseWrite()
	_, rerr := readStatus(s)
	s.Reset()
	res := map[string]any{"peer": id.host.ID().String()}
	if rerr != nil {
		res["read_error"] = rerr.Error()
	}
	return res, nil
}

// flood opens idle chain-exchange streams that never send a request from
// one fresh identity, then sends valid requests (the whole chain from the
// genesis) and malformed ones from another with the given concurrency, and
// counts the reply codes.
func (a *attacker) flood(ctx context.Context, idle, requests, malformed, concurrency int) (map[string]any, error) {
	idler, err := a.newIdentity()
	if err != nil {
		return nil, err
	}
	if err := idler.connect(ctx, a.target); err != nil {
		return nil, fmt.Errorf("connect: %w", err)
	}
	id, err := a.newIdentity()
	if err != nil {
		return nil, err
	}
	if err := id.connect(ctx, a.target); err != nil {
		return nil, fmt.Errorf("connect: %w", err)
	}
	start := time.Now()
	var idleStreams []network.Stream
	idleErrors := 0
	var firstErr error
	for range idle {
		s, err := idler.host.NewStream(ctx, a.target.ID, blocksProtocol)
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			idleErrors++
			continue
		}
		idleStreams = append(idleStreams, s)
	}
	defer func() {
		for _, s := range idleStreams {
			s.Reset()
		}
	}()

	genesis := a.params.Genesis().Hash
	bad := [][]byte{
		frame(request(nil, 10)),                                      // no locator
		frame(request(make([]chain.Hash, 65), 10)),                   // locator too long
		frame(request([]chain.Hash{genesis}, 0)),                     // no block asked for
		frame(request([]chain.Hash{genesis}, maxBlocksAsked+1)),      // too many asked for
		frame(request([]chain.Hash{genesis}, 10)[:20]),               // truncated
		append(binary.AppendUvarint(nil, 1<<20), randomBytes(64)...), // frame over the limit
		frame(randomBytes(2054)),                                     // noise
	}
	var (
		mu     sync.Mutex
		codes  = map[string]int{}
		blocks int
	)
	jobs := make(chan []byte)
	var wg sync.WaitGroup
	for range concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for body := range jobs {
				got, _, err := id.requestBlocksRaw(ctx, a.target, body)
				code := "ok"
				if err != nil {
					if code = replyCode(err); code == "" {
						code = "error"
					}
				}
				mu.Lock()
				if err != nil && code == "error" && firstErr == nil {
					firstErr = err
				}
				codes[code]++
				blocks += len(got)
				mu.Unlock()
			}
		}()
	}
	valid := frame(request([]chain.Hash{genesis}, maxBlocksAsked))
	for i := 0; i < requests+malformed; i++ {
		if i < requests {
			jobs <- valid
		} else {
			jobs <- bad[i%len(bad)]
		}
	}
	close(jobs)
	wg.Wait()
	// Idle streams the target reset (beyond its per-peer stream limit).
	refused := 0
	for _, s := range idleStreams {
		_ = s.SetReadDeadline(time.Now().Add(time.Millisecond))
		var ne net.Error
		if _, err := s.Read(make([]byte, 1)); err != nil && !(errors.As(err, &ne) && ne.Timeout()) {
			refused++
		}
	}
	return map[string]any{
		"peer": id.host.ID().String(), "idle_peer": idler.host.ID().String(),
		"idle_streams": len(idleStreams), "idle_errors": idleErrors, "idle_reset": refused,
		"codes": codes, "blocks": blocks, "seconds": time.Since(start).Seconds(),
		"first_error": fmt.Sprint(firstErr),
	}, nil
}

// requestBlocksRaw sends an already framed request.
func (id *identity) requestBlocksRaw(ctx context.Context, target peer.AddrInfo, raw []byte) ([]*chain.Block, uint64, error) {
	s, err := id.host.NewStream(ctx, target.ID, blocksProtocol)
	if err != nil {
		return nil, 0, fmt.Errorf("open block stream: %w", err)
	}
	defer s.Close()
	_ = s.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := s.Write(raw); err != nil {
		s.Reset()
		return nil, 0, err
	}
	_ = s.CloseWrite()
	return readReply(s)
}
