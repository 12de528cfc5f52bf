#!/usr/bin/env bash
# lan.sh N — a simulated LAN on this machine: N network namespaces joined by
# a bridge, one gossipchain node in each, no bootstrap list: the nodes find
# each other through mDNS alone. Each node's HTTP API is reachable from the
# host at http://10.232.0.<i>:5000. Everything is torn down on exit (Ctrl-C).
#
# Requires root (network namespaces) and ip(8) from iproute2.
#   sudo scripts/lan.sh 4
# Environment: GOSSIPCHAIN_DIFFICULTY (default 16), GOSSIPCHAIN_NETWORK (default lan).
set -euo pipefail

n=${1:-3}
if ! [[ $n =~ ^[0-9]+$ ]] || ((n < 1 || n > 50)); then
	echo "usage: $0 N   (1 <= N <= 50)" >&2
	exit 2
fi
if ((EUID != 0)); then
	echo "lan.sh creates network namespaces and a bridge: run it as root (sudo $0 $n)" >&2
	exit 1
fi
command -v ip >/dev/null || { echo "lan.sh needs ip(8): apt-get install iproute2" >&2; exit 1; }

root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d /tmp/gossipchain-lan.XXXXXX)
bin=$work/gossipchain
tag=$$
bridge=gclan$((tag % 10000))
prefix=10.232.0
difficulty=${GOSSIPCHAIN_DIFFICULTY:-16}
network=${GOSSIPCHAIN_NETWORK:-lan}
pids=()

cleanup() {
	trap - EXIT INT TERM
	for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
	for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
	for i in $(seq 1 "$n"); do ip netns del "gclan$tag-$i" 2>/dev/null || true; done
	ip link del "$bridge" 2>/dev/null || true
	rm -rf "$work"
	echo "lan: stopped and removed"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "lan: building gossipchain"
(cd "$root" && go build -o "$bin" ./cmd/gossipchain)

ip link add "$bridge" type bridge
ip addr add "$prefix.254/24" dev "$bridge"
ip link set "$bridge" up

for i in $(seq 1 "$n"); do
	ns=gclan$tag-$i
	ip netns add "$ns"
	ip link add "gl$tag-$i" type veth peer name eth0 netns "$ns"
	ip link set "gl$tag-$i" master "$bridge" up
	ip netns exec "$ns" ip addr add "$prefix.$i/24" dev eth0
	ip netns exec "$ns" ip link set eth0 up multicast on
	ip netns exec "$ns" ip link set lo up
	ip netns exec "$ns" "$bin" \
		--datadir "$work/node$i" --network "$network" --difficulty "$difficulty" \
		--listen "/ip4/$prefix.$i/tcp/4001" --http "$prefix.$i:5000" --mdns=true \
		>"$work/node$i.log" 2>&1 &
	pids+=($!)
done

for i in $(seq 1 "$n"); do
	for _ in $(seq 1 300); do
		curl -fs "http://$prefix.$i:5000/status" >/dev/null && break
		sleep 0.1
	done
done

printf '\n%-6s %-28s %s\n' node http "multiaddr"
for i in $(seq 1 "$n"); do
	addr=$(curl -fs "http://$prefix.$i:5000/status" | grep -o "\"/ip4/$prefix\.$i/tcp/4001/p2p/[^\"]*\"" | tr -d '"' || true)
	printf '%-6s %-28s %s\n' "$i" "http://$prefix.$i:5000" "${addr:-(not up: see $work/node$i.log)}"
done
echo
echo "lan: nodes discover each other by mDNS; try: curl http://$prefix.1:5000/peers"
echo "lan: logs in $work; Ctrl-C stops everything"
wait
