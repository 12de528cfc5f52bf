//go:build !nopeerpage

package peer

import "embed"

// bundle holds dist/: the placeholder README.txt always, and peer.js when
// scripts/build-peer-page.sh ran before the build.
//
//go:embed dist
var bundle embed.FS
