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
	"net/url"
	"os"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/gossipchain/gossipchain/api/client"
)

// This file holds the command-line client: subcommands that ask a running
// node over its HTTP API and print tables, or its JSON with --json.

// subcommandNames lists the client's subcommands.
var subcommandNames = []string{"status", "peers", "chain", "mine", "tx", "key", "send"}

const clientUsage = `Usage:
  gossipchain status              the node's head, peers, pending pool, mining and sync state
  gossipchain peers               connected peers with their heights
  gossipchain chain               the latest blocks (--from N --limit N for others)
  gossipchain mine [N]            mine N blocks (default 1) on the node, like regtest's generate
  gossipchain tx send SENDER RECIPIENT AMOUNT
                                  submit a transaction (or --from, --to, --amount)
  gossipchain key new [--out FILE]
                                  create a key file (mode 0600) and print its address
  gossipchain key show --key FILE print the address of a key file
  gossipchain send --key FILE --to ADDRESS --amount N
                                  sign a payment with the key (a signed network: the
                                  nonce comes from the node) and submit it

Flags (anywhere on the line):
`

// defaultNode is the node the client asks without --node or GOSSIPCHAIN_NODE.
const defaultNode = "http://127.0.0.1:5000"

// isSubcommand reports whether args start with a client subcommand.
func isSubcommand(args []string) bool {
	if len(args) == 0 {
		return false
	}
	for _, n := range subcommandNames {
		if args[0] == n {
			return true
		}
	}
	return false
}

// clientConfig is a parsed client command line.
type clientConfig struct {
	node    *url.URL
	json    bool
	timeout time.Duration
	args    []string // positional arguments after the subcommand
	from    uint64
	limit   int
	sender  string
	to      string
	amount  string
	key     string // key show, send: the key file
	out     string // key new: the file to write
}

// parseClientFlags parses the flags of a subcommand, which may come before
// or after its arguments.
func parseClientFlags(name string, args []string, out io.Writer) (clientConfig, error) {
	fs := flag.NewFlagSet("gossipchain "+name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	node := os.Getenv("GOSSIPCHAIN_NODE")
	if node == "" {
		node = defaultNode
	}
	var cfg clientConfig
	nodeFlag := fs.String("node", node, "`URL` of the node's HTTP API (default $GOSSIPCHAIN_NODE, else "+defaultNode+")")
	fs.BoolVar(&cfg.json, "json", false, "print the node's JSON answer instead of a table")
	fs.DurationVar(&cfg.timeout, "timeout", 0, "give up after this `duration` (default: 10s, mine: none)")
	fs.Uint64Var(&cfg.from, "from-block", 0, "chain: first block `index` (default: the latest blocks)")
	fs.IntVar(&cfg.limit, "limit", 20, "chain: number of `blocks`")
	fs.StringVar(&cfg.sender, "from", "", "tx send: sender `address`")
	fs.StringVar(&cfg.to, "to", "", "tx send, send: recipient `address`")
	fs.StringVar(&cfg.amount, "amount", "", "tx send, send: `amount`")
	fs.StringVar(&cfg.key, "key", "", "key show, send: key `file` (a node's datadir/identity.key spends its mining rewards)")
	fs.StringVar(&cfg.out, "out", "", "key new: key `file` to create (default "+defaultKeyFile+"); an existing file is never replaced")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), clientUsage)
		fs.PrintDefaults()
	}
	rest := args
	for {
		if err := fs.Parse(rest); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				fs.SetOutput(out)
				fs.Usage()
			}
			return cfg, err
		}
		if fs.NArg() == 0 {
			break
		}
		cfg.args = append(cfg.args, fs.Arg(0))
		rest = fs.Args()[1:]
	}
	u, err := url.Parse(*nodeFlag)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return cfg, fmt.Errorf("--node %q: want a URL such as %s", *nodeFlag, defaultNode)
	}
	cfg.node = u
	if cfg.limit < 1 || cfg.limit > 10000 {
		return cfg, fmt.Errorf("--limit %d: want 1 to 10000", cfg.limit)
	}
	return cfg, nil
}

