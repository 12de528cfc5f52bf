package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/gossipchain/gossipchain/chain"
)

func TestParseFlagsDefaults(t *testing.T) {
	cfg, err := parseFlags(nil, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	want := config{
		dataDir:      "gossipchain-data/5000",
		listen:       []string{"/ip4/0.0.0.0/tcp/4001", "/ip4/0.0.0.0/udp/4001/quic-v1"},
		mdns:         true,
		httpAddr:     "127.0.0.1:5000",
		minerThreads: runtime.NumCPU(),
		logLevel:     slog.LevelInfo,
		targetPeers:  8,
		dialKnown:    true,
		browser:      true,
	}
	cfg.params = chain.Params{}
	if fmt.Sprintf("%+v", cfg) != fmt.Sprintf("%+v", want) {
		t.Fatalf("got  %+v\nwant %+v", cfg, want)
	}
}

func TestParseFlags(t *testing.T) {
	tests := []struct {
		args  []string
		check func(config) string // returns what is wrong, or ""
	}{
		{[]string{"-p", "5001"}, func(c config) string {
			if c.httpAddr != "127.0.0.1:5001" || c.dataDir != "gossipchain-data/5001" ||
				c.listen[0] != "/ip4/0.0.0.0/tcp/4002" || c.listen[1] != "/ip4/0.0.0.0/udp/4002/quic-v1" {
				return fmt.Sprintf("%+v", c)
			}
			return ""
		}},
		{[]string{"--http", "0.0.0.0:8080", "--datadir", "/tmp/x"}, func(c config) string {
			if c.httpAddr != "0.0.0.0:8080" || c.dataDir != "/tmp/x" || c.listen[0] != "/ip4/0.0.0.0/tcp/7081" {
				return fmt.Sprintf("%+v", c)
			}
			return ""
		}},
		{[]string{"--http", "127.0.0.1:80"}, func(c config) string {
			if c.listen[0] != "/ip4/0.0.0.0/tcp/0" {
				return fmt.Sprint(c.listen)
			}
			return ""
		}},
		{[]string{"--listen", "/ip4/127.0.0.1/tcp/1,/ip4/127.0.0.1/udp/1/quic-v1", "--listen", "/ip6/::1/tcp/1"}, func(c config) string {
			if len(c.listen) != 3 || c.listen[2] != "/ip6/::1/tcp/1" {
				return fmt.Sprint(c.listen)
			}
			return ""
		}},
		{[]string{"--bootstrap", "/ip4/127.0.0.1/tcp/4001/p2p/12D3KooWJGKNTzPnFdZAoh6maKtQXhZsbbiPgwBbgZKALEyQcsgQ",
			"--mdns=false", "--mine", "--miner-threads", "3", "--miner-address", "alice", "--log-level", "debug",
			"--network", "test_net-1", "--difficulty", "8"}, func(c config) string {
			if len(c.bootstrap) != 1 || c.mdns || !c.mine || c.minerThreads != 3 || c.minerAddress != "alice" ||
				c.logLevel != slog.LevelDebug || c.params.Name != "test_net-1" || c.params.Difficulty() != 8 || !c.params.FixedDifficulty {
				return fmt.Sprintf("%+v", c)
			}
			return ""
		}},
		{[]string{"--announce", "/ip4/7.7.7.7/tcp/4001,/ip4/7.7.7.7/udp/4001/quic-v1", "--nat-portmap", "--relay-service"}, func(c config) string {
			if len(c.announce) != 2 || c.announce[1] != "/ip4/7.7.7.7/udp/4001/quic-v1" || !c.natPortMap || !c.relayService {
				return fmt.Sprintf("%+v", c)
			}
			return ""
		}},
		{nil, func(c config) string {
			if len(c.announce) != 0 || c.natPortMap || c.relayService {
				return fmt.Sprintf("NAT traversal flags on by default: %+v", c)
			}
			return ""
		}},
		// The default network retargets, from 22 bits, toward 10 s blocks.
		{nil, func(c config) string {
			if p := chain.DefaultParams(); c.params != p || c.params.FixedDifficulty || c.params.Difficulty() != chain.DefaultInitialBits {
				return fmt.Sprintf("%+v", c.params)
			}
			return ""
		}},
		{[]string{"--ledger", "signed", "--miner-address", "12D3KooWJGKNTzPnFdZAoh6maKtQXhZsbbiPgwBbgZKALEyQcsgQ"}, func(c config) string {
			open := chain.DefaultParams()
			if !c.params.Signed() || c.params.Net().Ledger != chain.LedgerSigned || c.params.Genesis().Hash == open.Genesis().Hash {
				return fmt.Sprintf("%+v", c.params)
			}
			return ""
		}},
		{[]string{"--target-block-time", "1s", "--half-life", "4s", "--initial-difficulty", "18"}, func(c config) string {
			p := c.params
			if p.FixedDifficulty || p.TargetBlockTime != time.Second || p.HalfLife != 4*time.Second || p.Difficulty() != 18 || p.MaxTarget != p.InitialTarget {
				return fmt.Sprintf("%+v", p)
			}
			return ""
		}},
	}
	for _, tt := range tests {
		cfg, err := parseFlags(tt.args, io.Discard)
		if err != nil {
			t.Errorf("%v: %v", tt.args, err)
			continue
		}
		if bad := tt.check(cfg); bad != "" {
			t.Errorf("%v: %s", tt.args, bad)
		}
	}
}

func TestParseFlagsErrors(t *testing.T) {
	tests := []struct {
		args []string
		want string // substring of the error
	}{
		{[]string{"-p", "70000"}, "-p"},
		{[]string{"-p", "x"}, "-p"},
		{[]string{"-p", "5001", "--http", "127.0.0.1:5002"}, "both"},
		{[]string{"--http", "5000"}, "--http"},
		{[]string{"--http", "127.0.0.1:65536"}, "out of range"},
		{[]string{"--network", ""}, "--network"},
		{[]string{"--network", "Dev"}, "--network"},
		{[]string{"--network", "dev.net"}, "--network"},
		{[]string{"--network", strings.Repeat("a", 33)}, "--network"},
		{[]string{"--difficulty", "65"}, "--difficulty"},
		{[]string{"--ledger", "closed"}, "ledger mode"},
		{[]string{"--ledger", "signed", "--miner-address", "alice"}, "--miner-address"},
		{[]string{"--difficulty", "8", "--initial-difficulty", "9"}, "both given"},
		{[]string{"--target-block-time", "0s"}, "target block time"},
		{[]string{"--target-block-time", "1s", "--half-life", "1s"}, "half-life"},
		{[]string{"--initial-difficulty", "65"}, "--initial-difficulty"},
		{[]string{"--difficulty", "-1"}, "-difficulty"},
		{[]string{"--listen", "/ip4/1.2.3/tcp/1"}, "--listen"},
		{[]string{"--listen", "127.0.0.1:4001"}, "--listen"},
		{[]string{"--bootstrap", "/ip4/127.0.0.1/tcp/4001"}, "/p2p/"},
		{[]string{"--bootstrap", "not-a-multiaddr"}, "--bootstrap"},
		{[]string{"--announce", "7.7.7.7:4001"}, "--announce"},
		{[]string{"--announce", "/ip4/7.7.7.7/tcp/4001/p2p/12D3KooWJGKNTzPnFdZAoh6maKtQXhZsbbiPgwBbgZKALEyQcsgQ"}, "without /p2p/"},
		{[]string{"--miner-threads", "-2"}, "--miner-threads"},
		{[]string{"--miner-address", ""}, "--miner-address"},
		{[]string{"--miner-address", "a\tb"}, "--miner-address"},
		{[]string{"--log-level", "loud"}, "--log-level"},
		{[]string{"--miner-address", "0"}, "reserved"},
		{[]string{"--miner-threads", "5000"}, "--miner-threads"},
		{[]string{"--log-format", "xml"}, "--log-format"},
		{[]string{"--cors", "localhost"}, "--cors"},
		{[]string{"--cors", "http://a.example/path"}, "--cors"},
		{[]string{"--datadir", "flags_test.go"}, "not a directory"},
		{[]string{"--nope"}, "nope"},
		{[]string{"stray"}, "unexpected argument"},
	}
	for _, tt := range tests {
		_, err := parseFlags(tt.args, io.Discard)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: error %v, want one mentioning %q", tt.args, err, tt.want)
		}
	}
}

