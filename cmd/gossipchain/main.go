// Command gossipchain runs a gossipchain node: the chain store, the libp2p
// host, gossip and chain exchange, an optional miner and the HTTP API. Run
// it with --help for its flags.
//
// This package only wires the others together: flags, logging, signals.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gossipchain/gossipchain/api"
	"github.com/gossipchain/gossipchain/chain"
	"github.com/gossipchain/gossipchain/chain/miner"
	"github.com/gossipchain/gossipchain/chain/store"
	"github.com/gossipchain/gossipchain/p2p"
	gsync "github.com/gossipchain/gossipchain/sync"
)

// Exit codes.
const (
	exitOK    = 0
	exitError = 1 // the node failed to start or to run
	exitUsage = 2 // bad flags
)

const (
	// shutdownTimeout bounds draining the HTTP API on shutdown.
	shutdownTimeout = 10 * time.Second
	// mineRetryDelay is the pause after a failed attempt of the mining loop.
	mineRetryDelay = time.Second
)

func main() {
	if isSubcommand(os.Args[1:]) {
		os.Exit(runClient(os.Args[1:], os.Stdout, os.Stderr))
	}
	cfg, err := parseFlags(os.Args[1:], os.Stdout)
	if errors.Is(err, errVersion) {
		if note := versionNote(); note != "" {
			fmt.Fprintln(os.Stderr, note)
		}
		os.Exit(exitOK)
	}
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(exitOK)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "gossipchain: %v\nRun gossipchain --help for usage.\n", err)
		os.Exit(exitUsage)
	}
	log := newLogger(os.Stderr, cfg)
	slog.SetDefault(log)
	p2p.RouteLibraryLogs(log.Handler())

	// The first SIGINT or SIGTERM cancels ctx; a second one exits at once.
	signals := make(chan os.Signal, 2)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM)
	ctx, stop := context.WithCancel(context.Background())
	go func() {
		sig := <-signals
		log.Info("shutting down (signal again to force)", "signal", sig.String())
		stop()
		sig = <-signals
		log.Error("forced exit", "signal", sig.String())
		os.Exit(exitError)
	}()

	if err := run(ctx, cfg, log); err != nil {
		log.Error("gossipchain failed", "err", err)
		os.Exit(exitError)
	}
	log.Info("stopped")
}

// run opens the chain, the p2p node, the sync service, the miner and the
// API in that order, serves until ctx is cancelled, then closes them in the
// reverse order.
func run(ctx context.Context, cfg config, log *slog.Logger) (err error) {
	params := cfg.params
	log.Info("starting gossipchain", "version", Version(), "network", params.Name, "fixed_difficulty", params.FixedDifficulty,
		"initial_bits", params.InitialTarget, "target_block_time", params.TargetBlockTime, "half_life", params.HalfLife,
		"ledger", params.LedgerMode(), "genesis", params.Genesis().Hash, "datadir", cfg.dataDir)
	// The HTTP port is taken first: a port in use stops the node before
	// anything else starts.
	ln, err := net.Listen("tcp", cfg.httpAddr)
	if err != nil {
		return httpListenError(cfg, err)
	}
	defer ln.Close()
	if cfg.light {
		return runLight(ctx, cfg, log, ln)
	}
	// The API is built after the sync service, which reports to it; no
	// report comes before the node starts, after server is set.
	var server *api.Server
	n, err := gsync.NewNode(ctx, gsync.NodeConfig{
		Params:  params,
		DataDir: cfg.dataDir,
		Logger:  log,
		P2P:     p2pConfig(cfg),
		Sync: gsync.Config{
			OnBlock: func(ev gsync.BlockEvent) {
				server.NoteBlock(api.BlockNote{Block: ev.Block, Blocks: ev.Blocks, Status: ev.Status.String(),
					Source: ev.Source, Peer: peerString(ev.Peer), Depth: ev.Depth, Head: ev.Head})
			},
			OnTransaction: func(tx chain.Transaction, from peer.ID) { server.NoteTransaction(tx, peerString(from)) },
			OnProgress:    func(p gsync.Progress) { server.NoteSync(syncProgress(p)) },
		},
		MinerAddress:   cfg.minerAddress,
		MinerThreads:   cfg.minerThreads,
		AcceptRollback: cfg.acceptRollback,
		Store:          func(sc *store.Config) { sc.MinRelayFeeRate = cfg.minRelayFee },
	})
	var le *p2p.ListenError
	if errors.As(err, &le) {
		return p2pListenError(cfg, le)
	}
	if errors.Is(err, store.ErrRolledBack) {
		return fmt.Errorf("%w; to accept it, start the node with --accept-rollback", err)
	}
	if err != nil {
		return err
	}
	defer closeLogged(log, "node", n.Close)
	c, node, svc, miner := n.Chain, n.P2P, n.Sync, n.Miner

	if cfg.pprofAddr != "" {
		_, stopDebug, err := startPprof(cfg.pprofAddr, log, svc.Seen)
		if err != nil {
			return err
		}
		defer stopDebug()
	}

	server = api.New(api.Config{
		Chain:      c,
		Network:    network{Service: svc, node: node},
		Miner:      miner,
		Mining:     func() bool { return cfg.mine },
		Logger:     log,
		Version:    Version(),
		Progress:   func() api.SyncProgress { return syncProgress(svc.Progress()) },
		CORS:       cfg.cors,
		KnownAddrs: node.KnownAddrs,
		NAT:        func() api.NATStatus { return natStatus(node.NATStatus(), node.ID()) },
		Collectors: append(node.Collectors(), svc.Collectors()...),
	})
	stopPeers, err := watchPeers(ctx, node, log, server.NotePeer)
	if err != nil {
		return err
	}
	defer stopPeers()
	if err := n.Start(ctx); err != nil {
		return err
	}

	head := c.Head()
	log.Info("chain", "height", head.Height, "head", head.Hash, "pending", c.PendingCount())
	log.Info("identity", "peer_id", node.ID().String())
	for _, a := range node.Addrs() {
		log.Info("listening", "addr", a.String())
	}
	if len(cfg.announce) > 0 {
		for _, a := range natStatus(node.NATStatus(), node.ID()).AnnouncedP2PAddrs {
			log.Info("announcing", "addr", a)
		}
	}
	log.Info("http api listening", "url", "http://"+ln.Addr().String(), "explorer", "http://"+ln.Addr().String()+"/")

	served := make(chan error, 1)
	go func() { served <- server.Serve(ln) }()

	mineCtx, stopMining := context.WithCancel(ctx)
	mined := make(chan struct{})
	if cfg.mine {
		log.Info("mining", "address", miner.Address(), "threads", cfg.minerThreads)
		go func() {
			defer close(mined)
			mineLoop(mineCtx, miner, svc, server, log)
		}()
	} else {
		close(mined)
	}

	select {
	case <-ctx.Done():
	case err = <-served:
		err = fmt.Errorf("http api: %w", err)
	}

	// Shut down: the API first (drained within shutdownTimeout), then the
	// miner; the deferred calls close sync, p2p and the chain in that order.
	shutdownCtx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if serr := server.Shutdown(shutdownCtx); serr != nil {
		log.Warn("http api did not drain in time", "err", serr)
	}
	if err == nil {
		if serr := <-served; !errors.Is(serr, http.ErrServerClosed) {
			log.Warn("http api stopped with an error", "err", serr)
		}
	}
	stopMining()
	<-mined
	return err
}

