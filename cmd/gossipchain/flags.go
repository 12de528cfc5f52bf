package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/multiformats/go-multiaddr"

	"github.com/gossipchain/gossipchain/chain"
	"github.com/gossipchain/gossipchain/chain/headerchain"
	"github.com/gossipchain/gossipchain/chain/store"
	"github.com/gossipchain/gossipchain/p2p"
)

// usageHeader is the start of gossipchain --help, before the flags.
func usageHeader() string {
	var b strings.Builder
	b.WriteString(`gossipchain runs a node of a small proof-of-work blockchain: it finds peers on
the LAN (mDNS) or through bootstrap multiaddrs, gossips blocks and transactions,
keeps its chain on disk and serves an HTTP API (the tutorial's /mine, /chain,
/transactions/new, /nodes/register, /nodes/resolve, plus /status, /peers,
/blocks/{id}, /transactions/{id}, /transactions/pending, POST /blocks, /metrics,
/events) and a live explorer at http://<--http>/ in any browser.

Usage:
  gossipchain [flags]                 run a node (flags below)
  gossipchain SUBCOMMAND ...          ask a running node, or make a key; each
                                      subcommand has its own flags (gossipchain
                                      SUBCOMMAND --help):
`)
	for _, c := range clientCommands {
		fmt.Fprintf(&b, "    %s\n", c.usage())
	}
	b.WriteString(`
Examples:
  gossipchain                      # HTTP on 127.0.0.1:5000, p2p on port 4001
  gossipchain -p 5001              # a second node: HTTP 5001, p2p 4002, own data directory
  gossipchain --mdns=false --listen /ip4/127.0.0.1/tcp/4101 \
      --bootstrap /ip4/127.0.0.1/tcp/4001/p2p/12D3KooW... --http 127.0.0.1:5100
  gossipchain chain --from-block 5 --limit 10 --node http://127.0.0.1:5001

Flags of the node:
`)
	return b.String()
}

const usageFooter = `
Defaults that follow the HTTP port P (5000 unless --http or -p say otherwise):
  --datadir  gossipchain-data/P in the working directory, so that nodes on one
             machine with different ports keep apart.
  --listen   /ip4/0.0.0.0/tcp/Q and /ip4/0.0.0.0/udp/Q/quic-v1 with
             Q = P - 999 (5000 -> 4001, 5001 -> 4002); a random port when Q
             is out of range.

A data directory holds chain.db (blocks, main chain, pending transactions),
identity.key (the node's libp2p key: its peer ID survives restarts) and
peers.json (the address book: peers met, redialled after a restart).
The first signal (SIGINT, SIGTERM) shuts the node down cleanly; a second one
forces it to exit at once.
`

// errVersion is returned by parseFlags for --version, after printing the
// version.
var errVersion = errors.New("version printed")

// maxMinerThreads bounds --miner-threads.
const maxMinerThreads = 1024

// maxInbound bounds --max-inbound: a public node's inbound allowance, below
// the resource manager's connection limits.
const maxInbound = 1000

// defaultHTTPAddr is the tutorial's address.
const defaultHTTPAddr = "127.0.0.1:5000"

// p2pPortOffset relates the default p2p port to the HTTP port: 5000 -> 4001.
const p2pPortOffset = 5000 - 4001

// config is the node's configuration after the flags were checked.
type config struct {
	dataDir      string
	params       chain.Params
	listen       []string
	bootstrap    []string
	mdns         bool
	httpAddr     string
	httpFlag     string // how httpAddr was set: "-p 5001", "--http ADDR", "" for the default
	listenFlag   bool   // --listen was given; else listen follows the HTTP port
	mine         bool
	minerThreads int
	minerAddress string // empty: the peer ID
	logLevel     slog.Level
	logJSON      bool   // --log-format json
	cors         string // --cors: the origin allowed to read the API from a browser; empty: none
	pprofAddr    string // empty: no profiling listener
	targetPeers  int    // --target-peers: the outbound target D
	maxInbound   int    // --max-inbound: the inbound allowance; 0: D
	dialKnown    bool   // --dial-known: redial the peers of the address book
	browser      bool   // --browser-transports: WebTransport and WebRTC-direct beside QUIC

	// --accept-rollback: open a chain store that lost its last commit at
	// the commit before.
	acceptRollback bool

	// --min-relay-fee: the pool's minimum fee per chain.FeeRateUnit bytes
	// on a signed network.
	minRelayFee uint64

	// NAT traversal.
	announce     []string // --announce: multiaddrs advertised instead of the listen ones
	natPortMap   bool     // --nat-portmap: ask the router for a port mapping
	relayService bool     // --relay-service: offer a bounded circuit relay while publicly reachable

	light      bool                    // --light: a light node
	checkpoint *headerchain.Checkpoint // --checkpoint, with --light
}

