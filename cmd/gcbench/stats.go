package main

import (
	"fmt"
	"math"
	"slices"
	"time"
)

// percentile returns the p-th percentile (0 < p <= 1) of xs by the
// nearest-rank method: the smallest value such that at least p of the
// values are less than or equal to it. xs need not be sorted; it is not
// modified. It returns NaN for an empty slice.
func percentile(xs []float64, p float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	return percentileSorted(s, p)
}

// percentileSorted is percentile for a sorted slice.
func percentileSorted(s []float64, p float64) float64 {
	if len(s) == 0 {
		return math.NaN()
	}
	rank := int(math.Ceil(p*float64(len(s)) - 1e-9))
	rank = min(max(rank, 1), len(s))
	return s[rank-1]
}

// median returns the median of xs: the middle value, or the mean of the two
// middle values for an even count. NaN for an empty slice.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// spread summarises repeated measurements of one figure.
type spread struct {
	Median float64 `json:"median"`
	Min    float64 `json:"min"`
	Max    float64 `json:"max"`
	N      int     `json:"runs"`
}

// summarize returns the median, minimum and maximum of xs.
func summarize(xs []float64) spread {
	if len(xs) == 0 {
		return spread{Median: math.NaN(), Min: math.NaN(), Max: math.NaN()}
	}
	return spread{Median: median(xs), Min: slices.Min(xs), Max: slices.Max(xs), N: len(xs)}
}

// format writes the spread as "median (min a, max b, n runs)" with each
// value formatted by f.
func (s spread) format(f func(float64) string) string {
	if s.N <= 1 {
		return f(s.Median)
	}
	return fmt.Sprintf("%s (min %s, max %s; %d runs)", f(s.Median), f(s.Min), f(s.Max), s.N)
}

// latencies summarises delays as p50, p99 and max.
type latencies struct {
	P50, P99, Max time.Duration
	N             int
}

// summarizeDurations returns p50, p99 and max of ds.
func summarizeDurations(ds []time.Duration) latencies {
	if len(ds) == 0 {
		return latencies{}
	}
	xs := make([]float64, len(ds))
	for i, d := range ds {
		xs[i] = float64(d)
	}
	slices.Sort(xs)
	return latencies{
		P50: time.Duration(percentileSorted(xs, 0.50)),
		P99: time.Duration(percentileSorted(xs, 0.99)),
		Max: time.Duration(xs[len(xs)-1]),
		N:   len(xs),
	}
}

func (l latencies) String() string {
	return fmt.Sprintf("p50 %s, p99 %s, max %s", fmtDur(l.P50), fmtDur(l.P99), fmtDur(l.Max))
}

// fmtDur formats a duration with three significant digits in the unit that
// suits it: "850 µs", "1.23 ms", "45.6 ms", "2.35 s".
func fmtDur(d time.Duration) string {
	switch {
	case d < time.Millisecond:
		return sig3(float64(d)/float64(time.Microsecond)) + " µs"
	case d < time.Second:
		return sig3(float64(d)/float64(time.Millisecond)) + " ms"
	default:
		return sig3(d.Seconds()) + " s"
	}
}

// fmtRate formats a count per second with a metric prefix: "812 /s",
// "21.5 k/s", "50.6 M/s".
func fmtRate(r float64) string {
	return fmtSI(r) + "/s"
}

// fmtSI formats a number with three significant digits and a metric prefix
// (k, M, G), followed by a space: "812 ", "21.5 k", "50.6 M".
func fmtSI(v float64) string {
	switch a := math.Abs(v); {
	case math.IsNaN(v):
		return "n/a "
	case a >= 1e9:
		return sig3(v/1e9) + " G"
	case a >= 1e6:
		return sig3(v/1e6) + " M"
	case a >= 1e3:
		return sig3(v/1e3) + " k"
	default:
		return sig3(v) + " "
	}
}

// fmtBytes formats a byte count in decimal units: "23.4 MB".
func fmtBytes(b float64) string {
	switch {
	case math.IsNaN(b):
		return "n/a"
	case b >= 1e9:
		return sig3(b/1e9) + " GB"
	case b >= 1e6:
		return sig3(b/1e6) + " MB"
	case b >= 1e3:
		return sig3(b/1e3) + " kB"
	default:
		return fmt.Sprintf("%.0f B", b)
	}
}

// fmtRatio formats a dimensionless ratio: "1.88×".
func fmtRatio(r float64) string {
	if math.IsNaN(r) || math.IsInf(r, 0) {
		return "n/a"
	}
	return sig3(r) + "×"
}

// sig3 formats v with three significant digits and no exponent: 0.00123,
// 1.20, 12.3, 123, 1234.
func sig3(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "n/a"
	}
	a := math.Abs(v)
	decimals := 0
	switch {
	case a == 0:
		decimals = 0
	case a < 1:
		decimals = 2 - int(math.Floor(math.Log10(a)))
	case a < 10:
		decimals = 2
	case a < 100:
		decimals = 1
	}
	return fmt.Sprintf("%.*f", decimals, v)
}