// runClient runs a client subcommand and returns the exit code.
func runClient(args []string, stdout, stderr io.Writer) int {
	name := args[0]
	cfg, err := parseClientFlags(name, args[1:], stdout)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err == nil {
		err = checkClientArgs(name, &cfg)
	}
	if err != nil {
		fmt.Fprintf(stderr, "gossipchain %s: %v\nRun gossipchain %s --help for usage.\n", name, err, name)
		return exitUsage
	}
	if name == "key" {
		if err := runKey(cfg, stdout); err != nil {
			fmt.Fprintf(stderr, "gossipchain key %s: %v\n", cfg.args[0], err)
			return exitError
		}
		return exitOK
	}
	timeout := cfg.timeout
	if timeout == 0 && name != "mine" {
		timeout = 10 * time.Second
	}
	ctx := context.Background()
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	if err := ask(ctx, client.New(cfg.node.String(), nil), name, cfg, stdout); err != nil {
		fmt.Fprintf(stderr, "gossipchain %s: %v\n", name, err)
		return exitError
	}
	return exitOK
}

func checkClientArgs(name string, cfg *clientConfig) error {
	switch name {
	case "status", "peers", "chain":
		if len(cfg.args) > 0 {
			return fmt.Errorf("unexpected argument %q", cfg.args[0])
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
	case "tx":
		if len(cfg.args) == 0 || cfg.args[0] != "send" {
			return errors.New("want tx send SENDER RECIPIENT AMOUNT")
		}
		pos := cfg.args[1:]
		if len(pos) != 0 && len(pos) != 3 {
			return errors.New("want tx send SENDER RECIPIENT AMOUNT, or --from, --to and --amount")
		}
		if len(pos) == 3 {
			cfg.sender, cfg.to, cfg.amount = pos[0], pos[1], pos[2]
		}
		if cfg.sender == "" || cfg.to == "" || cfg.amount == "" {
			return errors.New("tx send needs a sender, a recipient and an amount")
		}
		if _, err := strconv.ParseUint(cfg.amount, 10, 64); err != nil {
			return fmt.Errorf("amount %q: want a positive integer", cfg.amount)
		}
	case "key":
		if len(cfg.args) != 1 || (cfg.args[0] != "new" && cfg.args[0] != "show") {
			return errors.New("want key new [--out FILE] or key show --key FILE")
		}
		if cfg.args[0] == "show" && cfg.key == "" {
			return errors.New("key show needs --key FILE")
		}
		if cfg.args[0] == "new" && cfg.key != "" {
			return errors.New("key new writes --out FILE, not --key")
		}
	case "send":
		if len(cfg.args) > 0 {
			return fmt.Errorf("unexpected argument %q (want send --key FILE --to ADDRESS --amount N)", cfg.args[0])
		}
		if cfg.key == "" || cfg.to == "" || cfg.amount == "" {
			return errors.New("send needs --key FILE, --to ADDRESS and --amount N")
		}
		if n, err := strconv.ParseUint(cfg.amount, 10, 64); err != nil || n == 0 {
			return fmt.Errorf("--amount %q: want a positive integer", cfg.amount)
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
			{"network", fmt.Sprintf("%s (difficulty %d)", st.Network, st.Difficulty)}, {"ledger", st.Params.Ledger},
			{"height", strconv.FormatUint(st.Height, 10)}, {"head", st.Head.String()},
			{"syncing", syncing}, {"peers", strconv.Itoa(st.Peers)}, {"pending", strconv.Itoa(st.Pending)},
			{"mining", mining}, {"miner address", st.MinerAddress},
		}
		if st.NAT != nil {
			rows = append(rows, [2]string{"reachability", natSummary(st.NAT.Reachability, st.NAT.RelayAddrs, st.NAT.RelayServing)})
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
	case "tx":
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
