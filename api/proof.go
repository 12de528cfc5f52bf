package api

import (
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/gossipchain/gossipchain/api/client"
	"github.com/gossipchain/gossipchain/chain"
	"github.com/gossipchain/gossipchain/chain/proof"
	"github.com/gossipchain/gossipchain/chain/store"
)

// This file holds the proofs a full node serves (PROTOCOL.md 13):
// GET /proof/tx/{id}, GET /proof/account/{address}?at= and, for the header
// chain a verifier checks them against, GET /headers (headers.go).

// Prover is what the proof endpoints read. *store.Chain implements it; a
// Chain that does not (a node without the blocks) answers 501.
type Prover interface {
	// TxProof proves that a transaction is in a main-chain block
	// (chain.ErrNotFound when it is not).
	TxProof(id chain.Hash) (proof.Tx, error)
	// AccountProof proves an account after the main-chain block at.
	AccountProof(addr string, at chain.Hash) (store.AccountProof, error)
}

// proofRoutes registers the proof endpoints and GET /headers.
func (s *Server) proofRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /proof/tx/{id}", s.handleTxProof)
	mux.HandleFunc("GET /proof/account/{address}", s.handleAccountProof)
	mux.HandleFunc("GET /headers", s.handleHeaders)
}

// prover returns the chain as a Prover, or answers 501.
func (s *Server) prover(w http.ResponseWriter) (Prover, bool) {
	p, ok := s.chain.(Prover)
	if !ok {
		writeError(w, http.StatusNotImplemented, "this node does not serve proofs: ask a full node")
	}
	return p, ok
}

// handleTxProof serves GET /proof/tx/{id}.
func (s *Server) handleTxProof(w http.ResponseWriter, r *http.Request) {
	p, ok := s.prover(w)
	if !ok {
		return
	}
	id := r.PathValue("id")
	h, ok := parseTxID(w, id)
	if !ok {
		return
	}
	tp, err := p.TxProof(h)
	if errors.Is(err, chain.ErrNotFound) {
		writeError(w, http.StatusNotFound, fmt.Sprintf("transaction %s is not in a block of the main chain (pending or unknown)", id))
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	resp, err := txProofJSON(tp)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

// txProofJSON is the JSON of a transaction proof.
func txProofJSON(tp proof.Tx) (client.TxProof, error) {
	head, err := proofHead("transaction", tp, tp.Header)
	if err != nil {
		return client.TxProof{}, err
	}
	tx, err := chain.DecodeTransaction(tp.Tx)
	if err != nil {
		return client.TxProof{}, fmt.Errorf("proven transaction: %w", err)
	}
	hdr, _ := chain.DecodeHeader(tp.Header) // proofHead decoded it
	resp := client.TxProof{ProofHead: head, ID: tx.ID, Index: tp.Index, TxCount: hdr.TxCount, Transaction: tx,
		Path: make([]string, len(tp.Path))}
	for i, h := range tp.Path {
		resp.Path[i] = hex.EncodeToString(h[:])
	}
	return resp, nil
}

// proofHead is the part of a proof's JSON both kinds share.
func proofHead(kind string, p interface{ MarshalBinary() ([]byte, error) }, header []byte) (client.ProofHead, error) {
	bin, err := p.MarshalBinary()
	if err != nil {
		return client.ProofHead{}, fmt.Errorf("encode the %s proof: %w", kind, err)
	}
	hdr, err := chain.DecodeHeader(header)
	if err != nil {
		return client.ProofHead{}, fmt.Errorf("the %s proof's header: %w", kind, err)
	}
	return client.ProofHead{Type: kind, Proof: hex.EncodeToString(bin),
		Block: client.ProofBlock{Hash: hdr.Hash, Height: hdr.Index, Header: hex.EncodeToString(header)}}, nil
}

// handleAccountProof serves GET /proof/account/{address}?at=HEIGHT|HASH.
func (s *Server) handleAccountProof(w http.ResponseWriter, r *http.Request) {
	p, ok := s.prover(w)
	if !ok {
		return
	}
	addr := r.PathValue("address")
	at, ok := s.blockAt(w, r)
	if !ok {
		return
	}
	ap, err := p.AccountProof(addr, at)
	switch {
	case errors.Is(err, chain.ErrNotSigned):
		writeError(w, http.StatusNotFound, openLedger+": there are no account proofs")
		return
	case errors.Is(err, chain.ErrNotAddress):
		s.fail(w, r, accountError(addr, err))
		return
	case errors.Is(err, chain.ErrNotFound):
		writeError(w, http.StatusNotFound, fmt.Sprintf("block %s is not on the main chain", at))
		return
	case err != nil:
		s.fail(w, r, err)
		return
	}
	pa := ap.Binary()
	head, err := proofHead("account", pa, pa.Header)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, client.AccountProof{ProofHead: head, Address: addr, Balance: ap.Balance,
		NextNonce: ap.NextNonce, StateRoot: ap.StateRoot, Present: ap.Balance != 0 || ap.NextNonce != 0})
}

// blockAt reads ?at=, a main-chain height or a block hash, as a block
// hash: the head's when it is absent. It answers 400 or 404 itself.
func (s *Server) blockAt(w http.ResponseWriter, r *http.Request) (chain.Hash, bool) {
	v, ok := r.URL.Query()["at"]
	if !ok {
		return s.chain.Head().Hash, true
	}
	at := v[0]
	if len(at) == 2*chain.HashSize {
		h, err := chain.ParseHash(at)
		if err != nil {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("at %q is neither a height nor a block hash: %v", at, err))
		}
		return h, err == nil
	}
	height, err := strconv.ParseUint(at, 10, 64)
	if err != nil || height < 1 || !isDigits(at) {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("at %q is neither a height (from 1) nor a block hash (64 hex characters)", truncateString(at)))
		return chain.Hash{}, false
	}
	var (
		hash  chain.Hash
		found bool
	)
	if hr, ok := s.chain.(HeaderReader); ok {
		err = hr.MainHeaders(height, 1, func(h chain.Hash, _ []byte) error { hash, found = h, true; return nil })
	}
	if err != nil {
		s.fail(w, r, err)
		return chain.Hash{}, false
	}
	if !found {
		writeError(w, http.StatusNotFound, fmt.Sprintf("no main-chain block at height %d: the head is at %d", height, s.chain.Head().Height))
	}
	return hash, found
}
