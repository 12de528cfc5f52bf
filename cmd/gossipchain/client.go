package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/gossipchain/gossipchain/api/client"
	"github.com/gossipchain/gossipchain/chain"
)

// This file holds the command-line client: subcommands that ask a running
// node over its HTTP API and print tables, or its JSON with --json.

// runClient runs a client subcommand and returns the exit code.
func runClient(args []string, stdout, stderr io.Writer) int {
	cmd, cfg, err := parseClient(args, stdout)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err == nil {
		err = checkClientArgs(cmd.name, &cfg)
	}
	if err == nil {
		err = checkVerifyArgs(cmd.name, &cfg)
	}
	name := cmd.name
	if name == "" {
		name = args[0]
	}
	if err != nil {
		fmt.Fprintf(stderr, "gossipchain %s: %v\nRun gossipchain %s --help for usage.\n", name, err, name)
		return exitUsage
	}
	if cmd.local {
		if err := runKey(cmd.name, cfg, stdout); err != nil {
			fmt.Fprintf(stderr, "gossipchain %s: %v\n", cmd.name, err)
			return exitError
		}
		return exitOK
	}
	timeout := cfg.timeout
	if timeout == 0 && cmd.name != "mine" {
		timeout = 10 * time.Second
	}
	ctx := context.Background()
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	if err := ask(ctx, client.New(cfg.node.String(), nil), cmd.name, cfg, stdout); err != nil {
		fmt.Fprintf(stderr, "gossipchain %s: %v\n", cmd.name, err)
		return exitError
	}
	return exitOK
}

// checkClientArgs checks the arguments of the subcommand name.
func checkClientArgs(name string, cfg *clientConfig) error {
	switch name {
	case "status", "peers", "chain", "send", "key new", "key show":
		if len(cfg.args) > 0 {
			return fmt.Errorf("unexpected argument %q%s", cfg.args[0], boolHint(cfg.args[0]))
		}
	case "mine":
		if len(cfg.args) > 1 {
			return fmt.Errorf("unexpected argument %q", cfg.args[1])
		}
		if len(cfg.args) == 1 {
			n, err := strconv.Atoi(cfg.args[0])
			if err != nil || n < 1 {
				return fmt.Errorf("mine %q: want a number of blocks of at least 1", cfg.args[0])
			}
		}
	case "tx send":
		pos := cfg.args
		if len(pos) != 0 && len(pos) != 3 {
			return errors.New("want tx send SENDER RECIPIENT AMOUNT, or --from, --to and --amount")
		}
		if len(pos) == 3 {
			if cfg.sender != "" || cfg.to != "" || cfg.amount != "" {
				return errors.New("give the sender, recipient and amount either as arguments or as --from, --to and --amount, not both")
			}
			cfg.sender, cfg.to, cfg.amount = pos[0], pos[1], pos[2]
		}
		if cfg.sender == "" || cfg.to == "" || cfg.amount == "" {
			return errors.New("tx send needs a sender, a recipient and an amount")
		}
		if _, err := strconv.ParseUint(cfg.amount, 10, 64); err != nil {
			return fmt.Errorf("amount %q: want a positive integer", cfg.amount)
		}
	case "balance":
		switch {
		case len(cfg.args) > 1:
			return fmt.Errorf("unexpected argument %q (want balance --key FILE, or balance ADDRESS)", cfg.args[1])
		case len(cfg.args) == 1 && cfg.key != "":
			return errors.New("give --key FILE or an ADDRESS, not both")
		case len(cfg.args) == 0 && cfg.key == "":
			return errors.New("want balance --key FILE, or balance ADDRESS")
		}
	}
	switch name {
	case "key show":
		if cfg.key == "" {
			return errors.New("key show needs --key FILE")
		}
	case "send":
		if cfg.key == "" || cfg.to == "" || cfg.amount == "" {
			return errors.New("send needs --key FILE, --to ADDRESS and --amount N")
		}
		if n, err := strconv.ParseUint(cfg.amount, 10, 64); err != nil || n == 0 {
			return fmt.Errorf("--amount %q: want a positive integer", cfg.amount)
		}
		if _, err := strconv.ParseUint(cfg.fee, 10, 64); err != nil && cfg.fee != feeAuto {
			return fmt.Errorf("--fee %q: want auto or an integer from 0", cfg.fee)
		}
	}
	return nil
}

