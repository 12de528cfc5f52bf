package main

import (
	"errors"
	"flag"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// This file explains a bad command line, of the node or of a subcommand:
// a flag that does not exist there names the one meant, and an argument
// that looks misplaced says where it belongs.

// flagError rewrites an error of package flag in the terms of the command
// line: --name, what a value must be, and for a flag that does not exist
// here, the one meant. fs holds the flags; cmd is the subcommand, "" for
// the node.
func flagError(err error, fs *flag.FlagSet, cmd string) error {
	msg := err.Error()
	if name, ok := strings.CutPrefix(msg, "flag provided but not defined: "); ok {
		name = strings.TrimLeft(name, "-")
		return fmt.Errorf("unknown flag %s: %s", dashed(name), flagHint(name, cmd))
	}
	if name, ok := strings.CutPrefix(msg, "flag needs an argument: "); ok {
		return fmt.Errorf("%s needs a value", dashed(strings.TrimLeft(name, "-")))
	}
	var value, name, reason string
	n, _ := fmt.Sscanf(msg, "invalid value %q for flag -%s", &value, &name)
	if n < 2 {
		n, _ = fmt.Sscanf(msg, "invalid boolean value %q for -%s", &value, &name)
	}
	if n == 2 {
		name, reason, _ = strings.Cut(name, ":")
		if _, after, ok := strings.Cut(msg, ": "); ok {
			reason = after
		}
		if f := fs.Lookup(name); f != nil {
			if g, ok := f.Value.(flag.Getter); ok {
				switch g.Get().(type) {
				case int, int64, uint, uint64:
					reason = "want a whole number"
				case time.Duration:
					reason = "want a duration such as 10s or 1m30s"
				case bool:
					reason = "want true or false, after = (" + dashed(name) + "=false)"
				}
			}
		}
		return fmt.Errorf("%s %s: %s", dashed(name), value, reason)
	}
	return err
}

// dashed writes a flag's name as the help does: -p, --http.
func dashed(name string) string {
	if len(name) == 1 {
		return "-" + name
	}
	return "--" + name
}

// flagHint says where the flag name belongs, for a command line of the
// subcommand cmd ("" for the node) that does not take it: a close name of
// cmd's own flags, the subcommands that take it, or the node.
func flagHint(name, cmd string) string {
	var hints, own []string
	if cmd == "" {
		own = nodeFlagNames()
	} else {
		for _, c := range clientCommands {
			if c.name == cmd || strings.HasPrefix(c.name, cmd+" ") {
				own = append(own, c.allFlags()...)
			}
		}
	}
	near := nearest(name, own)
	var takers []string
	for _, c := range clientCommands {
		if c.name != cmd && !strings.HasPrefix(c.name, cmd+" ") && slices.Contains(c.allFlags(), name) {
			takers = append(takers, "gossipchain "+c.name)
		}
	}
	switch {
	case cmd == "" && len(takers) > 0:
		hints = append(hints, fmt.Sprintf("%s is a flag of the subcommands (%s), which come first: gossipchain %s %s ...",
			dashed(name), strings.Join(shorten(takers), ", "), strings.TrimPrefix(takers[0], "gossipchain "), dashed(name)))
	case len(takers) > 0:
		hints = append(hints, fmt.Sprintf("%s is a flag of %s", dashed(name), strings.Join(shorten(takers), ", ")))
	case cmd != "" && slices.Contains(nodeFlagNames(), name):
		hints = append(hints, fmt.Sprintf("%s is a flag of the node (gossipchain %s ... runs one); ask a running node with --node URL, such as --node http://127.0.0.1:5001", dashed(name), dashed(name)))
	}
	for _, c := range clientCommands {
		if c.name == cmd && c.note != "" {
			hints = append(hints, c.note)
		}
	}
	switch {
	case near != "" && len(hints) > 0:
		return "did you mean " + dashed(near) + "? (" + hints[0] + ")"
	case near != "":
		return "did you mean " + dashed(near) + "?"
	case len(hints) > 0:
		return strings.Join(hints, "; ")
	case cmd == "":
		return "gossipchain --help lists the flags"
	}
	return "gossipchain " + cmd + " --help lists its flags"
}

// shorten keeps the first three of names, with "..." for more.
func shorten(names []string) []string {
	if len(names) > 3 {
		return append(names[:3:3], "...")
	}
	return names
}

// nearest returns the name of names that name most likely misspells: one
// it is a prefix of, else one within two edits; "" when none is.
func nearest(name string, names []string) string {
	best, bestDist := "", 3
	for _, n := range names {
		if n == name {
			continue
		}
		if strings.HasPrefix(n, name) && len(name) >= 2 {
			return n
		}
		if d := editDistance(name, n); d < bestDist && len(n) > 3 {
			best, bestDist = n, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

// unexpectedArgument is the error of an argument on the node's command
// line (args), which takes flags only: it says what was probably meant.
func unexpectedArgument(arg string, args []string) error {
	i := slices.Index(args, arg)
	switch {
	case arg == "help":
		return errors.New(`unexpected argument "help": gossipchain --help lists the flags and subcommands, gossipchain SUBCOMMAND --help a subcommand's`)
	case isSubcommand([]string{arg}):
		return fmt.Errorf("unexpected argument %q: a subcommand comes first, with its own flags, and asks a running node by --node URL: gossipchain %s --node http://127.0.0.1:5001 (gossipchain %s --help)", arg, arg, arg)
	case i > 0 && isBoolFlag(args[i-1]):
		if _, err := strconv.ParseBool(arg); err == nil {
			return fmt.Errorf("unexpected argument %q: a boolean flag takes its value after =, as %s=%s", arg, args[i-1], arg)
		}
	}
	return fmt.Errorf("unexpected argument %q (the node takes flags only; subcommands: %s)", arg, strings.Join(subcommandNames, ", "))
}

// isBoolFlag reports whether arg is a boolean flag of the node, such as
// --mdns.
func isBoolFlag(arg string) bool {
	fs, _ := newNodeFlagSet()
	f := fs.Lookup(strings.TrimLeft(arg, "-"))
	if f == nil || !strings.HasPrefix(arg, "-") {
		return false
	}
	b, ok := f.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

// boolHint explains an argument that looks like the value of a boolean
// flag given with a space (--json false), which the flag does not take.
func boolHint(arg string) string {
	if _, err := strconv.ParseBool(arg); err == nil {
		return ": a boolean flag takes its value after =, as --json=" + arg
	}
	return ""
}
