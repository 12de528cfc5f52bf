package sync

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"

	"github.com/gossipchain/gossipchain/chain"
)

// HeadersProtocol serves main-chain block headers after a block locator
// (PROTOCOL.md section 12): the request of BlocksProtocol, answered with
// the reply header of BlocksProtocol and one frame of headers.
const HeadersProtocol protocol.ID = "/gossipchain/headers/1.0.0"

// MaxHeadersPerRequest bounds the headers one header request may ask for.
const MaxHeadersPerRequest = 2000

// handleHeaders serves one header request: at most as many main-chain
// headers as asked, after the first locator hash on our main chain. A
// malformed request is answered CodeBadRequest and its peer penalised; the
// request is admitted through the chain exchange's gate, whose serving
// slots it shares.
func (s *Service) handleHeaders(str network.Stream) {
	s.serveRequest(str, "header", maxRequestSize, func(str network.Stream, body []byte) error {
		req, err := decodeLocatorRequest(body, "headers", MaxHeadersPerRequest)
		if err == nil {
			s.serveAdmitted(str, "headers", func() ([]byte, Code) { return s.headerReply(req) })
		}
		return err
	})
}

// serveRequest serves a stream of a one-request protocol (header exchange,
// proofs): with the deadlines of beginServing, it reads one request frame
// of at most max bytes and hands its body to serve, with str guarded
// against stalled writes. serve returns an error, having written nothing,
// when the request is malformed: it is then answered CodeBadRequest and
// its peer penalised, as is a frame over max; otherwise serve admits and
// answers the request itself.
func (s *Service) serveRequest(str network.Stream, what string, max int, serve func(str network.Stream, body []byte) error) {
	end, done, ok := s.beginServing(str)
	if !ok {
		return
	}
	defer done()
	p := str.Conn().RemotePeer()
	body, err := readFrame(bufio.NewReaderSize(str, max+binary.MaxVarintLen64), nil, max)
	if err == nil {
		if err = serve(stallGuard{str, s.cfg.StallTimeout, end}, body); err == nil {
			return
		}
	} else if !errors.Is(err, errFrameTooLarge) {
		s.log.Debug("reading "+what+" request failed", "peer", p, "err", err)
		_ = str.Reset()
		return
	}
	s.replyCode(str, CodeBadRequest)
	s.penalize(p, "malformed "+what+" request: "+err.Error())
}

// serveAdmitted admits the request of str through the chain exchange's
// gate and answers it with the reply that reply returns, or with its code
// when that is not CodeOK.
func (s *Service) serveAdmitted(str network.Stream, what string, reply func() ([]byte, Code)) {
	release := s.gate.AdmitStream(str)
	if release == nil {
		return
	}
	defer release()
	b, code := reply()
	if code != CodeOK {
		s.replyCode(str, code)
		return
	}
	if _, err := str.Write(b); err != nil {
		s.log.Debug("serving "+what+" failed", "peer", str.Conn().RemotePeer(), "err", err)
		_ = str.Reset()
		return
	}
	_ = str.Close()
	s.stats.requestsServed.Add(1)
	s.log.Debug("served "+what, "peer", str.Conn().RemotePeer(), "bytes", len(b))
}

// headerReply returns the whole reply to req, read from one snapshot of
// the store, or a code other than CodeOK.
func (s *Service) headerReply(req blockRequest) ([]byte, Code) {
	fork, ok := s.chain.LocateFork(req.Locator)
	if !ok {
		return nil, CodeNotFound
	}
	head := s.chain.Head()
	headers := make([]byte, 0, req.Max*chain.HeaderSize)
	err := s.chain.MainHeaders(fork+1, req.Max, func(_ chain.Hash, h []byte) error {
		if len(headers) == 0 {
			first, err := chain.DecodeHeader(h)
			if err != nil {
				return fmt.Errorf("stored header: %w", err)
			}
			if !containsHash(req.Locator, first.PreviousHash) {
				return errChainMoved
			}
		}
		headers = append(headers, h...)
		return nil
	})
	switch {
	case errors.Is(err, errChainMoved):
		return nil, CodeUnavailable
	case err != nil:
		s.log.Warn("reading headers to serve failed", "err", err)
		return nil, CodeInternal
	}
	reply := appendFrame(make([]byte, 0, len(headers)+headerOKSize+2*binary.MaxVarintLen64), okReplyHeader(head.Height, head.Hash))
	return appendFrame(reply, headers), CodeOK
}

