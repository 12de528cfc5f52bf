package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/gossipchain/gossipchain/api/client"
)

// httpError is an error with the status code it is answered with.
type httpError struct {
	code int
	msg  string
	rule string
}

func (e *httpError) Error() string { return e.msg }

func errorf(code int, format string, args ...any) *httpError {
	return &httpError{code: code, msg: fmt.Sprintf(format, args...)}
}

// marshal encodes v as JSON without HTML escaping and without a final
// newline.
func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// writeJSON answers with code and v as JSON, followed by a newline.
func writeJSON(w http.ResponseWriter, code int, v any) {
	data, err := marshal(v)
	if err != nil {
		code = http.StatusInternalServerError
		data, _ = marshal(client.ErrorBody{Error: "encode response: " + err.Error()})
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	w.Write(append(data, '\n'))
}

// writeError answers with code and {"error": msg}.
func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, client.ErrorBody{Error: msg})
}

// fail answers with err: an *httpError with its own code and message, any
// other error with 500.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	var he *httpError
	if errors.As(err, &he) {
		writeJSON(w, he.code, client.ErrorBody{Error: he.msg, Rule: he.rule})
		return
	}
	s.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	writeError(w, http.StatusInternalServerError, "internal error: "+err.Error())
}

// readBody reads the whole request body, at most limit bytes.
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	data, err := io.ReadAll(http.MaxBytesReader(w, rateFloor(w, r.Body), limit))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, errorf(http.StatusRequestEntityTooLarge, "request body is larger than %d bytes", mbe.Limit)
		}
		return nil, errorf(http.StatusBadRequest, "read request body: %v", err)
	}
	return data, nil
}

// responseWriter records the status code for metrics and panic recovery.
type responseWriter struct {
	http.ResponseWriter
	status int
}

func (w *responseWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *responseWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(p)
}

// Unwrap lets http.ResponseController reach the connection (flushes and
// write deadlines).
func (w *responseWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// statusOnlyWriter keeps the headers and status code the ServeMux sets for
// an unknown path (404) or method (405, with Allow) and drops its text
// body, so that a JSON body can replace it.
type statusOnlyWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusOnlyWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
}

func (w *statusOnlyWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return len(p), nil
}

// redirectBody is the body of a redirect (a path that is not clean, such
// as //chain, or a directory without its final slash).
type redirectBody struct {
	Message  string `json:"message"`
	Location string `json:"location"`
}

// jsonRedirectWriter replaces the HTML body of the ServeMux's and the file
// server's redirects with a JSON one.
type jsonRedirectWriter struct {
	http.ResponseWriter
	redirected bool
}

func (w *jsonRedirectWriter) WriteHeader(code int) {
	loc := w.Header().Get("Location")
	if code < 300 || code > 399 || loc == "" || w.redirected {
		w.ResponseWriter.WriteHeader(code)
		return
	}
	w.redirected = true
	w.Header().Del("Content-Length")
	writeJSON(w.ResponseWriter, code, redirectBody{Message: "moved to " + loc, Location: loc})
}

func (w *jsonRedirectWriter) Write(p []byte) (int, error) {
	if w.redirected {
		return len(p), nil
	}
	return w.ResponseWriter.Write(p)
}

func (w *jsonRedirectWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// prettyWriter holds a whole answer so that ?pretty can indent it. It has
// no Unwrap: flushing is not passed on, so headers wait for the body.
type prettyWriter struct {
	http.ResponseWriter
	code int
	buf  bytes.Buffer
}

func (w *prettyWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
}

func (w *prettyWriter) Write(p []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.buf.Write(p)
}

// finish indents a JSON answer and writes it out.
func (w *prettyWriter) finish() {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	body := w.buf.Bytes()
	if strings.HasPrefix(w.Header().Get("Content-Type"), "application/json") {
		var out bytes.Buffer
		if json.Indent(&out, body, "", "  ") == nil {
			body = out.Bytes()
		}
	}
	w.Header().Del("Content-Length")
	w.ResponseWriter.WriteHeader(w.code)
	w.ResponseWriter.Write(body)
}

// wantsPretty reports whether ?pretty asks for indented JSON; streams
// (/events) and the metrics text are left alone.
func wantsPretty(r *http.Request) bool {
	if r.URL.Path == "/events" || r.URL.Path == "/metrics" {
		return false
	}
	v, ok := r.URL.Query()["pretty"]
	return ok && (v[0] == "" || v[0] == "1" || v[0] == "true")
}

// cors answers a preflight request and sets the CORS headers of an
// allowed origin; it reports whether the request was answered.
func (s *Server) cors(w http.ResponseWriter, r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if s.cfg.CORS == "" || origin == "" {
		return false
	}
	h := w.Header()
	h.Add("Vary", "Origin")
	if s.cfg.CORS != "*" && origin != s.cfg.CORS {
		return false
	}
	h.Set("Access-Control-Allow-Origin", s.cfg.CORS)
	if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
		h.Set("Access-Control-Allow-Methods", "GET, POST")
		h.Set("Access-Control-Allow-Headers", "Content-Type")
		h.Set("Access-Control-Max-Age", "600")
		w.WriteHeader(http.StatusNoContent)
		return true
	}
	return false
}

// middleware adds, around mux: CORS, ?pretty, JSON bodies for unknown paths
// and methods and for redirects, panic recovery and request metrics.
func (s *Server) middleware(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.cors(w, r) {
			return
		}
		if wantsPretty(r) {
			pw := &prettyWriter{ResponseWriter: w}
			defer func() {
				if p := recover(); p != nil {
					panic(p) // an aborted answer stays aborted
				}
				pw.finish()
			}()
			w = pw
		}
		w = &jsonRedirectWriter{ResponseWriter: w}
		start := time.Now()
		_, pattern := mux.Handler(r)
		route := pattern
		if route == "" {
			route = "unmatched"
		}
		rw := &responseWriter{ResponseWriter: w}
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					s.metrics.observe(route, http.StatusInternalServerError, time.Since(start))
					panic(p)
				}
				s.log.Error("panic serving request", "method", r.Method, "path", r.URL.Path,
					"panic", p, "stack", string(debug.Stack()))
				if rw.status == 0 {
					writeError(rw, http.StatusInternalServerError, "internal error")
				} else {
					// The response has started: break the connection so that
					// the client sees a truncated response, not a complete one.
					s.metrics.observe(route, http.StatusInternalServerError, time.Since(start))
					panic(http.ErrAbortHandler)
				}
			}
			s.metrics.observe(route, rw.status, time.Since(start))
		}()

		if pattern != "" {
			mux.ServeHTTP(rw, r)
			return
		}
		sw := &statusOnlyWriter{ResponseWriter: w}
		mux.ServeHTTP(sw, r)
		switch sw.status {
		case http.StatusMethodNotAllowed:
			if r.URL.Path == "/transactions/new" {
				// GET /transactions/{id} matches this path too, but "new"
				// is no transaction id (see handleTransaction).
				w.Header().Set("Allow", http.MethodPost)
			}
			writeError(rw, sw.status, fmt.Sprintf("method %s is not allowed on %s (allowed: %s)",
				r.Method, r.URL.Path, w.Header().Get("Allow")))
		case http.StatusNotFound, 0:
			writeError(rw, http.StatusNotFound, fmt.Sprintf("no such endpoint: %s %s", r.Method, r.URL.Path))
		default:
			writeError(rw, sw.status, http.StatusText(sw.status))
		}
	})
}
