package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/gossipchain/gossipchain/chain"
)

// metricPrefix starts every metric name.
const metricPrefix = "gossipchain_"

// metrics are the series of GET /metrics, in a registry of their own.
type metrics struct {
	reg       *prometheus.Registry
	requests  *prometheus.CounterVec   // by route and code
	durations *prometheus.HistogramVec // by route
	mined     prometheus.Counter
	submitted *prometheus.CounterVec // POST /blocks outcomes

	eventsDropped prometheus.Counter // GET /events clients dropped for falling behind
}

func newMetrics(s *Server) *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: metricPrefix + "http_requests_total",
			Help: "HTTP requests answered, by route pattern and status code.",
		}, []string{"route", "code"}),
		durations: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    metricPrefix + "http_request_duration_seconds",
			Help:    "Time to answer HTTP requests, by route pattern.",
			Buckets: []float64{.001, .005, .025, .1, .5, 2.5, 10, 60},
		}, []string{"route"}),
		mined: prometheus.NewCounter(prometheus.CounterOpts{
			Name: metricPrefix + "api_blocks_mined_total",
			Help: "Blocks mined through GET or POST /mine.",
		}),
		submitted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: metricPrefix + "api_blocks_submitted_total",
			Help: "Blocks submitted through POST /blocks, by outcome: extended, reorganized, side_branch, known, orphan, or the rule broken.",
		}, []string{"result"}),
		eventsDropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: metricPrefix + "api_event_clients_dropped_total",
			Help: "GET /events clients disconnected because they fell behind.",
		}),
	}
	gauge := func(name, help string, f func() float64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: metricPrefix + name, Help: help}, f)
	}
	m.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.requests, m.durations, m.mined, m.submitted, m.eventsDropped,
		gauge("event_clients", "Clients of GET /events.",
			func() float64 { return float64(s.events.clients()) }),
		gauge("chain_height", "Height of the main chain (index of the head block).",
			func() float64 { return float64(s.chain.Head().Height) }),
		gauge("chain_total_work", "Cumulative work of the main chain (expected hash attempts).",
			func() float64 {
				if w := s.chain.Head().Work; w != nil {
					f, _ := w.Float64()
					return f
				}
				return 0
			}),
		gauge("chain_difficulty", "Leading zero bits of the next block's target.",
			func() float64 { return float64(chain.TargetZeroBits(s.chain.Head().NextBits)) }),
		gauge("pending_transactions", "Transactions in the pending pool.",
			func() float64 { return float64(s.chain.PendingCount()) }),
		gauge("peers", "Connected peers.",
			func() float64 { return float64(len(s.net.Peers())) }),
		gauge("mining_hash_rate", "Hash attempts per second while a proof-of-work search runs, else 0.",
			func() float64 { return s.hashRate() }),
		gauge("mining", "1 while the node mines (continuously or for GET /mine), else 0.",
			func() float64 {
				if s.isMining() {
					return 1
				}
				return 0
			}),
	)
	for _, c := range s.cfg.Collectors {
		m.reg.MustRegister(c)
	}
	return m
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
}

// observe records one answered request.
func (m *metrics) observe(route string, code int, d time.Duration) {
	if code == 0 {
		code = http.StatusOK
	}
	m.requests.WithLabelValues(route, strconv.Itoa(code)).Inc()
	m.durations.WithLabelValues(route).Observe(d.Seconds())
}
