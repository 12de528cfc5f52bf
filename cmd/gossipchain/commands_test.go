package main

import (
	"bytes"
	"errors"
	"flag"
	"io"
	"regexp"
	"strings"
	"testing"
)

// TestClientFlagTraps checks that a flag a subcommand does not take is an
// error that names the flag meant, never silently ignored.
func TestClientFlagTraps(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string // the first line of the error
	}{
		{[]string{"chain", "--from", "5"}, "gossipchain chain: unknown flag --from: did you mean --from-block? (--from is a flag of gossipchain tx send)"},
		{[]string{"chain", "--limt", "5"}, "gossipchain chain: unknown flag --limt: did you mean --limit?"},
		{[]string{"mine", "3", "--limit", "2"}, "gossipchain mine: unknown flag --limit: --limit is a flag of gossipchain chain"},
		{[]string{"send", "--from", "alice"}, "gossipchain send: unknown flag --from: --from is a flag of gossipchain tx send"},
		{[]string{"status", "-p", "5001"}, "gossipchain status: unknown flag -p: -p is a flag of the node (gossipchain -p ... runs one); ask a running node with --node URL, such as --node http://127.0.0.1:5001"},
		{[]string{"key", "new", "--key", "x"}, "gossipchain key new: unknown flag --key: --key is a flag of gossipchain balance, gossipchain send, gossipchain key show; key new writes the new key to --out FILE"},
		{[]string{"key", "show", "--node", "http://x"}, "gossipchain key: unknown flag --node: --node is a flag of gossipchain status, gossipchain peers, gossipchain chain, ..."},
		{[]string{"tx", "alice", "bob", "5"}, "gossipchain tx: want gossipchain tx send SENDER RECIPIENT AMOUNT | --from S --to R --amount N"},
		{[]string{"tx", "send", "a", "b", "1", "--from", "c"}, "gossipchain tx send: give the sender, recipient and amount either as arguments or as --from, --to and --amount, not both"},
		{[]string{"status", "--json", "false"}, `gossipchain status: unexpected argument "false": a boolean flag takes its value after =, as --json=false`},
		{[]string{"status", "--json=maybe"}, "gossipchain status: --json maybe: want true or false, after = (--json=false)"},
		{[]string{"chain", "--limit", "x"}, "gossipchain chain: --limit x: want a whole number"},
		{[]string{"chain", "--limit", "0"}, "gossipchain chain: --limit 0: want 1 to 10000"},
		{[]string{"chain", "--timeout", "5"}, "gossipchain chain: --timeout 5: want a duration such as 10s or 1m30s"},
		{[]string{"chain", "--limit"}, "gossipchain chain: --limit needs a value"},
		{[]string{"balance"}, "gossipchain balance: want balance --key FILE, or balance ADDRESS"},
		{[]string{"balance", "--key", "k", "alice"}, "gossipchain balance: give --key FILE or an ADDRESS, not both"},
		{[]string{"status", "--node", "localhost:5000"}, `gossipchain status: --node "localhost:5000": want a URL such as http://127.0.0.1:5000`},
	} {
		var out, errOut bytes.Buffer
		code := runClient(tt.args, &out, &errOut)
		first, _, _ := strings.Cut(errOut.String(), "\n")
		if code != exitUsage || first != tt.want {
			t.Errorf("%q: exit %d, error\n %s\nwant exit %d and\n %s", tt.args, code, first, exitUsage, tt.want)
		}
	}
}

// TestClientArgumentsAndFlagsAnywhere checks that flags may come before or
// after the arguments, and that "--" ends the flags.
func TestClientArgumentsAndFlagsAnywhere(t *testing.T) {
	for _, args := range [][]string{
		{"tx", "send", "--node", "http://127.0.0.1:1", "a", "b", "1"},
		{"tx", "--node", "http://127.0.0.1:1", "send", "a", "b", "1"},
		{"tx", "send", "a", "b", "1", "--node", "http://127.0.0.1:1"},
	} {
		cmd, cfg, err := parseClient(args, io.Discard)
		if err == nil {
			err = checkClientArgs(cmd.name, &cfg)
		}
		if err != nil || cmd.name != "tx send" || cfg.sender != "a" || cfg.to != "b" || cfg.amount != "1" || cfg.node.String() != "http://127.0.0.1:1" {
			t.Errorf("%q: %v %+v", args, err, cfg)
		}
	}
	cmd, cfg, err := parseClient([]string{"balance", "--", "--odd-address"}, io.Discard)
	if err != nil || cmd.name != "balance" || len(cfg.args) != 1 || cfg.args[0] != "--odd-address" {
		t.Errorf("balance -- --odd-address: %v %+v", err, cfg)
	}
}

