package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"
)

// This file holds the command line of the client's subcommands: each
// subcommand has its own flags, so that a flag of another one, or of the
// node, is an error that names the right one instead of being ignored.

// clientCommand is one subcommand of the command-line client.
type clientCommand struct {
	name  string   // as typed after gossipchain: "chain", "tx send", "key new"
	args  string   // its arguments and own flags, for the usage line
	what  string   // what it does
	flags []string // its own flags; every subcommand also takes --json, and one that asks a node --node and --timeout
	local bool     // it asks no node
	note  string   // said of any flag it does not take
}

var clientCommands = []clientCommand{
	{name: "status", what: "the node's network (genesis, difficulty and retargeting, ledger), head, peers, pending pool, mining and sync state"},
	{name: "peers", what: "the connected peers with their heights"},
	{name: "chain", args: "[--from-block N] [--limit N]", what: "the latest blocks, or --limit blocks from index --from-block", flags: []string{"from-block", "limit"}},
	{name: "mine", args: "[N]", what: "mine N blocks (default 1) on the node, like regtest's generate"},
	{name: "tx send", args: "SENDER RECIPIENT AMOUNT | --from S --to R --amount N", what: "submit a transaction of an open network", flags: []string{"from", "to", "amount"}},
	{name: "balance", args: "--key FILE | ADDRESS", what: "an address's balance on a signed network; on an open one, which keeps no balances, what it received and sent", flags: []string{"key"}},
	{name: "send", args: "--key FILE --to ADDRESS --amount N [--fee auto|N]", what: "sign a payment with the key and submit it (a signed network: the nonce comes from the node, the fee by default from its GET /fees)", flags: []string{"key", "to", "amount", "fee"}},
	{name: "key new", args: "[--out FILE]", what: "create a key file (mode 0600) and print its address", flags: []string{"out"}, local: true, note: "key new writes the new key to --out FILE"},
	{name: "key show", args: "--key FILE", what: "print the address of a key file", flags: []string{"key"}, local: true},
	{name: "verify", args: "[--headers FILE] [--network NAME --ledger MODE ...] PROOF.json|-|HEX",
		what:  "check a proof of GET /proof/tx/{id} or /proof/account/{address} offline: against the header chain of --headers FILE, or the node's, each header checked as a full node checks it (the network flags are the node's)",
		flags: append([]string{"headers"}, networkFlagNames...)},
	{name: "headers", args: "--out FILE", what: "save the node's header chain (GET /headers) to FILE, for gossipchain verify --headers FILE", flags: []string{"out"}},
}

// subcommandNames lists the words that start a client subcommand.
var subcommandNames = func() []string {
	var names []string
	for _, c := range clientCommands {
		if first, _, _ := strings.Cut(c.name, " "); !slices.Contains(names, first) {
			names = append(names, first)
		}
	}
	return names
}()

// allFlags returns every flag of c, its own and the common ones.
func (c clientCommand) allFlags() []string {
	all := append(slices.Clone(c.flags), "json")
	if !c.local {
		all = append(all, "node", "timeout")
	}
	return all
}

// usage is c's usage line.
func (c clientCommand) usage() string {
	s := "gossipchain " + c.name
	if c.args != "" {
		s += " " + c.args
	}
	if !c.local {
		return s + " [--node URL] [--timeout D] [--json]"
	}
	return s + " [--json]"
}

// commandsOf returns the subcommands that start with word.
func commandsOf(word string) []clientCommand {
	var out []clientCommand
	for _, c := range clientCommands {
		if first, _, _ := strings.Cut(c.name, " "); first == word {
			out = append(out, c)
		}
	}
	return out
}

// defaultNode is the node the client asks without --node or GOSSIPCHAIN_NODE.
const defaultNode = "http://127.0.0.1:5000"

// isSubcommand reports whether args start with a client subcommand.
func isSubcommand(args []string) bool {
	return len(args) > 0 && slices.Contains(subcommandNames, args[0])
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
	fee     string // send: "auto" or a number
	key     string // key show, send, balance: the key file
	out     string // key new, headers: the file to write
	// verify: the header file, whether --node was given, and the network
	// flags by name.
	headers   string
	nodeGiven bool
	netFlags  map[string]*rawFlag
}

