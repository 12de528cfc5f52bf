package api

import (
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/gossipchain/gossipchain/chain"
	"github.com/gossipchain/gossipchain/chain/store"
	"github.com/gossipchain/gossipchain/p2p"
	gsync "github.com/gossipchain/gossipchain/sync"
)

// metricFamilies are the families of /metrics of a node assembled as
// cmd/gossipchain does, without the Go runtime's and the process's: the
// names, types, labels and help texts that dashboards and alerts depend on.
var metricFamilies = []family{
	{"gossipchain_api_blocks_mined_total", "counter", "", "Blocks mined through GET or POST /mine."},
	{"gossipchain_api_blocks_submitted_total", "counter", "result", "Blocks submitted through POST /blocks, by outcome: extended, reorganized, side_branch, known, orphan, or the rule broken."},
	{"gossipchain_api_event_clients_dropped_total", "counter", "", "GET /events clients disconnected because they fell behind."},
	{"gossipchain_chain_difficulty", "gauge", "", "Leading zero bits of the next block's target."},
	{"gossipchain_chain_height", "gauge", "", "Height of the main chain (index of the head block)."},
	{"gossipchain_chain_total_work", "gauge", "", "Cumulative work of the main chain (expected hash attempts)."},
	{"gossipchain_event_clients", "gauge", "", "Clients of GET /events."},
	{"gossipchain_http_request_duration_seconds", "histogram", "route", "Time to answer HTTP requests, by route pattern."},
	{"gossipchain_http_requests_total", "counter", "code,route", "HTTP requests answered, by route pattern and status code."},
	{"gossipchain_mining", "gauge", "", "1 while the node mines (continuously or for GET /mine), else 0."},
	{"gossipchain_mining_hash_rate", "gauge", "", "Hash attempts per second while a proof-of-work search runs, else 0."},
	{"gossipchain_peers", "gauge", "", "Connected peers."},
	{"gossipchain_pending_transactions", "gauge", "", "Transactions in the pending pool."},
	{"gossipchain_sync_blocks_accepted_total", "counter", "", "Gossiped or submitted blocks added to the chain."},
	{"gossipchain_sync_blocks_ignored_total", "counter", "", "Gossiped blocks already known, stale or orphaned."},
	{"gossipchain_sync_blocks_rejected_total", "counter", "reason", "Invalid gossiped or submitted blocks, by the rule broken."},
	{"gossipchain_sync_blocks_served_total", "counter", "", "Blocks sent in chain-exchange answers."},
	{"gossipchain_sync_blocks_synced_total", "counter", "", "Blocks added to the chain from chain-exchange replies."},
	{"gossipchain_sync_first_session_start_seconds", "gauge", "", "Unix time at which the first sync session since start-up began, 0 before any."},
	{"gossipchain_sync_orphans", "gauge", "", "Blocks in the orphan pool."},
	{"gossipchain_sync_orphans_added_total", "counter", "", "Blocks put in the orphan pool."},
	{"gossipchain_sync_orphans_connected_total", "counter", "", "Orphans added to the chain once their parent arrived."},
	{"gossipchain_sync_peers", "gauge", "", "Connected peers of this network whose status is known."},
	{"gossipchain_sync_peers_penalized_total", "counter", "", "Peers banned for breaking a stream protocol."},
	{"gossipchain_sync_peers_wrong_network_total", "counter", "", "Peers disconnected for having another genesis."},
	{"gossipchain_sync_requests_made_total", "counter", "", "Chain-exchange requests sent."},
	{"gossipchain_sync_requests_served_total", "counter", "", "Chain-exchange requests answered."},
	{"gossipchain_sync_status_exchanges_total", "counter", "", "Status exchanges completed, either side."},
	{"gossipchain_sync_syncs_completed_total", "counter", "", "Sync sessions that ended without error."},
	{"gossipchain_sync_syncs_failed_total", "counter", "", "Sync sessions that ended with an error."},
	{"gossipchain_sync_transactions_accepted_total", "counter", "", "Gossiped or submitted transactions added to the pending pool."},
	{"gossipchain_sync_transactions_ignored_total", "counter", "", "Transactions already known or refused by a full pool."},
	{"gossipchain_sync_transactions_rejected_total", "counter", "reason", "Invalid gossiped or submitted transactions, by the rule broken."},
	{"p2p_addrbook_dials_total", "counter", "", "Successful dials of peers from the address book."},
	{"p2p_discovery_learned_total", "counter", "", "Peers new to the address book."},
	{"p2p_discovery_requests_total", "counter", "", "Discovery requests made."},
	{"p2p_discovery_served_total", "counter", "", "Discovery requests answered."},
	{"p2p_known_addrs", "gauge", "", "Peers in the address book."},
	{"p2p_peers_inbound", "gauge", "", "Connected peers that dialled this node (the allowance is --max-inbound)."},
	{"p2p_peers_outbound", "gauge", "", "Connected peers this node dialled (the target is --target-peers)."},
	{"p2p_peers_shed_total", "counter", "", "Inbound peers disconnected to keep within the inbound allowance."},
	{"p2p_received_bytes_total", "counter", "protocol", "Bytes received on streams, by protocol ID; gossip by topic name, and gossip-control for the rest of gossip."},
	{"p2p_sent_bytes_total", "counter", "protocol", "Bytes sent on streams, by protocol ID; gossip by topic name, and gossip-control for the rest of gossip."},
	{"sync_pool_announced_total", "counter", "", "Pool announcements sent."},
	{"sync_pool_fetched_total", "counter", "", "Transactions added to the pool by pool exchange."},
	{"sync_pool_ids_dropped_total", "counter", "", "Transaction ids named by peers and dropped unchecked: over the budget, or evicted from a full set."},
	{"sync_pool_served_total", "counter", "", "Pool-exchange requests answered."},
}

