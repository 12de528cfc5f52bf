package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/gossipchain/gossipchain/api/client"
	"github.com/gossipchain/gossipchain/chain"
	gsync "github.com/gossipchain/gossipchain/sync"
)

// This file holds the tutorial's endpoints: /transactions/new, /mine,
// /chain, /nodes/resolve (and /nodes/register in register.go).

// missingValues is the tutorial's answer to a transaction with a missing
// field.
const missingValues = "Missing values"

// decodeObject strictly decodes a JSON object body into v (see
// chain.DecodeStrict).
func decodeObject(data []byte, v any) error {
	trimmed := bytes.TrimLeft(data, " \t\r\n")
	if len(trimmed) == 0 {
		return errorf(http.StatusBadRequest, "request body is empty: want a JSON object")
	}
	if trimmed[0] != '{' {
		return errorf(http.StatusBadRequest, "request body must be a JSON object")
	}
	if err := chain.DecodeStrict(data, v); err != nil {
		return errorf(http.StatusBadRequest, "invalid JSON body: %v", err)
	}
	if err := checkDuplicateKeys(data); err != nil {
		return errorf(http.StatusBadRequest, "invalid JSON body: %v", err)
	}
	return nil
}

// newTxRequest is the body of POST /transactions/new. The amount is kept raw
// so that negative, fractional and quoted amounts get a clear message.
type newTxRequest struct {
	Sender    *string         `json:"sender"`
	Recipient *string         `json:"recipient"`
	Amount    json.RawMessage `json:"amount"`
}

// parseAmount accepts a JSON integer from 0 to MaxUint64; chain.NewTransaction
// then checks the range.
func parseAmount(raw json.RawMessage) (uint64, error) {
	s := string(raw)
	shown := s
	if len(shown) > 40 {
		shown = shown[:40] + "..."
	}
	bad := func(format string, args ...any) error {
		e := errorf(http.StatusBadRequest, format, args...)
		e.rule = chain.ErrBadTransaction.String()
		return e
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, bad("amount must be a positive integer, got %s", shown)
		}
	}
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, bad("amount %s exceeds the maximum %d", shown, uint64(chain.MaxAmount))
	}
	return v, nil
}

// handleNewTransaction serves POST /transactions/new.
func (s *Server) handleNewTransaction(w http.ResponseWriter, r *http.Request) {
	if s.signed() {
		writeJSON(w, http.StatusBadRequest, client.ErrorBody{Error: signatureRequired, Rule: chain.ErrSignatureRequired.String()})
		return
	}
	data, err := readBody(w, r, s.cfg.MaxBodyBytes)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	tx, err := parseOpenTx(data, decodeObject)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	next := s.chain.Head().Height + 1
	if err := s.net.SubmitTransaction(r.Context(), tx); err != nil {
		s.fail(w, r, txError(err))
		return
	}
	writeJSON(w, http.StatusCreated, client.TxAccepted{
		Message: fmt.Sprintf("Transaction will be added to Block %d", next),
		ID:      tx.ID,
	})
}

// parseOpenTx makes the transaction of a body of POST /transactions/new,
// decoded with decode; its errors are *httpError.
func parseOpenTx(data []byte, decode func([]byte, any) error) (chain.Transaction, error) {
	var req newTxRequest
	if err := decode(data, &req); err != nil {
		return chain.Transaction{}, err
	}
	return req.tx()
}

// tx makes the transaction of the request; its errors are *httpError.
func (req *newTxRequest) tx() (chain.Transaction, error) {
	if req.Sender == nil || req.Recipient == nil || req.Amount == nil || string(req.Amount) == "null" {
		return chain.Transaction{}, errorf(http.StatusBadRequest, missingValues)
	}
	amount, err := parseAmount(req.Amount)
	if err != nil {
		return chain.Transaction{}, err
	}
	tx, err := chain.NewTransaction(*req.Sender, *req.Recipient, amount)
	if err != nil {
		return chain.Transaction{}, txError(err)
	}
	return tx, nil
}

// txError maps the errors of creating or submitting a transaction.
func txError(err error) error {
	switch {
	case chain.IsRuleError(err):
		return &httpError{code: http.StatusBadRequest, msg: err.Error(), rule: chain.RuleCode(err).String()}
	case errors.Is(err, chain.ErrKnownTransaction):
		return errorf(http.StatusConflict, "%v", err)
	case errors.Is(err, chain.ErrFeeTooLow):
		return errorf(http.StatusBadRequest, "%v: see GET /fees", err)
	case errors.Is(err, chain.ErrAccountFull):
		return errorf(http.StatusServiceUnavailable, "%v: try again after the next block", err)
	case errors.Is(err, chain.ErrPoolFull):
		return errorf(http.StatusServiceUnavailable, "%v: try again after the next block", err)
	case errors.Is(err, gsync.ErrClosed):
		return errorf(http.StatusServiceUnavailable, "node is shutting down")
	}
	return err
}

