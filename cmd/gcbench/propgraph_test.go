package main

import "testing"

func TestDegreeStats(t *testing.T) {
	// The graph of a triangle and a pendant node: degrees 2, 2, 3, 1.
	graph := [][]int{nil, {0}, {0, 1}, {2}}
	if got, want := degreeStats(degrees(graph)), "mean 2.0 (min 1, max 3)"; got != want {
		t.Errorf("degreeStats = %q, want %q", got, want)
	}
	if got := degreeStats(nil); got != "n/a" {
		t.Errorf("degreeStats(nil) = %q, want n/a", got)
	}
}
