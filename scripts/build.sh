#!/usr/bin/env bash
# build.sh: builds the gossipchain command with its revision stamped in.
#
#   scripts/build.sh OUT        (OUT: the binary to write)
#
# gossipchain --version then prints devel-<12 hex digits of the commit>, with
# -dirty when the work tree has changes. go build stamps that by itself only
# in a plain git clone and without GOFLAGS=-buildvcs=false; this script sets
# it with -ldflags "-X main.version=..." whenever git knows the commit, so it
# works in a worktree and in any environment. Without git it builds without.
set -euo pipefail

case "${1:-}" in
-h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
'') echo "build.sh: want the binary to write: scripts/build.sh OUT" >&2; exit 2 ;;
esac
out="$1"
case "$out" in /*) ;; *) out="$PWD/$out" ;; esac
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
version=""
if rev="$(git -C "$root" rev-parse --short=12 HEAD 2>/dev/null)"; then
	version="devel-$rev"
	if [ -n "$(git -C "$root" status --porcelain --untracked-files=no 2>/dev/null)" ]; then
		version="$version-dirty"
	fi
fi
cd "$root"
if [ -n "$version" ]; then
	go build -ldflags "-X main.version=$version" -o "$out" ./cmd/gossipchain
else
	go build -o "$out" ./cmd/gossipchain
fi
