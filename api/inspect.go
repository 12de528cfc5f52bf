package api

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"

	"github.com/multiformats/go-multiaddr"

	"github.com/gossipchain/gossipchain/api/client"
	"github.com/gossipchain/gossipchain/chain"
	"github.com/gossipchain/gossipchain/p2p"
	gsync "github.com/gossipchain/gossipchain/sync"
)

// This file holds the inspection endpoints and POST /blocks.

// networkParamsOf returns the parameters of p as GET /status states them.
func networkParamsOf(p chain.Params) client.NetworkParams {
	return client.NetworkParams{
		TargetBlockTimeUS: p.TargetBlockTime.Microseconds(), HalfLifeUS: p.HalfLife.Microseconds(),
		InitialBits: p.InitialTarget, MaxBits: p.MaxTarget, FixedDifficulty: p.FixedDifficulty,
		Reward: p.Reward, MaxBlockSize: p.MaxBlockSize, MaxBlockTxs: p.MaxBlockTxs,
		Ledger: p.LedgerMode(),
	}
}

// handleStatus serves GET /status.
func (s *Server) handleStatus(w http.ResponseWriter, r *http.Request) {
	head := s.chain.Head()
	params := s.chain.Params()
	st := client.Status{
		PeerID:        s.net.ID(),
		Addrs:         s.net.Addrs(),
		Network:       params.Name,
		Genesis:       s.chain.Genesis().Hash,
		Height:        head.Height,
		Head:          head.Hash,
		HeadTimestamp: head.Timestamp,
		TotalWork:     "0",
		Peers:         len(s.net.Peers()),
		Pending:       s.chain.PendingCount(),
		Mining:        s.isMining(),
		Difficulty:    chain.TargetZeroBits(head.NextBits),
		Bits:          head.NextBits,
		Params:        networkParamsOf(params),
		MinerAddress:  s.miner.Address(),
		HashRate:      s.hashRate(),
		TargetHeight:  head.Height,
		Version:       s.cfg.Version,
		Light:         s.cfg.Light != nil,
	}
	if s.cfg.Progress != nil {
		p := s.cfg.Progress()
		st.Syncing = p.Syncing
		st.TargetHeight = max(p.Target, head.Height)
	}
	if head.Work != nil {
		st.TotalWork = head.Work.String()
	}
	if s.cfg.KnownAddrs != nil {
		st.KnownAddrs = s.cfg.KnownAddrs()
	}
	if s.cfg.NAT != nil {
		nat := s.cfg.NAT()
		st.NAT = &nat
	}
	if st.Addrs == nil {
		st.Addrs = []string{}
	}
	st.BrowserAddrs = browserAddrs(st.Addrs)
	writeJSON(w, http.StatusOK, st)
}

// browserAddrs returns the addresses of addrs a browser can dial.
func browserAddrs(addrs []string) []string {
	out := []string{}
	for _, s := range addrs {
		if m, err := multiaddr.NewMultiaddr(s); err == nil && p2p.IsBrowserAddr(m) {
			out = append(out, s)
		}
	}
	return out
}

// finite maps NaN and infinities, which JSON cannot carry, to 0.
func finite(f float64) float64 {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0
	}
	return f
}

// handlePeers serves GET /peers.
func (s *Server) handlePeers(w http.ResponseWriter, r *http.Request) {
	peers := s.net.Peers()
	if peers == nil {
		peers = []PeerInfo{}
	}
	writeJSON(w, http.StatusOK, peers)
}

// handleBlock serves GET /blocks/{id}, id being a block index (decimal) or
// a block hash (64 hex characters). An index names a main-chain block; a
// hash names any stored block, side branches included.
func (s *Server) handleBlock(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	var (
		b   *chain.Block
		err error
	)
	switch {
	case len(id) == 2*chain.HashSize:
		h, perr := chain.ParseHash(id)
		if perr != nil {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("block id %q is neither an index nor a hash: %v", id, perr))
			return
		}
		b, err = s.chain.BlockByHash(h)
	case isDigits(id) && len(id) <= 20:
		index, perr := strconv.ParseUint(id, 10, 64)
		if perr != nil {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("block index %q is out of range", id))
			return
		}
		b, err = s.chain.BlockByHeight(index)
	default:
		writeError(w, http.StatusBadRequest, fmt.Sprintf("block id %q is neither an index (decimal) nor a hash (64 hex characters)", id))
		return
	}
	if errors.Is(err, chain.ErrNotFound) {
		writeError(w, http.StatusNotFound, fmt.Sprintf("block %s not found", id))
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, b)
}

// parseTxID reads the transaction id of a request's path; on a malformed
// one it answers 400 and reports false.
func parseTxID(w http.ResponseWriter, id string) (chain.Hash, bool) {
	h, err := chain.ParseHash(id)
	if err != nil {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("transaction id %q: %v", truncateString(id), err))
		return chain.Hash{}, false
	}
	return h, true
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// handlePending serves GET /transactions/pending?limit=, oldest first.
func (s *Server) handlePending(w http.ResponseWriter, r *http.Request) {
	limit := DefaultPageLimit
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > MaxPageLimit {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("limit must be an integer from 1 to %d, got %q", MaxPageLimit, v))
			return
		}
		limit = n
	}
	txs := s.chain.Pending(limit)
	if txs == nil {
		txs = []chain.Transaction{}
	}
	writeJSON(w, http.StatusOK, client.Pending{Transactions: txs, Total: s.chain.PendingCount()})
}

