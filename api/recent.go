package api

import (
	"fmt"
	"math"
	"net/http"
	"slices"

	"github.com/gossipchain/gossipchain/chain"
)

// This file holds GET /blocks/recent: the latest main-chain blocks in
// brief, newest first, without their transactions. The explorer draws its
// table of latest blocks, its block-interval, difficulty and hash-rate
// charts, and its block tree from it, so that a page load reads a few
// kilobytes whatever the blocks hold.

// Bounds of GET /blocks/recent?limit=.
const (
	DefaultRecentBlocks = 20
	MaxRecentBlocks     = 1000
)

// blockSummary is one block of GET /blocks/recent: what GET /forks says of
// a block, with its compact target and its size.
type blockSummary struct {
	branchBlock
	Bits chain.Compact `json:"bits"`
	// Size is the length of the block's binary encoding, which the
	// network's block size limit bounds.
	Size int `json:"size"`
}

type recentResponse struct {
	Height uint64         `json:"height"` // the head's height when the blocks were read
	Head   chain.Hash     `json:"head"`
	Blocks []blockSummary `json:"blocks"` // newest first
}

// handleRecentBlocks serves GET /blocks/recent?limit=K&to=H: the K
// main-chain blocks up to height H (default the head), newest first.
func (s *Server) handleRecentBlocks(w http.ResponseWriter, r *http.Request) {
	head := s.chain.Head()
	limit, ok := intParam(w, r, "limit", DefaultRecentBlocks, 1, MaxRecentBlocks)
	if !ok {
		return
	}
	to, ok := intParam(w, r, "to", int(head.Height), 1, math.MaxInt)
	if !ok {
		return
	}
	top := min(uint64(to), head.Height)
	from := uint64(1)
	if top > uint64(limit) {
		from = top - uint64(limit) + 1
	}
	resp := recentResponse{Height: head.Height, Head: head.Hash, Blocks: make([]blockSummary, 0, top-from+1)}
	err := s.chain.MainChain(from, int(top-from+1), func(b *chain.Block) error {
		resp.Blocks = append(resp.Blocks, blockSummary{branchBlock: newBranchBlock(b), Bits: b.Bits, Size: b.BinarySize()})
		return nil
	})
	if err != nil {
		s.fail(w, r, fmt.Errorf("read blocks %d-%d: %w", from, top, err))
		return
	}
	slices.Reverse(resp.Blocks)
	writeJSON(w, http.StatusOK, resp)
}
