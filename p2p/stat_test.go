package p2p

import (
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

func TestStatTable(t *testing.T) {
	type stats struct {
		Sent    uint64
		Queued  int
		Dropped map[string]uint64
	}
	var sent atomic.Uint64
	table := StatTable[stats]{
		CounterStat("test_sent_total", "Messages sent.", &sent, func(s *stats) *uint64 { return &s.Sent }),
		GaugeStat("test_queued", "Messages queued.", func(s *stats) float64 { return float64(s.Queued) }),
		LabeledStat("test_dropped_total", "Messages dropped, by reason.", "reason",
			func(s *stats) map[string]uint64 { return s.Dropped }),
	}
	sent.Add(3)
	var st stats
	table.Snapshot(&st)
	if st.Sent != 3 {
		t.Fatalf("snapshot: Sent %d, want 3", st.Sent)
	}

	read := func() stats {
		s := stats{Queued: 2, Dropped: map[string]uint64{"full": 4, "late": 1}}
		table.Snapshot(&s)
		return s
	}
	sent.Add(1)
	const want = `# HELP test_dropped_total Messages dropped, by reason.
# TYPE test_dropped_total counter
test_dropped_total{reason="full"} 4
test_dropped_total{reason="late"} 1
# HELP test_queued Messages queued.
# TYPE test_queued gauge
test_queued 2
# HELP test_sent_total Messages sent.
# TYPE test_sent_total counter
test_sent_total 4
`
	reg := prometheus.NewRegistry()
	reg.MustRegister(table.Collector(read))
	rec := httptest.NewRecorder()
	promhttp.HandlerFor(reg, promhttp.HandlerOpts{}).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if got := rec.Body.String(); got != want {
		t.Fatalf("scraped:\n%s\nwant:\n%s", got, want)
	}
}
