package main

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/gossipchain/gossipchain/api/client"
	"github.com/gossipchain/gossipchain/chain"
)

// This file holds gossipchain balance: an address's account on a signed
// network (GET /accounts/{address}); on an open network, which keeps no
// balances, what the address received and sent (GET /addresses/{address}).

// balance prints the balance of the address of --key, or of the address
// argument.
func balance(ctx context.Context, c *client.Client, cfg clientConfig, out io.Writer) error {
	addr := ""
	if cfg.key != "" {
		a, err := keyFileAddress(cfg.key)
		if err != nil {
			return err
		}
		addr = a
	} else {
		addr = cfg.args[0]
	}
	st, err := c.Status(ctx)
	if err != nil {
		return err
	}
	if st.Params.Ledger != chain.LedgerSigned {
		return openBalance(ctx, c, st, addr, cfg.json, out)
	}
	if _, err := chain.PublicKeyOf(addr); err != nil {
		return fmt.Errorf("%q is not an address of a signed network (an address is a peer ID such as gossipchain key show prints): %w", addr, err)
	}
	acct, err := c.Account(ctx, addr)
	if err != nil {
		return err
	}
	if cfg.json {
		return printJSONValue(out, acct)
	}
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	defer tw.Flush()
	fmt.Fprintf(tw, "address\t%s\n", acct.Address)
	fmt.Fprintf(tw, "balance\t%d\t(confirmed at height %d)\n", acct.Balance, acct.Height)
	if acct.Pending > 0 {
		fmt.Fprintf(tw, "pending\t%d transaction(s) spending %d\t(%d left once they are in a block)\n",
			acct.Pending, acct.PendingSpend, acct.Balance-min(acct.PendingSpend, acct.Balance))
	}
	fmt.Fprintf(tw, "next nonce\t%d\n", acct.PendingNonce)
	return nil
}

// openBalance prints what an open network can tell of addr: it keeps no
// balances (any sender may send any amount), so the totals received and
// sent in the blocks searched.
func openBalance(ctx context.Context, c *client.Client, st client.Status, addr string, asJSON bool, out io.Writer) error {
	a, err := c.Address(ctx, addr)
	if err != nil {
		return err
	}
	if asJSON {
		return printJSONValue(out, a)
	}
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	defer tw.Flush()
	pending := 0
	for _, e := range a.Transactions {
		if e.Pending {
			pending++
		}
	}
	blocks := fmt.Sprintf("%d-%d, the whole chain", a.ScannedFrom, a.ScannedTo)
	if !a.Complete {
		blocks = fmt.Sprintf("%d-%d, the latest %d (GET /addresses/{address}?scan=N searches more)", a.ScannedFrom, a.ScannedTo, a.ScannedTo-a.ScannedFrom+1)
	}
	fmt.Fprintf(tw, "address\t%s\n", a.Address)
	fmt.Fprintf(tw, "ledger\topen: network %s keeps no balances (any sender may send any amount); these are totals\n", st.Network)
	fmt.Fprintf(tw, "received\t%d\n", a.Received)
	fmt.Fprintf(tw, "sent\t%d\n", a.Sent)
	fmt.Fprintf(tw, "blocks searched\t%s\n", blocks)
	fmt.Fprintf(tw, "pending\t%d transaction(s)\n", pending)
	return nil
}
