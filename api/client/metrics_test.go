package client

import (
	"strings"
	"testing"
)

func TestParseMetrics(t *testing.T) {
	text := `# HELP go_goroutines Number of goroutines that currently exist.
# TYPE go_goroutines gauge
go_goroutines 51
process_open_fds 13
gossipchain_http_requests_total{route="GET /status",code="200"} 4
process_resident_memory_bytes 2.43712e+07
`
	m, err := ParseMetrics(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	if m["go_goroutines"] != 51 || m["process_open_fds"] != 13 || m["process_resident_memory_bytes"] != 24371200 ||
		m[`gossipchain_http_requests_total{route="GET /status",code="200"}`] != 4 || len(m) != 4 {
		t.Errorf("got %v", m)
	}
}