// publishTimeout bounds publishing a block after it was mined or accepted.
const publishTimeout = 10 * time.Second

// MaxMineBlocks bounds GET/POST /mine?blocks=N.
const MaxMineBlocks = 10000

// handleMine serves GET and POST /mine: it mines one block from the pending
// pool, which the chain adds, and publishes it. With ?blocks=N it mines N
// blocks one after another (each within MineTimeout) and lists them.
func (s *Server) handleMine(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodHead {
		w.Header().Set("Allow", "GET, POST")
		writeError(w, http.StatusMethodNotAllowed, "method HEAD is not allowed on /mine (allowed: GET, POST)")
		return
	}
	n, many := 1, false
	if v, ok := r.URL.Query()["blocks"]; ok {
		k, err := strconv.Atoi(v[0])
		if err != nil || k < 1 || k > MaxMineBlocks {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("blocks must be an integer from 1 to %d, got %q", MaxMineBlocks, v[0]))
			return
		}
		n, many = k, true
	}
	s.mineRequests.Add(1)
	defer s.mineRequests.Add(-1)
	var mined []client.MinedBlock
	var last *chain.Block
	for i := range n {
		extendWriteDeadline(w, s.cfg.MineTimeout+WriteTimeout)
		b, err := s.mineOne(r.Context())
		if err != nil {
			if i > 0 {
				var he *httpError
				if errors.As(err, &he) {
					err = &httpError{code: he.code, msg: fmt.Sprintf("%s (%d of %d blocks were mined)", he.msg, i, n)}
				} else {
					err = fmt.Errorf("after %d of %d blocks: %w", i, n, err)
				}
			}
			s.fail(w, r, err)
			return
		}
		last = b
		mined = append(mined, client.MinedBlock{Index: b.Index, Hash: b.Hash, Transactions: len(b.Transactions)})
	}
	if many {
		head := s.chain.Head()
		msg := "New Blocks Forged"
		if n == 1 {
			msg = "New Block Forged"
		}
		writeJSON(w, http.StatusOK, client.MinedBlocks{Message: msg, Blocks: mined, Height: head.Height, Head: head.Hash})
		return
	}
	writeJSON(w, http.StatusOK, client.Mined{
		Message:      "New Block Forged",
		Index:        last.Index,
		Transactions: last.Transactions,
		Proof:        last.Proof,
		PreviousHash: last.PreviousHash,
		Hash:         last.Hash,
	})
}

// mineOne mines one block within MineTimeout, publishes it, logs the new
// head and reports it to GET /events.
func (s *Server) mineOne(rctx context.Context) (*chain.Block, error) {
	ctx, cancel := context.WithTimeout(rctx, s.cfg.MineTimeout)
	defer cancel()
	b, res, err := s.miner.MineBlock(ctx)
	if err != nil {
		switch {
		case errors.Is(err, context.DeadlineExceeded) && rctx.Err() == nil:
			return nil, errorf(http.StatusServiceUnavailable, "mining did not finish within %s", s.cfg.MineTimeout)
		case ctx.Err() != nil:
			return nil, errorf(http.StatusServiceUnavailable, "mining interrupted: %v", ctx.Err())
		default:
			return nil, fmt.Errorf("mine block: %w", err)
		}
	}
	s.metrics.mined.Inc()
	gsync.LogHead(s.log, gsync.BlockEvent{Block: b, Blocks: 1, Status: res.Status, Source: SourceMined, Depth: res.Abandoned, Head: res.Head})
	s.NoteBlock(BlockNote{Block: b, Blocks: 1, Status: res.Status.String(), Source: SourceMined, Depth: res.Abandoned, Head: res.Head})
	s.publish(rctx, b)
	return b, nil
}

// SourceMined is the source of a block mined by this node, in log lines
// and "block" events.
const SourceMined = "mined"

// publish announces a block that is already in the chain. A failure is
// logged, not returned: the block is ours either way, and peers also get
// it through chain exchange.
func (s *Server) publish(ctx context.Context, b *chain.Block) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), publishTimeout)
	defer cancel()
	if err := s.net.PublishBlock(ctx, b); err != nil {
		s.log.Warn("publishing block failed", "index", b.Index, "hash", b.Hash, "err", err)
	}
}

