package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/gossipchain/gossipchain/api/client"
	"github.com/gossipchain/gossipchain/chain"
	"github.com/gossipchain/gossipchain/chain/store"
)

// This file holds the endpoints of signed ledgers: POST /transactions,
// GET /accounts/{address} and GET /accounts/{address}/transactions.

// maxCursorLen bounds ?cursor= of GET /accounts/{address}/transactions.
const maxCursorLen = 64

// signatureRequired is the answer of POST /transactions/new on a signed
// network.
const signatureRequired = "this network's ledger is signed: a transaction needs the sender's signature and nonce. " +
	"Make one with `gossipchain send --key FILE --to ADDRESS --amount N --node URL`, " +
	"or sign it yourself and POST /transactions {\"sender\", \"recipient\", \"amount\", \"nonce\", \"signature\"}"

// openLedger is the answer of the account endpoints on an open network.
const openLedger = "this network's ledger is open: it keeps no accounts, balances or nonces " +
	"(GET /addresses/{address} lists an address's transactions)"

// signedTxRequest is the body of POST /transactions: a transaction as
// GET /transactions/{id} serves it, id optional. Amount and nonce are kept
// raw for clear messages.
type signedTxRequest struct {
	ID        *chain.Hash     `json:"id"`
	Sender    *string         `json:"sender"`
	Recipient *string         `json:"recipient"`
	Amount    json.RawMessage `json:"amount"`
	Nonce     json.RawMessage `json:"nonce"`
	Fee       json.RawMessage `json:"fee"` // optional: 0 when absent
	Signature *string         `json:"signature"`
}

// handleSubmitSigned serves POST /transactions.
func (s *Server) handleSubmitSigned(w http.ResponseWriter, r *http.Request) {
	if !s.signed() {
		writeError(w, http.StatusBadRequest, "this network's ledger is open: POST /transactions/new takes {\"sender\", \"recipient\", \"amount\"}")
		return
	}
	data, err := readBody(w, r, s.cfg.MaxBodyBytes)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	tx, err := parseSignedTx(data, decodeObject)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	next := s.chain.Head().Height + 1
	if err := s.net.SubmitTransaction(r.Context(), tx); err != nil {
		s.fail(w, r, txError(err))
		return
	}
	writeJSON(w, http.StatusCreated, client.SignedTxAccepted{
		Message: fmt.Sprintf("Transaction will be added to Block %d", next), ID: tx.ID, Nonce: tx.Nonce,
	})
}

// parseSignedTx makes the transaction of a body of POST /transactions,
// decoded with decode; its errors are *httpError.
func parseSignedTx(data []byte, decode func([]byte, any) error) (chain.Transaction, error) {
	var req signedTxRequest
	if err := decode(data, &req); err != nil {
		return chain.Transaction{}, err
	}
	return req.tx()
}

// tx makes the transaction of the request; its errors are *httpError.
func (req *signedTxRequest) tx() (chain.Transaction, error) {
	var missing []string
	for _, f := range []struct {
		name string
		ok   bool
	}{
		{"sender", req.Sender != nil}, {"recipient", req.Recipient != nil},
		{"amount", req.Amount != nil && string(req.Amount) != "null"},
		{"nonce", req.Nonce != nil && string(req.Nonce) != "null"},
		{"signature", req.Signature != nil},
	} {
		if !f.ok {
			missing = append(missing, f.name)
		}
	}
	if len(missing) > 0 {
		return chain.Transaction{}, &httpError{code: http.StatusBadRequest, rule: chain.ErrBadTransaction.String(),
			msg: fmt.Sprintf("%s: %s (a signed transaction has sender, recipient, amount, nonce and signature)", missingValues, strings.Join(missing, ", "))}
	}
	amount, err := parseAmount(req.Amount)
	if err != nil {
		return chain.Transaction{}, err
	}
	nonce, err := parseUint("nonce", req.Nonce)
	if err != nil {
		return chain.Transaction{}, err
	}
	var fee uint64
	if req.Fee != nil && string(req.Fee) != "null" {
		if fee, err = parseUint("fee", req.Fee); err != nil {
			return chain.Transaction{}, err
		}
	}
	sig, err := chain.ParseSignature(*req.Signature)
	if err != nil {
		return chain.Transaction{}, &httpError{code: http.StatusBadRequest, msg: err.Error(), rule: chain.ErrBadSignature.String()}
	}
	tx := chain.Transaction{Sender: *req.Sender, Recipient: *req.Recipient, Amount: amount, Nonce: nonce, Fee: fee, Signature: sig}
	tx.ID = tx.ComputeID()
	if req.ID != nil && *req.ID != tx.ID {
		return chain.Transaction{}, &httpError{code: http.StatusBadRequest, rule: chain.ErrBadTransaction.String(),
			msg: fmt.Sprintf("id %s is not the transaction's id %s", *req.ID, tx.ID)}
	}
	// Admission policy, not a block rule: a block may pay such an address.
	if err := chain.CheckSpendable(tx.Recipient); errors.Is(err, chain.ErrUnspendable) {
		return chain.Transaction{}, errorf(http.StatusBadRequest,
			"recipient %s: %v; this node does not admit payments to it (a block that pays it is valid)", tx.Recipient, err)
	}
	return tx, nil
}

