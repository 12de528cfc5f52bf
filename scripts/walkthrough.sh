#!/usr/bin/env bash
# walkthrough.sh: the tutorial's curl walkthrough against two local nodes.
#
#   scripts/walkthrough.sh
#
# Starts two nodes on loopback with fresh data directories (HTTP 5000 and
# 5001, p2p /ip4/127.0.0.1/tcp/4001 and 4002, mDNS off, no bootstrap), then
# runs the tutorial's requests with curl, printing each command and its
# response:
#   node 1: GET /mine, POST /transactions/new (the tutorial's body),
#           GET /mine, GET /chain
#   node 2: POST /nodes/register {"nodes": ["http://127.0.0.1:5000"]},
#           GET /nodes/resolve (node 2 adopts node 1's chain)
# and stops the nodes it started on exit.
#
# Environment (all optional):
#   WALKTHROUGH_REUSE=1  use nodes already running at NODE1 and NODE2 instead
#   NODE1, NODE2         their URLs (default http://127.0.0.1:5000 and :5001)
#   DIFFICULTY           proof-of-work bits of the nodes started here
#
# Needs Go (unless reusing nodes) and curl.
set -euo pipefail

case "${1:-}" in
-h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
"") ;;
*) echo "walkthrough.sh: unexpected argument '$1'" >&2; exit 2 ;;
esac

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
node1="${NODE1:-http://127.0.0.1:5000}"
node2="${NODE2:-http://127.0.0.1:5001}"
command -v curl >/dev/null || { echo "walkthrough.sh: curl is not installed" >&2; exit 1; }

pids=()
work=""
stopping=0
cleanup() {
	local status=$?
	[ "$stopping" = 1 ] && return
	stopping=1
	trap - INT TERM
	if [ "${#pids[@]}" -gt 0 ]; then
		kill -TERM "${pids[@]}" 2>/dev/null || true
		local deadline=$((SECONDS + 15))
		for pid in "${pids[@]}"; do
			while kill -0 "$pid" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ]; do
				sleep 0.1
			done
			kill -KILL "$pid" 2>/dev/null || true
			wait "$pid" 2>/dev/null || true
		done
		echo "Stopped the nodes started by walkthrough.sh."
	fi
	if [ -n "$work" ]; then
		rm -rf "$work"
	fi
	exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# start_node I HTTP_PORT P2P_PORT: starts node I and waits for its API.
start_node() {
	local i="$1" http_port="$2" p2p_port="$3"
	local url="http://127.0.0.1:$http_port"
	if curl -fsS --max-time 1 "$url/status" >/dev/null 2>&1; then
		echo "walkthrough.sh: something already answers on $url;" \
			"stop it, or set WALKTHROUGH_REUSE=1 to use it" >&2
		exit 1
	fi
	"$work/gossipchain" --datadir "$work/node$i" --http "127.0.0.1:$http_port" \
		--listen "/ip4/127.0.0.1/tcp/$p2p_port" --mdns=false \
		${DIFFICULTY:+--difficulty "$DIFFICULTY"} >"$work/node$i.log" 2>&1 &
	pids+=($!)
	for _ in $(seq 1 300); do
		if ! kill -0 "${pids[-1]}" 2>/dev/null; then
			echo "walkthrough.sh: node $i exited during start:" >&2
			tail -n 20 "$work/node$i.log" >&2
			exit 1
		fi
		if curl -fsS --max-time 2 "$url/status" >/dev/null 2>&1; then
			return 0
		fi
		sleep 0.1
	done
	echo "walkthrough.sh: node $i did not answer $url/status within 30s" >&2
	exit 1
}

if [ "${WALKTHROUGH_REUSE:-0}" = 1 ]; then
	echo "Using the running nodes $node1 and $node2."
else
	command -v go >/dev/null || { echo "walkthrough.sh: go is not installed" >&2; exit 1; }
	work="$(mktemp -d "${TMPDIR:-/tmp}/gossipchain-walkthrough.XXXXXX")"
	echo "Building gossipchain ..."
	(cd "$root" && go build -o "$work/gossipchain" ./cmd/gossipchain)
	set -m # each node in its own process group: Ctrl-C reaches this script only
	node1="http://127.0.0.1:5000"
	node2="http://127.0.0.1:5001"
	start_node 1 5000 4001
	start_node 2 5001 4002
	echo "Started node 1 ($node1) and node 2 ($node2); logs in $work."
fi

# quote ARG: ARG as a shell word, single-quoted unless it is plain.
quote() {
	if [[ "$1" =~ ^[A-Za-z0-9_./:@=-]+$ ]]; then
		printf '%s' "$1"
	else
		printf "'%s'" "${1//\'/\'\\\'\'}"
	fi
}

# show ARGS...: prints the curl command, runs it and prints the response
# and its status code.
show() {
	echo
	printf '$ curl'
	for a in "$@"; do
		printf ' %s' "$(quote "$a")"
	done
	echo
	curl -sS --max-time 120 -w '\n[HTTP %{http_code}]\n' "$@"
}

show "$node1/mine"
show -X POST -H "Content-Type: application/json" \
	-d '{"sender": "d4ee26eee15148ee92c6cd394edd974e","recipient": "someone-other-address","amount": 5}' \
	"$node1/transactions/new"
show "$node1/mine"
show "$node1/chain"
show -X POST -H "Content-Type: application/json" -d "{\"nodes\": [\"$node1\"]}" "$node2/nodes/register"
show "$node2/nodes/resolve"
echo
