// Package explorer holds the block explorer every node serves at /: plain
// HTML, CSS and JavaScript embedded in the binary, with no external
// resources, reading only the node's JSON API and GET /events.
//
// Every string that comes from the network (addresses, ids, peer ids) is
// put in the page as text (textContent), never as HTML.
package explorer

import (
	"embed"
	"encoding/json"
	"io/fs"
	"net/http"
	"strings"
)

// Prefix is the path under which the assets are served.
const Prefix = "/explorer/"

//go:embed static
var static embed.FS

// files is static/ as the root.
var files = func() fs.FS {
	sub, err := fs.Sub(static, "static")
	if err != nil {
		panic(err)
	}
	return sub
}()

// securityHeaders are set on every page and asset: the page may load only
// its own scripts, styles and images and talk only to its own node.
func securityHeaders(h http.Header) { SecurityHeaders(h, "'self'") }

// SecurityHeaders sets the explorer's security headers: a page may load
// only its own scripts, styles and images, and connect only to connectSrc
// (a Content-Security-Policy source list, "'self'" for its own node).
func SecurityHeaders(h http.Header, connectSrc string) {
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src "+connectSrc+"; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
}

// Index serves the explorer's page (GET /).
func Index() http.Handler {
	page, err := fs.ReadFile(files, "index.html")
	if err != nil {
		panic(err)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		securityHeaders(w.Header())
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-cache")
		w.Write(page)
	})
}

// Assets serves the scripts and styles under Prefix.
func Assets() http.Handler {
	fsrv := http.StripPrefix(Prefix, http.FileServerFS(files))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := strings.TrimPrefix(r.URL.Path, Prefix)
		if fi, err := fs.Stat(files, name); err != nil || fi.IsDir() {
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("X-Content-Type-Options", "nosniff")
			w.WriteHeader(http.StatusNotFound)
			body, _ := json.Marshal(map[string]string{"error": "no such explorer file: " + r.URL.Path})
			w.Write(append(body, '\n'))
			return
		}
		securityHeaders(w.Header())
		w.Header().Set("Cache-Control", "no-cache")
		fsrv.ServeHTTP(w, r)
	})
}
