#!/usr/bin/env bash
# readme.sh: follows README.md on a fresh clone, as a newcomer would, and
# checks what it promises.
#
#   scripts/readme.sh [--verbose]
#
# Clones this repository's current commit (HEAD: uncommitted changes are not
# in the clone) into a temporary directory and there runs README.md's
# commands as written, checking each one's exit code and the key part of its
# output:
#   1. the opening: scripts/devnet.sh 3 in the background; the three nodes
#      answer /status and are connected; a block mined on node 1 with curl
#      reaches nodes 2 and 3; Ctrl-C (SIGINT) stops every node;
#   2. "The tutorial's walkthrough": go build, two nodes, the six curl
#      requests with their HTTP codes and answers;
#   3. "Command-line client": status, peers, chain, mine, tx send, balance,
#      the two mistakes it shows and their exit codes, against those nodes;
#   4. scripts/walkthrough.sh, which the walkthrough's section names;
#   5. "Signed ledger and wallet": a signed devnet, key new and show, mine,
#      send, the accounts and balances the README shows;
#   6. the wallet lines of "Command-line client" on that network: key show,
#      balance --key and by address, send (refused, then accepted);
# and that git ignores every file these commands leave in the clone.
# The test command of the README is not run here: it is what runs this
# script (TestREADMEWalkthrough in e2e/readme/).
#
# Each command is printed ("$ ..."; curl runs with -sS and prints the HTTP
# code after the body), then PASS or FAIL with what was checked. The first
# failure ends the run with exit code 1, after the command's output and the
# tail of every node's log. Every process started here is stopped, and the
# temporary directory removed, on any exit; nothing is written in the
# repository.
#
# The README's commands use fixed ports: HTTP 5000-5002 and p2p 4001-4003
# (TCP, and UDP 4001-4002 for the walkthrough's QUIC) must be free; a busy
# one stops the run before anything starts, named, with exit code 3.
#
# Options:
#   -v, --verbose  print every command's output, not only a failing one's
#
# Needs bash, git, Go and curl; ss (iproute2), when installed, checks UDP
# ports too.
set -euo pipefail

usage() {
	sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
}

verbose=0
while [ $# -gt 0 ]; do
	case "$1" in
	-h | --help) usage; exit 0 ;;
	-v | --verbose) verbose=1 ;;
	*) echo "readme.sh: unexpected argument '$1' (see --help)" >&2; exit 2 ;;
	esac
	shift
done

for tool in git go curl; do
	command -v "$tool" >/dev/null || { echo "readme.sh: $tool is not installed" >&2; exit 1; }
done

# A newcomer's shell: none of the variables the scripts and the command read.
unset GOSSIPCHAIN_NODE DEVNET_DIR DEVNET_WIPE HTTP_BASE P2P_BASE NETWORK LEDGER DIFFICULTY NODE_ARGS

root="$(git -C "$(dirname "${BASH_SOURCE[0]}")" rev-parse --show-toplevel)"
tmp="$(mktemp -d "${TMPDIR:-/tmp}/gossipchain-readme.XXXXXX")"
clone="$tmp/clone"
logs="$tmp/logs" # output of the commands run in the background
out="$tmp/out"   # output of the last command
mkdir -p "$logs"
: >"$out"
last=""       # the last command run
bg_pids=()    # background commands, each the leader of its process group
cleaning=0
started_at=$SECONDS

# node_pids: the pids devnet.sh recorded for the nodes it runs.
node_pids() {
	local f pid
	for f in "$clone"/devnet/node*.pid; do
		[ -f "$f" ] && read -r pid <"$f" && [ -n "$pid" ] && echo "$pid"
	done
	return 0
}

# alive PID...: true while one of the processes runs.
alive() {
	local pid
	for pid in "$@"; do
		kill -0 "$pid" 2>/dev/null && return 0
	done
	return 1
}

# wait_gone SECONDS PID...: waits until none of the processes runs; false
# if one still does after SECONDS.
wait_gone() {
	local deadline=$((SECONDS + $1))
	shift
	while alive "$@"; do
		[ "$SECONDS" -lt "$deadline" ] || return 1
		sleep 0.1
	done
}

