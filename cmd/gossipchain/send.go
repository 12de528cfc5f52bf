package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"

	"github.com/gossipchain/gossipchain/chain"
)

// This file holds gossipchain send: a payment signed with a key file and
// submitted to a node of a signed network.

// cliAccount is the part of GET /accounts/{address} that send reads.
type cliAccount struct {
	PendingNonce uint64 `json:"pending_nonce"`
}

// cliSent is the answer of POST /transactions.
type cliSent struct {
	Message string `json:"message"`
	ID      string `json:"id"`
	Nonce   uint64 `json:"nonce"`
}

// send signs a payment of cfg.amount from the key of cfg.key to cfg.to and
// submits it: the nonce is the sender's next one at the node, pending
// transactions counted; the signature covers the node's genesis hash.
func (c *client) send(ctx context.Context, cfg clientConfig, out io.Writer) error {
	key, from, err := loadKey(cfg.key)
	if err != nil {
		return err
	}
	if _, err := chain.PublicKeyOf(cfg.to); err != nil {
		return fmt.Errorf("--to %q: %w (an address is a peer ID such as gossipchain key show prints)", cfg.to, err)
	}
	amount, _ := strconv.ParseUint(cfg.amount, 10, 64)

	var st struct {
		Network string `json:"network"`
		Genesis string `json:"genesis"`
		Params  struct {
			Ledger string `json:"ledger"`
		} `json:"params"`
	}
	if _, err := c.get(ctx, "/status", &st); err != nil {
		return err
	}
	if st.Params.Ledger != chain.LedgerSigned {
		return fmt.Errorf("network %s of the node at %s has an open ledger: send its transactions with gossipchain tx send", st.Network, c.base)
	}
	genesis, err := chain.ParseHash(st.Genesis)
	if err != nil {
		return fmt.Errorf("GET /status: genesis %q: %w", st.Genesis, err)
	}
	var acct cliAccount
	if _, err := c.get(ctx, "/accounts/"+url.PathEscape(from), &acct); err != nil {
		return err
	}
	tx, err := chain.SignTransaction(key, cfg.to, amount, acct.PendingNonce, genesis)
	if err != nil {
		return fmt.Errorf("sign: %w", err)
	}
	data, err := c.call(ctx, http.MethodPost, "/transactions", tx)
	if err != nil {
		var ae *apiError
		if errors.As(err, &ae) {
			return fmt.Errorf("the node refused the transaction: %w", err)
		}
		return err
	}
	var r cliSent
	if err := json.Unmarshal(data, &r); err != nil {
		return fmt.Errorf("unexpected answer: %w", err)
	}
	if cfg.json {
		return printJSONValue(out, map[string]any{"id": r.ID, "message": r.Message, "transaction": tx})
	}
	fmt.Fprintf(out, "id       %s\nfrom     %s\nto       %s\namount   %d\nnonce    %d\nmessage  %s\n",
		r.ID, from, cfg.to, amount, tx.Nonce, r.Message)
	return nil
}
