package sync

import (
	"bufio"
	"context"
	"errors"
	"fmt"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"

	"github.com/gossipchain/gossipchain/chain"
	"github.com/gossipchain/gossipchain/chain/proof"
	"github.com/gossipchain/gossipchain/chain/store"
)

// ProofsProtocol serves the proofs of package chain/proof (PROTOCOL.md
// section 13): one request per stream, for the proof of a main-chain
// transaction or of an account after a main-chain block, answered with one
// frame holding the proof or a reply code. Every full node serves it.
const ProofsProtocol protocol.ID = "/gossipchain/proofs/1.0.0"

// Limits of ProofsProtocol.
const (
	// maxProofRequestSize is the size of the largest request body, an
	// account request.
	maxProofRequestSize = 1 + chain.AddressLen + chain.HashSize
	// MaxProofReplySize bounds the reply frame a client reads: the
	// largest proof and its code byte fit with room to spare.
	MaxProofReplySize = 16 << 10
)

// proofRequest asks for the proof of transaction id (kind proof.TypeTx)
// or of the account of addr after the main-chain block at, the server's
// head when at is zero (kind proof.TypeAccount).
type proofRequest struct {
	kind byte
	id   chain.Hash
	addr string
	at   chain.Hash
}

// appendProofRequest appends the body of r: the kind, then the id (33
// bytes in all), or the address and the block (85 bytes).
func appendProofRequest(dst []byte, r proofRequest) []byte {
	dst = append(dst, r.kind)
	if r.kind == proof.TypeTx {
		return append(dst, r.id[:]...)
	}
	dst = append(dst, r.addr...)
	return append(dst, r.at[:]...)
}

// decodeProofRequest decodes a request body, refusing an unknown kind, a
// body of another size than its kind's and a string that is no address.
func decodeProofRequest(b []byte) (proofRequest, error) {
	if len(b) == 0 {
		return proofRequest{}, errors.New("empty proof request")
	}
	r := proofRequest{kind: b[0]}
	switch r.kind {
	case proof.TypeTx:
		if len(b) != 1+chain.HashSize {
			return proofRequest{}, fmt.Errorf("transaction proof request of %d bytes, want %d", len(b), 1+chain.HashSize)
		}
		r.id = chain.Hash(b[1:])
	case proof.TypeAccount:
		if len(b) != maxProofRequestSize {
			return proofRequest{}, fmt.Errorf("account proof request of %d bytes, want %d", len(b), maxProofRequestSize)
		}
		r.addr = string(b[1 : 1+chain.AddressLen])
		if _, err := chain.PublicKeyOf(r.addr); err != nil {
			return proofRequest{}, fmt.Errorf("account proof request: %w", err)
		}
		r.at = chain.Hash(b[1+chain.AddressLen:])
	default:
		return proofRequest{}, fmt.Errorf("proof request of unknown kind %#02x", r.kind)
	}
	return r, nil
}

// handleProofs serves one proof request. A malformed request is answered
// CodeBadRequest and its peer penalised; the request is admitted through
// the chain exchange's gate, whose serving slots it shares.
func (s *Service) handleProofs(str network.Stream) {
	s.serveRequest(str, "proof", maxProofRequestSize, func(str network.Stream, body []byte) error {
		req, err := decodeProofRequest(body)
		if err == nil {
			s.serveAdmitted(str, "proof", func() ([]byte, Code) { return s.proofReply(req) })
		}
		return err
	})
}

// proofReply returns the whole reply to req, or a code other than CodeOK:
// CodeNotFound for a transaction not in the main chain, a block not on it
// and an account on an open network.
func (s *Service) proofReply(req proofRequest) ([]byte, Code) {
	var p interface{ MarshalBinary() ([]byte, error) }
	var err error
	if req.kind == proof.TypeTx {
		p, err = s.chain.TxProof(req.id)
	} else {
		var ap store.AccountProof
		ap, err = s.chain.AccountProof(req.addr, req.at)
		p = ap.Binary()
	}
	var b []byte
	if err == nil {
		b, err = p.MarshalBinary()
	}
	switch {
	case errors.Is(err, chain.ErrNotFound), errors.Is(err, chain.ErrNotSigned):
		return nil, CodeNotFound
	case err != nil:
		s.log.Warn("building a proof to serve failed", "err", err)
		return nil, CodeInternal
	}
	return appendFrame(nil, append([]byte{byte(CodeOK)}, b...)), CodeOK
}

