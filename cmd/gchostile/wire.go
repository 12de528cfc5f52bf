package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/big"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"

	"github.com/gossipchain/gossipchain/chain"
)

// The stream protocols and limits of PROTOCOL.md sections 4 and 5, written
// out here so that this peer depends on the document, not on the sync
// package.
const (
	statusProtocol protocol.ID = "/gossipchain/status/1.0.0"
	blocksProtocol protocol.ID = "/gossipchain/blocks/2.0.0"

	statusSize     = 104
	maxBlocksAsked = 500
	maxHeaderFrame = 64
	maxRequestBody = 2 + 64*32 + 4

	codeOK       = 0
	codeNotFound = 2
)

// status is the 104-byte status body.
type status struct {
	genesis, head chain.Hash
	height        uint64
	work          *big.Int
}

func (s status) encode() []byte {
	b := make([]byte, 0, statusSize)
	b = append(b, s.genesis[:]...)
	b = append(b, s.head[:]...)
	b = binary.BigEndian.AppendUint64(b, s.height)
	var w [32]byte
	s.work.FillBytes(w[:])
	return append(b, w[:]...)
}

func decodeStatus(b []byte) (status, error) {
	if len(b) != statusSize {
		return status{}, fmt.Errorf("status of %d bytes", len(b))
	}
	var s status
	copy(s.genesis[:], b[:32])
	copy(s.head[:], b[32:64])
	s.height = binary.BigEndian.Uint64(b[64:72])
	s.work = new(big.Int).SetBytes(b[72:])
	return s, nil
}

// frame is a uvarint length followed by the body.
func frame(body []byte) []byte {
	out := binary.AppendUvarint(nil, uint64(len(body)))
	return append(out, body...)
}

func readFrame(r *bufio.Reader, limit int) ([]byte, error) {
	n, err := binary.ReadUvarint(r)
	if err != nil {
		return nil, err
	}
	if n > uint64(limit) {
		return nil, fmt.Errorf("frame of %d bytes over %d", n, limit)
	}
	body := make([]byte, n)
	_, err = io.ReadFull(r, body)
	return body, err
}

func request(locator []chain.Hash, limit uint32) []byte {
	b := binary.BigEndian.AppendUint16(nil, uint16(len(locator)))
	for _, h := range locator {
		b = append(b, h[:]...)
	}
	return binary.BigEndian.AppendUint32(b, limit)
}

// fetchChain downloads the target's whole main chain with honest requests,
// from a throwaway identity.
func (a *attacker) fetchChain(ctx context.Context) ([]*chain.Block, error) {
	return a.fetchChainFrom(ctx, a.target)
}

// fetchChainFrom fetches the main chain of the node at target.
func (a *attacker) fetchChainFrom(ctx context.Context, target peer.AddrInfo) ([]*chain.Block, error) {
	id, err := a.newIdentity()
	if err != nil {
		return nil, err
	}
	defer func() {
		id.close()
		a.mu.Lock()
		delete(a.identities, id.host.ID())
		a.mu.Unlock()
	}()
	if err := id.connect(ctx, target); err != nil {
		return nil, fmt.Errorf("connect: %w", err)
	}
	genesis := a.params.Genesis()
	blocks := []*chain.Block{genesis}
	for {
		last := blocks[len(blocks)-1]
		locator := []chain.Hash{last.Hash}
		if last.Hash != genesis.Hash {
			locator = append(locator, genesis.Hash)
		}
		got, headHeight, err := id.requestBlocksRaw(ctx, target, frame(request(locator, maxBlocksAsked)))
		if err != nil {
			return nil, err
		}
		for _, b := range got {
			if b.PreviousHash != blocks[len(blocks)-1].Hash {
				// The target reorganised while we read: start again.
				blocks = blocks[:1]
				break
			}
			blocks = append(blocks, b)
		}
		if len(got) == 0 || blocks[len(blocks)-1].Index >= headHeight {
			break
		}
	}
	return blocks, nil
}

// readReply reads a chain-exchange reply: the header, then block frames up
// to the end frame.
func readReply(s network.Stream) ([]*chain.Block, uint64, error) {
	r := bufio.NewReaderSize(s, 64<<10)
	hdr, err := readFrame(r, maxHeaderFrame)
	if err != nil {
		s.Reset()
		return nil, 0, fmt.Errorf("reply header: %w", err)
	}
	if len(hdr) == 0 || hdr[0] != codeOK {
		return nil, 0, &codeError{code: hdr}
	}
	if len(hdr) != 41 {
		return nil, 0, fmt.Errorf("reply header of %d bytes", len(hdr))
	}
	height := binary.BigEndian.Uint64(hdr[1:9])
	var out []*chain.Block
	for {
		raw, err := readFrame(r, 1<<20)
		if err != nil {
			s.Reset()
			return nil, 0, fmt.Errorf("block frame: %w", err)
		}
		if len(raw) == 0 {
			return out, height, nil
		}
		b, err := chain.DecodeBlock(raw, 0)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, b)
	}
}

// codeError is a reply whose code is not ok.
type codeError struct{ code []byte }

func (e *codeError) Error() string { return fmt.Sprintf("reply code %v", e.code) }

func replyCode(err error) string {
	var ce *codeError
	if errors.As(err, &ce) {
		if len(ce.code) == 1 {
			return [...]string{"ok", "bad_request", "not_found", "unavailable", "internal_error"}[min(int(ce.code[0]), 4)]
		}
		return "malformed"
	}
	return ""
}

// readStatus reads the status frame that opens a status stream.
func readStatus(s network.Stream) (status, error) {
	body, err := readFrame(bufio.NewReader(s), 256)
	if err != nil {
		return status{}, err
	}
	return decodeStatus(body)
}
