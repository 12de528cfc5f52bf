package sync

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/big"

	"github.com/libp2p/go-libp2p/core/protocol"

	"github.com/gossipchain/gossipchain/chain"
)

// Stream protocol ids. A change of message format is a new id, never an edit
// of an old one.
const (
	// StatusProtocol exchanges chain statuses (see Status).
	StatusProtocol protocol.ID = "/gossipchain/status/1.0.0"
	// BlocksProtocolV1 served the blocks of protocol 1 (header version 1,
	// a difficulty in leading zero bits); no longer spoken.
	BlocksProtocolV1 protocol.ID = "/gossipchain/blocks/1.0.0"
	// BlocksProtocol serves main-chain blocks after a block locator; its
	// blocks have header version 2 (a compact target).
	BlocksProtocol protocol.ID = "/gossipchain/blocks/2.0.0"
)

// Limits of the stream protocols. PROTOCOL.md documents them.
const (
	// MaxLocatorHashes bounds the hashes of one block request's locator.
	MaxLocatorHashes = 64
	// MaxBlocksPerRequest bounds the blocks one block request may ask for.
	MaxBlocksPerRequest = 500
	// MaxResponseBytes bounds the sum of the block encodings of one reply.
	MaxResponseBytes = 16 << 20

	// statusSize is the size of an encoded Status.
	statusSize = 32 + 32 + 8 + 32
	// maxRequestSize is the size of the largest block request body.
	maxRequestSize = 2 + MaxLocatorHashes*chain.HashSize + 4
	// headerOKSize is the size of a reply header with code CodeOK.
	headerOKSize = 1 + 8 + chain.HashSize
	// maxHeaderSize bounds the reply header frame.
	maxHeaderSize = 64
	// ioBufferSize is the bufio buffer size of block replies, both ends.
	ioBufferSize = 64 << 10
)

// Code is the status code that opens every block reply.
type Code uint8

// Reply codes of BlocksProtocol.
const (
	// CodeOK: the reply header carries the server's head; block frames follow.
	CodeOK Code = 0
	// CodeBadRequest: the request was malformed or out of limits.
	CodeBadRequest Code = 1
	// CodeNotFound: no locator hash is on the server's main chain (another
	// network).
	CodeNotFound Code = 2
	// CodeUnavailable: the server cannot answer now (too many requests, or
	// its chain changed while answering); ask again later or ask another peer.
	CodeUnavailable Code = 3
	// CodeInternal: the server failed.
	CodeInternal Code = 4
)

func (c Code) String() string {
	switch c {
	case CodeOK:
		return "ok"
	case CodeBadRequest:
		return "bad_request"
	case CodeNotFound:
		return "not_found"
	case CodeUnavailable:
		return "unavailable"
	case CodeInternal:
		return "internal_error"
	}
	return fmt.Sprintf("code_%d", uint8(c))
}

// Status is what a node tells a peer about its chain.
type Status struct {
	Genesis chain.Hash // hash of the network's genesis block
	Head    chain.Hash // hash of the head of the main chain
	Height  uint64     // index of the head block
	Work    *big.Int   // cumulative work of the main chain, < 2^256
}

// appendStatus appends the 104-byte encoding of st: genesis, head, big-endian
// height and big-endian 32-byte work.
func appendStatus(dst []byte, st Status) []byte {
	dst = append(dst, st.Genesis[:]...)
	dst = append(dst, st.Head[:]...)
	dst = binary.BigEndian.AppendUint64(dst, st.Height)
	var work [32]byte
	if st.Work != nil && st.Work.Sign() > 0 && st.Work.BitLen() <= 256 {
		st.Work.FillBytes(work[:])
	}
	return append(dst, work[:]...)
}

func decodeStatus(b []byte) (Status, error) {
	if len(b) != statusSize {
		return Status{}, fmt.Errorf("status is %d bytes, want %d", len(b), statusSize)
	}
	var st Status
	copy(st.Genesis[:], b[0:32])
	copy(st.Head[:], b[32:64])
	st.Height = binary.BigEndian.Uint64(b[64:72])
	st.Work = new(big.Int).SetBytes(b[72:104])
	return st, nil
}

// blockRequest asks for at most Max main-chain blocks after the first hash of
// Locator that is on the server's main chain.
type blockRequest struct {
	Locator []chain.Hash
	Max     int
}

// appendRequest appends the encoding of r: a big-endian uint16 hash count,
// the hashes, and a big-endian uint32 block count.
func appendRequest(dst []byte, r blockRequest) []byte {
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(r.Locator)))
	for i := range r.Locator {
		dst = append(dst, r.Locator[i][:]...)
	}
	return binary.BigEndian.AppendUint32(dst, uint32(r.Max))
}

func decodeRequest(b []byte) (blockRequest, error) {
	return decodeLocatorRequest(b, "blocks", MaxBlocksPerRequest)
}

// decodeLocatorRequest decodes a request of the encoding of appendRequest
// asking for 1..limit items (what names them in errors).
func decodeLocatorRequest(b []byte, what string, limit uint32) (blockRequest, error) {
	if len(b) < 2 {
		return blockRequest{}, errors.New("request truncated")
	}
	n := int(binary.BigEndian.Uint16(b))
	if n < 1 || n > MaxLocatorHashes {
		return blockRequest{}, fmt.Errorf("locator has %d hashes, want 1..%d", n, MaxLocatorHashes)
	}
	if len(b) != 2+n*chain.HashSize+4 {
		return blockRequest{}, fmt.Errorf("request is %d bytes, want %d for %d hashes", len(b), 2+n*chain.HashSize+4, n)
	}
	r := blockRequest{Locator: make([]chain.Hash, n)}
	for i := range r.Locator {
		copy(r.Locator[i][:], b[2+i*chain.HashSize:])
	}
	max := binary.BigEndian.Uint32(b[2+n*chain.HashSize:])
	if max < 1 || max > limit {
		return blockRequest{}, fmt.Errorf("request asks for %d %s, want 1..%d", max, what, limit)
	}
	r.Max = int(max)
	return r, nil
}

// appendFrame appends a frame: the uvarint length of body, then body.
func appendFrame(dst, body []byte) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(body)))
	return append(dst, body...)
}

// writeFrame writes one frame to w.
func writeFrame(w *bufio.Writer, body []byte) error {
	var n [binary.MaxVarintLen64]byte
	if _, err := w.Write(n[:binary.PutUvarint(n[:], uint64(len(body)))]); err != nil {
		return err
	}
	_, err := w.Write(body)
	return err
}

// errFrameTooLarge is returned by readFrame for a frame over its limit.
var errFrameTooLarge = errors.New("frame exceeds its size limit")

// readFrameLen reads a frame's uvarint length and checks it against max.
func readFrameLen(r *bufio.Reader, max int) (int, error) {
	n, err := binary.ReadUvarint(r)
	if err != nil {
		return 0, err
	}
	if n > uint64(max) {
		return 0, fmt.Errorf("%w: %d bytes, limit %d", errFrameTooLarge, n, max)
	}
	return int(n), nil
}

// readFrame reads one frame of at most max bytes into buf (grown as needed)
// and returns its body, which aliases buf.
func readFrame(r *bufio.Reader, buf []byte, max int) ([]byte, error) {
	n, err := readFrameLen(r, max)
	if err != nil {
		return nil, err
	}
	if cap(buf) < n {
		buf = make([]byte, n)
	}
	buf = buf[:n]
	if _, err := io.ReadFull(r, buf); err != nil {
		return nil, err
	}
	return buf, nil
}