// p2pConfig is the p2p host's configuration of cfg.
func p2pConfig(cfg config) p2p.Config {
	return p2p.Config{
		ListenAddrs:  cfg.listen,
		Bootstrap:    cfg.bootstrap,
		MDNS:         cfg.mdns,
		TargetPeers:  cfg.targetPeers,
		MaxInbound:   cfg.maxInbound,
		SkipAddrBook: !cfg.dialKnown,
		Announce:     cfg.announce,
		NATPortMap:   cfg.natPortMap,
		RelayService: cfg.relayService,

		NoBrowserTransports: !cfg.browser,
	}
}

// mineLoop mines and publishes blocks until ctx is cancelled. MineBlock
// itself starts again on a new head when one arrives during the search.
func mineLoop(ctx context.Context, miner *miner.Miner, svc *gsync.Service, server *api.Server, log *slog.Logger) {
	for ctx.Err() == nil {
		b, res, err := miner.MineBlock(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			log.Error("mining failed", "err", err)
			select {
			case <-ctx.Done():
			case <-time.After(mineRetryDelay):
			}
			continue
		}
		gsync.LogHead(log, gsync.BlockEvent{Block: b, Blocks: 1, Status: res.Status, Source: api.SourceMined,
			Depth: res.Abandoned, Head: res.Head})
		server.NoteBlock(api.BlockNote{Block: b, Blocks: 1, Status: res.Status.String(), Source: api.SourceMined,
			Depth: res.Abandoned, Head: res.Head})
		if err := svc.PublishBlock(ctx, b); err != nil && ctx.Err() == nil {
			log.Warn("publishing mined block failed", "index", b.Index, "err", err)
		}
	}
}

// newLogger returns the node's logger: text or JSON lines on w.
func newLogger(w io.Writer, cfg config) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.logLevel}
	if cfg.logJSON {
		opts.ReplaceAttr = jsonValue
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// jsonValue writes in JSON lines what the text lines write: a duration as
// its string ("10s", not nanoseconds) and a compact target in hex
// ("0x1e03ffff", not a decimal).
func jsonValue(_ []string, a slog.Attr) slog.Attr {
	switch v := a.Value.Resolve(); {
	case v.Kind() == slog.KindDuration:
		a.Value = slog.StringValue(v.Duration().String())
	case v.Kind() == slog.KindAny:
		if c, ok := v.Any().(chain.Compact); ok {
			a.Value = slog.StringValue(c.String())
		}
	}
	return a
}

func peerString(p peer.ID) string {
	if p == "" {
		return ""
	}
	return p.String()
}

func syncProgress(p gsync.Progress) api.SyncProgress {
	return api.SyncProgress{Syncing: p.Syncing, Height: p.Height, Target: p.Target, Peer: peerString(p.Peer),
		Blocks: p.Blocks, BlocksPerS: p.Rate}
}

// closeLogged closes one component, logging a failure.
func closeLogged(log *slog.Logger, what string, closeFn func() error) {
	if err := closeFn(); err != nil {
		log.Error("closing "+what+" failed", "err", err)
	}
}
