package sync

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gossipchain/gossipchain/chain"
	"github.com/gossipchain/gossipchain/p2p"
)

// errStopServing ends RawMainChain early: the reply is full.
var errStopServing = errors.New("reply full")

// errChainMoved ends RawMainChain when the first block does not follow the
// locator: the main chain changed between LocateFork and the read.
var errChainMoved = errors.New("main chain changed while answering")

// exchangeGate admits the chain-exchange requests s serves: MaxServing at
// once, MaxServingPerPeer of one peer, at any rate; a refused request is
// answered CodeUnavailable. The stream's deadlines are set before its request
// is read, and the request is admitted once read, so that a stream that
// never sends one holds no serving slot. The MaxServing slots are shared
// (p2p.GateConfig.Standing): a quarter is kept for the peers this node
// dialled or that delivered, and a request finding the others taken resets
// a request of the largest untrusted holder instead of being refused.
func (s *Service) exchangeGate() *p2p.Gate {
	return p2p.NewGate(p2p.GateConfig{
		PerPeer:  s.cfg.MaxServingPerPeer,
		Global:   s.cfg.MaxServing,
		Standing: s.node.Standing,
		Reserve:  p2p.ReservedShare(s.cfg.MaxServing),
		Refuse:   func(str network.Stream, _ p2p.Refusal) { s.replyCode(str, CodeUnavailable) },
	})
}

// handleBlocks serves one chain-exchange request: the main-chain blocks after
// the first locator hash on our main chain, at most as many as asked and
// MaxResponseBytes in all.
func (s *Service) handleBlocks(str network.Stream) {
	end, done, ok := s.beginServing(str)
	if !ok {
		return
	}
	defer done()
	p := str.Conn().RemotePeer()
	body, err := readFrame(bufio.NewReaderSize(str, maxRequestSize+binary.MaxVarintLen64), nil, maxRequestSize)
	if err != nil {
		s.log.Debug("reading block request failed", "peer", p, "err", err)
		if errors.Is(err, errFrameTooLarge) {
			s.replyCode(str, CodeBadRequest)
			return
		}
		_ = str.Reset()
		return
	}
	req, err := decodeRequest(body)
	if err != nil {
		s.log.Debug("bad block request", "peer", p, "err", err)
		s.replyCode(str, CodeBadRequest)
		return
	}
	release := s.gate.AdmitStream(str)
	if release == nil {
		return
	}
	defer release()
	fork, ok := s.chain.LocateFork(req.Locator)
	if !ok {
		s.replyCode(str, CodeNotFound)
		return
	}
	n, err := s.serveBlocks(stallGuard{str, s.cfg.StallTimeout, end}, req, fork)
	switch {
	case errors.Is(err, errChainMoved):
		s.replyCode(str, CodeUnavailable)
		return
	case err != nil:
		_ = str.Reset()
		s.log.Debug("serving blocks failed", "peer", p, "err", err)
		return
	}
	_ = str.Close()
	s.stats.requestsServed.Add(1)
	s.stats.blocksServed.Add(uint64(n))
}

// beginServing is the prologue of a served locator request (chain or
// header exchange): the handler counts as work Close waits for, str is
// reset when the service closes, the request (small) must arrive within
// RequestReadTimeout and the reply must be written by end, RequestTimeout
// from now. It returns ok false, with str reset, once the service is
// closed; otherwise done must be called when the handler returns.
func (s *Service) beginServing(str network.Stream) (end time.Time, done func(), ok bool) {
	if !s.enter() {
		_ = str.Reset()
		return time.Time{}, nil, false
	}
	stop := context.AfterFunc(s.ctx, func() { _ = str.Reset() })
	_ = str.SetReadDeadline(time.Now().Add(s.cfg.RequestReadTimeout))
	end = time.Now().Add(s.cfg.RequestTimeout)
	_ = str.SetWriteDeadline(end)
	return end, func() { stop(); s.leave() }, true
}

// serveChunkBytes bounds the blocks read from one store snapshot while
// serving: a reply is read a chunk at a time, and each chunk is written to
// the peer after its read transaction has closed, so a peer that does not
// read its reply never holds the store.
const serveChunkBytes = 256 << 10