// listFlag collects a repeatable, comma-separated flag.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }

func (l *listFlag) Set(v string) error {
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			*l = append(*l, s)
		}
	}
	return nil
}

// portFlag is a TCP port number, 0-65535.
type portFlag struct {
	port int
	set  bool
}

func (p *portFlag) String() string {
	if !p.set {
		return ""
	}
	return strconv.Itoa(p.port)
}

func (p *portFlag) Set(v string) error {
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("want a port number 0-65535")
	}
	p.port, p.set = n, true
	return nil
}

// nodeFlags are the node's flags as parsed, before they are checked.
type nodeFlags struct {
	dataDir, network, ledger, httpAddr, minerAddr, logLevel, logFormat, cors, pprofAddr *string
	difficulty                                                                          optionalUint
	initial                                                                             *uint
	blockTime, halfLife                                                                 *time.Duration
	mdns, mine, version, natPortMap, relaySvc, dialKnown, browser                       *bool
	threads, target, maxInbound                                                         *int
	listen, bootstrap, announce                                                         listFlag
	port                                                                                portFlag
	acceptRollback                                                                      *bool
	minRelayFee                                                                         *uint64
	light                                                                               lightFlags
}

// newNodeFlagSet defines the node's flags. Each usage says its default
// once: package flag adds "(default X)" for a default that is not the
// zero value, so a usage that states its own keeps a zero default.
func newNodeFlagSet() (*flag.FlagSet, *nodeFlags) {
	fs := flag.NewFlagSet("gossipchain", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are reported by the caller, usage on --help only
	f := &nodeFlags{
		dataDir:    fs.String("datadir", "", "data `directory` (default gossipchain-data/<HTTP port>, see below)"),
		network:    fs.String("network", chain.DefaultNetwork, "network `name`: a-z, 0-9, '-', '_', at most 32; nodes of different networks never exchange blocks"),
		blockTime:  fs.Duration("target-block-time", chain.DefaultTargetBlockTime, "block `interval` the difficulty steers toward (with --difficulty it only scales the future-timestamp limit); part of the network's parameters"),
		halfLife:   fs.Duration("half-life", 0, "retargeting half-life `duration`, at least 2 target block times (default 4 target block times, 40s at 10s blocks); part of the network's parameters"),
		initial:    fs.Uint("initial-difficulty", chain.DefaultInitialBits, "initial and minimum difficulty of a retargeting network in leading zero `bits` (0-64): it sets both the initial and the maximum target; part of the network's parameters"),
		ledger:     fs.String("ledger", chain.LedgerOpen, "ledger `mode`: open (the tutorial's free-form senders) or signed (Ed25519 accounts with balances and nonces: gossipchain key, gossipchain send); part of the network's parameters"),
		mdns:       fs.Bool("mdns", true, "discover peers on the local network with mDNS (--mdns=false to turn off)"),
		httpAddr:   fs.String("http", defaultHTTPAddr, "HTTP API `address` host:port"),
		mine:       fs.Bool("mine", false, "mine blocks continuously, publishing each one"),
		threads:    fs.Int("miner-threads", 0, "proof-of-work search `threads` (default: number of CPUs); on Linux they run at the lowest priority (nice 19), so that the node's API and other programs go first on a busy core"),
		minerAddr:  fs.String("miner-address", "", "`address` that receives the mining rewards (default: the node's peer ID)"),
		logLevel:   fs.String("log-level", "info", "log `level`: debug, info, warn or error"),
		logFormat:  fs.String("log-format", "text", "log `format`: text (key=value) or json (one object a line)"),
		cors:       fs.String("cors", "", "let a web page of this `origin` (e.g. http://localhost:8080, or * for any) call the HTTP API; off by default"),
		version:    fs.Bool("version", false, "print the version and exit"),
		pprofAddr:  fs.String("pprof", "", "serve net/http/pprof and /debug/gossip/{id} (when a block or transaction was accepted and stored, in ns) on their own listener at this `address` host:port (default off; keep it on 127.0.0.1)"),
		target:     fs.Int("target-peers", p2p.DefaultTargetPeers, "outbound target D: peers of the address book are dialled, and peers asked for more, while the node has dialled fewer of its `peers` (at most 32)"),
		maxInbound: fs.Int("max-inbound", 0, "inbound allowance: `peers` that dialled this node that it keeps, shedding the least useful above it (default D, so at most 2D peers, plus the relay's 64 reservation holders with --relay-service; raise it on a well-connected public node)"),
		natPortMap: fs.Bool("nat-portmap", false, "ask the router for a port mapping (UPnP, NAT-PMP) and log whether one was obtained; off by default"),
		relaySvc:   fs.Bool("relay-service", false, "offer a bounded circuit relay v2 service to nodes behind NAT while AutoNAT finds this node publicly reachable (limits in README)"),
		browser:    fs.Bool("browser-transports", true, "listen for browsers on WebTransport and WebRTC-direct beside every QUIC listen address, on its UDP port, and serve them the peer page (/peer); --browser-transports=false to turn off"),
		dialKnown:  fs.Bool("dial-known", true, "dial the peers remembered in the address book (datadir/peers.json) at start and when below the target (--dial-known=false to use only --bootstrap, mDNS and /nodes/register)"),
	}
	f.minRelayFee = fs.Uint64("min-relay-fee", store.DefaultMinRelayFeeRate, "signed ledger: the lowest fee `rate` this node admits to its pool and relays, a fee per 1000 bytes of a transaction (a typical transfer is 196 bytes); 0 relays every fee, and the pool still orders by fee rate")
	f.light = defineLightFlags(fs)
	f.acceptRollback = fs.Bool("accept-rollback", false, "start from the commit before when chain.db lost its last one (a damaged meta page, while the block files hold the blocks it wrote), which the node otherwise refuses; the lost blocks are fetched from peers again")
	fs.Var(&f.difficulty, "difficulty", "fixed proof-of-work difficulty in leading zero `bits` (0-64): every block needs it and the network never retargets (default: none, the network retargets from --initial-difficulty); part of the network's parameters")
	fs.Var(&f.port, "p", "HTTP API `port` on 127.0.0.1, as in the tutorial: -p 5001 is --http 127.0.0.1:5001")
	fs.Var(&f.listen, "listen", "libp2p listen `multiaddr`; repeatable or comma-separated (default TCP and QUIC on 0.0.0.0, see below)")
	fs.Var(&f.announce, "announce", "`multiaddr` (without /p2p/) to advertise instead of the listen addresses, e.g. a forwarded public port; repeatable or comma-separated; GET /status lists them with /p2p/<peer id> in nat.announced_p2p_addrs")
	fs.Var(&f.bootstrap, "bootstrap", "bootstrap peer `multiaddr` ending in /p2p/<peer id>, dialled at start and redialled when lost; repeatable or comma-separated")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), usageHeader())
		fs.PrintDefaults()
		fmt.Fprint(fs.Output(), usageFooter)
	}
	return fs, f
}