// handleTransaction serves GET /transactions/{id}: a pending transaction, or
// one in a main-chain block.
func (s *Server) handleTransaction(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if id == "new" {
		w.Header().Set("Allow", "POST")
		writeError(w, http.StatusMethodNotAllowed, fmt.Sprintf("method %s is not allowed on /transactions/new (allowed: POST)", r.Method))
		return
	}
	h, ok := parseTxID(w, id)
	if !ok {
		return
	}
	loc, err := s.chain.FindTransaction(h)
	if errors.Is(err, chain.ErrNotFound) {
		writeError(w, http.StatusNotFound, fmt.Sprintf("transaction %s not found", id))
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	resp := client.TxStatus{Transaction: loc.Tx, Status: "pending"}
	if !loc.Pending {
		resp.Status = "confirmed"
		resp.BlockIndex = loc.Height
		resp.BlockHash = &loc.BlockHash
		if head := s.chain.Head().Height; head >= loc.Height {
			resp.Confirmations = head - loc.Height + 1
		}
	}
	writeJSON(w, http.StatusOK, resp)
}

// maxBlockBody is the largest POST /blocks body: the JSON of a block is
// larger than its binary encoding (hex ids, field names, escapes), by less
// than four times for any block within the size limit.
func (s *Server) maxBlockBody() int64 {
	return 4*int64(s.chain.Params().MaxBlockSize) + 64<<10
}

// handleSubmitBlock serves POST /blocks: a block mined elsewhere, in the
// JSON of /chain and /blocks/{id}, validated exactly like a gossiped block
// and published when accepted.
//
//	201 accepted: status extended, reorganized or side_branch
//	200 already known: status known
//	202 parent unknown: status orphan; the network layer keeps the block
//	    aside and fetches its ancestors, then adds it
//	503 the network layer is shutting down
//	400 invalid: the error names the rule broken
func (s *Server) handleSubmitBlock(w http.ResponseWriter, r *http.Request) {
	data, err := readBody(w, r, s.maxBlockBody())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	b, err := chain.DecodeBlockJSON(data, s.chain.Params().MaxBlockTxs)
	if err != nil {
		s.metrics.submitted.WithLabelValues(rejectReason(err)).Inc()
		s.fail(w, r, &httpError{code: http.StatusBadRequest, msg: "invalid block: " + err.Error(), rule: ruleName(err)})
		return
	}
	res, err := s.net.SubmitBlock(r.Context(), b)
	resp := client.BlockSubmitted{Index: b.Index, Hash: b.Hash, Height: res.Head.Height, Head: res.Head.Hash}
	switch {
	case err == nil:
		s.metrics.submitted.WithLabelValues(res.Status.String()).Inc()
		resp.Message, resp.Status = "Block accepted", res.Status.String()
		writeJSON(w, http.StatusCreated, resp)
	case errors.Is(err, chain.ErrKnownBlock):
		s.metrics.submitted.WithLabelValues("known").Inc()
		s.fillHead(&resp)
		resp.Message, resp.Status = "Block already known", "known"
		writeJSON(w, http.StatusOK, resp)
	case errors.Is(err, chain.ErrUnknownParent):
		s.metrics.submitted.WithLabelValues("orphan").Inc()
		s.fillHead(&resp)
		resp.Message, resp.Status = "Parent block unknown: the block is held as an orphan while its ancestors are fetched from peers", "orphan"
		writeJSON(w, http.StatusAccepted, resp)
	case chain.IsRuleError(err):
		s.metrics.submitted.WithLabelValues(rejectReason(err)).Inc()
		s.fail(w, r, &httpError{code: http.StatusBadRequest, msg: "invalid block: " + err.Error(), rule: ruleName(err)})
	case errors.Is(err, chain.ErrWrongNetwork):
		s.metrics.submitted.WithLabelValues("wrong_network").Inc()
		s.fail(w, r, errorf(http.StatusBadRequest, "invalid block: %v", err))
	case errors.Is(err, gsync.ErrClosed):
		s.fail(w, r, errorf(http.StatusServiceUnavailable, "node is shutting down"))
	default:
		s.fail(w, r, fmt.Errorf("add block: %w", err))
	}
}

func (s *Server) fillHead(resp *client.BlockSubmitted) {
	head := s.chain.Head()
	resp.Height, resp.Head = head.Height, head.Hash
}

// rejectReason is the metric label of a rejected block.
func rejectReason(err error) string {
	if c := chain.RuleCode(err); c != 0 {
		return c.String()
	}
	return "malformed"
}

func ruleName(err error) string {
	if c := chain.RuleCode(err); c != 0 {
		return c.String()
	}
	return ""
}