// extendWriteDeadline gives a long request more time than the server's
// WriteTimeout. Writers that cannot set deadlines are left as they are.
func extendWriteDeadline(w http.ResponseWriter, d time.Duration) {
	_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(d))
}

// handleChain serves GET /chain: the whole main chain as in the tutorial,
// or one page of it with ?from=&limit=.
func (s *Server) handleChain(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	_, hasFrom := q["from"]
	_, hasLimit := q["limit"]
	if !hasFrom && !hasLimit {
		// The whole chain as it is now; "length" is the number of blocks
		// written, which is the chain's height.
		height := s.chain.Head().Height
		s.streamChain(w, r, []byte(`{"chain":[`), 1, int(min(height, uint64(maxInt))), func(n int) []byte {
			return fmt.Appendf(nil, `],"length":%d}`, n)
		})
		return
	}
	from := uint64(1)
	if hasFrom {
		v, err := strconv.ParseUint(q.Get("from"), 10, 64)
		if err != nil || v < 1 {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("from must be a block index of at least 1, got %q", q.Get("from")))
			return
		}
		from = v
	}
	limit := DefaultPageLimit
	if hasLimit {
		v, err := strconv.Atoi(q.Get("limit"))
		if err != nil || v < 1 || v > MaxPageLimit {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("limit must be an integer from 1 to %d, got %q", MaxPageLimit, q.Get("limit")))
			return
		}
		limit = v
	}
	// A page: "length" is the height of the whole main chain, so that a
	// client knows how many pages there are.
	height := s.chain.Head().Height
	s.streamChain(w, r, []byte(`{"chain":[`), from, limit, func(n int) []byte {
		if n > 0 {
			height = max(height, from+uint64(n)-1)
		}
		return fmt.Appendf(nil, `],"length":%d}`, height)
	})
}

const maxInt = int(^uint(0) >> 1)

// handleResolve serves GET /nodes/resolve: the consensus algorithm against
// every connected peer, answered with the resulting chain.
//
// The answer is "Our chain was replaced" when resolving changed the head
// to a block mined elsewhere, and also when, since the previous
// /nodes/resolve (or the start), the head moved to a block mined elsewhere. Nodes sync by themselves as soon as they
// connect, so after the tutorial's "register a node, then resolve" the
// heavier chain has often been adopted before the resolution starts; the
// answer still tells that the chain was replaced by the network's.
func (s *Server) handleResolve(w http.ResponseWriter, r *http.Request) {
	extendWriteDeadline(w, s.cfg.ResolveTimeout+WriteTimeout)
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.ResolveTimeout)
	defer cancel()
	before := s.chain.Head().Hash
	replaced, err := s.net.Resolve(ctx)
	if err != nil {
		switch {
		case errors.Is(err, context.DeadlineExceeded) && r.Context().Err() == nil:
			s.fail(w, r, errorf(http.StatusGatewayTimeout, "resolving did not finish within %s: %v", s.cfg.ResolveTimeout, err))
		case ctx.Err() != nil || errors.Is(err, gsync.ErrClosed):
			s.fail(w, r, errorf(http.StatusServiceUnavailable, "resolving interrupted: %v", err))
		default:
			s.fail(w, r, errorf(http.StatusBadGateway, "resolve: %v", err))
		}
		return
	}
	// A head that moved during the call to a block mined here (continuous
	// mining) replaced nothing.
	if replaced && s.chain.Head().Hash != before && s.minedHere(s.chain.Head().Hash) {
		replaced = false
	}
	if s.adoptedSinceLastResolve() {
		replaced = true
	}
	open := `{"message":"Our chain is authoritative","chain":[`
	if replaced {
		open = `{"message":"Our chain was replaced","new_chain":[`
	}
	height := s.chain.Head().Height
	s.streamChain(w, r, []byte(open), 1, int(min(height, uint64(maxInt))), func(int) []byte { return []byte("]}") })
}

// adoptedSinceLastResolve reports whether the head moved, since the previous
// call, to a block whose reward goes to another miner than this node's.
func (s *Server) adoptedSinceLastResolve() bool {
	s.resolveMu.Lock()
	defer s.resolveMu.Unlock()
	head := s.chain.Head().Hash
	if head == s.lastResolved {
		return false
	}
	s.lastResolved = head
	return !s.minedHere(head)
}

// minedHere reports whether the reward of block h goes to this node's
// miner address (true when the block cannot be read: nothing to report).
func (s *Server) minedHere(h chain.Hash) bool {
	b, err := s.chain.BlockByHash(h)
	if err != nil {
		return true
	}
	r := b.Reward()
	return r == nil || r.Recipient == s.miner.Address()
}
