#!/usr/bin/env bash
# build-peer-page.sh: builds the explorer's peer page (/peer) into
# api/explorer/peer/dist/peer.js, where the next go build embeds it.
#
#   scripts/build-peer-page.sh
#
# It installs exactly the npm packages of api/explorer/peer/package-lock.json
# (npm ci, without running their install scripts) and bundles the page with
# esbuild. It needs node (18 or later) and npm, only at build time: the page
# runs in the browser, the node serves it from its binary. A binary built
# before this script ran serves the HTTP explorer as always, and at /peer a
# page saying how to build the peer page.
set -euo pipefail

case "${1:-}" in
-h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
esac
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root/api/explorer/peer"
for tool in node npm; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "build-peer-page.sh: $tool is not installed (apt-get install nodejs npm)" >&2
		exit 1
	fi
done
npm ci --no-audit --no-fund --ignore-scripts --loglevel=error
npm run --silent build
size="$(wc -c <dist/peer.js)"
echo "build-peer-page.sh: dist/peer.js, $size bytes; build the node now to embed it"
