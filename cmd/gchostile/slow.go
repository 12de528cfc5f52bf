package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/multiformats/go-multiaddr"

	"github.com/gossipchain/gossipchain/chain"
)

// slowLead is how many blocks more than the target a slow peer claims.
const slowLead = 1_000_000

// serveSlow connects a fresh identity that claims a chain slowLead blocks
// heavier than the target's and answers each of its chain-exchange
// requests, after delay, with one real block: the block that follows the
// request's locator on the main chain of source, an honest node. It returns
// once the target has sent its first request.
func (a *attacker) serveSlow(ctx context.Context, source string, delay time.Duration) (map[string]any, error) {
	ma, err := multiaddr.NewMultiaddr(source)
	if err != nil {
		return nil, fmt.Errorf("source: %w", err)
	}
	src, err := peer.AddrInfoFromP2pAddr(ma)
	if err != nil {
		return nil, fmt.Errorf("source: %w", err)
	}
	blocks, err := a.fetchChainFrom(ctx, *src)
	if err != nil {
		return nil, fmt.Errorf("fetch the source's chain: %w", err)
	}
	index := make(map[chain.Hash]int, len(blocks))
	for i, b := range blocks {
		index[b.Hash] = i
	}
	id, err := a.newIdentity()
	if err != nil {
		return nil, err
	}
	var requests atomic.Int64
	seen := a.claimLead(id, slowLead, nil)
	id.host.SetStreamHandler(blocksProtocol, func(s network.Stream) {
		requests.Add(1)
		body, err := readFrame(bufio.NewReader(s), maxRequestBody)
		if err != nil || len(body) < 2 {
			s.Reset()
			return
		}
		next := -1
		for i, n := 0, int(binary.BigEndian.Uint16(body)); i < n && 2+32*(i+1) <= len(body); i++ {
			if k, ok := index[chain.Hash(body[2+32*i:2+32*(i+1)])]; ok {
				next = k + 1
				break
			}
		}
		select {
		case <-id.ctx.Done():
			s.Reset()
			return
		case <-time.After(delay):
		}
		hdr := binary.BigEndian.AppendUint64([]byte{codeOK}, seen().height+slowLead)
		h := randomHash()
		msg := frame(append(hdr, h[:]...))
		if next > 0 && next < len(blocks) {
			msg = append(msg, frame(blocks[next].AppendBinary(nil))...)
		}
		if _, err := s.Write(append(msg, 0)); err != nil {
			s.Reset()
			return
		}
		s.Close()
	})
	if err := id.connect(ctx, a.target); err != nil {
		return nil, fmt.Errorf("connect: %w", err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) && requests.Load() == 0 {
		time.Sleep(10 * time.Millisecond)
	}
	return map[string]any{"peer": id.host.ID().String(), "mode": "slow", "requests": requests.Load(), "source_height": len(blocks)}, nil
}
