#!/usr/bin/env bash
# resilience.sh runs gossipchain's resilience tests (e2e/resilience_*_test.go)
# against real node processes and summarises what each one tried and what
# held: crashes by SIGKILL while mining, syncing and reorganising; a LAN
# partition healed; churn with leak checks; a transaction flood; a hostile
# peer; hostile peers that pin the sync, flood streams, side branches,
# orphans, subscriptions and the pending pool; HTTP fuzzing.
#
# Usage:
#   scripts/resilience.sh                # long form: 120 kills, 5 minutes of churn, ...
#   scripts/resilience.sh --short        # the sizes of the normal test suite
#   scripts/resilience.sh --run Crash    # only tests matching TestResilience<pattern>
#   scripts/resilience.sh --race         # build the test binary with -race
#
# GOSSIPCHAIN_RESILIENCE_SEED=<n> replays the random choices of an earlier run
# (every test logs its seed). The partition test creates network namespaces
# and is skipped unless run as root. The full output is kept in a log file
# whose path is printed at the end; the exit status is go test's.
set -euo pipefail
cd "$(dirname "$0")/.."

mode=full
run='.*'
race=()
while [ $# -gt 0 ]; do
	case "$1" in
	--short) mode=short ;;
	--run) run="$2"; shift ;;
	--race) race=(-race) ;;
	-h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
	*) echo "resilience.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
	esac
	shift
done

if [ "$mode" = full ]; then
	export GOSSIPCHAIN_RESILIENCE=full
else
	unset GOSSIPCHAIN_RESILIENCE
fi
log="${TMPDIR:-/tmp}/gossipchain-resilience-$(date +%Y%m%d-%H%M%S).log"
echo "gossipchain resilience tests ($mode form), log: $log"

# Progress: one line per test started and finished, and what it held.
set +e
go test "${race[@]}" -count=1 -v -timeout 3h -run "^TestResilience(${run})\$" ./e2e/ 2>&1 |
	tee "$log" |
	grep --line-buffered -E '^(=== RUN|--- (PASS|FAIL|SKIP)|(ok|FAIL)[[:space:]])|HELD:|FAIL:|skipping' |
	sed -u -E 's/^ +[a-z_]+_test\.go:[0-9]+: /    /'
status=${PIPESTATUS[0]}
set -e

echo
echo "== Summary ($mode form) =="
awk '
	/^=== RUN   TestResilience/ { test = $3; order[++n] = test }
	/ TRIED: / { line = $0; sub(/^.* TRIED: /, "", line); tried[test] = tried[test] "\n    tried: " line; next }
	/ HELD: /  { line = $0; sub(/^.* HELD: /, "", line); held[test] = held[test] "\n    held:  " line; next }
	/skipping: / && test != "" { line = $0; sub(/^.*skipping: /, "", line); skipped[test] = line }
	/^    [a-z_]+_test\.go:[0-9]+: / && /not reached within| want |lost |changed |server error|panic|exited|failed [0-9]+ times|grew from/ && !/flood:|warnings and errors|last log lines|: node [0-9.:]+: peer / {
		line = $0; sub(/^ +/, "", line); failure[test] = failure[test] "\n    FAILED: " line
	}
	/^--- (PASS|FAIL|SKIP): TestResilience/ { r = $2; sub(/:$/, "", r); result[$3] = r " " $4 }
	END {
		for (i = 1; i <= n; i++) {
			t = order[i]
			printf "%s: %s\n", t, (t in result ? result[t] : "did not finish")
			if (t in skipped) printf "    skipped: %s\n", skipped[t]
			if (t in tried) printf "%s\n", substr(tried[t], 2)
			if (t in held) printf "%s\n", substr(held[t], 2)
			if (result[t] ~ /^FAIL/ && (t in failure)) printf "%s\n", substr(failure[t], 2)
		}
	}' "$log"
if [ "$status" -ne 0 ]; then
	echo
	echo "FAILED (go test exit status $status): see the FAILED lines above and the log"
fi
echo "full log: $log"
exit "$status"