// TestNodeFlagTraps checks the node's command line: a subcommand's flag,
// a misspelt flag, a subcommand after flags and a boolean given with a
// space are errors that say what was meant.
func TestNodeFlagTraps(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--from-block", "5"}, "unknown flag --from-block: --from-block is a flag of the subcommands (gossipchain chain), which come first: gossipchain chain --from-block ..."},
		{[]string{"--json"}, "unknown flag --json: --json is a flag of the subcommands (gossipchain status, gossipchain peers, gossipchain chain, ...), which come first: gossipchain status --json ..."},
		{[]string{"--difficuly", "12"}, "unknown flag --difficuly: did you mean --difficulty?"},
		{[]string{"--bogus"}, "unknown flag --bogus: gossipchain --help lists the flags"},
		{[]string{"-p", "5001", "status"}, `unexpected argument "status": a subcommand comes first, with its own flags, and asks a running node by --node URL: gossipchain status --node http://127.0.0.1:5001 (gossipchain status --help)`},
		{[]string{"--mdns", "false"}, `unexpected argument "false": a boolean flag takes its value after =, as --mdns=false`},
		{[]string{"--mdns=maybe"}, "--mdns maybe: want true or false, after = (--mdns=false)"},
		{[]string{"--difficulty", "x"}, "--difficulty x: want a number of bits, 0-64"},
		{[]string{"--target-block-time", "10"}, "--target-block-time 10: want a duration such as 10s or 1m30s"},
		{[]string{"--miner-threads", "two"}, "--miner-threads two: want a whole number"},
		{[]string{"help"}, `unexpected argument "help": gossipchain --help lists the flags and subcommands, gossipchain SUBCOMMAND --help a subcommand's`},
		{[]string{"stray"}, `unexpected argument "stray" (the node takes flags only; subcommands: status, peers, chain, mine, tx, balance, send, key, verify, headers)`},
	} {
		_, err := parseFlags(tt.args, io.Discard)
		if err == nil || err.Error() != tt.want {
			t.Errorf("%q: error\n %v\nwant\n %s", tt.args, err, tt.want)
		}
	}
}

// flagEntry matches one flag of package flag's PrintDefaults, with its
// usage on the next line.
var flagEntry = regexp.MustCompile(`(?m)^  -(\S+).*\n((?:    .*\n)*)`)

// TestHelpSaysEachDefaultOnce checks every --help: no flag states its
// default twice, and --difficulty states none but the truth.
func TestHelpSaysEachDefaultOnce(t *testing.T) {
	helps := map[string]string{}
	var out strings.Builder
	if _, err := parseFlags([]string{"--help"}, &out); !errors.Is(err, flag.ErrHelp) {
		t.Fatal(err)
	}
	helps["gossipchain"] = out.String()
	for _, word := range subcommandNames {
		var out, errOut bytes.Buffer
		if code := runClient([]string{word, "--help"}, &out, &errOut); code != exitOK {
			t.Fatalf("%s --help: exit %d: %s", word, code, errOut.String())
		}
		helps[word] = out.String()
	}
	for cmd, help := range helps {
		entries := flagEntry.FindAllStringSubmatch(help, -1)
		if len(entries) == 0 {
			t.Fatalf("%s --help lists no flag:\n%s", cmd, help)
		}
		for _, e := range entries {
			if n := strings.Count(e[0], "default"); n > 1 {
				t.Errorf("%s --help: -%s says its default %d times:\n%s", cmd, e[1], n, e[0])
			}
			if e[1] == "difficulty" && (strings.Contains(e[0], "(default 2") || !strings.Contains(e[0], "(default: none, the network retargets from --initial-difficulty)")) {
				t.Errorf("--difficulty's help: %s", e[0])
			}
		}
	}
	for _, c := range clientCommands {
		if !strings.Contains(helps["gossipchain"], c.usage()) {
			t.Errorf("gossipchain --help does not list %q", c.usage())
		}
		word, _, _ := strings.Cut(c.name, " ")
		if !strings.Contains(helps[word], c.usage()) || !strings.Contains(helps[word], c.what) {
			t.Errorf("gossipchain %s --help does not describe %s", word, c.name)
		}
	}
}
