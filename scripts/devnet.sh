#!/usr/bin/env bash
# devnet.sh: a local gossipchain network of N nodes on this machine.
#
#   scripts/devnet.sh [--wipe] [--ledger open|signed] [N]   (N defaults to 3)
#   scripts/devnet.sh stop I            stop node I of a running devnet
#   scripts/devnet.sh restart I         stop node I (if running) and start it again
#
# Builds the gossipchain command once (with the explorer's peer page when
# node and npm are installed: scripts/build-peer-page.sh), then starts N
# nodes on loopback: node i (1..N) serves HTTP on 127.0.0.1:(5000+i-1),
# listens for peers on /ip4/127.0.0.1/tcp/(4001+i-1) and on QUIC (and so
# for browsers on WebTransport) at /ip4/127.0.0.1/udp/(4001+i-1)/quic-v1,
# and keeps its data in $DEVNET_DIR/node<i>.
# mDNS is off; nodes 2..N bootstrap to node 1's multiaddr. It prints a table
# of HTTP URLs and multiaddrs, then waits: Ctrl-C stops every node. A node
# that stops (or is stopped) leaves the others running; stop and restart,
# from another terminal, act on one node. Logs are appended to
# $DEVNET_DIR/node<i>.log, one header line per start.
# Data directories are kept between runs (same peer IDs, same chains) unless
# --wipe is given or DEVNET_WIPE=1.
# --ledger signed starts a network of signed accounts (balances, nonces,
# Ed25519 signatures): node i's mining rewards are spendable with
# "gossipchain send --key $DEVNET_DIR/node<i>/identity.key ...". A data
# directory of the other ledger mode belongs to another network: add --wipe.
#
# Environment (all optional):
#   DEVNET_DIR     where data, logs and the binary go   (default ./devnet)
#   DEVNET_WIPE=1  start from empty data directories
#   HTTP_BASE      HTTP port of node 1                   (default 5000)
#   P2P_BASE       TCP port of node 1                    (default 4001)
#   NETWORK        network name                          (default devnet)
#   LEDGER         open or signed, as --ledger            (default open)
#   DIFFICULTY     proof-of-work bits                    (default: the command's default)
#   NODE_ARGS      extra flags for every node, e.g. "--log-level debug"
#
# Needs only Go: the nodes are asked for their status with the gossipchain
# command it builds. Without node and npm the nodes serve, at /peer, a page
# saying how to build the peer page (apt-get install nodejs npm, then run
# scripts/build-peer-page.sh and this script again).
set -euo pipefail

usage() {
	sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
}

wipe="${DEVNET_WIPE:-0}"
ledger="${LEDGER:-open}"
count=3
action=run
target=""
case "${1:-}" in
stop | restart)
	action="$1"
	target="${2:-}"
	case "$target" in
	*[!0-9]* | '') echo "devnet.sh: $action wants a node number, got '$target'" >&2; exit 2 ;;
	esac
	shift 2
	;;
esac
while [ $# -gt 0 ]; do
	case "$1" in
	-h | --help) usage; exit 0 ;;
	--wipe) wipe=1 ;;
	--ledger)
		ledger="${2:-}"
		shift
		;;
	--ledger=*) ledger="${1#--ledger=}" ;;
	*[!0-9]* | '') echo "devnet.sh: unexpected argument '$1' (want [--wipe] [--ledger open|signed] [N])" >&2; exit 2 ;;
	*) count="$1" ;;
	esac
	shift
done
case "$ledger" in
open | signed) ;;
*) echo "devnet.sh: --ledger wants open or signed, got '$ledger'" >&2; exit 2 ;;
esac
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
if [ "$ledger" != open ]; then
	node_args+=(--ledger "$ledger")
fi

command -v go >/dev/null || { echo "devnet.sh: go is not installed" >&2; exit 1; }

mkdir -p "$dir"
bin="$dir/bin/gossipchain"

# node_pid I: the pid of node I if it runs, else nothing.
node_pid() {
	local f="$dir/node$1.pid" pid
	[ -f "$f" ] || return 0
	pid="$(cat "$f")"
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
		echo "$pid"
	fi
}

# stop_node I: SIGTERM to node I, then SIGKILL after 15 s.
stop_node() {
	local pid
	pid="$(node_pid "$1")"
	[ -n "$pid" ] || return 0
	kill -TERM "$pid" 2>/dev/null || true
	local deadline=$((SECONDS + 15))
	while kill -0 "$pid" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ]; do
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		echo "node$1 (pid $pid) did not stop; killing it" >&2
		kill -KILL "$pid" 2>/dev/null || true
	fi
	rm -f "$dir/node$1.pid"
}

# start_node I: starts node I with the arguments saved in node<I>.args,
# appending to its log, and records its pid.
start_node() {
	local i="$1" args=()
	mapfile -t args <"$dir/node$i.args"
	echo "=== $(date -u +%Y-%m-%dT%H:%M:%SZ) devnet.sh starts node$i: ${args[*]}" >>"$dir/node$i.log"
	"$bin" "${args[@]}" >>"$dir/node$i.log" 2>&1 &
	echo "$!" >"$dir/node$i.pid"
}