// define defines on fs the flags of names, bound to cfg; nodeURL receives
// --node. A usage that states its default leaves the flag's default zero,
// so that --help says it once.
func (cfg *clientConfig) define(fs *flag.FlagSet, names []string, nodeURL *string) {
	for _, name := range names {
		switch name {
		case "node":
			fs.StringVar(nodeURL, name, "", "`URL` of the node's HTTP API (default $GOSSIPCHAIN_NODE, else "+defaultNode+")")
		case "json":
			fs.BoolVar(&cfg.json, name, false, "print the node's JSON answer instead of a table")
		case "timeout":
			fs.DurationVar(&cfg.timeout, name, 0, "give up after this `duration` (default: 10s; mine: none)")
		case "from-block":
			fs.Uint64Var(&cfg.from, name, 0, "first block `index` (default: the latest blocks)")
		case "limit":
			fs.IntVar(&cfg.limit, name, 20, "number of `blocks`, 1 to 10000")
		case "from":
			fs.StringVar(&cfg.sender, name, "", "sender `address`")
		case "to":
			fs.StringVar(&cfg.to, name, "", "recipient `address`")
		case "amount":
			fs.StringVar(&cfg.amount, name, "", "`amount`, a positive integer")
		case "fee":
			fs.StringVar(&cfg.fee, name, "auto", "the `fee` paid to the miner: a number, or auto for the node's estimate of inclusion within 3 blocks (GET /fees)")
		case "key":
			fs.StringVar(&cfg.key, name, "", "key `file` (a node's datadir/identity.key is the key of its mining rewards)")
		case "out":
			if slices.Contains(names, "key") { // key new, beside key show
				fs.StringVar(&cfg.out, name, "", "key `file` to create (default "+defaultKeyFile+"); an existing file is never replaced")
			} else {
				fs.StringVar(&cfg.out, name, "", "`file` to write the headers to, back to back, 136 bytes each")
			}
		case "headers":
			fs.StringVar(&cfg.headers, name, "", "header chain `file` (from gossipchain headers --out, or GET /headers) instead of the node's")
		default:
			if slices.Contains(networkFlagNames, name) {
				f, usage := newRawFlag(name)
				if cfg.netFlags == nil {
					cfg.netFlags = map[string]*rawFlag{}
				}
				cfg.netFlags[name] = f
				fs.Var(f, name, usage)
			}
		}
	}
}

// parseClient parses a client command line, whose flags may come before or
// after the arguments. It returns flag.ErrHelp for -h and --help, after
// printing the subcommand's usage to out.
func parseClient(args []string, out io.Writer) (clientCommand, clientConfig, error) {
	cfg := clientConfig{limit: 20} // also for a command without --limit
	word := args[0]
	group := commandsOf(word)
	var union []string
	for _, c := range group {
		for _, f := range c.allFlags() {
			if !slices.Contains(union, f) {
				union = append(union, f)
			}
		}
	}
	nodeURL := "" // the usage states the default
	fs := flag.NewFlagSet("gossipchain "+word, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	cfg.define(fs, union, &nodeURL)
	rest := args[1:]
	for {
		if err := fs.Parse(rest); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				printClientUsage(out, fs, group)
				return clientCommand{}, cfg, err
			}
			return clientCommand{}, cfg, flagError(err, fs, word)
		}
		consumed := len(rest) - fs.NArg()
		if consumed > 0 && rest[consumed-1] == "--" {
			cfg.args = append(cfg.args, fs.Args()...) // after --, arguments only
			break
		}
		if fs.NArg() == 0 {
			break
		}
		cfg.args = append(cfg.args, fs.Arg(0))
		rest = fs.Args()[1:]
	}

	cmd := group[0]
	if strings.Contains(cmd.name, " ") { // tx send, key new|show: the first argument picks one
		i := -1
		if len(cfg.args) > 0 {
			i = slices.IndexFunc(group, func(c clientCommand) bool { return c.name == word+" "+cfg.args[0] })
		}
		if i < 0 {
			var lines []string
			for _, c := range group {
				lines = append(lines, strings.TrimSpace("gossipchain "+c.name+" "+c.args))
			}
			return clientCommand{}, cfg, fmt.Errorf("want %s", strings.Join(lines, ", or "))
		}
		cmd, cfg.args = group[i], cfg.args[1:]
	}
	var misplaced error
	fs.Visit(func(f *flag.Flag) {
		if misplaced == nil && !slices.Contains(cmd.allFlags(), f.Name) {
			misplaced = fmt.Errorf("unknown flag %s: %s", dashed(f.Name), flagHint(f.Name, cmd.name))
		}
	})
	if misplaced != nil {
		return cmd, cfg, misplaced
	}
	if !cmd.local {
		cfg.nodeGiven = nodeURL != ""
		if nodeURL == "" {
			nodeURL = os.Getenv("GOSSIPCHAIN_NODE")
		}
		if nodeURL == "" {
			nodeURL = defaultNode
		}
		u, err := url.Parse(nodeURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return cmd, cfg, fmt.Errorf("--node %q: want a URL such as %s", nodeURL, defaultNode)
		}
		cfg.node = u
	}
	if cfg.limit < 1 || cfg.limit > 10000 {
		return cmd, cfg, fmt.Errorf("--limit %d: want 1 to 10000", cfg.limit)
	}
	return cmd, cfg, nil
}

// printClientUsage prints the usage of the subcommands of group and their
// flags.
func printClientUsage(out io.Writer, fs *flag.FlagSet, group []clientCommand) {
	fmt.Fprintln(out, "Usage:")
	for _, c := range group {
		fmt.Fprintf(out, "  %s\n      %s\n", c.usage(), c.what)
	}
	fmt.Fprintln(out, "\nFlags (before or after the arguments):")
	fs.SetOutput(out)
	fs.PrintDefaults()
}
