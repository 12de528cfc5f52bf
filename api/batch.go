package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/gossipchain/gossipchain/api/client"
	"github.com/gossipchain/gossipchain/chain"
)

// This file holds POST /transactions/batch: many transactions in one
// request, for clients that have many.

// MaxBatchBodyBytes bounds the body of POST /transactions/batch: a
// thousand of the largest transactions (a signed one with addresses of
// 128 bytes takes about 600 bytes of JSON) and room for white space.
const MaxBatchBodyBytes = 1 << 20

// batchRequest is the body of POST /transactions/batch. Each transaction
// is decoded by itself, so that a bad one gets its own answer.
type batchRequest struct {
	Transactions []json.RawMessage `json:"transactions"`
}

// handleBatch serves POST /transactions/batch: {"transactions": [...]}
// with up to client.MaxBatch transactions, each in the form that POST
// /transactions/new (open network) or POST /transactions (signed network)
// takes. The answer, once every accepted transaction is on disk (all of
// them written in one commit), has one result per transaction, in order,
// with the status and answer the single endpoint would have given it.
func (s *Server) handleBatch(w http.ResponseWriter, r *http.Request) {
	data, err := readBody(w, r, MaxBatchBodyBytes)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var req batchRequest
	if err := decodeObject(data, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	switch n := len(req.Transactions); {
	case req.Transactions == nil:
		writeError(w, http.StatusBadRequest, `want {"transactions": [...]}: a list of transactions`)
		return
	case n == 0:
		writeError(w, http.StatusBadRequest, "the list of transactions is empty")
		return
	case n > client.MaxBatch:
		writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("%d transactions: a batch holds at most %d", n, client.MaxBatch))
		return
	}
	parse := parseOpenTx
	if s.signed() {
		parse = parseSignedTx
	}
	results := make([]client.BatchResult, len(req.Transactions))
	txs := make([]chain.Transaction, 0, len(req.Transactions))
	at := make([]int, 0, len(req.Transactions)) // index of each of txs in the request
	for i, item := range req.Transactions {
		tx, err := parse(item, decodeItem)
		if err != nil {
			results[i] = failedItem(err)
			continue
		}
		txs = append(txs, tx)
		at = append(at, i)
	}
	next := s.chain.Head().Height + 1
	accepted := 0
	if len(txs) > 0 {
		for j, err := range s.net.SubmitTransactions(r.Context(), txs) {
			if err != nil {
				results[at[j]] = failedItem(txError(err))
				continue
			}
			accepted++
			res := client.BatchResult{Status: http.StatusCreated, Message: fmt.Sprintf("Transaction will be added to Block %d", next), ID: txs[j].ID}
			if txs[j].IsSigned() {
				res.Nonce = &txs[j].Nonce
			}
			results[at[j]] = res
		}
	}
	writeJSON(w, http.StatusOK, client.Batch{Accepted: accepted, Results: results})
}

// decodeItem strictly decodes one transaction of a batch, whose duplicate
// keys decodeObject has already looked for in the whole body.
func decodeItem(data []byte, v any) error {
	if trimmed := bytes.TrimLeft(data, " \t\r\n"); len(trimmed) == 0 || trimmed[0] != '{' {
		return errorf(http.StatusBadRequest, "a transaction must be a JSON object")
	}
	if err := chain.DecodeStrict(data, v); err != nil {
		return errorf(http.StatusBadRequest, "invalid JSON: %v", err)
	}
	return nil
}

// failedItem is the result of a transaction refused with err.
func failedItem(err error) client.BatchResult {
	var he *httpError
	if errors.As(err, &he) {
		return client.BatchResult{Status: he.code, Error: he.msg, Rule: he.rule}
	}
	return client.BatchResult{Status: http.StatusInternalServerError, Error: "internal error: " + err.Error()}
}