if [ "$action" != run ]; then
	if [ ! -f "$dir/node$target.args" ]; then
		echo "devnet.sh: no node$target in $dir (start the devnet first)" >&2
		exit 1
	fi
	echo "Stopping node$target ..."
	stop_node "$target"
	if [ "$action" = restart ]; then
		start_node "$target"
		echo "node$target started again (pid $(cat "$dir/node$target.pid")); log: $dir/node$target.log"
	fi
	exit 0
fi

peer="$root/api/explorer/peer"
if [ -f "$peer/dist/peer.js" ] && [ -z "$(find "$peer/src" "$peer/package-lock.json" -newer "$peer/dist/peer.js" -print -quit)" ]; then
	: # the peer page is built and newer than its sources
elif command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; then
	echo "Building the peer page ..."
	if ! "$root/scripts/build-peer-page.sh"; then
		echo "devnet.sh: the peer page did not build (see above); the nodes serve the HTTP explorer and, at /peer, how to build it"
	fi
else
	echo "devnet.sh: node and npm are not installed, so the nodes serve no peer page (/peer);"
	echo "  to have it: apt-get install nodejs npm, then run this script again"
fi
echo "Building $bin ..."
"$root/scripts/build.sh" "$bin"

started=0
stopping=0
sleeper=""
cleanup() {
	local status=$? i pid pids=()
	[ "$stopping" = 1 ] && return
	stopping=1
	trap - INT TERM
	[ -n "$sleeper" ] && kill "$sleeper" 2>/dev/null
	if [ "$started" -gt 0 ]; then
		# Every node gets its SIGTERM at once, before anything else runs
		# (read and kill are builtins: no process to start under load).
		for ((i = 1; i <= started; i++)); do
			if [ -f "$dir/node$i.pid" ] && read -r pid <"$dir/node$i.pid" && [ -n "$pid" ]; then
				pids+=("$pid")
			fi
		done
		[ "${#pids[@]}" -gt 0 ] && kill -TERM "${pids[@]}" 2>/dev/null
		echo
		echo "Stopping the devnet ..."
		for ((i = 1; i <= started; i++)); do
			stop_node "$i"
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
	sed -n 's/.*"'"$1"'": *"\([^"]*\)".*/\1/p' | head -n 1
}

# wait_up I URL: waits until node I answers /status, or fails.
wait_up() {
	local i="$1" url="$2" pid
	pid="$(cat "$dir/node$i.pid")"
	for _ in $(seq 1 300); do
		if ! kill -0 "$pid" 2>/dev/null; then
			echo "devnet.sh: node$i exited during start; last lines of $dir/node$i.log:" >&2
			tail -n 20 "$dir/node$i.log" >&2
			exit 1
		fi
		if "$bin" status --node "$url" --timeout 2s --json >/dev/null 2>&1; then
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
	if "$bin" status --node "$url" --timeout 1s --json >/dev/null 2>&1; then
		echo "devnet.sh: something already answers on $url; stop it first" >&2
		exit 1
	fi
	args=(--datadir "$data" --network "$network" --http "127.0.0.1:$http_port"
		--listen "/ip4/127.0.0.1/tcp/$p2p_port" --listen "/ip4/127.0.0.1/udp/$p2p_port/quic-v1"
		--mdns=false "${node_args[@]}")
	if [ -n "$bootstrap" ]; then
		args+=(--bootstrap "$bootstrap")
	fi
	printf '%s\n' "${args[@]}" >"$dir/node$i.args"
	start_node "$i"
	started=$i
	wait_up "$i" "$url"
	if [ "$i" = 1 ]; then
		id="$("$bin" status --node "$url" --timeout 5s --json | json_field peer_id)"
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
	id="$("$bin" status --node "$url" --timeout 5s --json | json_field peer_id)"
	printf '%-7s %-8s %-23s %s\n' "node$i" "$(cat "$dir/node$i.pid")" "$url" "/ip4/127.0.0.1/tcp/$p2p_port/p2p/$id"
done
echo
echo "Logs: $dir/node<i>.log. Explorer: http://127.0.0.1:$http_base/ Peer page: http://127.0.0.1:$http_base/peer"
echo "Try: curl http://127.0.0.1:$http_base/mine"
if [ "$ledger" = signed ]; then
	echo "Signed ledger: node1's rewards go to its peer ID; spend them with"
	echo "  $bin send --key $dir/node1/identity.key --to ADDRESS --amount N --node http://127.0.0.1:$http_base"
fi
echo "Stop or restart one node: $0 stop|restart I. Press Ctrl-C to stop the devnet."

# Watch the nodes until every one has stopped (or Ctrl-C). A node that
# stops is reported once; the others keep running, and a node restarted with
# "devnet.sh restart I" is watched again.
declare -A reported=()
while :; do
	alive=0
	for i in $(seq 1 "$count"); do
		pid="$(node_pid "$i")"
		if [ -n "$pid" ]; then
			alive=$((alive + 1))
			unset "reported[$i]"
		elif [ -z "${reported[$i]:-}" ]; then
			reported[$i]=1
			echo "devnet.sh: node$i stopped; the others keep running (restart it: $0 restart $i). Last lines of $dir/node$i.log:" >&2
			tail -n 5 "$dir/node$i.log" >&2
		fi
	done
	[ "$alive" -gt 0 ] || break
	# A signal ends the wait builtin at once, where it would wait for a
	# foreground sleep to end before running its trap.
	sleep 1 &
	sleeper=$!
	wait "$sleeper" || true
	sleeper=""
done
echo "devnet.sh: every node has stopped" >&2
exit 1
