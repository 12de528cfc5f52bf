package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/gossipchain/gossipchain/api/client"
	"github.com/gossipchain/gossipchain/chain"
)

// This file holds gossipchain send: a payment signed with a key file and
// submitted to a node of a signed network.

// send signs a payment of cfg.amount from the key of cfg.key to cfg.to and
// submits it: the nonce is the sender's next one at the node, pending
// transactions counted; the signature covers the node's genesis hash.
func send(ctx context.Context, c *client.Client, cfg clientConfig, out io.Writer) error {
	key, from, err := loadKey(cfg.key)
	if err != nil {
		return err
	}
	if _, err := chain.PublicKeyOf(cfg.to); err != nil {
		return fmt.Errorf("--to %q: %w (an address is a peer ID such as gossipchain key show prints)", cfg.to, err)
	}
	amount, _ := strconv.ParseUint(cfg.amount, 10, 64)

	st, err := c.Status(ctx)
	if err != nil {
		return err
	}
	if st.Params.Ledger != chain.LedgerSigned {
		return fmt.Errorf("network %s of the node at %s has an open ledger: send its transactions with gossipchain tx send", st.Network, c.Base())
	}
	acct, err := c.Account(ctx, from)
	if err != nil {
		return err
	}
	tx, err := chain.SignTransaction(key, cfg.to, amount, acct.PendingNonce, st.Genesis)
	if err != nil {
		return fmt.Errorf("sign: %w", err)
	}
	r, err := c.SubmitTransaction(ctx, tx)
	if err != nil {
		var ae *client.Error
		if errors.As(err, &ae) {
			return fmt.Errorf("the node refused the transaction: %w", err)
		}
		return err
	}
	if cfg.json {
		return printJSONValue(out, map[string]any{"id": r.ID, "message": r.Message, "transaction": tx})
	}
	fmt.Fprintf(out, "id       %s\nfrom     %s\nto       %s\namount   %d\nnonce    %d\nmessage  %s\n",
		r.ID, from, cfg.to, amount, tx.Nonce, r.Message)
	return nil
}
