package p2p

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestIdentityPersists(t *testing.T) {
	cfg := testConfig(t)
	cfg.DataDir = filepath.Join(t.TempDir(), "sub", "dir") // created on first start

	first, err := New(t.Context(), cfg)
	if err != nil {
		t.Fatalf("first New: %v", err)
	}
	id := first.ID()
	if err := first.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	path := filepath.Join(cfg.DataDir, IdentityFile)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatalf("stat identity file: %v", err)
	}
	if got, want := fi.Mode().Perm(), os.FileMode(0o600); got != want {
		t.Errorf("identity file mode: got %v, want %v", got, want)
	}
	di, err := os.Stat(cfg.DataDir)
	if err != nil {
		t.Fatalf("stat data dir: %v", err)
	}
	if got, want := di.Mode().Perm(), os.FileMode(0o700); got != want {
		t.Errorf("data dir mode: got %v, want %v", got, want)
	}

	second, err := New(t.Context(), cfg)
	if err != nil {
		t.Fatalf("second New: %v", err)
	}
	defer second.Close()
	if second.ID() != id {
		t.Errorf("peer ID after restart: got %s, want %s", second.ID(), id)
	}
}

func TestIdentityCorrupt(t *testing.T) {
	for _, tc := range []struct {
		name string
		data []byte
	}{
		{"garbage", []byte("this is not a key")},
		{"empty", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig(t)
			path := filepath.Join(cfg.DataDir, IdentityFile)
			if err := os.WriteFile(path, tc.data, 0o600); err != nil {
				t.Fatal(err)
			}
			n, err := New(t.Context(), cfg)
			if err == nil {
				n.Close()
				t.Fatal("New with a corrupt identity file: got nil error")
			}
			if !strings.Contains(err.Error(), "corrupt identity key file") || !strings.Contains(err.Error(), path) {
				t.Errorf("error %q does not name the corrupt file %s", err, path)
			}
			got, err := os.ReadFile(path)
			if err != nil || !bytes.Equal(got, tc.data) {
				t.Errorf("corrupt identity file was modified: %q, %v", got, err)
			}
		})
	}
}

func TestNewConfigErrors(t *testing.T) {
	const validPeer = "12D3KooWGzxzKZYveHXtpG6AsrUJBcWxHBFS2HsEoGTxrMLvKXtf"
	for _, tc := range []struct {
		name string
		mod  func(*Config)
		want string // substring of the error
	}{
		{"no data dir", func(c *Config) { c.DataDir = "" }, "DataDir"},
		{"no network", func(c *Config) { c.Network = "" }, "network name"},
		{"bad network", func(c *Config) { c.Network = "dev/net" }, `"dev/net"`},
		{"no max message size", func(c *Config) { c.MaxMessageSize = 0 }, "MaxMessageSize"},
		{"watermarks", func(c *Config) { c.LowWater, c.HighWater = 10, 5 }, "LowWater"},
		{"bad listen", func(c *Config) { c.ListenAddrs = []string{"/ip4/nope/tcp/1"} }, "/ip4/nope/tcp/1"},
		{"bootstrap not a multiaddr", func(c *Config) { c.Bootstrap = []string{"localhost:4001"} }, `"localhost:4001"`},
		{"bootstrap without peer id", func(c *Config) { c.Bootstrap = []string{"/ip4/127.0.0.1/tcp/4001"} }, `"/ip4/127.0.0.1/tcp/4001"`},
		{"bootstrap bad peer id", func(c *Config) { c.Bootstrap = []string{"/ip4/127.0.0.1/tcp/4001/p2p/QmNope"} }, "QmNope"},
		{"second bootstrap bad", func(c *Config) {
			c.Bootstrap = []string{"/ip4/127.0.0.1/tcp/4001/p2p/" + validPeer, "/dns4/"}
		}, `"/dns4/"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig(t)
			tc.mod(&cfg)
			n, err := New(t.Context(), cfg)
			if err == nil {
				n.Close()
				t.Fatal("New: got nil error")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("New error: got %q, want it to mention %s", err, tc.want)
			}
		})
	}
}

func TestTopicName(t *testing.T) {
	if got, want := TopicName("devnet", "blocks"), "/gossipchain/devnet/blocks/3"; got != want {
		t.Errorf("TopicName: got %q, want %q", got, want)
	}
	if got, want := MDNSServiceName("devnet"), "gossipchain-devnet"; got != want {
		t.Errorf("MDNSServiceName: got %q, want %q", got, want)
	}
}

func TestFraming(t *testing.T) {
	var id [ContentIDSize]byte
	for i := range id {
		id[i] = byte(i)
	}
	msg := Frame(id, []byte("payload"))
	gotID, payload, err := Unframe(msg)
	if err != nil || gotID != id || string(payload) != "payload" {
		t.Errorf("Unframe(Frame(id, payload)): got %x, %q, %v", gotID, payload, err)
	}
	if got, want := MessageID(msg), "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"; got != want {
		t.Errorf("MessageID: got %s, want %s", got, want)
	}
	if MessageID(msg) != MessageID(Frame(id, []byte("other payload"))) {
		t.Error("MessageID depends on more than the content id")
	}
	// sha256("abc")
	if got, want := MessageID([]byte("abc")), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"; got != want {
		t.Errorf("MessageID of a short message: got %s, want %s", got, want)
	}
	if _, _, err := Unframe([]byte("short")); err != ErrShortMessage {
		t.Errorf("Unframe of a short message: got %v, want ErrShortMessage", err)
	}
}

func TestScoreParamsValid(t *testing.T) {
	// pubsub checks the parameters themselves when a node is built and a topic joined;
	// this checks the relations PROTOCOL.md section 3 promises.
	if !(GraylistThreshold <= PublishThreshold && PublishThreshold <= GossipThreshold && GossipThreshold < 0) {
		t.Error("thresholds must satisfy graylist <= publish <= gossip < 0")
	}
	p := TopicScoreParams()
	maxPositive := PeerScoreParams().TopicScoreCap
	// three invalid messages from a fresh peer must graylist it
	if s := 9 * p.InvalidMessageDeliveriesWeight; s >= GraylistThreshold {
		t.Errorf("3 invalid messages give %v, not below the graylist threshold %v", s, GraylistThreshold)
	}
	// four from a peer at the positive cap too
	if s := maxPositive + 16*p.InvalidMessageDeliveriesWeight; s >= GraylistThreshold {
		t.Errorf("4 invalid messages at the cap give %v, not below the graylist threshold %v", s, GraylistThreshold)
	}
}