// serveBlocks writes the reply header and the blocks after height fork, then
// the end frame. Nothing is written before the first block is checked, so
// errChainMoved leaves the stream clean for another reply. If the main chain
// changes between two chunks, the reply ends with the blocks that link.
func (s *Service) serveBlocks(str network.Stream, req blockRequest, fork uint64) (int, error) {
	locator := make(map[chain.Hash]struct{}, len(req.Locator))
	for _, h := range req.Locator {
		locator[h] = struct{}{}
	}
	head := s.chain.Head()
	w := bufio.NewWriterSize(str, ioBufferSize)
	hdr := okReplyHeader(head.Height, head.Hash)

	n, total := 0, 0
	var chunk []byte    // the encodings of one chunk, back to back
	var ends []int      // where each block of chunk ends
	var last chain.Hash // hash of the last block read
	next := fork + 1
	for req.Max <= 0 || n < req.Max {
		chunk, ends = chunk[:0], ends[:0]
		moved, full := false, false
		err := s.chain.RawMainChainHashed(next, req.Max-n, func(hash chain.Hash, raw []byte) error {
			if len(raw) < chain.HeaderSize {
				return fmt.Errorf("stored block of %d bytes", len(raw))
			}
			if len(ends) == 0 {
				prev := chain.Hash(raw[:chain.HashSize])
				if n == 0 {
					if _, ok := locator[prev]; !ok {
						return errChainMoved
					}
				} else if prev != last {
					moved = true
					return errStopServing
				}
			}
			if (n > 0 || len(ends) > 0) && total+len(chunk)+len(raw) > MaxResponseBytes {
				full = true
				return errStopServing
			}
			chunk = append(chunk, raw...)
			ends = append(ends, len(chunk))
			last = hash
			if len(chunk) >= serveChunkBytes {
				return errStopServing
			}
			return nil
		})
		if err != nil && !errors.Is(err, errStopServing) {
			return 0, err
		}
		if n == 0 {
			if err := writeFrame(w, hdr); err != nil {
				return 0, err
			}
		}
		// The snapshot is closed: write the chunk.
		start := 0
		for _, end := range ends {
			if err := writeFrame(w, chunk[start:end]); err != nil {
				return 0, err
			}
			start = end
		}
		n += len(ends)
		total += len(chunk)
		if moved || full || len(ends) == 0 || len(chunk) < serveChunkBytes {
			break
		}
		next += uint64(len(ends))
	}
	if err := w.WriteByte(0); err != nil { // end frame
		return 0, err
	}
	return n, w.Flush()
}

// stallGuard gives every write of a reply its own deadline, so that a peer
// that stops reading loses its serving slot after timeout, not after the
// whole RequestTimeout; the reply as a whole still ends by end.
type stallGuard struct {
	network.Stream
	timeout time.Duration
	end     time.Time
}

func (g stallGuard) Write(p []byte) (int, error) {
	d := time.Now().Add(g.timeout)
	if d.After(g.end) {
		d = g.end
	}
	_ = g.Stream.SetWriteDeadline(d)
	return g.Stream.Write(p)
}

// replyCode answers with a bare status code and closes the stream.
func (s *Service) replyCode(str network.Stream, c Code) {
	if _, err := str.Write(appendFrame(nil, []byte{byte(c)})); err != nil {
		_ = str.Reset()
		return
	}
	_ = str.Close()
}

// violation is a breach of the protocol by a peer, which is penalised.
type violation struct{ msg string }

func (v *violation) Error() string { return v.msg }

func violationf(format string, args ...any) error {
	return &violation{msg: fmt.Sprintf(format, args...)}
}

// codeError is a reply with a code other than CodeOK.
type codeError struct{ code Code }

func (e *codeError) Error() string { return "peer answered " + e.code.String() }

// batch is one checked chain-exchange reply.
type batch struct {
	blocks     []*chain.Block
	headHeight uint64 // the server's head height when it answered
	bytes      int
}

// fetchBatch asks p for at most limit blocks after locator and checks the
// reply before returning it: no more blocks than asked and at most
// MaxResponseBytes, every block decodes within the network's limits, the
// first block's parent is a locator hash and every later block links to the
// one before. A breach is a *violation; a reply code other than CodeOK is a
// *codeError; other errors are transport failures and timeouts.
func (s *Service) fetchBatch(ctx context.Context, p peer.ID, locator []chain.Hash, limit int, buf []byte) (batch, []byte, error) {
	return s.fetchBatchFull(ctx, p, locator, limit, buf, nil, nil)
}

// fetchBatchFull is fetchBatch that counts the request and the blocks
// received in ss (if not nil), and also calls full, if not nil, with the
// reply read so far as soon as it holds limit blocks, before its end frame is
// read and checked, so that the next request can go out while this one ends.
func (s *Service) fetchBatchFull(ctx context.Context, p peer.ID, locator []chain.Hash, limit int, buf []byte, ss *session, full func(b batch)) (batch, []byte, error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.RequestTimeout)
	defer cancel()
	ss.requestStarted(time.Now())
	defer func() { ss.requestEnded(time.Now()) }()
	str, err := s.host.NewStream(network.WithNoDial(ctx, "chain exchange"), p, BlocksProtocol)
	if err != nil {
		return batch{}, buf, fmt.Errorf("open block stream: %w", err)
	}
	stop := context.AfterFunc(ctx, func() { _ = str.Reset() })
	defer stop()
	_ = str.SetDeadline(time.Now().Add(s.cfg.RequestTimeout))
	s.stats.requestsMade.Add(1)

	b, buf, err := s.readBatch(str, locator, limit, buf, ss, full)
	if err != nil {
		_ = str.Reset()
		if ctx.Err() != nil && !isViolation(err) {
			return batch{}, buf, fmt.Errorf("block request: %w (%w)", ctx.Err(), err)
		}
		return batch{}, buf, err
	}
	_ = str.Close()
	return b, buf, nil
}

