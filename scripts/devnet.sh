#!/usr/bin/env bash
# devnet.sh: a local gossipchain network of N nodes on this machine.
#
#   scripts/devnet.sh [--wipe] [N]      (N defaults to 3)
#
# Builds the gossipchain command once, then starts N nodes on loopback:
# node i (1..N) serves HTTP on 127.0.0.1:(5000+i-1), listens for peers on
# /ip4/127.0.0.1/tcp/(4001+i-1) and keeps its data in $DEVNET_DIR/node<i>.
# mDNS is off; nodes 2..N bootstrap to node 1's multiaddr. It prints a table
# of HTTP URLs and multiaddrs, then waits: Ctrl-C stops every node.
# Data directories are kept between runs (same peer IDs, same chains) unless
# --wipe is given or DEVNET_WIPE=1.
#
# Environment (all optional):
#   DEVNET_DIR     where data, logs and the binary go   (default ./devnet)
#   DEVNET_WIPE=1  start from empty data directories
#   HTTP_BASE      HTTP port of node 1                   (default 5000)
#   P2P_BASE       TCP port of node 1                    (default 4001)
#   NETWORK        network name                          (default devnet)
#   DIFFICULTY     proof-of-work bits                    (default: the command's default)
#   NODE_ARGS      extra flags for every node, e.g. "--log-level debug"
#
# Needs Go and curl.
set -euo pipefail

usage() {
	sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
}

wipe="${DEVNET_WIPE:-0}"
count=3
while [ $# -gt 0 ]; do
	case "$1" in
	-h | --help) usage; exit 0 ;;
	--wipe) wipe=1 ;;
	*[!0-9]* | '') echo "devnet.sh: unexpected argument '$1' (want [--wipe] [N])" >&2; exit 2 ;;
	*) count="$1" ;;
	esac
	shift
done
if [ "$count" -lt 1 ] || [ "$count" -gt 50 ]; then
	echo "devnet.sh: N must be from 1 to 50, got $count" >&2
	exit 2
fi

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dir="${DEVNET_DIR:-$root/devnet}"
http_base="${HTTP_BASE:-5000}"
p2p_base="${P2P_BASE:-4001}"
network="${NETWORK:-devnet}"
read -r -a node_args <<<"${NODE_ARGS:-}"
if [ -n "${DIFFICULTY:-}" ]; then
	node_args+=(--difficulty "$DIFFICULTY")
fi

command -v go >/dev/null || { echo "devnet.sh: go is not installed" >&2; exit 1; }
command -v curl >/dev/null || { echo "devnet.sh: curl is not installed" >&2; exit 1; }

mkdir -p "$dir"
bin="$dir/bin/gossipchain"
echo "Building $bin ..."
(cd "$root" && go build -o "$bin" ./cmd/gossipchain)

pids=()
stopping=0
cleanup() {
	local status=$?
	[ "$stopping" = 1 ] && return
	stopping=1
	trap - INT TERM
	if [ "${#pids[@]}" -gt 0 ]; then
		echo
		echo "Stopping ${#pids[@]} node(s) ..."
		kill -TERM "${pids[@]}" 2>/dev/null || true
		local deadline=$((SECONDS + 15))
		for pid in "${pids[@]}"; do
			while kill -0 "$pid" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ]; do
				sleep 0.1
			done
			if kill -0 "$pid" 2>/dev/null; then
				echo "node (pid $pid) did not stop; killing it" >&2
				kill -KILL "$pid" 2>/dev/null || true
			fi
			wait "$pid" 2>/dev/null || true
		done
		echo "All nodes stopped. Data and logs are in $dir"
	fi
	exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# json_field NAME: the string value of "NAME" in the JSON on stdin.
json_field() {
	sed -n 's/.*"'"$1"'":"\([^"]*\)".*/\1/p'
}

# wait_up I URL: waits until node I answers /status, or fails.
wait_up() {
	local i="$1" url="$2" pid="${pids[$1 - 1]}"
	for _ in $(seq 1 300); do
		if ! kill -0 "$pid" 2>/dev/null; then
			echo "devnet.sh: node$i exited during start; last lines of $dir/node$i.log:" >&2
			tail -n 20 "$dir/node$i.log" >&2
			exit 1
		fi
		if curl -fsS --max-time 2 "$url/status" >/dev/null 2>&1; then
			return 0
		fi
		sleep 0.1
	done
	echo "devnet.sh: node$i did not answer $url/status within 30s; see $dir/node$i.log" >&2
	exit 1
}

# Job control puts every node in its own process group, so that Ctrl-C
# reaches this script only and each node gets exactly one SIGTERM.
set -m

bootstrap=""
for i in $(seq 1 "$count"); do
	http_port=$((http_base + i - 1))
	p2p_port=$((p2p_base + i - 1))
	url="http://127.0.0.1:$http_port"
	data="$dir/node$i"
	if [ "$wipe" = 1 ]; then
		rm -rf "$data"
	fi
	if curl -fsS --max-time 1 "$url/status" >/dev/null 2>&1; then
		echo "devnet.sh: something already answers on $url; stop it first" >&2
		exit 1
	fi
	args=(--datadir "$data" --network "$network" --http "127.0.0.1:$http_port"
		--listen "/ip4/127.0.0.1/tcp/$p2p_port" --mdns=false "${node_args[@]}")
	if [ -n "$bootstrap" ]; then
		args+=(--bootstrap "$bootstrap")
	fi
	"$bin" "${args[@]}" >"$dir/node$i.log" 2>&1 &
	pids+=($!)
	wait_up "$i" "$url"
	if [ "$i" = 1 ]; then
		id="$(curl -fsS --max-time 5 "$url/status" | json_field peer_id)"
		if [ -z "$id" ]; then
			echo "devnet.sh: no peer_id in $url/status" >&2
			exit 1
		fi
		bootstrap="/ip4/127.0.0.1/tcp/$p2p_port/p2p/$id"
	fi
done

echo
printf '%-7s %-8s %-23s %s\n' NODE PID HTTP MULTIADDR
for i in $(seq 1 "$count"); do
	http_port=$((http_base + i - 1))
	p2p_port=$((p2p_base + i - 1))
	url="http://127.0.0.1:$http_port"
	id="$(curl -fsS --max-time 5 "$url/status" | json_field peer_id)"
	printf '%-7s %-8s %-23s %s\n' "node$i" "${pids[$i - 1]}" "$url" "/ip4/127.0.0.1/tcp/$p2p_port/p2p/$id"
done
echo
echo "Logs: $dir/node<i>.log. Try: curl http://127.0.0.1:$http_base/mine"
echo "Press Ctrl-C to stop the devnet."

# Wait until a node exits by itself (an error) or Ctrl-C.
set +e
wait -n "${pids[@]}"
status=$?
set -e
for i in $(seq 1 "$count"); do
	if ! kill -0 "${pids[$i - 1]}" 2>/dev/null; then
		echo "devnet.sh: node$i exited (status $status); last lines of $dir/node$i.log:" >&2
		tail -n 20 "$dir/node$i.log" >&2
	fi
done
exit 1
