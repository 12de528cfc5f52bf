package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/gossipchain/gossipchain/api"
	"github.com/gossipchain/gossipchain/chain/headerchain"
	"github.com/gossipchain/gossipchain/p2p"
	gsync "github.com/gossipchain/gossipchain/sync"
)

// lightFlags are the flags of a light node.
type lightFlags struct {
	light      *bool
	checkpoint *string
}

// lightRefused are the flags that make no sense on a light node, which
// neither mines nor keeps blocks or a pool.
var lightRefused = []string{"mine", "miner-threads", "miner-address", "min-relay-fee", "accept-rollback"}

// defineLightFlags defines --light and --checkpoint on fs.
func defineLightFlags(fs *flag.FlagSet) lightFlags {
	return lightFlags{
		light:      fs.Bool("light", false, "run a light node: keep block headers only (datadir/headers.db), follow the heaviest chain by headers and block gossip, and answer /accounts and /transactions with proofs from full peers (\"verified\": true); what needs a full node answers 501"),
		checkpoint: fs.String("checkpoint", "", "with --light, a block the heaviest chain must hold, `HEIGHT:HASH`; a chain without it stops the node with an error"),
	}
}

// apply checks the light flags and sets them in cfg.
func (f lightFlags) apply(cfg *config, set map[string]bool) error {
	if !*f.light {
		if set["checkpoint"] {
			return errors.New("--checkpoint is for a light node: give --light too")
		}
		return nil
	}
	for _, name := range lightRefused {
		if set[name] {
			return fmt.Errorf("--%s makes no sense with --light: a light node neither mines nor keeps blocks or a pool", name)
		}
	}
	cfg.light, cfg.mine = true, false
	if set["checkpoint"] {
		cp, err := headerchain.ParseCheckpoint(*f.checkpoint)
		if err != nil {
			return fmt.Errorf("--checkpoint: %w", err)
		}
		cfg.checkpoint = &cp
	}
	return nil
}

// lightCheckInterval is how often runLight checks whether the header sync
// stopped.
const lightCheckInterval = 500 * time.Millisecond

// runLight runs a light node on the HTTP listener ln until ctx is
// cancelled or its header sync stops at a checkpoint the heaviest chain
// does not hold.
func runLight(ctx context.Context, cfg config, log *slog.Logger, ln net.Listener) error {
	n, err := gsync.NewNode(ctx, gsync.NodeConfig{
		Params:     cfg.params,
		DataDir:    cfg.dataDir,
		Logger:     log,
		Light:      true,
		Checkpoint: cfg.checkpoint,
		P2P:        p2pConfig(cfg),
	})
	var le *p2p.ListenError
	if errors.As(err, &le) {
		return p2pListenError(cfg, le)
	}
	if err != nil {
		return err
	}
	defer closeLogged(log, "node", n.Close)
	if cfg.pprofAddr != "" {
		_, stopDebug, err := startPprof(cfg.pprofAddr, log, n.Light.Seen)
		if err != nil {
			return err
		}
		defer stopDebug()
	}
	node := n.P2P
	server := api.New(api.Config{
		Light:      n.Light,
		Network:    network{node: node, light: n.Light},
		Logger:     log,
		Version:    Version(),
		CORS:       cfg.cors,
		KnownAddrs: node.KnownAddrs,
		NAT:        func() api.NATStatus { return natStatus(node.NATStatus(), node.ID()) },
		Collectors: node.Collectors(),
	})
	if err := n.Start(ctx); err != nil {
		return err
	}
	head := n.Headers.Head()
	log.Info("light node", "height", head.Height, "head", head.Hash, "checkpoint", cfg.checkpoint)
	log.Info("identity", "peer_id", node.ID().String())
	for _, a := range node.Addrs() {
		log.Info("listening", "addr", a.String())
	}
	log.Info("http api listening", "url", "http://"+ln.Addr().String(), "explorer", "http://"+ln.Addr().String()+"/")

	served := make(chan error, 1)
	go func() { served <- server.Serve(ln) }()
	tick := time.NewTicker(lightCheckInterval)
	defer tick.Stop()
wait:
	for {
		select {
		case <-ctx.Done():
			break wait
		case serr := <-served:
			served <- serr // read again below
			err = fmt.Errorf("http api: %w", serr)
			break wait
		case <-tick.C:
			if err = n.Light.Err(); err != nil {
				err = fmt.Errorf("header sync stopped: %w", err)
				break wait
			}
		}
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if serr := server.Shutdown(shutdownCtx); serr != nil {
		log.Warn("http api did not drain in time", "err", serr)
	}
	if serr := <-served; !errors.Is(serr, http.ErrServerClosed) && err == nil {
		log.Warn("http api stopped with an error", "err", serr)
	}
	return err
}