// FetchTxProof asks p, over h, for the proof of transaction id and checks
// it before returning it: it decodes strictly, proves id against its own
// header (proof.Tx.Verify), and the header meets the target it states. A
// reply that breaks any of these gives an error wrapping proof.ErrBadProof,
// for which the caller penalises p (p2p.Node.Penalize); a not_found reply
// wraps chain.ErrNotFound. Whether the header is on the chain the caller
// trusts is the caller's to check. The request is bounded by
// DefaultRequestTimeout and ctx, the reply by MaxProofReplySize.
func FetchTxProof(ctx context.Context, h host.Host, p peer.ID, id chain.Hash) (proof.Tx, error) {
	body, err := fetchProof(ctx, h, p, proofRequest{kind: proof.TypeTx, id: id})
	if err != nil {
		return proof.Tx{}, err
	}
	tp, err := proof.DecodeTx(body)
	if err == nil {
		var hdr chain.Block
		if hdr, err = tp.Verify(id); err == nil {
			err = checkProofHeader(hdr, chain.Hash{})
		}
	}
	if err != nil {
		return proof.Tx{}, fmt.Errorf("proof of transaction %s from %s: %w", id, p, err)
	}
	return tp, nil
}

// FetchAccountProof asks p, over h, for the proof of the account of addr
// after the main-chain block at (p's head when at is zero) and checks it
// as FetchTxProof does: it decodes strictly, proves addr's account against
// its own header (proof.Account.Verify), the header meets the target it
// states and, when at is not zero, is the block at. Errors are those of
// FetchTxProof; the caller penalises p for one wrapping proof.ErrBadProof.
// An addr that is no address is refused before anything is sent.
func FetchAccountProof(ctx context.Context, h host.Host, p peer.ID, addr string, at chain.Hash) (proof.Account, error) {
	if _, err := chain.PublicKeyOf(addr); err != nil {
		return proof.Account{}, fmt.Errorf("account proof of %q: %w", addr, err)
	}
	body, err := fetchProof(ctx, h, p, proofRequest{kind: proof.TypeAccount, addr: addr, at: at})
	if err != nil {
		return proof.Account{}, err
	}
	ap, err := proof.DecodeAccount(body)
	if err == nil {
		var hdr chain.Block
		if hdr, err = ap.Verify(addr); err == nil {
			err = checkProofHeader(hdr, at)
		}
	}
	if err != nil {
		return proof.Account{}, fmt.Errorf("proof of account %s from %s: %w", addr, p, err)
	}
	return ap, nil
}

// checkProofHeader checks that the header of a proof meets the target it
// states and, when at is not zero, is the block at.
func checkProofHeader(hdr chain.Block, at chain.Hash) error {
	if !hdr.MeetsTarget() {
		return fmt.Errorf("%w: header %s does not meet its target", proof.ErrBadProof, hdr.Hash)
	}
	if !at.IsZero() && hdr.Hash != at {
		return fmt.Errorf("%w: a proof at block %s, not %s", proof.ErrBadProof, hdr.Hash, at)
	}
	return nil
}

// fetchProof sends req to p and returns the proof of an ok reply. A reply
// that is not one well-formed frame gives an error wrapping
// proof.ErrBadProof; a reply code other than CodeOK, a *codeError (that
// also wraps chain.ErrNotFound for CodeNotFound).
func fetchProof(ctx context.Context, h host.Host, p peer.ID, req proofRequest) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, DefaultRequestTimeout)
	defer cancel()
	str, err := h.NewStream(ctx, p, ProofsProtocol)
	if err != nil {
		return nil, fmt.Errorf("open proof stream: %w", err)
	}
	stop := context.AfterFunc(ctx, func() { _ = str.Reset() })
	defer stop()
	if d, ok := ctx.Deadline(); ok {
		_ = str.SetDeadline(d)
	}
	body, err := exchangeProof(str, req)
	if err != nil {
		_ = str.Reset()
		if ctx.Err() != nil && !errors.Is(err, proof.ErrBadProof) {
			return nil, fmt.Errorf("proof request: %w (%w)", ctx.Err(), err)
		}
		return nil, err
	}
	_ = str.Close()
	return body, nil
}

// exchangeProof writes req to str and reads the reply.
func exchangeProof(str network.Stream, req proofRequest) ([]byte, error) {
	if _, err := str.Write(appendFrame(nil, appendProofRequest(nil, req))); err != nil {
		return nil, fmt.Errorf("write proof request: %w", err)
	}
	if err := str.CloseWrite(); err != nil {
		return nil, fmt.Errorf("close proof stream for writing: %w", err)
	}
	body, err := readFrame(bufio.NewReader(str), nil, MaxProofReplySize)
	switch {
	case errors.Is(err, errFrameTooLarge):
		return nil, fmt.Errorf("%w: reply %w", proof.ErrBadProof, err)
	case err != nil:
		return nil, fmt.Errorf("read proof reply: %w", noEOF(err))
	case len(body) == 0:
		return nil, fmt.Errorf("%w: empty reply", proof.ErrBadProof)
	}
	switch code := Code(body[0]); {
	case code == CodeOK:
		return body[1:], nil
	case len(body) != 1 || code > CodeInternal:
		return nil, fmt.Errorf("%w: reply of code %s and %d bytes", proof.ErrBadProof, code, len(body))
	case code == CodeNotFound:
		return nil, fmt.Errorf("%w: %w", &codeError{code}, chain.ErrNotFound)
	default:
		return nil, &codeError{code}
	}
}
