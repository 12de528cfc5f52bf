package api

import (
	"bytes"
	"errors"
	"net/http"
	"sync"

	"github.com/gossipchain/gossipchain/chain"
)

// The chain is streamed in batches: each batch is read from one store
// snapshot into memory (at most streamBatchBlocks blocks, or a little over
// streamBatchBytes of JSON), and written to the client after the snapshot
// is released, so a slow client never holds a read transaction open.
const (
	streamBatchBlocks = 500
	streamBatchBytes  = 256 << 10
)

// streamBuffers recycles the batch buffers of streamChain: a buffer grown
// to a batch once serves every later request, with nothing to collect.
var streamBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// maxPooledBuffer: a buffer grown past this (a batch of huge blocks) is
// left to the garbage collector rather than kept.
const maxPooledBuffer = 4 << 20

// errBatchFull stops one MainChain read when its batch is full or the
// chain changed under the stream.
var errBatchFull = errors.New("batch full")

// streamChain answers 200 with open, then the main-chain blocks from height
// from (at most limit) separated by commas, then closing(n) where n is the
// number of blocks written, then a newline. open and closing hold the rest
// of the JSON document around the array.
//
// Consecutive batches come from different snapshots. If the main chain is
// reorganised below the last block written, the next block does not link to
// it; the stream then ends there, so the array is always a chain in which
// every block links to the one before.
func (s *Server) streamChain(w http.ResponseWriter, r *http.Request, open []byte, from uint64, limit int, closing func(n int) []byte) {
	buf := streamBuffers.Get().(*bytes.Buffer)
	buf.Reset()
	defer func() {
		if buf.Cap() <= maxPooledBuffer {
			streamBuffers.Put(buf)
		}
	}()
	buf.Write(open)
	n := 0
	next := from
	var last chain.Hash
	started := false
	for n < limit {
		want := min(s.batchBlocks, limit-n)
		got, full, broken := 0, false, false
		// The stored JSON encodings: nothing is encoded per request.
		err := s.chain.MainChainJSON(next, want, func(hash, prev chain.Hash, js []byte) error {
			if n+got > 0 && prev != last {
				broken = true
				return errBatchFull
			}
			if n+got > 0 {
				buf.WriteByte(',')
			}
			buf.Write(js)
			last = hash
			got++
			if buf.Len() >= s.batchBytes {
				full = true
				return errBatchFull
			}
			return nil
		})
		if err != nil && !errors.Is(err, errBatchFull) {
			if !started {
				s.fail(w, r, err)
				return
			}
			s.log.Error("reading the chain failed while streaming it", "path", r.URL.Path, "err", err)
			panic(http.ErrAbortHandler)
		}
		if broken {
			s.log.Debug("main chain reorganised while streaming it; ending the stream", "at", next)
		}
		n += got
		next += uint64(got)
		if !started {
			h := w.Header()
			h.Set("Content-Type", "application/json")
			h.Set("X-Content-Type-Options", "nosniff")
			w.WriteHeader(http.StatusOK)
			started = true
		}
		extendWriteDeadline(w, WriteTimeout)
		if _, err := w.Write(buf.Bytes()); err != nil {
			return // the client went away
		}
		buf.Reset()
		if broken || got == 0 || (got < want && !full) {
			break
		}
	}
	if !started {
		h := w.Header()
		h.Set("Content-Type", "application/json")
		h.Set("X-Content-Type-Options", "nosniff")
		w.WriteHeader(http.StatusOK)
	}
	buf.Write(closing(n))
	buf.WriteByte('\n')
	w.Write(buf.Bytes())
}
