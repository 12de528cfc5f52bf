package p2p

import (
	"bufio"
	"bytes"
	"crypto/ed25519"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/record"
	ma "github.com/multiformats/go-multiaddr"
)

// peerRecordVectors is the format of testdata/peer_record.json (written by
// testdata/gen_peer_record_vectors.py from the libp2p specifications).
type peerRecordVectors struct {
	Domain      string   `json:"domain"`
	PayloadType string   `json:"payload_type"`
	Seed        string   `json:"seed"`
	PeerID      string   `json:"peer_id"`
	Seq         uint64   `json:"seq"`
	Addrs       []string `json:"addrs"`
	Payload     string   `json:"payload"`
	Cases       []struct {
		Description string `json:"description"`
		Envelope    string `json:"envelope"`
		Valid       bool   `json:"valid"`
	} `json:"cases"`
}

// TestPeerRecordVectors checks that go-libp2p seals the vectors' record
// into the same bytes, and that peer exchange's reader accepts exactly the
// valid envelopes. (The p2p package imports no other gossipchain package,
// chaintest included, so it reads the file itself.)
func TestPeerRecordVectors(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "testdata", "peer_record.json"))
	if err != nil {
		t.Fatal(err)
	}
	var v peerRecordVectors
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatal(err)
	}
	if v.Domain != peer.PeerRecordEnvelopeDomain || v.PayloadType != hex.EncodeToString(peer.PeerRecordEnvelopePayloadType) {
		t.Fatalf("domain %q and payload type %s, go-libp2p's %q and %x", v.Domain, v.PayloadType,
			peer.PeerRecordEnvelopeDomain, peer.PeerRecordEnvelopePayloadType)
	}
	seed, err := hex.DecodeString(v.Seed)
	if err != nil {
		t.Fatal(err)
	}
	key, err := crypto.UnmarshalEd25519PrivateKey(ed25519.NewKeyFromSeed(seed))
	if err != nil {
		t.Fatal(err)
	}
	id, err := peer.IDFromPrivateKey(key)
	if err != nil || id.String() != v.PeerID {
		t.Fatalf("peer ID %s (%v), want %s", id, err, v.PeerID)
	}
	rec := &peer.PeerRecord{PeerID: id, Seq: v.Seq}
	for _, s := range v.Addrs {
		rec.Addrs = append(rec.Addrs, ma.StringCast(s))
	}
	payload, err := rec.MarshalRecord()
	if err != nil || hex.EncodeToString(payload) != v.Payload {
		t.Fatalf("payload %x (%v), want %s", payload, err, v.Payload)
	}
	env, err := record.Seal(rec, key)
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := env.Marshal()
	if err != nil || hex.EncodeToString(sealed) != v.Cases[0].Envelope {
		t.Fatalf("go-libp2p seals %x (%v), want %s", sealed, err, v.Cases[0].Envelope)
	}

	for _, c := range v.Cases {
		raw, err := hex.DecodeString(c.Envelope)
		if err != nil {
			t.Fatal(err)
		}
		// A reply of one record: uvarint count, uvarint size, the envelope.
		reply := binary.AppendUvarint(binary.AppendUvarint(nil, 1), uint64(len(raw)))
		reply = append(reply, raw...)
		peers, err := (&Node{}).readPeers(bufio.NewReader(bytes.NewReader(reply)))
		if (err == nil) != c.Valid {
			t.Errorf("%s: readPeers %v, want valid: %v", c.Description, err, c.Valid)
			continue
		}
		if err == nil && (len(peers) != 1 || peers[0].info.ID != id || len(peers[0].info.Addrs) != len(v.Addrs)) {
			t.Errorf("%s: read %+v", c.Description, peers)
		}
	}
}
