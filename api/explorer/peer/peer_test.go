package peer

import (
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
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

// TestJSVectors runs test/vectors.mjs with node: the page's compact
// targets, work, retargeting (every aserti3-2d vector), parameters'
// commitments and genesis blocks, header-chain verdicts and block verdicts
// agree with the Go node's vectors (testdata/). Without node it skips,
// unless CI is set (.ci/run installs node to build the page).
func TestJSVectors(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		if ci := os.Getenv("CI"); ci != "" && ci != "false" && ci != "0" {
			t.Fatal("node is not installed, and CI is set: .ci/run installs it (apt-get install nodejs)")
		}
		t.Skip("skipping: the page's vectors need node (apt-get install nodejs)")
	}
	out, err := exec.CommandContext(t.Context(), node, "test/vectors.mjs", "../../../testdata").CombinedOutput()
	if err != nil {
		t.Fatalf("node test/vectors.mjs: %v\n%s", err, out)
	}
	t.Logf("%s", strings.TrimSpace(string(out)))
}
