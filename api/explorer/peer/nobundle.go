//go:build nopeerpage

package peer

import "embed"

// bundle is empty: the tag nopeerpage builds a node without the peer page,
// as one built before scripts/build-peer-page.sh ran.
var bundle embed.FS
