#!/usr/bin/env bash
# bench.sh: measure gossipchain and write the results as a Markdown table to
# stdout and to BENCHMARKS.md.
#
#   scripts/bench.sh [--quick] [--only STEPS] [--out FILE] [--keep]
#
# Steps, in order (item numbers of the table):
#   mining     1  go test -bench BenchmarkMine (chain/miner) and BenchmarkSearchRatio
#                 (chain/miner/internal/powhash): proof-of-work attempts/s against
#                 the SHA-256 compression rate measured in the same run
#   store      2  validate and store 10,000 and 100,000 blocks (store.Chain.AddBlocks)
#   sync       3  a fresh node process catching up 10,000, 100,000 and
#                 1,000,000 blocks (3 runs each, in one sitting), against bare
#                 bbolt and a bare libp2p stream of the same bytes; start-up
#                 on those chains and on an empty one
#   propagate  4  gossip delays across 10 and 25 node processes (each node's
#                 own ns accept times), against the same topology of bare
#                 libp2p pubsub hosts with an accept-all validator
#   http       5  HTTP API throughput and latency under load
#   footprint  6  memory, goroutines and open files of a node
#   retarget   7  5 mining node processes on a 1 s target block time, the
#                 hash rate raised 10× halfway (the first half's miner
#                 duty-cycled with SIGSTOP/SIGCONT, then the other 4 start
#                 mining): mean interval per half, blocks to settle, stale
#                 rate, deepest reorganisation, the step achieved
#   discovery  8  a fresh node bootstrapped to one peer of a 25-node network
#                 reaching D peers; the network reconverging after its most
#                 connected node is killed
#   ledger     9  POST /transactions of signed (Ed25519) payments admitted to
#                 the pool with 8 and 64 workers, against net/http and the
#                 open POST /transactions/new in the same run
#   holepunch 10  two private nodes behind NATs of a simulated internet
#                 (network namespaces; needs root, skipped otherwise): share
#                 of 20 attempts per NAT kind that end with a hole-punched
#                 direct connection, time from start to it
#   sim           200 complete nodes on go-libp2p's simulated network in
#                 virtual time (package sync/sim: three regions, propagation,
#                 partition and heal, churn, a node joining a long chain) and
#                 the calibration at 10 and 25 nodes without latency; its
#                 report goes to stderr (and DIR/sim.txt), not to the table
#
# Options:
#   --quick       smaller sizes and shorter runs (about 2 minutes)
#   --only STEPS  comma-separated steps to run, e.g. --only mining,http
#   --out FILE    also write the document to FILE (default: BENCHMARKS.md
#                 at the repository root for a full run of every step; with
#                 --quick or --only, stdout only)
#   --keep        keep the work directory (data directories, node logs)
#
# Environment: BENCH_DIR is the work directory (default: a new temporary
# one). A full run takes about 30 minutes on 2 cores (5 of them the sim
# step) and about 6 GB of disk for the 1,000,000-block chains; gcbench
# writes long chains to disk as it makes them. Every node runs on
# 127.0.0.1 with mDNS off (holepunch: in network namespaces, removed at the
# end); every process started is stopped on exit, also on Ctrl-C. Needs Go.
set -euo pipefail

usage() {
	sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
}

quick=0
only=""
out=""
keep=0
while [ $# -gt 0 ]; do
	case "$1" in
	-h | --help) usage; exit 0 ;;
	--quick) quick=1 ;;
	--only) only="${2:?--only needs a list of steps}"; shift ;;
	--only=*) only="${1#--only=}" ;;
	--out) out="${2:?--out needs a file}"; shift ;;
	--out=*) out="${1#--out=}" ;;
	--keep) keep=1 ;;
	*) echo "bench.sh: unexpected argument '$1' (see --help)" >&2; exit 2 ;;
	esac
	shift
done

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
command -v go >/dev/null || { echo "bench.sh: go is not installed" >&2; exit 1; }

if [ -z "$out" ] && [ "$quick" = 0 ] && [ -z "$only" ]; then
	out="$root/BENCHMARKS.md"
fi
dir="${BENCH_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/gossipchain-bench.XXXXXX")}"
mkdir -p "$dir"
results="$dir/results.jsonl"
: >"$results"