func TestParseFlagsHelp(t *testing.T) {
	var out strings.Builder
	_, err := parseFlags([]string{"--help"}, &out)
	if !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("error %v, want flag.ErrHelp", err)
	}
	for _, f := range []string{"datadir", "network", "difficulty", "listen", "bootstrap", "mdns", "http", "-p", "mine", "miner-threads", "miner-address", "log-level", "log-format", "cors", "version"} {
		if !strings.Contains(out.String(), f) {
			t.Errorf("--help does not mention %s", f)
		}
	}
}

func TestParseFlagsVersionFormatCORS(t *testing.T) {
	var out strings.Builder
	if _, err := parseFlags([]string{"--version"}, &out); !errors.Is(err, errVersion) {
		t.Fatalf("--version: %v", err)
	}
	if !strings.HasPrefix(out.String(), "gossipchain ") || strings.TrimSpace(out.String()) == "gossipchain" {
		t.Fatalf("--version printed %q", out.String())
	}
	cfg, err := parseFlags([]string{"--log-format", "json", "--cors", "http://localhost:8080/"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.logJSON || cfg.cors != "http://localhost:8080" {
		t.Fatalf("%+v", cfg)
	}
	if cfg, err = parseFlags([]string{"--cors", "*"}, io.Discard); err != nil || cfg.cors != "*" {
		t.Fatalf("--cors '*': %v %q", err, cfg.cors)
	}
}
