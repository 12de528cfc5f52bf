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

// feeAuto is the --fee of send that asks the node for its estimate.
const feeAuto = "auto"

// feeTarget is the inclusion target, in blocks, of --fee auto.
const feeTarget = 3

// send signs a payment of cfg.amount from the key of cfg.key to cfg.to and
// submits it: the nonce is the sender's next one at the node, pending
// transactions counted; the fee is cfg.fee, or with auto the node's
// estimate for inclusion within feeTarget blocks (GET /fees); the
// signature covers the node's genesis hash.
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
	fee, err := sendFee(ctx, c, cfg.fee)
	if err != nil {
		return err
	}
	tx, err := chain.SignTransactionFee(key, cfg.to, amount, fee, acct.PendingNonce, st.Genesis)
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
	fmt.Fprintf(out, "id       %s\nfrom     %s\nto       %s\namount   %d\nfee      %d\nnonce    %d\nmessage  %s\n",
		r.ID, from, cfg.to, amount, tx.Fee, tx.Nonce, r.Message)
	return nil
}

// sendFee is the fee of --fee arg: the number, or for auto the node's
// estimated fee of a transfer included within feeTarget blocks.
func sendFee(ctx context.Context, c *client.Client, arg string) (uint64, error) {
	if arg != feeAuto {
		return strconv.ParseUint(arg, 10, 64) // checked by the flag parsing
	}
	est, err := c.Fees(ctx)
	if err != nil {
		return 0, fmt.Errorf("--fee auto: ask the node for its fee estimates: %w (or give --fee N)", err)
	}
	for _, e := range est.Estimates {
		if e.Blocks == feeTarget {
			return e.Fee, nil
		}
	}
	return 0, fmt.Errorf("--fee auto: the node has no estimate for %d blocks (or give --fee N)", feeTarget)
}