# Every step runs as a background job in its own process group (job
# control), so that an interrupt reaches this script, which stops the step;
# gcbench then stops the node processes it started.
set -m
child=""
cleanup() {
	local status=$?
	if [ -n "$child" ]; then
		kill -TERM -- "-$child" 2>/dev/null || true
		wait "$child" 2>/dev/null || true
		child=""
	fi
	if [ "$keep" = 1 ] || { [ "$status" != 0 ] && [ "$status" != 130 ] && [ "$status" != 143 ]; }; then
		echo "bench.sh: work directory kept: $dir" >&2
	elif [ -z "${BENCH_DIR:-}" ]; then
		rm -rf "$dir"
	fi
	exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# step CMD...: runs one step in the background and waits for it.
step() {
	"$@" &
	child=$!
	local rc=0
	wait "$child" || rc=$?
	child=""
	return "$rc"
}

wanted() {
	[ -z "$only" ] || [[ ",$only," == *",$1,"* ]]
}

echo "bench.sh: building into $dir/bin" >&2
go build -o "$dir/bin/gossipchain" ./cmd/gossipchain
go build -o "$dir/bin/gcbench" ./cmd/gcbench
gcbench=("$dir/bin/gcbench")
common=(--results "$results" --gossipchain "$dir/bin/gossipchain" --workdir "$dir/work")
if [ "$keep" = 1 ]; then
	common+=(--keep)
fi

if [ "$quick" = 1 ]; then
	mine_flags=(-count 2 -benchtime 300ms)
	store_flags=(--blocks 2000,10000 --runs 2)
	sync_flags=(--blocks 2000,10000 --runs 2)
	prop_flags=(--nodes 5,10 --blocks 15 --txs 15)
	http_flags=(--workers 8 --post-workers 8,64 --duration 1s)
	foot_flags=(--blocks 10000)
	rt_flags=(--duration 1m --warmup 15s)
	disc_flags=(--nodes 12)
	ledger_flags=(--workers 8,64 --duration 1s --txs 16000)
	hp_flags=(--attempts 4 --parallel 4)
	sim_flags=(-sim.nodes 50 -sim.blocks 5 -sim.churn 1m -sim.partition 40s -sim.calibrate 10)
else
	mine_flags=(-count 5)
	store_flags=(--blocks 10000,100000 --runs 3)
	sync_flags=(--blocks 10000,100000,1000000 --runs 3)
	prop_flags=(--nodes 10,25 --blocks 100 --txs 100)
	http_flags=(--workers 8 --post-workers 8,64 --blocks 1000,100000 --duration 5s)
	foot_flags=(--blocks 1000000)
	rt_flags=(--duration 5m)
	disc_flags=(--nodes 25)
	ledger_flags=(--workers 8,64 --duration 3s)
	hp_flags=(--attempts 20 --parallel 4)
	sim_flags=(-sim.nodes 200 -sim.calibrate 10,25)
fi

failed=()

if wanted mining; then
	echo "bench.sh: mining (go test -bench)" >&2
	mine_cmd=(go test -run '^$' -bench '^(BenchmarkMine|BenchmarkSearchRatio)$' "${mine_flags[@]}" ./chain/miner/ ./chain/miner/internal/powhash/)
	if step "${mine_cmd[@]}" >"$dir/mining.txt" 2>&1; then
		cat "$dir/mining.txt" >&2
	else
		cat "$dir/mining.txt" >&2
		failed+=(mining)
	fi
	shown="go test -run '^\$' -bench '^(BenchmarkMine|BenchmarkSearchRatio)\$' ${mine_flags[*]} ./chain/miner/ ./chain/miner/internal/powhash/"
	step "${gcbench[@]}" gotest --in "$dir/mining.txt" --cmd "$shown" --results "$results" || failed+=(mining)
fi

run_gcbench() { # run_gcbench NAME FLAGS...
	local name="$1"
	shift
	echo "bench.sh: $name" >&2
	step "${gcbench[@]}" "$name" "$@" "${common[@]}" || failed+=("$name")
}
wanted store && run_gcbench store "${store_flags[@]}"
wanted sync && run_gcbench sync "${sync_flags[@]}"
wanted propagate && run_gcbench propagate "${prop_flags[@]}"
wanted http && run_gcbench http "${http_flags[@]}"
wanted footprint && run_gcbench footprint "${foot_flags[@]}"
wanted retarget && run_gcbench retarget "${rt_flags[@]}"
wanted discovery && run_gcbench discovery "${disc_flags[@]}"
wanted ledger && run_gcbench ledger "${ledger_flags[@]}"
if wanted holepunch; then
	if [ "$(id -u)" = 0 ]; then
		run_gcbench holepunch "${hp_flags[@]}"
	else
		echo "bench.sh: holepunch skipped: it creates network namespaces and needs root" >&2
	fi
fi
if wanted sim; then
	echo "bench.sh: sim (go test ./sync/sim/ ${sim_flags[*]})" >&2
	step go test ./sync/sim/ -run '^(TestCalibration|TestScenarios)$' -count 1 -timeout 0 -v -args "${sim_flags[@]}" >"$dir/sim.txt" 2>&1 || failed+=(sim)
	grep -v -e '^=== RUN' -e '^--- ' -e '^PASS' -e '^ok ' "$dir/sim.txt" >&2 || true
fi

reproduce="scripts/bench.sh"
if [ "$quick" = 1 ]; then
	reproduce="scripts/bench.sh --quick"
fi
if [ -n "$only" ]; then
	reproduce="$reproduce --only $only"
fi
report=("${gcbench[@]}" report --results "$results" --reproduce "$reproduce")
if [ -n "$out" ]; then
	report+=(--out "$out")
fi
step "${report[@]}"
if [ -n "$out" ]; then
	echo "bench.sh: wrote $out" >&2
fi

if [ "${#failed[@]}" -gt 0 ]; then
	echo "bench.sh: failed steps: ${failed[*]} (see the table and $dir)" >&2
	exit 1
fi
