package client

import (
	"context"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"

	"github.com/gossipchain/gossipchain/chain"
)

// MaxHeaders is the most headers one GET /headers answers.
const MaxHeaders = 2000

// ProofBlock names the block a proof is against: its hash, height and
// header (hex of chain.HeaderSize bytes).
type ProofBlock struct {
	Hash   chain.Hash `json:"hash"`
	Height uint64     `json:"height"`
	Header string     `json:"header"`
}

// ProofHead holds the keys both kinds of proof share. Proof, the hex of
// the binary proof (PROTOCOL.md 13), is the one source of truth: a
// verifier reads it and nothing else; the other keys are for people.
type ProofHead struct {
	Type  string     `json:"type"` // "transaction" or "account"
	Proof string     `json:"proof"`
	Block ProofBlock `json:"block"`
}

// Binary returns the binary proof of p.Proof.
func (p ProofHead) Binary() ([]byte, error) {
	b, err := hex.DecodeString(p.Proof)
	if err != nil {
		return nil, fmt.Errorf("the proof's \"proof\" is not hex: %w", err)
	}
	return b, nil
}

// TxProof is the answer of GET /proof/tx/{id}: transaction ID is at
// position Index of the block's TxCount, with the RFC 6962 inclusion path
// (hex, the leaf's sibling first).
type TxProof struct {
	ProofHead
	ID          chain.Hash        `json:"id"`
	Index       uint32            `json:"index"`
	TxCount     uint64            `json:"tx_count"`
	Transaction chain.Transaction `json:"transaction"`
	Path        []string          `json:"path"`
}

// AccountProof is the answer of GET /proof/account/{address}: the account
// after the block, against the block's state root. Present is false for
// an absent (zero) account, proven by a proof of absence.
type AccountProof struct {
	ProofHead
	Address   string     `json:"address"`
	Balance   uint64     `json:"balance"`
	NextNonce uint64     `json:"next_nonce"`
	StateRoot chain.Hash `json:"state_root"`
	Present   bool       `json:"present"`
}

// TxProof returns GET /proof/tx/{id}: a proof that the transaction is in
// a main-chain block (404 when it is not, pending or unknown).
func (c *Client) TxProof(ctx context.Context, id chain.Hash) (TxProof, error) {
	return get[TxProof](ctx, c, "/proof/tx/"+id.String())
}

// AccountProof returns GET /proof/account/{address}?at=: the account
// after the main-chain block at (a height or a block hash; "" for the
// head), with its proof; an open network answers 404.
func (c *Client) AccountProof(ctx context.Context, address, at string) (AccountProof, error) {
	path := "/proof/account/" + url.PathEscape(address)
	if at != "" {
		path += "?at=" + url.QueryEscape(at)
	}
	return get[AccountProof](ctx, c, path)
}

// Headers returns GET /headers?from=&count=: up to count (at most
// MaxHeaders) main-chain headers from height from, chain.HeaderSize bytes
// each, back to back. It checks only the length of the answer; the caller
// checks the headers.
func (c *Client) Headers(ctx context.Context, from uint64, count int) ([]byte, error) {
	path := fmt.Sprintf("/headers?from=%d&count=%d", from, count)
	status, data, err := c.Raw(ctx, http.MethodGet, path, nil)
	if err != nil {
		return nil, err
	}
	if status/100 != 2 {
		return nil, answerError(http.MethodGet, path, status, data)
	}
	if len(data)%chain.HeaderSize != 0 || len(data)/chain.HeaderSize > count {
		return nil, fmt.Errorf("GET %s: %d bytes are not at most %d headers of %d bytes", path, len(data), count, chain.HeaderSize)
	}
	return data, nil
}
