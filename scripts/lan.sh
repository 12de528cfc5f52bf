#!/usr/bin/env bash
# lan.sh: a simulated LAN on this machine: N network namespaces joined by a
# bridge, one gossipchain node in each, no bootstrap list: the nodes find
# each other through mDNS alone.
#
#   sudo scripts/lan.sh [--ledger open|signed] [N]   (N defaults to 3, at most 50)
#
# Node i listens on 10.232.0.<i> (TCP port 4001) and serves HTTP on
# http://10.232.0.<i>:5000, reachable from the host. It prints a table of
# HTTP URLs and multiaddrs, then waits: Ctrl-C stops every node and removes
# the namespaces and the bridge. Data, logs (node<i>.log) and the binary go
# to $LAN_DIR, which is kept on exit (and given to the user who ran sudo), so
# that the logs can be read afterwards; the script prints where it is.
#
# Environment (all optional), named as for scripts/devnet.sh:
#   LAN_DIR      where data, logs and the binary go   (default: a new /tmp/gossipchain-lan.XXXXXX)
#   NETWORK      network name                          (default lan)
#   LEDGER       open or signed, as --ledger            (default open)
#   DIFFICULTY   fixed proof-of-work bits, as --difficulty (default: none, the network retargets)
#   NODE_ARGS    extra flags for every node, e.g. "--mine --miner-threads 1"
#
# Needs root (network namespaces), ip(8) from iproute2, Go and curl.
set -euo pipefail

usage() {
	sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
}

n=3
ledger="${LEDGER:-open}"
while [ $# -gt 0 ]; do
	case "$1" in
	-h | --help) usage; exit 0 ;;
	--ledger)
		ledger="${2:-}"
		shift
		;;
	--ledger=*) ledger="${1#--ledger=}" ;;
	*[!0-9]* | '') echo "lan.sh: unexpected argument '$1' (want [--ledger open|signed] [N]; --help)" >&2; exit 2 ;;
	*) n="$1" ;;
	esac
	shift
done
case "$ledger" in
open | signed) ;;
*) echo "lan.sh: --ledger wants open or signed, got '$ledger'" >&2; exit 2 ;;
esac
if ((n < 1 || n > 50)); then
	echo "lan.sh: N must be from 1 to 50, got $n" >&2
	exit 2
fi
if ((EUID != 0)); then
	echo "lan.sh creates network namespaces and a bridge: run it as root (sudo $0 $n)" >&2
	exit 1
fi
command -v ip >/dev/null || { echo "lan.sh: ip(8) is not installed: apt-get install iproute2" >&2; exit 1; }
command -v go >/dev/null || { echo "lan.sh: go is not installed" >&2; exit 1; }
command -v curl >/dev/null || { echo "lan.sh: curl is not installed" >&2; exit 1; }

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
dir="${LAN_DIR:-$(mktemp -d /tmp/gossipchain-lan.XXXXXX)}"
mkdir -p "$dir"
bin="$dir/bin/gossipchain"
tag=$$
bridge=gclan$((tag % 10000))
prefix=10.232.0
network="${NETWORK:-lan}"
read -r -a node_args <<<"${NODE_ARGS:-}"
if [ -n "${DIFFICULTY:-}" ]; then
	node_args+=(--difficulty "$DIFFICULTY")
fi
if [ "$ledger" != open ]; then
	node_args+=(--ledger "$ledger")
fi
pids=()

cleanup() {
	trap - EXIT INT TERM
	if [ "${#pids[@]}" -gt 0 ]; then
		kill -TERM "${pids[@]}" 2>/dev/null || true
		for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
	fi
	for i in $(seq 1 "$n"); do ip netns del "gclan$tag-$i" 2>/dev/null || true; done
	ip link del "$bridge" 2>/dev/null || true
	if [ -n "${SUDO_UID:-}" ]; then
		chown -R "$SUDO_UID:${SUDO_GID:-$SUDO_UID}" "$dir" 2>/dev/null || true
	fi
	echo "lan: stopped; namespaces and bridge removed. Data and logs kept in $dir (node<i>.log)"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

echo "lan: building $bin"
"$root/scripts/build.sh" "$bin"

ip link add "$bridge" type bridge
ip addr add "$prefix.254/24" dev "$bridge"
ip link set "$bridge" up

# Job control puts every node in its own process group, so that Ctrl-C
# reaches this script only and each node gets exactly one SIGTERM.
set -m
for i in $(seq 1 "$n"); do
	ns=gclan$tag-$i
	ip netns add "$ns"
	ip link add "gl$tag-$i" type veth peer name eth0 netns "$ns"
	ip link set "gl$tag-$i" master "$bridge" up
	ip netns exec "$ns" ip addr add "$prefix.$i/24" dev eth0
	ip netns exec "$ns" ip link set eth0 up multicast on
	ip netns exec "$ns" ip link set lo up
	echo "=== $(date -u +%Y-%m-%dT%H:%M:%SZ) lan.sh starts node$i" >>"$dir/node$i.log"
	ip netns exec "$ns" "$bin" \
		--datadir "$dir/node$i" --network "$network" \
		--listen "/ip4/$prefix.$i/tcp/4001" --http "$prefix.$i:5000" --mdns=true "${node_args[@]}" \
		>>"$dir/node$i.log" 2>&1 &
	pids+=($!)
done

for i in $(seq 1 "$n"); do
	for _ in $(seq 1 300); do
		curl -fs --max-time 2 "http://$prefix.$i:5000/status" >/dev/null && break
		sleep 0.1
	done
done

printf '\n%-6s %-28s %s\n' node http "multiaddr"
for i in $(seq 1 "$n"); do
	addr=$(curl -fs --max-time 5 "http://$prefix.$i:5000/status" | grep -o "\"/ip4/$prefix\.$i/tcp/4001/p2p/[^\"]*\"" | head -n 1 | tr -d '"' || true)
	printf '%-6s %-28s %s\n' "$i" "http://$prefix.$i:5000" "${addr:-(not up: see $dir/node$i.log)}"
done
echo
echo "lan: nodes discover each other by mDNS; try: curl http://$prefix.1:5000/peers"
echo "lan: logs in $dir/node<i>.log (kept on exit); Ctrl-C stops everything"
wait