func (s *Service) readBatch(str network.Stream, locator []chain.Hash, limit int, buf []byte, ss *session, full func(b batch)) (batch, []byte, error) {
	req := appendFrame(nil, appendRequest(make([]byte, 0, maxRequestSize), blockRequest{Locator: locator, Max: limit}))
	if _, err := str.Write(req); err != nil {
		return batch{}, buf, fmt.Errorf("write block request: %w", err)
	}
	if err := str.CloseWrite(); err != nil {
		return batch{}, buf, fmt.Errorf("close block stream for writing: %w", err)
	}
	r := bufio.NewReaderSize(str, ioBufferSize)
	headHeight, err := readReplyHeader(r)
	if err != nil {
		return batch{}, buf, err
	}
	out := batch{headHeight: headHeight, blocks: make([]*chain.Block, 0, limit)}

	maxBlock := s.params.MaxBlockSize
	for {
		n, err := readFrameLen(r, maxBlock)
		if err != nil {
			if errors.Is(err, errFrameTooLarge) {
				return batch{}, buf, violationf("block frame: %v", err)
			}
			return batch{}, buf, fmt.Errorf("read block frame: %w", noEOF(err))
		}
		if n == 0 {
			break // end frame
		}
		if len(out.blocks) == limit {
			return batch{}, buf, violationf("reply has more than the %d blocks asked for", limit)
		}
		if out.bytes += n; out.bytes > MaxResponseBytes && len(out.blocks) > 0 {
			return batch{}, buf, violationf("reply exceeds %d bytes", MaxResponseBytes)
		}
		if cap(buf) < n {
			buf = make([]byte, n, max(n, 2*cap(buf)))
		}
		buf = buf[:n]
		if _, err := io.ReadFull(r, buf); err != nil {
			return batch{}, buf, fmt.Errorf("read block: %w", noEOF(err))
		}
		blk, err := chain.DecodeBlock(buf, s.params.MaxBlockTxs)
		if err != nil {
			return batch{}, buf, violationf("block %d of reply: %v", len(out.blocks), err)
		}
		if len(out.blocks) == 0 {
			if !containsHash(locator, blk.PreviousHash) {
				return batch{}, buf, violationf("first block %s does not follow a locator hash", blk.Hash)
			}
		} else if prev := out.blocks[len(out.blocks)-1]; blk.PreviousHash != prev.Hash || blk.Index != prev.Index+1 {
			return batch{}, buf, violationf("block %s (index %d) does not link to %s (index %d)", blk.Hash, blk.Index, prev.Hash, prev.Index)
		}
		out.blocks = append(out.blocks, blk)
		ss.delivered(n, time.Now())
		if full != nil && len(out.blocks) == limit {
			full(out)
		}
	}
	return out, buf, nil
}

// readReplyHeader reads the header frame of a chain-exchange or header
// reply and returns the server's head height. A malformed header is a
// *violation, a code other than CodeOK a *codeError.
func readReplyHeader(r *bufio.Reader) (uint64, error) {
	var hdr [maxHeaderSize]byte
	body, err := readFrame(r, hdr[:], maxHeaderSize)
	if err != nil {
		if errors.Is(err, errFrameTooLarge) {
			return 0, violationf("reply header: %v", err)
		}
		return 0, fmt.Errorf("read reply header: %w", err)
	}
	if len(body) == 0 {
		return 0, violationf("empty reply header")
	}
	if code := Code(body[0]); code != CodeOK {
		if len(body) != 1 || code > CodeInternal {
			return 0, violationf("malformed reply header with code %d", code)
		}
		return 0, &codeError{code: code}
	}
	if len(body) != headerOKSize {
		return 0, violationf("reply header is %d bytes, want %d", len(body), headerOKSize)
	}
	return binary.BigEndian.Uint64(body[1:9]), nil
}

// okReplyHeader is the body of a CodeOK reply header: the code, the head's
// big-endian height and its hash.
func okReplyHeader(height uint64, head chain.Hash) []byte {
	hdr := make([]byte, headerOKSize)
	hdr[0] = byte(CodeOK)
	binary.BigEndian.PutUint64(hdr[1:9], height)
	copy(hdr[9:], head[:])
	return hdr
}

// noEOF turns a clean end of stream in the middle of a reply into
// io.ErrUnexpectedEOF.
func noEOF(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

func isViolation(err error) bool {
	var v *violation
	return errors.As(err, &v)
}

func containsHash(hs []chain.Hash, h chain.Hash) bool {
	for i := range hs {
		if hs[i] == h {
			return true
		}
	}
	return false
}
