package peer

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestPageAndBundle: /peer serves the page that loads the bundle when the
// bundle was embedded, and otherwise the page saying how to build it, with
// /peer/peer.js a 404; the page may open WebTransport sessions.
func TestPageAndBundle(t *testing.T) {
	rec := httptest.NewRecorder()
	Page().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, Path, nil))
	body := rec.Body.String()
	if rec.Code != http.StatusOK || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html") {
		t.Fatalf("GET %s: %d %s", Path, rec.Code, rec.Header().Get("Content-Type"))
	}
	if csp := rec.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "connect-src 'self' https:") {
		t.Errorf("Content-Security-Policy %q lets the page open no WebTransport session", csp)
	}
	js := httptest.NewRecorder()
	Bundle().ServeHTTP(js, httptest.NewRequest(http.MethodGet, Path+"/"+BundleName, nil))
	if Built() {
		if !strings.Contains(body, `src="/peer/peer.js"`) || js.Code != http.StatusOK || js.Body.Len() == 0 {
			t.Errorf("built: page loads the bundle %t, bundle %d of %d bytes", strings.Contains(body, "peer.js"), js.Code, js.Body.Len())
		}
		return
	}
	if !strings.Contains(body, "scripts/build-peer-page.sh") || !strings.Contains(body, `href="/"`) {
		t.Errorf("not built: the page says neither how to build the bundle nor links the explorer:\n%s", body)
	}
	if js.Code != http.StatusNotFound {
		t.Errorf("not built: GET %s/%s: %d, want 404", Path, BundleName, js.Code)
	}
}
