package p2p

import (
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
)

// Stat is one series of a package's statistics S (a snapshot struct such as
// DiscoveryStats) on /metrics, declared once, in that package's StatTable,
// beside its counters. It is a counter (CounterStat), a gauge (GaugeStat) or
// a counter by label (LabeledStat).
type Stat[S any] struct {
	name, help string
	label      string // the label of a counter by label

	count   *atomic.Uint64 // a counter's live value, nil for the others
	field   func(*S) *uint64
	gauge   func(*S) float64
	byLabel func(*S) map[string]uint64
}

// CounterStat is a counter: count holds its live value, which
// StatTable.Snapshot copies to field.
func CounterStat[S any](name, help string, count *atomic.Uint64, field func(*S) *uint64) Stat[S] {
	return Stat[S]{name: name, help: help, count: count, field: field}
}

// GaugeStat is a gauge read from a snapshot; the package fills it in.
func GaugeStat[S any](name, help string, value func(*S) float64) Stat[S] {
	return Stat[S]{name: name, help: help, gauge: value}
}

// LabeledStat is a counter by the values of one label, read from a snapshot;
// the package fills it in.
func LabeledStat[S any](name, help, label string, counts func(*S) map[string]uint64) Stat[S] {
	return Stat[S]{name: name, help: help, label: label, byLabel: counts}
}

// StatTable is the statistics of a package: every series, with its name and
// help on /metrics, read from one snapshot struct S.
type StatTable[S any] []Stat[S]

// Snapshot copies the live value of every counter of t to its field of s.
func (t StatTable[S]) Snapshot(s *S) {
	for _, st := range t {
		if st.count != nil {
			*st.field(s) = st.count.Load()
		}
	}
}

// Collector returns a collector of every series of t, read at each scrape
// from one snapshot taken by read.
func (t StatTable[S]) Collector(read func() S) prometheus.Collector {
	c := &statCollector[S]{table: t, read: read, descs: make([]*prometheus.Desc, len(t))}
	for i, st := range t {
		var labels []string
		if st.byLabel != nil {
			labels = []string{st.label}
		}
		c.descs[i] = prometheus.NewDesc(st.name, st.help, labels, nil)
	}
	return c
}

type statCollector[S any] struct {
	table StatTable[S]
	read  func() S
	descs []*prometheus.Desc
}

func (c *statCollector[S]) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range c.descs {
		ch <- d
	}
}

func (c *statCollector[S]) Collect(ch chan<- prometheus.Metric) {
	s := c.read()
	for i, st := range c.table {
		switch {
		case st.field != nil:
			ch <- prometheus.MustNewConstMetric(c.descs[i], prometheus.CounterValue, float64(*st.field(&s)))
		case st.gauge != nil:
			ch <- prometheus.MustNewConstMetric(c.descs[i], prometheus.GaugeValue, st.gauge(&s))
		default:
			for value, n := range st.byLabel(&s) {
				ch <- prometheus.MustNewConstMetric(c.descs[i], prometheus.CounterValue, float64(n), value)
			}
		}
	}
}
