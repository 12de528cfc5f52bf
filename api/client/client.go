// Package client is a typed Go client of a gossipchain node's HTTP API,
// with the types of its answers, which the server encodes too. The
// command-line client, the benchmarks and the end-to-end tests use it.
//
// A Client method sends one request and decodes a 2xx answer; any other
// answer is an *Error carrying the status code and the node's message.
// Every answer read is bounded (MaxBody), except the one Stream hands over.
//
// The package imports only the standard library and the values of
// package chain, so that it never drags in a node's server or storage.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// MaxBody bounds an answer a Client reads.
const MaxBody = 64 << 20

// Client calls one node's HTTP API. It is safe for concurrent use.
type Client struct {
	base *url.URL
	err  error // from parsing the base URL, returned by every call
	http *http.Client
}

// New returns a client of the node whose API is at base, a URL such as
// http://127.0.0.1:5000. It sends its requests with hc, or with
// http.DefaultClient when hc is nil; a request ends with its context or
// hc's timeout. An invalid base is reported by every call.
func New(base string, hc *http.Client) *Client {
	if hc == nil {
		hc = http.DefaultClient
	}
	c := &Client{http: hc}
	c.base, c.err = url.Parse(base)
	if c.err == nil && (c.base.Scheme == "" || c.base.Host == "") {
		c.err = fmt.Errorf("node URL %q: want a URL such as http://127.0.0.1:5000", base)
	}
	return c
}

// Base returns the node's URL.
func (c *Client) Base() string {
	if c.err != nil {
		return ""
	}
	return c.base.String()
}

// Error is an answer of the node with a status outside 2xx.
type Error struct {
	Method, Path string
	Status       int    // the HTTP status code
	Message      string // the node's "error", or the body's text when it is not JSON
	Rule         string // the consensus rule broken, when the node names one
}

func (e *Error) Error() string {
	if e.Rule != "" {
		return fmt.Sprintf("%s (HTTP %d, rule %s)", e.Message, e.Status, e.Rule)
	}
	return fmt.Sprintf("%s (HTTP %d)", e.Message, e.Status)
}

// StatusOf returns the status code of an *Error in err's chain, or 0.
func StatusOf(err error) int {
	var e *Error
	if errors.As(err, &e) {
		return e.Status
	}
	return 0
}

// send sends method path (which may carry a ?query) with body: nil for
// none, a string, []byte or json.RawMessage sent as it is, or any other
// value encoded as JSON. The caller closes the answer's body.
func (c *Client) send(ctx context.Context, method, path string, body any) (*http.Response, error) {
	if c.err != nil {
		return nil, c.err
	}
	u := c.base.JoinPath(path)
	if p, q, ok := strings.Cut(path, "?"); ok {
		u = c.base.JoinPath(p)
		u.RawQuery = q
	}
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	case json.RawMessage:
		rd = bytes.NewReader(b)
	default:
		data, err := json.Marshal(body)
		if err != nil {
			return nil, fmt.Errorf("%s %s: encode request: %w", method, path, err)
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("cannot reach the node at %s: %w", c.base, err)
	}
	return resp, nil
}

// Raw sends a request (body as for Do) and returns the status code and
// body of the answer, whatever its status: for callers that examine error
// answers themselves.
func (c *Client) Raw(ctx context.Context, method, path string, body any) (status int, data []byte, err error) {
	resp, err := c.send(ctx, method, path, body)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	data, err = io.ReadAll(io.LimitReader(resp.Body, MaxBody+1))
	if err != nil {
		return resp.StatusCode, nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	if len(data) > MaxBody {
		return resp.StatusCode, nil, fmt.Errorf("%s %s: answer larger than %d bytes", method, path, MaxBody)
	}
	return resp.StatusCode, data, nil
}

// Do sends a request and decodes a 2xx JSON answer into out (unless out is
// nil); it also returns the answer as it was received. body is nil for
// none, a string, []byte or json.RawMessage sent as it is, or a value
// encoded as JSON. Any other status is an *Error.
func (c *Client) Do(ctx context.Context, method, path string, body, out any) ([]byte, error) {
	status, data, err := c.Raw(ctx, method, path, body)
	if err != nil {
		return nil, err
	}
	if status/100 != 2 {
		return nil, answerError(method, path, status, data)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return nil, fmt.Errorf("%s %s: unexpected answer: %w", method, path, err)
		}
	}
	return data, nil
}

// answerError is the *Error of an answer outside 2xx.
func answerError(method, path string, status int, data []byte) *Error {
	e := &Error{Method: method, Path: path, Status: status}
	var b ErrorBody
	if json.Unmarshal(data, &b) == nil && b.Error != "" {
		e.Message, e.Rule = b.Error, b.Rule
	} else {
		e.Message = strings.TrimSpace(string(data))
	}
	return e
}

// Stream sends GET path and returns the body of a 2xx answer for the
// caller to read as a stream, whatever its size, and close. Any other
// status is an *Error.
func (c *Client) Stream(ctx context.Context, path string) (io.ReadCloser, error) {
	resp, err := c.send(ctx, http.MethodGet, path, nil)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode/100 != 2 {
		defer resp.Body.Close()
		data, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		return nil, answerError(http.MethodGet, path, resp.StatusCode, data)
	}
	return resp.Body, nil
}

// get GETs path and returns the answer decoded as a T.
func get[T any](ctx context.Context, c *Client, path string) (T, error) {
	var v T
	_, err := c.Do(ctx, http.MethodGet, path, nil, &v)
	return v, err
}

// post POSTs body to path and returns the answer decoded as a T.
func post[T any](ctx context.Context, c *Client, path string, body any) (T, error) {
	var v T
	_, err := c.Do(ctx, http.MethodPost, path, body, &v)
	return v, err
}
