package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"

	"github.com/gossipchain/gossipchain/api/client"
	"github.com/gossipchain/gossipchain/chain"
)

// This file holds POST /transactions/batch: many transactions in one
// request, for clients that have many.

// MaxBatchBodyBytes bounds the body of POST /transactions/batch: a
// thousand of the largest transactions (a signed one with addresses of
// 128 bytes takes about 600 bytes of JSON) and room for white space.
const MaxBatchBodyBytes = 1 << 20

// batchRequest is the body of POST /transactions/batch with each
// transaction left undecoded, so that a bad one gets its own answer.
type batchRequest struct {
	Transactions []json.RawMessage `json:"transactions"`
}

// txRequest is the body of one of the single endpoints.
type txRequest interface {
	*newTxRequest | *signedTxRequest
	tx() (chain.Transaction, error)
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
	var results []client.BatchResult
	var txs []chain.Transaction
	var at []int // index of each of txs in the request
	if s.signed() {
		results, txs, at, err = parseBatch[*signedTxRequest](data, parseSignedTx)
	} else {
		results, txs, at, err = parseBatch[*newTxRequest](data, parseOpenTx)
	}
	if err != nil {
		s.fail(w, r, err)
		return
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

// parseBatch decodes a batch body: an error for a body that is not a batch,
// else a result slot per item, holding the answer of an item that does not
// parse (with parse, which decodes one body of the single endpoint), and
// the transactions of the others with their indexes. A batch whose items
// all decode as T at once is parsed in one pass; otherwise each item is
// decoded by itself, for its own answer.
func parseBatch[T txRequest](data []byte, parse func([]byte, func([]byte, any) error) (chain.Transaction, error)) (
	results []client.BatchResult, txs []chain.Transaction, at []int, err error) {
	var typed struct {
		Transactions []T `json:"transactions"`
	}
	var raw batchRequest
	n := 0
	fast := chain.DecodeStrict(data, &typed) == nil && !slices.Contains(typed.Transactions, nil)
	if fast {
		if err := checkDuplicateKeys(data); err != nil {
			return nil, nil, nil, errorf(http.StatusBadRequest, "invalid JSON body: %v", err)
		}
		n = len(typed.Transactions)
	} else {
		if err := decodeObject(data, &raw); err != nil {
			return nil, nil, nil, err
		}
		n = len(raw.Transactions)
	}
	switch {
	case typed.Transactions == nil && raw.Transactions == nil:
		return nil, nil, nil, errorf(http.StatusBadRequest, `want {"transactions": [...]}: a list of transactions`)
	case n == 0:
		return nil, nil, nil, errorf(http.StatusBadRequest, "the list of transactions is empty")
	case n > client.MaxBatch:
		return nil, nil, nil, errorf(http.StatusRequestEntityTooLarge, "%d transactions: a batch holds at most %d", n, client.MaxBatch)
	}
	results = make([]client.BatchResult, n)
	txs = make([]chain.Transaction, 0, n)
	at = make([]int, 0, n)
	for i := range n {
		var tx chain.Transaction
		if fast {
			tx, err = typed.Transactions[i].tx()
		} else {
			tx, err = parse(raw.Transactions[i], decodeItem)
		}
		if err != nil {
			results[i] = failedItem(err)
			continue
		}
		txs = append(txs, tx)
		at = append(at, i)
	}
	return results, txs, at, nil
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