// parseUint parses a JSON integer from 0 to MaxUint64.
func parseUint(name string, raw json.RawMessage) (uint64, error) {
	v, err := parseAmount(raw)
	if err != nil {
		var he *httpError
		if errors.As(err, &he) {
			return 0, &httpError{code: he.code, rule: he.rule, msg: fmt.Sprintf("%s must be an integer from 0 to 2^64-1, got %s", name, truncateRaw(raw))}
		}
	}
	return v, err
}

func truncateRaw(raw json.RawMessage) string {
	if len(raw) > 40 {
		return string(raw[:40]) + "..."
	}
	return string(raw)
}

// handleAccount serves GET /accounts/{address}.
func (s *Server) handleAccount(w http.ResponseWriter, r *http.Request) {
	addr := r.PathValue("address")
	head := s.chain.Head()
	acct, err := s.chain.Account(addr)
	if err != nil {
		s.fail(w, r, accountError(addr, err))
		return
	}
	pending := s.chain.AccountPending(addr)
	if pending == nil {
		pending = []chain.Transaction{}
	}
	writeJSON(w, http.StatusOK, client.Account{Account: acct, PendingTransactions: pending, Height: head.Height, Head: head.Hash})
}

// handleAccountTransactions serves GET /accounts/{address}/transactions?cursor=&limit=.
func (s *Server) handleAccountTransactions(w http.ResponseWriter, r *http.Request) {
	addr := r.PathValue("address")
	limit, ok := intParam(w, r, "limit", store.DefaultAccountPage, 1, store.MaxAccountPage)
	if !ok {
		return
	}
	cursor := r.URL.Query().Get("cursor")
	if len(cursor) > maxCursorLen {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("cursor must be at most %d bytes: pass the next_cursor of a previous page", maxCursorLen))
		return
	}
	page, err := s.chain.AccountTransactions(addr, cursor, limit)
	if err != nil {
		s.fail(w, r, accountError(addr, err))
		return
	}
	resp := client.AccountHistory{Address: addr, Transactions: make([]client.AccountTx, 0, len(page.Transactions)), NextCursor: page.Next}
	for _, t := range page.Transactions {
		resp.Transactions = append(resp.Transactions, client.AccountTx{
			Direction: direction(t.Tx, addr), BlockIndex: t.Height, BlockHash: t.BlockHash, Transaction: t.Tx,
			Fees: s.rewardFees(&t.Tx),
		})
	}
	writeJSON(w, http.StatusOK, resp)
}

// accountError maps the errors of reading an account.
func accountError(addr string, err error) error {
	switch {
	case errors.Is(err, chain.ErrNotAddress):
		return errorf(http.StatusBadRequest, "%q is not an address (the peer ID of an Ed25519 key, 12D3KooW…, as gossipchain key show prints): %v",
			truncateString(addr), err)
	case errors.Is(err, chain.ErrNotSigned):
		return errorf(http.StatusNotFound, "%s", openLedger)
	case errors.Is(err, store.ErrBadCursor):
		return errorf(http.StatusBadRequest, "%v", err)
	}
	return err
}

func truncateString(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}

// signed reports whether the network's ledger is signed.
func (s *Server) signed() bool { return s.chain.Ledger() == chain.LedgerSigned }