// TestMetricFamilies: /metrics of a server given the collectors of a p2p
// node and a sync service, as cmd/gossipchain gives them, holds exactly
// metricFamilies once every family with labels has a series.
func TestMetricFamilies(t *testing.T) {
	var svc *gsync.Service
	n := newTestNode(t, func(cfg *Config) {
		c := cfg.Chain.(*store.Chain)
		node, err := p2p.New(t.Context(), p2p.Config{DataDir: t.TempDir(), Network: c.Params().Name,
			ListenAddrs: []string{"/ip4/127.0.0.1/tcp/0"}, MaxMessageSize: gsync.MaxMessageSize(c.Params()), Logger: quiet})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { node.Close() })
		svc, err = gsync.New(gsync.Config{Chain: c, Node: node, Logger: quiet})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { svc.Close() })
		cfg.Collectors = append(node.Collectors(), svc.Collectors()...)
	})

	// A series of every family with labels: requests answered, a block
	// submitted, a block and a transaction rejected by the sync service.
	n.do(http.MethodGet, "/chain", "").wantCode(t, http.StatusOK)
	n.do(http.MethodPost, "/blocks", blockJSON(t, n.chain.Genesis())).wantCode(t, http.StatusOK)
	badHash := *mineElsewhere(t, 1)[0]
	badHash.Hash[31] ^= 1
	if _, err := svc.SubmitBlock(t.Context(), &badHash); !chain.IsRuleError(err) {
		t.Fatalf("SubmitBlock of a block with a wrong hash: %v, want a rule error", err)
	}
	tx := chain.Transaction{Sender: "alice", Recipient: "bob", Amount: chain.MaxAmount + 1, Nonce: 1}
	tx.ID = tx.ComputeID()
	if err := svc.SubmitTransaction(t.Context(), tx); !chain.IsRuleError(err) {
		t.Fatalf("SubmitTransaction of too large an amount: %v, want a rule error", err)
	}

	got := scrapeFamilies(t, string(n.do(http.MethodGet, "/metrics", "").wantCode(t, http.StatusOK).body))
	want := make(map[string]family, len(metricFamilies))
	for _, f := range metricFamilies {
		want[f.name] = f
	}
	for _, f := range got {
		w, ok := want[f.name]
		switch {
		case !ok:
			t.Errorf("unexpected family %+v", f)
		case f != w:
			t.Errorf("family %+v, want %+v", f, w)
		}
		delete(want, f.name)
	}
	for _, f := range want {
		t.Errorf("missing family %+v", f)
	}
}

// family is one metric family of /metrics: its name, type, the names of
// its labels (le and quantile left out, sorted, comma-separated) and its help
// text.
type family struct {
	name, typ, labels, help string
}

// scrapeFamilies parses the families of a /metrics answer in the Prometheus
// text format, leaving out the Go runtime's and the process's (go_*,
// process_*): they come from the Prometheus client and vary with its
// version and the platform.
func scrapeFamilies(t *testing.T, body string) []family {
	t.Helper()
	byName := map[string]*family{}
	labels := map[string]map[string]bool{}
	var cur string
	for line := range strings.Lines(body) {
		line = strings.TrimSuffix(line, "\n")
		switch {
		case strings.HasPrefix(line, "# HELP "):
			name, help, _ := strings.Cut(strings.TrimPrefix(line, "# HELP "), " ")
			cur = name
			byName[name] = &family{name: name, help: help}
			labels[name] = map[string]bool{}
		case strings.HasPrefix(line, "# TYPE "):
			name, typ, _ := strings.Cut(strings.TrimPrefix(line, "# TYPE "), " ")
			if byName[name] == nil {
				t.Fatalf("TYPE before HELP: %q", line)
			}
			byName[name].typ = typ
		case line == "" || strings.HasPrefix(line, "#"):
		default:
			_, rest, ok := strings.Cut(line, "{")
			if !ok {
				continue
			}
			for rest != "" && rest[0] != '}' {
				key, after, ok := strings.Cut(rest, `="`)
				if !ok {
					t.Fatalf("malformed sample %q", line)
				}
				if key != "le" && key != "quantile" {
					labels[cur][key] = true
				}
				// Skip the value, with its escaped quotes.
				i := 0
				for ; i < len(after) && after[i] != '"'; i++ {
					if after[i] == '\\' {
						i++
					}
				}
				rest = strings.TrimPrefix(after[min(i+1, len(after)):], ",")
			}
		}
	}
	var out []family
	for name, f := range byName {
		if strings.HasPrefix(name, "go_") || strings.HasPrefix(name, "process_") {
			continue
		}
		f.labels = strings.Join(slices.Sorted(maps.Keys(labels[name])), ",")
		out = append(out, *f)
	}
	slices.SortFunc(out, func(a, b family) int { return strings.Compare(a.name, b.name) })
	return out
}
