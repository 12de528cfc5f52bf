package api

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/gossipchain/gossipchain/api/client"
	"github.com/gossipchain/gossipchain/chain"
)

// HeaderReader is what GET /headers reads: the main chain's headers
// without their bodies. *store.Chain implements it; a Chain that does not
// answers 501.
type HeaderReader interface {
	MainHeaders(from uint64, limit int, fn func(hash chain.Hash, header []byte) error) error
}

// handleHeaders serves GET /headers?from=HEIGHT&count=N: the main-chain
// headers from height from (default 1, the genesis), at most count
// (default and most client.MaxHeaders), back to back, chain.HeaderSize
// bytes each, as application/octet-stream. Fewer come at the head; a from
// above the head is 404.
func (s *Server) handleHeaders(w http.ResponseWriter, r *http.Request) {
	hr, ok := s.chain.(HeaderReader)
	if !ok {
		writeError(w, http.StatusNotImplemented, "this node does not serve headers")
		return
	}
	from := uint64(1)
	if v, ok := r.URL.Query()["from"]; ok {
		n, err := strconv.ParseUint(v[0], 10, 64)
		if err != nil || n < 1 {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("from must be a block height of at least 1 (the genesis), got %q", v[0]))
			return
		}
		from = n
	}
	count, ok := intParam(w, r, "count", client.MaxHeaders, 1, client.MaxHeaders)
	if !ok {
		return
	}
	head := s.chain.Head().Height
	var body []byte
	if from <= head {
		body = make([]byte, 0, min(uint64(count), head-from+1)*chain.HeaderSize)
		err := hr.MainHeaders(from, count, func(_ chain.Hash, h []byte) error {
			body = append(body, h...)
			return nil
		})
		if err != nil {
			s.fail(w, r, err)
			return
		}
	}
	if len(body) == 0 {
		writeError(w, http.StatusNotFound, fmt.Sprintf("no main-chain block at height %d: the head is at %d", from, head))
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/octet-stream")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	w.Write(body)
}