cleanup() {
	local status=$? pids=() pid
	[ "$cleaning" = 1 ] && return
	cleaning=1
	trap - INT TERM
	set +m # no job notices for the commands stopped here
	mapfile -t pids < <(node_pids)
	pids+=("${bg_pids[@]}")
	if alive "${pids[@]}"; then
		# SIGINT to every background command, as Ctrl-C in its terminal:
		# devnet.sh stops its nodes, a node shuts down cleanly.
		for pid in "${bg_pids[@]}"; do
			! alive "$pid" || kill -INT -- "-$pid" 2>/dev/null || true
		done
		if ! wait_gone 20 "${pids[@]}"; then
			echo "readme.sh: processes still running 20 s after SIGINT; killing them" >&2
			for pid in "${bg_pids[@]}"; do
				! alive "$pid" || kill -KILL -- "-$pid" 2>/dev/null || true
			done
			mapfile -t pids < <(node_pids)
			[ "${#pids[@]}" -eq 0 ] || kill -KILL "${pids[@]}" 2>/dev/null || true
		fi
	fi
	rm -rf "$tmp"
	exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Job control: every background command leads a process group of its own,
# as in a terminal, so that it takes SIGINT (a background job of a script
# would ignore it) and a Ctrl-C on this script reaches this script only.
set -m

# tails: the last lines of every log.
tails() {
	local f
	for f in "$logs"/*.log "$clone"/devnet/node*.log; do
		[ -f "$f" ] || continue
		echo "--- last 20 lines of ${f#"$tmp"/}"
		tail -n 20 "$f"
	done
}

# fail WHAT: prints FAIL, the last command's output and the logs, and exits.
fail() {
	echo "FAIL  $*"
	if [ -n "$last" ]; then
		echo "--- output of: $last"
		cat "$out"
	fi
	tails
	exit 1
}

# pass WHAT: prints PASS.
pass() {
	echo "PASS  $*"
}

# section TITLE: a heading.
section() {
	echo
	echo "== $* =="
}

# curl as the README's commands run it here: errors shown, and the HTTP code
# printed after the body, where the checks read it.
curl_fn='curl() { command curl -sS -w "\nHTTP %{http_code}\n" "$@"; }'

# run RC LINE: prints LINE, a command of the README, runs it with bash in
# the clone (the gossipchain built there comes first in PATH), its output
# and errors in $out, and fails unless it exits with RC. Every command is
# bounded by 150 s.
run() {
	local want="$1" rc=0
	last="$2"
	printf '$ %s\n' "$last"
	(cd "$clone" && PATH="$clone:$PATH" timeout 150 bash -c "$curl_fn
$last") >"$out" 2>&1 || rc=$?
	if [ "$verbose" = 1 ]; then
		sed 's/^/    /' "$out"
	fi
	[ "$rc" = "$want" ] || fail "exit code $rc, want $want"
}

# has TEXT...: fails unless the last command's output holds every TEXT.
has() {
	local t
	for t in "$@"; do
		grep -qF -- "$t" "$out" || fail "its output lacks: $t"
	done
}

# has_re REGEX...: fails unless the last command's output matches every
# extended REGEX (each on one line).
has_re() {
	local r
	for r in "$@"; do
		grep -qE -- "$r" "$out" || fail "no line of its output matches: $r"
	done
}

# field NAME: the value of the key "NAME" in the last output (JSON; the
# last one on its line): a string's content, or a number.
field() {
	sed -n 's/.*"'"$1"'": *"\{0,1\}\([^",}]*\).*/\1/p' "$out" | head -n 1
}

# row NAME: the value of the row NAME in the last output (a table).
row() {
	sed -n 's/^'"$1"'  *//p' "$out" | head -n 1
}

# A command started while SIGINT is ignored cannot trap it, and this script
# inherits that when started in the background without job control (by a CI
# runner, say): background commands start with SIGINT and SIGQUIT reset, as
# a terminal's shell starts them.
default_signals=()
if env --default-signal=INT,QUIT true 2>/dev/null; then
	default_signals=(env --default-signal=INT,QUIT)
fi

# start NAME LINE: prints LINE, a command of the README ending in " &", and
# starts it in the background in the clone, its output in $logs/NAME.log;
# its pid in $bg_pid.
start() {
	local name="$1" argv=()
	last="$2"
	printf '$ %s\n' "$last"
	read -r -a argv <<<"${last% &}"
	(cd "$clone" && exec "${default_signals[@]}" "${argv[@]}") >"$logs/$name.log" 2>&1 &
	bg_pid=$!
	bg_pids+=("$bg_pid")
}

# wait_until SECONDS WHAT COMMAND...: runs COMMAND every 0.2 s until it
# succeeds, then passes WHAT; fails after SECONDS. COMMAND writes what it
# saw to $out, shown on failure.
wait_until() {
	local secs="$1" what="$2" deadline
	shift 2
	deadline=$((SECONDS + secs))
	last="$*"
	until "$@"; do
		[ "$SECONDS" -lt "$deadline" ] || fail "$what: not within ${secs} s"
		sleep 0.2
	done
	pass "$what"
}

# status PORT: the /status of the node at 127.0.0.1:PORT, in $out.
status() {
	curl -fsS --max-time 5 "http://127.0.0.1:$1/status" >"$out" 2>&1
}

# printed PID LOG TEXT: true once the log holds TEXT (fixed), in $out;
# fails at once if the background command PID has exited without it.
printed() {
	cp "$logs/$2.log" "$out"
	grep -qF -- "$3" "$out" && return 0
	alive "$1" || fail "it exited before printing: $3"
	return 1
}

# up PID PORT: true once the node PID answers on 127.0.0.1:PORT; fails at
# once if it has exited.
up() {
	status "$2" && return 0
	alive "$1" || fail "the node exited (its log is below)"
	return 1
}

# all_say FIELD VALUE PORT...: true when the /status of every node says
# FIELD is VALUE.
all_say() {
	local name="$1" value="$2" p
	shift 2
	for p in "$@"; do
		status "$p" && [ "$(field "$name")" = "$value" ] || return 1
	done
}

# port_busy PROTO PORT: true if something listens on PORT (tcp or udp).
port_busy() {
	if command -v ss >/dev/null; then
		[ -n "$(ss -Hln "--$1" "sport = :$2" 2>/dev/null)" ]
	elif [ "$1" = tcp ]; then
		(exec 3<>"/dev/tcp/127.0.0.1/$2") 2>/dev/null
	else
		return 1
	fi
}

# ctrl_c PID WHAT: SIGINT to the process group of the background command
# PID, as Ctrl-C in its terminal; passes when it and every node devnet.sh
# recorded have exited within 10 s, it with exit code 130.
ctrl_c() {
	local pid="$1" what="$2" nodes=() t0 rc=0
	mapfile -t nodes < <(node_pids)
	printf '$ ^C   (SIGINT to %s, pid %s; nodes %s)\n' "$what" "$pid" "${nodes[*]}"
	last="^C to $what"
	t0=$(date +%s%N)
	kill -INT -- "-$pid"
	if ! wait_gone 10 "$pid" "${nodes[@]}"; then
		local ignored=0
		ignored=$(awk '/^SigIgn:/ { print $2 }' "/proc/$pid/status" 2>/dev/null) || true
		if (((16#${ignored:-0} & 2) != 0)); then
			fail "$what ignores SIGINT, as what started this script does, and env cannot reset it (coreutils 8.31 or later can)"
		fi
		fail "$what or one of its nodes (${nodes[*]}) still runs 10 s after SIGINT"
	fi
	wait "$pid" || rc=$?
	cp "$logs/devnet.log" "$out"
	[ "$rc" = 130 ] || fail "$what exited with $rc after SIGINT, want 130"
	has "All nodes stopped."
	pass "Ctrl-C: $what and its ${#nodes[@]} nodes exited in $((($(date +%s%N) - t0) / 1000000)) ms"
}

echo "readme.sh: README.md on a fresh clone of $root"
if [ -n "$(git -C "$root" status --porcelain --untracked-files=no)" ]; then
	echo "note: the work tree has uncommitted changes; the clone has the last commit only"
fi
repo_state="$(git -C "$root" status --porcelain)"
for p in tcp:5000 tcp:5001 tcp:5002 tcp:4001 tcp:4002 tcp:4003 udp:4001 udp:4002; do
	if port_busy "${p%%:*}" "${p#*:}"; then
		echo "FAIL  port ${p#*:}/${p%%:*} is in use: the README's commands need HTTP 5000-5002 and p2p 4001-4003 free (scripts/devnet.sh 3 and the walkthrough's nodes); stop what listens there (ss -lntup 'sport = :${p#*:}' names it)"
		exit 3
	fi
done
git clone --quiet "$root" "$clone"
git -C "$clone" checkout --quiet "$(git -C "$root" rev-parse HEAD)"
pass "cloned $(git -C "$clone" rev-parse --short=12 HEAD) into $clone"

section "1. The opening: scripts/devnet.sh 3, then Ctrl-C"
start devnet 'scripts/devnet.sh 3 &'
devnet=$bg_pid
# The first build in a fresh clone compiles every package of the module.
wait_until 300 "devnet.sh built the command and started 3 nodes" printed "$devnet" devnet "Press Ctrl-C to stop the devnet."
has_re '^node1 .*http://127\.0\.0\.1:5000 +/ip4/127\.0\.0\.1/tcp/4001/p2p/12D3KooW' \
	'^node2 .*http://127\.0\.0\.1:5001 +/ip4/127\.0\.0\.1/tcp/4002/p2p/12D3KooW' \
	'^node3 .*http://127\.0\.0\.1:5002 +/ip4/127\.0\.0\.1/tcp/4003/p2p/12D3KooW'
pass "its table lists node i on HTTP 500(i-1) and /tcp/400i"
run 0 'devnet/bin/gossipchain --version'
has "devel-$(git -C "$clone" rev-parse --short=12 HEAD)"
pass "scripts/build.sh stamped the commit for --version"
wait_until 60 "every node is connected to the two others (bootstrap and peer exchange)" all_say peers 2 5000 5001 5002
run 0 'curl http://127.0.0.1:5000/mine'
has '"message":"New Block Forged"' '"index":2,' 'HTTP 200'
pass "GET /mine on node 1: 200, block 2"
mined="$(field hash)"
wait_until 30 "block 2 ($mined) is the head of nodes 2 and 3" all_say head "$mined" 5001 5002
ctrl_c "$devnet" "scripts/devnet.sh"

section "2. The tutorial's walkthrough"
run 0 'go build -o gossipchain ./cmd/gossipchain'
pass "built ./gossipchain"
start node1 './gossipchain --mdns=false &'
node1=$bg_pid
start node2 './gossipchain --mdns=false -p 5001 &'
node2=$bg_pid
wait_until 60 "node 1 answers on 127.0.0.1:5000" up "$node1" 5000
wait_until 60 "node 2 answers on 127.0.0.1:5001" up "$node2" 5001
has '/tcp/4002/p2p/12D3KooW'
[ -d "$clone/gossipchain-data/5001" ] || fail "no data directory gossipchain-data/5001"
pass "node 2 listens on p2p port 4002 and keeps its data in gossipchain-data/5001"
run 0 'curl http://localhost:5000/mine'
has '"message":"New Block Forged","index":2,' '"sender":"0"' '"amount":1' 'HTTP 200'
pass "200, New Block Forged, index 2, the reward"
run 0 'curl -X POST -H "Content-Type: application/json" -d '"'"'{
 "sender": "d4ee26eee15148ee92c6cd394edd974e",
 "recipient": "someone-other-address",
 "amount": 5
}'"'"' "http://localhost:5000/transactions/new"'
has '"message":"Transaction will be added to Block 3"' '"id":"' 'HTTP 201'
pass "201, Transaction will be added to Block 3"
run 0 'curl http://localhost:5000/mine'
has '"message":"New Block Forged","index":3,' '"sender":"d4ee26eee15148ee92c6cd394edd974e"' 'HTTP 200'
pass "200, block 3 holds the transaction"
run 0 'curl http://localhost:5000/chain'
has '{"chain":[{"index":1,"timestamp":1704067200.000000,' '"length":3}' 'HTTP 200'
pass "200, the chain from the genesis, length 3"
head="$(sed -n 's/.*"hash":"\([0-9a-f]*\)"}],"length":3}.*/\1/p' "$out")"
run 0 'curl -X POST -H "Content-Type: application/json" -d '"'"'{
 "nodes": ["http://127.0.0.1:5000"]
}'"'"' "http://localhost:5001/nodes/register"'
has '"message":"New nodes have been added"' '"total_nodes":["/ip4/127.0.0.1/tcp/4001/p2p/12D3KooW' 'HTTP 201'
pass "201, New nodes have been added, node 1's multiaddr"
run 0 'curl http://localhost:5001/nodes/resolve'
has '"message":"Our chain was replaced","new_chain":[' "\"hash\":\"$head\"" 'HTTP 200'
[ "$(grep -o '"index":' "$out" | wc -l)" = 3 ] || fail "new_chain does not hold 3 blocks"
pass "200, Our chain was replaced, 3 blocks up to node 1's head"

section "3. The command-line client, against the walkthrough's nodes"
run 0 'gossipchain status'
has_re '^network +devnet$' \
	'^genesis +f42ccfa649a2086afbe30afa118d0989ffa68c28721894bbb059c4e391f29981$' \
	'^difficulty +22 bits for the next block, retargeting toward one block every 10s \(half-life 40s, at least 22 bits\)$' \
	'^ledger +open: free-form senders, no balances \(gossipchain tx send\)$' \
	'^height +3$' "^head +$head\$" '^peers +1$' '^announced +/ip4/.*/p2p/12D3KooW'
pass "network, genesis, retargeting, ledger, height, head, peers and announced addresses as README shows"
status 5001
peer2="$(field peer_id)"
run 0 'gossipchain peers'
has "$peer2"
pass "lists node 2 ($peer2)"
run 0 'gossipchain chain --limit 5'
has_re "^3 +$head " '^1 +f42ccfa649a2086afbe30afa118d0989ffa68c28721894bbb059c4e391f29981 '
pass "blocks 3 down to the genesis"
run 0 'gossipchain chain --from-block 2 --limit 1'
has_re '^2 +0000'
grep -qE '^(1|3) ' "$out" && fail "blocks other than 2 listed"
pass "--from-block 2 --limit 1: block 2 only"
run 0 'gossipchain mine 10'
has 'New Blocks Forged: 10 block(s), height 13'
pass "10 blocks, height 13"
run 0 'gossipchain tx send alice bob 5'
has_re '^id +[0-9a-f]{64}$' '^message +Transaction will be added to Block 14$'
pass "accepted for block 14"
run 0 'gossipchain tx send --from alice --to bob --amount 5'
has_re '^message +Transaction will be added to Block 14$'
pass "the flag form, accepted for block 14"
status 5000
head="$(field head)"
pending_on_2() { all_say head "$head" 5001 && all_say pending 2 5001; }
wait_until 30 "node 2 has block 13 and both transactions" pending_on_2
run 0 'gossipchain mine 3 --node http://127.0.0.1:5001 --json'
has '"message": "New Blocks Forged"' '"index": 14,' '"transactions": 3' '"height": 16,'
pass "JSON of node 2: blocks 14-16, block 14 with both transactions"
status 5001
head="$(field head)"
wait_until 30 "node 1 has block 16" all_say head "$head" 5000
run 0 'gossipchain balance bob'
has_re '^ledger +open: network devnet keeps no balances' '^received +10$' '^sent +0$'
pass "the open ledger keeps no balances, says so, and shows bob's 10 received"
run 2 'gossipchain chain --from 5'
has 'gossipchain chain: unknown flag --from: did you mean --from-block? (--from is a flag of gossipchain tx send)'
pass "exit code 2 and README's message"
run 2 'gossipchain status -p 5001'
has 'gossipchain status: unknown flag -p: -p is a flag of the node (gossipchain -p ... runs one); ask a running node with --node URL, such as --node http://127.0.0.1:5001'
pass "exit code 2 and README's message"
run 1 'gossipchain status --node http://127.0.0.1:5002'
pass "exit code 1 for a node that cannot be reached"
printf '$ kill %%1 %%2   (SIGTERM to the two nodes, pids %s %s)\n' "$node1" "$node2"
last="kill %1 %2"
kill -TERM "$node1" "$node2"
wait_gone 10 "$node1" "$node2" || fail "a node of the walkthrough still runs 10 s after SIGTERM"
for pid in "$node1" "$node2"; do
	rc=0
	wait "$pid" || rc=$?
	[ "$rc" = 0 ] || fail "node $pid exited with $rc after SIGTERM, want 0"
done
pass "both nodes shut down cleanly (exit code 0)"

section "4. scripts/walkthrough.sh, which \"does all of this with two fresh nodes\""
run 0 'scripts/walkthrough.sh'
has '"message":"New Block Forged","index":2,' '"message":"Transaction will be added to Block 3"' \
	'"message":"New Block Forged","index":3,' '"length":3}' '"message":"New nodes have been added"' \
	'"message":"Our chain was replaced"' '[HTTP 201]' 'Stopped the nodes started by walkthrough.sh.'
pass "the six answers, and its nodes stopped"

section "5. Signed ledger and wallet"
start devnet 'scripts/devnet.sh --wipe --ledger signed 3 &'
devnet=$bg_pid
run 0 'go build -o gossipchain ./cmd/gossipchain'
run 0 './gossipchain key new --out alice.key'
has_re '^address +12D3KooW' '^key +alice\.key$'
alice="$(row address)"
pass "alice's address $alice"
run 0 './gossipchain key new --out bob.key'
bob="$(row address)"
run 0 './gossipchain key show --key bob.key'
[ "$(cat "$out")" = "$bob" ] || fail "key show prints something else than bob's address $bob"
pass "bob's address $bob, as key new gave it"
[ "$(stat -c %a "$clone/alice.key")" = 600 ] || fail "alice.key's mode is $(stat -c %a "$clone/alice.key"), want 600"
pass "alice.key has mode 0600"
wait_until 120 "the signed devnet runs (3 nodes)" printed "$devnet" devnet "Press Ctrl-C to stop the devnet."
run 0 './gossipchain mine 3'
has 'height 4'
pass "3 blocks, height 4"
run 0 'curl http://localhost:5000/accounts/$(./gossipchain key show --key devnet/node1/identity.key)'
has '"balance":3,"next_nonce":0,' '"height":4,' 'HTTP 200'
miner="$(field address)"
pass "node 1's account $miner: balance 3, next nonce 0, height 4"
run 0 "./gossipchain send --key devnet/node1/identity.key --to $alice --amount 2"
has_re '^id +[0-9a-f]{64}$' "^from +$miner\$" "^to +$alice\$" '^amount +2$' '^nonce +0$' \
	'^message +Transaction will be added to Block 5$'
pass "id, from, to, amount 2, nonce 0, block 5"
run 0 './gossipchain mine'
has 'height 5'
pass "block 5"
wait_until 30 "node 2 has block 5" all_say height 5 5001
run 0 "curl http://localhost:5001/accounts/$alice"
has "\"address\":\"$alice\",\"balance\":2,\"next_nonce\":0," 'HTTP 200'
pass "alice's balance 2 on node 2"
run 0 './gossipchain balance --key alice.key --node http://localhost:5001'
has_re "^address +$alice\$" '^balance +2  \(confirmed at height 5\)$' '^next nonce +0$'
pass "address, balance 2 confirmed at height 5, next nonce 0"
run 1 './gossipchain key new --out alice.key'
has 'alice.key already exists'
run 0 './gossipchain key show --key alice.key'
[ "$(cat "$out")" = "$alice" ] || fail "alice.key changed"
pass "key new refuses to replace alice.key (exit code 1)"

section "6. The wallet lines of \"Command-line client\", on the signed devnet"
run 0 'gossipchain balance --key alice.key'
has_re "^address +$alice\$" '^balance +2 '
pass "alice: 2"
run 0 "gossipchain balance $bob"
has_re "^address +$bob\$" '^balance +0 '
pass "bob (by address): 0"
run 1 "gossipchain send --key alice.key --to $bob --amount 5"
has 'insufficient_balance'
pass "5 is more than alice has: exit code 1, the rule named"
run 0 "gossipchain send --key alice.key --to $bob --amount 2"
has_re '^nonce +0$' '^message +Transaction will be added to Block 6$'
pass "2: nonce 0, block 6"
run 0 'gossipchain mine'
has 'height 6'
run 0 'gossipchain balance --key bob.key'
has_re '^balance +2 '
pass "bob: 2 after block 6"
ctrl_c "$devnet" "scripts/devnet.sh --ledger signed"

section "What the commands left"
last="git status --porcelain"
git -C "$clone" status --porcelain >"$out"
[ ! -s "$out" ] || fail "the README's commands left files that .gitignore does not cover"
pass ".gitignore covers the keys, the binary, devnet/ and gossipchain-data/"
[ "$(git -C "$root" status --porcelain)" = "$repo_state" ] || fail "the repository's status changed during the run"
pass "the repository is as it was"

echo
echo "readme.sh: every step passed in $((SECONDS - started_at)) s"