// headerReplyOf is one checked header reply.
type headerReplyOf struct {
	headers    []chain.Block
	headHeight uint64 // the server's head height when it answered
}

// fetchHeaders asks p, over h, for at most limit headers after locator and
// checks the reply before returning it: no more headers than asked, every
// one decodes, the first one's parent is a locator hash and every later one
// links to the one before (previous hash and index). Neither proof of work
// nor any other rule is checked here. A breach is a *violation; a reply
// code other than CodeOK is a *codeError; other errors are transport
// failures and timeouts (timeout bounds the whole request).
func fetchHeaders(ctx context.Context, h host.Host, p peer.ID, locator []chain.Hash, limit int, timeout time.Duration) (headerReplyOf, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	str, err := h.NewStream(network.WithNoDial(ctx, "header exchange"), p, HeadersProtocol)
	if err != nil {
		return headerReplyOf{}, fmt.Errorf("open header stream: %w", err)
	}
	stop := context.AfterFunc(ctx, func() { _ = str.Reset() })
	defer stop()
	_ = str.SetDeadline(time.Now().Add(timeout))
	out, err := readHeaders(str, locator, limit)
	if err != nil {
		_ = str.Reset()
		if ctx.Err() != nil && !isViolation(err) {
			return headerReplyOf{}, fmt.Errorf("header request: %w (%w)", ctx.Err(), err)
		}
		return headerReplyOf{}, err
	}
	_ = str.Close()
	return out, nil
}

func readHeaders(str network.Stream, locator []chain.Hash, limit int) (headerReplyOf, error) {
	req := appendFrame(nil, appendRequest(make([]byte, 0, maxRequestSize), blockRequest{Locator: locator, Max: limit}))
	if _, err := str.Write(req); err != nil {
		return headerReplyOf{}, fmt.Errorf("write header request: %w", err)
	}
	if err := str.CloseWrite(); err != nil {
		return headerReplyOf{}, fmt.Errorf("close header stream for writing: %w", err)
	}
	r := bufio.NewReaderSize(str, ioBufferSize)
	headHeight, err := readReplyHeader(r)
	if err != nil {
		return headerReplyOf{}, err
	}
	n, err := readFrameLen(r, limit*chain.HeaderSize)
	if err != nil {
		if errors.Is(err, errFrameTooLarge) {
			return headerReplyOf{}, violationf("header frame: %v (more than the %d headers asked for)", err, limit)
		}
		return headerReplyOf{}, fmt.Errorf("read header frame: %w", noEOF(err))
	}
	if n%chain.HeaderSize != 0 {
		return headerReplyOf{}, violationf("header frame of %d bytes is no whole number of %d-byte headers", n, chain.HeaderSize)
	}
	raw := make([]byte, n)
	if _, err := io.ReadFull(r, raw); err != nil {
		return headerReplyOf{}, fmt.Errorf("read headers: %w", noEOF(err))
	}
	out := headerReplyOf{headHeight: headHeight, headers: make([]chain.Block, n/chain.HeaderSize)}
	for i := range out.headers {
		b, err := chain.DecodeHeader(raw[i*chain.HeaderSize : (i+1)*chain.HeaderSize])
		if err != nil {
			return headerReplyOf{}, violationf("header %d of reply: %v", i, err)
		}
		if i == 0 {
			if !containsHash(locator, b.PreviousHash) {
				return headerReplyOf{}, violationf("first header %s does not follow a locator hash", b.Hash)
			}
		} else if prev := &out.headers[i-1]; b.PreviousHash != prev.Hash || b.Index != prev.Index+1 {
			return headerReplyOf{}, violationf("header %s (index %d) does not link to %s (index %d)", b.Hash, b.Index, prev.Hash, prev.Index)
		}
		out.headers[i] = b
	}
	return out, nil
}
