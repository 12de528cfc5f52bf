package p2p

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	"github.com/libp2p/go-libp2p/core/record"
)

// The peer-exchange (discovery) protocol. PROTOCOL.md documents it.
const (
	// MaxPeerRecords bounds the records of one discovery reply.
	MaxPeerRecords = 32
	// MaxPeerRecordSize bounds one signed peer record.
	MaxPeerRecordSize = 2048
	// maxDiscoveryRequest bounds the request frame (one byte).
	maxDiscoveryRequest = 8
	// DiscoveryTimeout bounds one discovery exchange on both ends.
	DiscoveryTimeout = 10 * time.Second
	// discoveryFreshness: only peers connected within this long are handed out.
	discoveryFreshness = time.Hour
	// maxDiscoveryServing bounds the discovery requests served at once.
	maxDiscoveryServing = 16
)

// DiscoveryProtocol returns the protocol id of peer exchange on network:
// "/gossipchain/<network>/peers/1.0.0". Nodes of other networks do not speak it.
func DiscoveryProtocol(network string) protocol.ID {
	return protocol.ID("/gossipchain/" + network + "/peers/1.0.0")
}

// discoveryGate admits the discovery requests n serves. Each peer has a
// request budget: an honest node asks a given peer at most once every few
// seconds. Its share of the requests served at once is all of them
// (maxDiscoveryServing): a smaller one would refuse requests that the budget
// lets through.
func (n *Node) discoveryGate() *Gate {
	return NewGate(GateConfig{
		Budget:   &RequestBudget{Burst: 4, Rate: 0.5, Strikes: 20},
		PerPeer:  maxDiscoveryServing,
		Global:   maxDiscoveryServing,
		Timeout:  DiscoveryTimeout,
		Penalize: n.Penalize,
		Protocol: "discovery",
	})
}

var (
	errDiscoveryFrame = errors.New("discovery frame exceeds its size limit")
	errBadRecord      = errors.New("invalid signed peer record")
)

func readUvarintLimited(r *bufio.Reader, max uint64) (int, error) {
	n, err := binary.ReadUvarint(r)
	if err != nil {
		return 0, err
	}
	if n > max {
		return 0, fmt.Errorf("%w: %d, limit %d", errDiscoveryFrame, n, max)
	}
	return int(n), nil
}

// handleDiscovery serves one peer-exchange request: a frame holding the
// number of records wanted, answered with up to that many (at most
// MaxPeerRecords) signed records of peers this node was connected to within
// the last hour.
func (n *Node) handleDiscovery(s network.Stream) {
	p := s.Conn().RemotePeer()
	if LimitedConnection(s) { // peers are exchanged over direct connections only
		_ = s.Reset()
		return
	}
	release := n.discGate.AdmitStream(s)
	if release == nil {
		return
	}
	defer release()
	r := bufio.NewReaderSize(s, 64)
	size, err := readUvarintLimited(r, maxDiscoveryRequest)
	if err != nil || size != 1 {
		_ = s.Reset()
		if err == nil || errors.Is(err, errDiscoveryFrame) {
			n.Penalize(p, "malformed discovery request")
		}
		return
	}
	want, err := r.ReadByte()
	if err != nil {
		_ = s.Reset()
		return
	}
	count := min(int(want), MaxPeerRecords)
	recs := n.book.records(time.Now(), discoveryFreshness, count, p)
	if err := writePeers(s, recs); err != nil {
		_ = s.Reset()
		return
	}
	_ = s.Close()
	n.discStats.served.Add(1)
}

// writePeers writes a discovery reply holding recs.
func writePeers(w io.Writer, recs [][]byte) error {
	bw := bufio.NewWriter(w)
	var buf [binary.MaxVarintLen64]byte
	_, _ = bw.Write(buf[:binary.PutUvarint(buf[:], uint64(len(recs)))])
	for _, rec := range recs {
		_, _ = bw.Write(buf[:binary.PutUvarint(buf[:], uint64(len(rec)))])
		_, _ = bw.Write(rec)
	}
	return bw.Flush()
}

// discoveredPeer is one verified record of a discovery reply.
type discoveredPeer struct {
	info   peer.AddrInfo
	record []byte
}

// requestPeers asks p for up to MaxPeerRecords peers. A reply over the
// limits, or a record that is not a valid signed peer record, penalises p.
func (n *Node) requestPeers(ctx context.Context, p peer.ID) ([]discoveredPeer, error) {
	ctx, cancel := context.WithTimeout(ctx, DiscoveryTimeout)
	defer cancel()
	s, err := n.host.NewStream(network.WithNoDial(ctx, "discovery"), p, DiscoveryProtocol(n.cfg.Network))
	if err != nil {
		return nil, fmt.Errorf("open discovery stream: %w", err)
	}
	stop := context.AfterFunc(ctx, func() { _ = s.Reset() })
	defer stop()
	_ = s.SetDeadline(time.Now().Add(DiscoveryTimeout))
	if _, err := s.Write([]byte{1, MaxPeerRecords}); err != nil {
		_ = s.Reset()
		return nil, fmt.Errorf("write discovery request: %w", err)
	}
	if err := s.CloseWrite(); err != nil {
		_ = s.Reset()
		return nil, fmt.Errorf("close discovery request: %w", err)
	}
	out, err := n.readPeers(bufio.NewReaderSize(s, 4096))
	if err != nil {
		_ = s.Reset()
		// A reset, a closed connection or a deadline is no proof of malice
		// (the peer may be shutting down); a reply that breaks the format is.
		if errors.Is(err, errDiscoveryFrame) || errors.Is(err, errBadRecord) {
			n.Penalize(p, "malformed discovery reply: "+err.Error())
		}
		return nil, fmt.Errorf("read discovery reply: %w", err)
	}
	_ = s.Close()
	n.discStats.requested.Add(1)
	return out, nil
}

// readPeers reads and verifies a discovery reply.
func (n *Node) readPeers(r *bufio.Reader) ([]discoveredPeer, error) {
	count, err := readUvarintLimited(r, MaxPeerRecords)
	if err != nil {
		return nil, err
	}
	out := make([]discoveredPeer, 0, count)
	for range count {
		size, err := readUvarintLimited(r, MaxPeerRecordSize)
		if err != nil {
			return nil, err
		}
		data := make([]byte, size)
		if _, err := io.ReadFull(r, data); err != nil {
			return nil, err
		}
		env, rec, err := record.ConsumeEnvelope(data, peer.PeerRecordEnvelopeDomain)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", errBadRecord, err)
		}
		pr, ok := rec.(*peer.PeerRecord)
		if !ok {
			return nil, fmt.Errorf("%w: not a peer record", errBadRecord)
		}
		signer, err := peer.IDFromPublicKey(env.PublicKey)
		if err != nil || signer != pr.PeerID {
			return nil, fmt.Errorf("%w: the record of %s is signed by another key", errBadRecord, pr.PeerID)
		}
		out = append(out, discoveredPeer{info: peer.AddrInfo{ID: pr.PeerID, Addrs: pr.Addrs}, record: data})
	}
	// Nothing may follow the last record.
	if _, err := r.ReadByte(); err == nil {
		return nil, fmt.Errorf("%w: data after the last record", errDiscoveryFrame)
	}
	return out, nil
}
