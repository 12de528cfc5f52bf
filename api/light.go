package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/gossipchain/gossipchain/api/client"
	"github.com/gossipchain/gossipchain/chain"
	"github.com/gossipchain/gossipchain/chain/headerchain"
	gsync "github.com/gossipchain/gossipchain/sync"
)

// LightNode is what the API of a light node reads: its header chain, and
// answers that full peers proved. *sync.Light implements it.
type LightNode interface {
	Headers() *headerchain.Chain
	Account(ctx context.Context, addr string) (gsync.VerifiedAccount, error)
	Transaction(ctx context.Context, id chain.Hash) (gsync.VerifiedTx, error)
}

var _ LightNode = (*gsync.Light)(nil)

// errNeedsFullNode answers what only a full node can: the pool, mining,
// blocks' bodies, submissions and the ledger's indexes.
var errNeedsFullNode = errorf(http.StatusNotImplemented,
	"this is a light node (--light): it keeps block headers only and cannot serve this; ask a full node")

// lightRoutes are the routes of a light node: those it can serve from its
// header chain or by proof, and 501 for the others.
func (s *Server) lightRoutes() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /status", s.handleStatus)
	mux.HandleFunc("GET /chain", s.limitChainStreams(s.handleChain))
	mux.HandleFunc("GET /blocks/{id}", s.handleBlock)
	mux.HandleFunc("GET /blocks/recent", s.handleRecentBlocks)
	mux.HandleFunc("GET /peers", s.handlePeers)
	mux.HandleFunc("POST /nodes/register", s.handleRegister)
	mux.HandleFunc("GET /accounts/{address}", s.handleLightAccount)
	mux.HandleFunc("GET /transactions/{id}", s.handleLightTransaction)
	mux.Handle("GET /metrics", s.metrics.handler())
	mux.HandleFunc("GET /events", s.handleEvents)
	explorerRoutes(mux)
	for _, route := range []string{
		"POST /transactions/new", "GET /mine", "POST /mine", "GET /nodes/resolve", "POST /blocks",
		"GET /transactions/pending", "POST /transactions", "POST /transactions/batch", "GET /fees",
		"GET /accounts/{address}/transactions", "GET /forks", "GET /addresses/{address...}",
	} {
		mux.HandleFunc(route, func(w http.ResponseWriter, r *http.Request) { s.fail(w, r, errNeedsFullNode) })
	}
	return mux
}

// handleLightAccount serves GET /accounts/{address} on a light node: the
// balance and next nonce proved by full peers against the light node's
// head ("height" and "head" are the header the proof was checked against),
// with "verified": true. It has no pool: nothing is pending.
func (s *Server) handleLightAccount(w http.ResponseWriter, r *http.Request) {
	addr := r.PathValue("address")
	if params := s.chain.Params(); !params.Signed() {
		s.fail(w, r, accountError(addr, chain.ErrNotSigned))
		return
	}
	a, err := s.cfg.Light.Account(r.Context(), addr)
	if errors.Is(err, gsync.ErrNoProof) {
		s.fail(w, r, errorf(http.StatusServiceUnavailable, "account %s: %v; try again when full peers are connected", addr, err))
		return
	}
	if err != nil {
		s.fail(w, r, accountError(addr, err))
		return
	}
	acct := chain.Account{Address: a.Address, Balance: a.Balance, NextNonce: a.NextNonce, PendingNonce: a.NextNonce}
	writeJSON(w, http.StatusOK, client.Account{Account: acct, PendingTransactions: []chain.Transaction{},
		Height: a.Block.Index, Head: a.Block.Hash, Verified: true})
}

// handleLightTransaction serves GET /transactions/{id} on a light node: a
// transaction that full peers proved in a block of its main chain, with
// "verified": true. It has no pool: a pending transaction is not found.
func (s *Server) handleLightTransaction(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	h, ok := parseTxID(w, id)
	if !ok {
		return
	}
	v, err := s.cfg.Light.Transaction(r.Context(), h)
	if errors.Is(err, gsync.ErrNoProof) {
		writeError(w, http.StatusNotFound, fmt.Sprintf("transaction %s not found: no full peer proved it in the main chain (a light node sees no pending transactions)", id))
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, client.TxStatus{Transaction: v.Tx, Status: "confirmed", BlockIndex: v.Block.Index,
		BlockHash: &v.Block.Hash, Confirmations: v.Confirmations, Verified: true})
}
