package api

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gossipchain/gossipchain/api/explorer"
	"github.com/gossipchain/gossipchain/api/explorer/peer"
	"github.com/gossipchain/gossipchain/chain"
)

// Defaults of the optional Config fields.
const (
	DefaultMaxBodyBytes    = 64 << 10
	DefaultMineTimeout     = 2 * time.Minute
	DefaultResolveTimeout  = 30 * time.Second
	DefaultRegisterTimeout = 10 * time.Second

	// Server timeouts. WriteTimeout is extended by the handlers that mine,
	// resolve or stream a long chain.
	ReadHeaderTimeout = 5 * time.Second
	ReadTimeout       = 30 * time.Second
	WriteTimeout      = 30 * time.Second
	IdleTimeout       = 2 * time.Minute
	MaxHeaderBytes    = 64 << 10

	// MaxPageLimit is the largest limit of GET /chain?from=&limit= and of
	// GET /transactions/pending?limit=.
	MaxPageLimit = 10000
	// DefaultPageLimit is the limit of GET /chain when from is given alone
	// and of GET /transactions/pending without limit.
	DefaultPageLimit = 1000
	// MaxRegisterNodes is the most entries one POST /nodes/register takes.
	MaxRegisterNodes = 64
	// MaxStatusBytes bounds the /status body read from another node while
	// resolving an HTTP URL given to /nodes/register.
	MaxStatusBytes = 64 << 10
)

// Config configures a Server.
type Config struct {
	Chain   Chain   // required, unless Light is set
	Network Network // required
	Miner   Miner   // required, unless Light is set

	// Light, when set, makes the API a light node's (light.go): the
	// routes it can serve from its header chain or by proof, and 501
	// for the others.
	Light LightNode

	// Mining reports whether continuous mining is on (GET /status "mining");
	// nil means it is off.
	Mining func() bool

	// Logger receives request errors; slog.Default() when nil.
	Logger *slog.Logger

	// MaxBodyBytes bounds every request body except POST /blocks, whose
	// bound follows from the network's block size limit.
	// DefaultMaxBodyBytes when zero.
	MaxBodyBytes int64

	// MineTimeout bounds one GET/POST /mine (waiting for other miners
	// included); DefaultMineTimeout when zero.
	MineTimeout time.Duration
	// ResolveTimeout bounds GET /nodes/resolve; DefaultResolveTimeout when zero.
	ResolveTimeout time.Duration
	// RegisterTimeout bounds resolving and dialling the entries of one
	// POST /nodes/register; DefaultRegisterTimeout when zero.
	RegisterTimeout time.Duration

	// MaxConns bounds the HTTP connections open at once (DefaultMaxConns)
	// and MaxChainStreams the GET /chain responses written at once
	// (DefaultMaxChainStreams); see connlimit.go.
	MaxConns        int
	MaxChainStreams int

	// HTTPClient fetches other nodes' /status for /nodes/register; when nil
	// a client that follows no redirects is used.
	HTTPClient *http.Client

	// Collectors are the metrics of the other parts of the node (p2p.Node
	// and sync.Service Collectors), registered on /metrics beside the
	// server's own.
	Collectors []prometheus.Collector

	// Version is the node's version, in GET /status.
	Version string
	// Progress, when set, tells GET /status whether the node is syncing
	// and the height it syncs toward.
	Progress func() SyncProgress
	// CORS, when set, is the origin ("*" for any) whose web pages may call
	// the API: answers carry Access-Control-Allow-Origin and preflight
	// requests are answered. Off when empty.
	CORS string
	// KnownAddrs, when set, counts the peers of the node's address book
	// (GET /status "known_addrs").
	KnownAddrs func() int
	// NAT, when set, reports the node's reachability (GET /status "nat").
	NAT func() NATStatus
}

// Server is the node's HTTP API. Its handlers are safe for concurrent use.
type Server struct {
	cfg     Config
	log     *slog.Logger
	chain   Chain
	net     Network
	miner   Miner
	client  *http.Client
	handler http.Handler
	metrics *metrics
	srv     *http.Server

	// batchBlocks and batchBytes bound one batch of a streamed chain
	// (streamBatchBlocks and streamBatchBytes; tests lower them).
	batchBlocks, batchBytes int

	// resolveMu guards lastResolved, the head at the end of the previous
	// GET /nodes/resolve (at first the head at New).
	resolveMu    sync.Mutex
	lastResolved chain.Hash

	conns          *connLimiter
	chainStreams   chan struct{}
	streamWait     time.Duration // chainStreamWait; tests lower it
	warnMu         sync.Mutex
	lastStreamWarn time.Time

	// baseCtx is the parent of every request's context; Shutdown cancels
	// it so that long requests (mining, resolving) end promptly.
	baseCtx    context.Context
	cancelBase context.CancelFunc

	// events is the hub of GET /events; watch watches the head and the
	// hash rate (watch.go).
	events         *hub
	watch          watcher
	eventBuffer    int           // EventBuffer; tests lower it
	eventKeepAlive time.Duration // EventKeepAlive; tests lower it
	mineRequests   atomic.Int64  // GET/POST /mine requests running
}

