// Package peer serves the explorer's peer page at /peer: a browser tab that
// joins the network itself, over WebTransport, and checks the proof of work
// of every block it receives by gossip.
//
// The page's JavaScript (src/, with the js-libp2p packages pinned in
// package.json and package-lock.json) is bundled by
// scripts/build-peer-page.sh into dist/peer.js, which is never committed
// and is embedded in the binary when it was built before the binary. A
// binary built without it (or with the build tag nopeerpage) serves, at
// /peer, a page saying how to build it; the HTTP explorer at / is the same
// either way.
package peer

import (
	"bytes"
	_ "embed"
	"io/fs"
	"net/http"
	"time"

	"github.com/gossipchain/gossipchain/api/explorer"
)

// Path is where the page is served; its bundle is served under Path + "/".
const Path = "/peer"

// BundleName is the file of the bundle in dist/ and under Path + "/".
const BundleName = "peer.js"

//go:embed page.html
var page []byte

//go:embed missing.html
var missing []byte

// Built reports whether the bundle was embedded in this binary.
func Built() bool {
	_, err := fs.Stat(bundle, "dist/"+BundleName)
	return err == nil
}

// securityHeaders are those of the explorer, except that the page may open
// WebTransport sessions (connect-src https:) to the nodes it dials.
func securityHeaders(h http.Header) {
	explorer.SecurityHeaders(h, "'self' https:")
	h.Set("Cache-Control", "no-cache")
}

// Page serves the peer page (GET /peer): the page that loads the bundle,
// or, in a binary built without it, a page saying how to build it (status
// 200 either way: the explorer link on it works).
func Page() http.Handler {
	body := missing
	if Built() {
		body = page
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		securityHeaders(w.Header())
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write(body)
	})
}

// Bundle serves the bundle (GET /peer/peer.js); 404 in a binary built
// without it.
func Bundle() http.Handler {
	js, _ := fs.ReadFile(bundle, "dist/"+BundleName)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if js == nil {
			http.Error(w, "this node was built without the peer page: run scripts/build-peer-page.sh, then build the node", http.StatusNotFound)
			return
		}
		securityHeaders(w.Header())
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
		http.ServeContent(w, r, BundleName, time.Time{}, bytes.NewReader(js))
	})
}