// ask asks the node for subcommand name and prints its answer: a table,
// or with --json the node's JSON as it came, indented.
func ask(ctx context.Context, c *client.Client, name string, cfg clientConfig, out io.Writer) error {
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	defer tw.Flush()
	// call sends method path with body, decodes the answer into v and
	// reports whether --json printed it instead of a table.
	call := func(method, path string, body, v any) (printed bool, err error) {
		data, err := c.Do(ctx, method, path, body, v)
		if err != nil || !cfg.json {
			return false, err
		}
		var buf bytes.Buffer
		if err := json.Indent(&buf, data, "", "  "); err != nil {
			return false, err
		}
		buf.WriteByte('\n')
		_, err = out.Write(buf.Bytes())
		return true, err
	}
	switch name {
	case "status":
		var st client.Status
		if printed, err := call(http.MethodGet, "/status", nil, &st); printed || err != nil {
			return err
		}
		mining := "no"
		if st.Mining {
			mining = fmt.Sprintf("yes, %s", fmtRate(st.HashRate))
		}
		syncing := "no"
		if st.Syncing {
			syncing = fmt.Sprintf("yes, toward height %d", st.TargetHeight)
		}
		rows := [][2]string{
			{"node", c.Base()}, {"version", st.Version}, {"peer id", st.PeerID},
			{"network", st.Network}, {"genesis", st.Genesis.String()},
			{"difficulty", difficultySummary(st)}, {"ledger", ledgerSummary(st.Params.Ledger)},
			{"height", strconv.FormatUint(st.Height, 10)}, {"head", st.Head.String()},
			{"syncing", syncing}, {"peers", strconv.Itoa(st.Peers)}, {"pending", strconv.Itoa(st.Pending)},
			{"mining", mining}, {"miner address", st.MinerAddress},
		}
		if st.NAT != nil {
			rows = append(rows, [2]string{"reachability", natSummary(st.NAT.Reachability, st.NAT.RelayAddrs, st.NAT.RelayServing)})
			for i, a := range st.NAT.AnnouncedP2PAddrs {
				label := ""
				if i == 0 {
					label = "announced"
				}
				rows = append(rows, [2]string{label, a})
			}
		}
		for _, r := range rows {
			fmt.Fprintf(tw, "%s\t%s\n", r[0], r[1])
		}
	case "peers":
		var peers []client.Peer
		if printed, err := call(http.MethodGet, "/peers", nil, &peers); printed || err != nil {
			return err
		}
		fmt.Fprintln(tw, "PEER ID\tHEIGHT\tDIRECTION\tSOURCE\tADDRESS")
		for _, p := range peers {
			h := "?"
			if p.Height != nil {
				h = strconv.FormatUint(*p.Height, 10)
			}
			src := p.Source
			if p.Limited {
				src += " (relayed only)"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", p.ID, h, p.Direction, src, p.Addr)
		}
		if len(peers) == 0 {
			fmt.Fprintln(tw, "(no peers)")
		}
	case "chain":
		from := cfg.from
		if from == 0 {
			st, err := c.Status(ctx)
			if err != nil {
				return err
			}
			from = 1
			if st.Height > uint64(cfg.limit) {
				from = st.Height - uint64(cfg.limit) + 1
			}
		}
		var ch client.Chain
		if printed, err := call(http.MethodGet, fmt.Sprintf("/chain?from=%d&limit=%d", from, cfg.limit), nil, &ch); printed || err != nil {
			return err
		}
		fmt.Fprintln(tw, "INDEX\tHASH\tTIME\tTXS\tMINER")
		for i := len(ch.Chain) - 1; i >= 0; i-- {
			b := ch.Chain[i]
			miner := ""
			for _, t := range b.Transactions {
				if t.Sender == "0" {
					miner = t.Recipient
				}
			}
			ts := b.Timestamp.Time().UTC().Format(time.DateTime)
			fmt.Fprintf(tw, "%d\t%s\t%s\t%d\t%s\n", b.Index, b.Hash, ts, len(b.Transactions), miner)
		}
		fmt.Fprintf(tw, "(%d of %d blocks)\n", len(ch.Chain), ch.Length)
	case "mine":
		n := "1"
		if len(cfg.args) == 1 {
			n = cfg.args[0]
		}
		var m client.MinedBlocks
		if printed, err := call(http.MethodGet, "/mine?blocks="+n, nil, &m); printed || err != nil {
			return err
		}
		fmt.Fprintln(tw, "INDEX\tHASH\tTXS")
		for _, b := range m.Blocks {
			fmt.Fprintf(tw, "%d\t%s\t%d\n", b.Index, b.Hash, b.Transactions)
		}
		fmt.Fprintf(tw, "%s: %d block(s), height %d\n", m.Message, len(m.Blocks), m.Height)
	case "send":
		return send(ctx, c, cfg, out)
	case "balance":
		return balance(ctx, c, cfg, out)
	case "verify":
		return verify(ctx, c, cfg, out)
	case "headers":
		return saveHeaders(ctx, c, cfg, out)
	case "tx send":
		amount, _ := strconv.ParseUint(cfg.amount, 10, 64)
		body := map[string]any{"sender": cfg.sender, "recipient": cfg.to, "amount": amount}
		var r client.TxAccepted
		if printed, err := call(http.MethodPost, "/transactions/new", body, &r); printed || err != nil {
			return err
		}
		fmt.Fprintf(tw, "id\t%s\nmessage\t%s\n", r.ID, r.Message)
	}
	return nil
}

// difficultySummary is the "difficulty" line of gossipchain status: the
// next block's, and how the network sets it.
func difficultySummary(st client.Status) string {
	s := fmt.Sprintf("%d bits for the next block", st.Difficulty)
	p := st.Params
	switch {
	case p == (client.NetworkParams{}):
		return s // a node of protocol 1 states no parameters
	case p.FixedDifficulty:
		return s + fmt.Sprintf(", fixed (--difficulty %d): it never retargets", chain.TargetZeroBits(p.InitialBits))
	}
	blockTime := time.Duration(p.TargetBlockTimeUS) * time.Microsecond
	halfLife := time.Duration(p.HalfLifeUS) * time.Microsecond
	return s + fmt.Sprintf(", retargeting toward one block every %s (half-life %s, at least %d bits)",
		blockTime, halfLife, chain.TargetZeroBits(p.MaxBits))
}

// ledgerSummary is the "ledger" line of gossipchain status.
func ledgerSummary(ledger string) string {
	switch ledger {
	case chain.LedgerOpen:
		return "open: free-form senders, no balances (gossipchain tx send)"
	case chain.LedgerSigned:
		return "signed: accounts with balances and nonces (gossipchain balance, gossipchain send)"
	case "":
		return "open (a node of an older protocol)"
	}
	return ledger
}

// printJSONValue prints v as indented JSON.
func printJSONValue(out io.Writer, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	_, err = out.Write(append(data, '\n'))
	return err
}

func fmtRate(r float64) string {
	units := []string{"H/s", "kH/s", "MH/s", "GH/s"}
	i := 0
	for r >= 1000 && i < len(units)-1 {
		r /= 1000
		i++
	}
	return fmt.Sprintf("%.1f %s", r, units[i])
}