// nodeFlagNames returns the names of the node's flags.
func nodeFlagNames() []string {
	fs, _ := newNodeFlagSet()
	var names []string
	fs.VisitAll(func(f *flag.Flag) { names = append(names, f.Name) })
	return names
}

// optionalUint is a flag of an unsigned number that may be left unset.
type optionalUint struct {
	n   uint
	set bool
}

func (o *optionalUint) String() string {
	if o == nil || !o.set {
		return ""
	}
	return strconv.FormatUint(uint64(o.n), 10)
}

func (o *optionalUint) Set(v string) error {
	n, err := strconv.ParseUint(v, 10, 0)
	if err != nil {
		return errors.New("want a number of bits, 0-64")
	}
	o.n, o.set = uint(n), true
	return nil
}

// parseFlags parses and checks the command line. It returns flag.ErrHelp
// for -h and --help, after printing the usage to out.
func parseFlags(args []string, out io.Writer) (config, error) {
	fs, f := newNodeFlagSet()
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(out)
			fs.Usage()
			return config{}, err
		}
		return config{}, flagError(err, fs, "")
	}
	if *f.version {
		fmt.Fprintln(out, "gossipchain", Version())
		return config{}, errVersion
	}
	if fs.NArg() > 0 {
		return config{}, unexpectedArgument(fs.Arg(0), args)
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })

	cfg := config{mdns: *f.mdns, mine: *f.mine, listen: f.listen, bootstrap: f.bootstrap, minerAddress: *f.minerAddr,
		targetPeers: *f.target, maxInbound: *f.maxInbound, dialKnown: *f.dialKnown}
	cfg.announce, cfg.natPortMap, cfg.relayService = f.announce, *f.natPortMap, *f.relaySvc
	cfg.acceptRollback = *f.acceptRollback
	cfg.browser = *f.browser
	cfg.minRelayFee = *f.minRelayFee
	if cfg.targetPeers < 1 || cfg.targetPeers > p2p.MaxTargetPeers {
		return config{}, fmt.Errorf("--target-peers %d: want 1-%d", cfg.targetPeers, p2p.MaxTargetPeers)
	}
	if cfg.maxInbound < 0 || cfg.maxInbound > maxInbound {
		return config{}, fmt.Errorf("--max-inbound %d: want 0 (the default, D) to %d", cfg.maxInbound, maxInbound)
	}

	// HTTP address.
	cfg.httpAddr = *f.httpAddr
	if set["http"] {
		cfg.httpFlag = "--http " + cfg.httpAddr
	}
	if set["p"] {
		if set["http"] {
			return config{}, errors.New("-p and --http both given: use one")
		}
		cfg.httpAddr = net.JoinHostPort("127.0.0.1", f.port.String())
		cfg.httpFlag = "-p " + f.port.String()
	}
	_, portStr, err := net.SplitHostPort(cfg.httpAddr)
	if err != nil {
		return config{}, fmt.Errorf("--http %q: want host:port: %v", cfg.httpAddr, err)
	}
	httpPort, err := strconv.Atoi(portStr)
	if err != nil || httpPort < 0 || httpPort > 65535 {
		return config{}, fmt.Errorf("--http %q: port out of range 0-65535", cfg.httpAddr)
	}

	// Network parameters.
	if f.difficulty.n > chain.MaxDifficulty {
		return config{}, fmt.Errorf("--difficulty %d: at most %d", f.difficulty.n, chain.MaxDifficulty)
	}
	if *f.initial > chain.MaxDifficulty {
		return config{}, fmt.Errorf("--initial-difficulty %d: at most %d", *f.initial, chain.MaxDifficulty)
	}
	if set["difficulty"] && set["initial-difficulty"] {
		return config{}, errors.New("--difficulty and --initial-difficulty both given: a fixed network has one difficulty")
	}
	if set["difficulty"] {
		cfg.params, err = chain.NewParams(*f.network, uint32(f.difficulty.n))
	} else {
		cfg.params, err = chain.NewRetargetParams(*f.network, *f.blockTime)
		cfg.params.InitialTarget = chain.MustCompact(chain.ZeroBitsTarget(uint32(*f.initial)))
		cfg.params.MaxTarget = cfg.params.InitialTarget
	}
	if err == nil {
		cfg.params.TargetBlockTime = *f.blockTime
		cfg.params.HalfLife = chain.DefaultHalfLifeBlocks * *f.blockTime
		if *f.halfLife != 0 {
			cfg.params.HalfLife = *f.halfLife
		}
		if *f.ledger != chain.LedgerOpen {
			cfg.params.Ledger = *f.ledger
		}
		err = cfg.params.Validate()
	}
	if err != nil {
		return config{}, fmt.Errorf("network parameters (--network %q, --difficulty, --initial-difficulty, --target-block-time, --half-life, --ledger): %v", *f.network, err)
	}

	// Data directory.
	cfg.dataDir = *f.dataDir
	if cfg.dataDir == "" {
		cfg.dataDir = filepath.Join("gossipchain-data", strconv.Itoa(httpPort))
	}

	// libp2p addresses.
	cfg.listenFlag = len(cfg.listen) > 0
	if len(cfg.listen) == 0 {
		q := httpPort - p2pPortOffset
		if httpPort == 0 || q < 1 || q > 65535 {
			q = 0
		}
		cfg.listen = []string{fmt.Sprintf("/ip4/0.0.0.0/tcp/%d", q), fmt.Sprintf("/ip4/0.0.0.0/udp/%d/quic-v1", q)}
	}
	for _, s := range cfg.listen {
		if _, err := multiaddr.NewMultiaddr(s); err != nil {
			return config{}, fmt.Errorf("--listen %q: not a multiaddr: %v", s, err)
		}
	}
	for _, s := range cfg.announce {
		m, err := multiaddr.NewMultiaddr(s)
		if err != nil {
			return config{}, fmt.Errorf("--announce %q: not a multiaddr: %v", s, err)
		}
		if _, err := m.ValueForProtocol(multiaddr.P_P2P); err == nil {
			return config{}, fmt.Errorf("--announce %q: give the address without /p2p/<peer id>", s)
		}
	}
	for _, s := range cfg.bootstrap {
		m, err := multiaddr.NewMultiaddr(s)
		if err != nil {
			return config{}, fmt.Errorf("--bootstrap %q: not a multiaddr: %v", s, err)
		}
		if _, err := peer.AddrInfoFromP2pAddr(m); err != nil {
			return config{}, fmt.Errorf("--bootstrap %q: want a multiaddr ending in /p2p/<peer id>: %v", s, err)
		}
	}

	// Mining.
	switch {
	case *f.threads < 0:
		return config{}, fmt.Errorf("--miner-threads %d: must not be negative", *f.threads)
	case *f.threads == 0:
		cfg.minerThreads = runtime.NumCPU()
	default:
		cfg.minerThreads = *f.threads
	}
	if *f.threads > maxMinerThreads {
		return config{}, fmt.Errorf("--miner-threads %d: at most %d", *f.threads, maxMinerThreads)
	}
	if set["miner-address"] {
		if cfg.minerAddress == chain.RewardSender {
			return config{}, fmt.Errorf("--miner-address %q: reserved as the sender of mining rewards", cfg.minerAddress)
		}
		reward := chain.NewRewardTransaction(cfg.minerAddress, 1, 1)
		if err := reward.CheckFields(); err != nil {
			return config{}, fmt.Errorf("--miner-address %q: %v", cfg.minerAddress, err)
		}
		if cfg.params.Signed() {
			if _, err := chain.PublicKeyOf(cfg.minerAddress); err != nil {
				return config{}, fmt.Errorf("--miner-address %q: the network's ledger is signed, so rewards go to an address (gossipchain key show --key FILE prints one): %v", cfg.minerAddress, err)
			}
		}
	}
	if cfg.dataDir != "" {
		if fi, err := os.Stat(cfg.dataDir); err == nil && !fi.IsDir() {
			return config{}, fmt.Errorf("--datadir %q: not a directory", cfg.dataDir)
		}
	}

	if err := f.light.apply(&cfg, set); err != nil {
		return config{}, err
	}

	// Profiling.
	if cfg.pprofAddr = *f.pprofAddr; cfg.pprofAddr != "" {
		if _, _, err := net.SplitHostPort(cfg.pprofAddr); err != nil {
			return config{}, fmt.Errorf("--pprof %q: want host:port: %v", cfg.pprofAddr, err)
		}
	}

	// Logging.
	if err := cfg.logLevel.UnmarshalText([]byte(*f.logLevel)); err != nil {
		return config{}, fmt.Errorf("--log-level %q: want debug, info, warn or error", *f.logLevel)
	}
	switch *f.logFormat {
	case "text":
	case "json":
		cfg.logJSON = true
	default:
		return config{}, fmt.Errorf("--log-format %q: want text or json", *f.logFormat)
	}
	cfg.cors = *f.cors
	if cfg.cors != "" && cfg.cors != "*" {
		u, err := url.Parse(cfg.cors)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
			return config{}, fmt.Errorf("--cors %q: want an origin such as http://localhost:8080, or *", cfg.cors)
		}
		cfg.cors = strings.TrimSuffix(cfg.cors, "/")
	}
	return cfg, nil
}