// New builds a Server. It panics if a required field of cfg is nil.
func New(cfg Config) *Server {
	cfg = cfg.withLight()
	if cfg.Chain == nil || cfg.Network == nil || cfg.Miner == nil {
		panic("api: Config.Chain, Config.Network and Config.Miner are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if cfg.MineTimeout <= 0 {
		cfg.MineTimeout = DefaultMineTimeout
	}
	if cfg.ResolveTimeout <= 0 {
		cfg.ResolveTimeout = DefaultResolveTimeout
	}
	if cfg.RegisterTimeout <= 0 {
		cfg.RegisterTimeout = DefaultRegisterTimeout
	}
	if cfg.MaxConns <= 0 {
		cfg.MaxConns = DefaultMaxConns
	}
	if cfg.MaxChainStreams <= 0 {
		cfg.MaxChainStreams = DefaultMaxChainStreams
	}
	s := &Server{
		cfg:    cfg,
		log:    cfg.Logger.With("component", "api"),
		chain:  cfg.Chain,
		net:    cfg.Network,
		miner:  cfg.Miner,
		client: cfg.HTTPClient,

		batchBlocks: streamBatchBlocks,
		batchBytes:  streamBatchBytes,

		events:         newHub(MaxEventClients),
		watch:          watcher{side: make(chan *chain.Block, sideQueue)},
		eventBuffer:    EventBuffer,
		eventKeepAlive: EventKeepAlive,

		chainStreams: make(chan struct{}, cfg.MaxChainStreams),
		streamWait:   chainStreamWait,
	}
	s.conns = newConnLimiter(cfg.MaxConns, s.log)
	if s.client == nil {
		s.client = &http.Client{
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	s.lastResolved = s.chain.Head().Hash
	s.baseCtx, s.cancelBase = context.WithCancel(context.Background())
	s.metrics = newMetrics(s)
	s.handler = s.routes()
	s.srv = &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: ReadHeaderTimeout,
		ReadTimeout:       ReadTimeout,
		WriteTimeout:      WriteTimeout,
		IdleTimeout:       IdleTimeout,
		MaxHeaderBytes:    MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
		BaseContext:       func(net.Listener) context.Context { return s.baseCtx },
		ConnState:         s.conns.state,
	}
	return s
}

// Handler returns the API's handler, with routing, metrics, body limits and
// panic recovery.
func (s *Server) Handler() http.Handler { return s.handler }

// Serve serves the API on ln until Shutdown, with at most Config.MaxConns
// connections open. Like http.Server.Serve it always returns a non-nil
// error; after Shutdown that is http.ErrServerClosed.
func (s *Server) Serve(ln net.Listener) error {
	s.startWatch()
	return s.srv.Serve(s.conns.wrap(ln))
}

// Shutdown stops accepting connections, cancels the requests that mine or
// resolve, and waits until ctx is done for the requests in flight to
// finish; then it closes the remaining connections.
func (s *Server) Shutdown(ctx context.Context) error {
	s.cancelBase()
	err := s.srv.Shutdown(ctx)
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		s.srv.Close()
	}
	s.stopWatch()
	return err
}

func (s *Server) routes() http.Handler {
	if s.cfg.Light != nil {
		return s.middleware(s.lightRoutes())
	}
	mux := http.NewServeMux()
	// The tutorial's endpoints.
	mux.HandleFunc("POST /transactions/new", s.handleNewTransaction)
	mux.HandleFunc("GET /mine", s.handleMine)
	mux.HandleFunc("POST /mine", s.handleMine)
	mux.HandleFunc("GET /chain", s.limitChainStreams(s.handleChain))
	mux.HandleFunc("POST /nodes/register", s.handleRegister)
	mux.HandleFunc("GET /nodes/resolve", s.handleResolve)
	// Inspection and submission.
	mux.HandleFunc("GET /status", s.handleStatus)
	mux.HandleFunc("GET /peers", s.handlePeers)
	mux.HandleFunc("GET /blocks/{id}", s.handleBlock)
	mux.HandleFunc("POST /blocks", s.handleSubmitBlock)
	mux.HandleFunc("GET /transactions/pending", s.handlePending)
	// Signed ledgers (ledger.go).
	mux.HandleFunc("POST /transactions", s.handleSubmitSigned)
	mux.HandleFunc("POST /transactions/batch", s.handleBatch)
	mux.HandleFunc("GET /accounts/{address}", s.handleAccount)
	mux.HandleFunc("GET /fees", s.handleFees)
	mux.HandleFunc("GET /accounts/{address}/transactions", s.handleAccountTransactions)
	mux.HandleFunc("GET /transactions/{id}", s.handleTransaction)
	mux.Handle("GET /metrics", s.metrics.handler())
	s.proofRoutes(mux) // proof.go
	// The explorer and what it reads besides the endpoints above.
	mux.HandleFunc("GET /events", s.handleEvents)
	mux.HandleFunc("GET /forks", s.handleForks)
	mux.HandleFunc("GET /blocks/recent", s.handleRecentBlocks)
	mux.HandleFunc("GET /addresses/{address...}", s.handleAddress)
	explorerRoutes(mux)
	return s.middleware(mux)
}

// explorerRoutes adds the explorer's pages and assets to mux.
func explorerRoutes(mux *http.ServeMux) {
	mux.Handle("GET /{$}", explorer.Index())
	mux.Handle("GET "+explorer.Prefix, explorer.Assets())
	mux.Handle("GET "+peer.Path, peer.Page())
	mux.Handle("GET "+peer.Path+"/"+peer.BundleName, peer.Bundle())
}
