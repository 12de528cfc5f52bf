package p2p

import (
	"context"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
)

func TestGateAdmit(t *testing.T) {
	// step is one request admitted, or one request ended.
	type step struct {
		peer    peer.ID
		at      time.Duration // since the first step
		release int           // > 0: end the request admitted at this step (1-based) instead
		want    Refusal
	}
	tests := []struct {
		name  string
		cfg   GateConfig
		steps []step
	}{
		{
			name: "no budget admits any rate",
			cfg:  GateConfig{PerPeer: 1, Global: 1},
			steps: []step{
				{peer: "a"}, {release: 1}, {peer: "a"}, {release: 3}, {peer: "a"}, {release: 5}, {peer: "a"},
			},
		},
		{
			name: "rate: burst, strikes, then a penalty",
			cfg:  GateConfig{Budget: &RequestBudget{Burst: 2, Rate: 1, Strikes: 3}, PerPeer: 10, Global: 10},
			steps: []step{
				{peer: "a"},
				{peer: "a"},
				{peer: "a", want: OverRate},
				{peer: "b"}, // another peer has its own budget
				{peer: "a", want: OverRate},
				{peer: "a", want: Flooding},
				{peer: "a"}, // the penalty started the bucket over
			},
		},
		{
			name: "rate: a refill after a pause",
			cfg:  GateConfig{Budget: &RequestBudget{Burst: 1, Rate: 1, Strikes: 3}, PerPeer: 10, Global: 10},
			steps: []step{
				{peer: "a"},
				{peer: "a", want: OverRate},
				{peer: "a", at: 500 * time.Millisecond, want: OverRate},
				{peer: "a", at: 1500 * time.Millisecond},
			},
		},
		{
			name: "rate is spent by a busy refusal",
			cfg:  GateConfig{Budget: &RequestBudget{Burst: 2, Rate: 1, Strikes: 5}, PerPeer: 1, Global: 10},
			steps: []step{
				{peer: "a"},
				{peer: "a", want: PeerBusy},
				{release: 1},
				{peer: "a", want: OverRate},
			},
		},
		{
			name: "per peer",
			cfg:  GateConfig{PerPeer: 2, Global: 10},
			steps: []step{
				{peer: "a"},
				{peer: "a"},
				{peer: "a", want: PeerBusy},
				{peer: "b"},
				{release: 2},
				{peer: "a"},
				{peer: "a", want: PeerBusy},
			},
		},
		{
			name: "global",
			cfg:  GateConfig{PerPeer: 2, Global: 3},
			steps: []step{
				{peer: "a"},
				{peer: "a"},
				{peer: "b"},
				{peer: "c", want: ServerBusy},
				{peer: "b", want: ServerBusy},
				{peer: "a", want: PeerBusy}, // its own share is checked first
				{release: 3},
				{peer: "c"},
				{peer: "b", want: ServerBusy},
			},
		},
		{
			name: "per peer equal to global",
			cfg:  GateConfig{PerPeer: 2, Global: 2},
			steps: []step{
				{peer: "a"},
				{peer: "b"},
				{peer: "a", want: ServerBusy},
				{release: 2},
				{peer: "a"},
				{peer: "a", want: PeerBusy},
				{peer: "b", want: ServerBusy},
			},
		},
	}
	start := time.Unix(1_700_000_000, 0)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewGate(tt.cfg)
			releases := make([]func(), len(tt.steps))
			serving := 0
			for i, s := range tt.steps {
				if s.release > 0 {
					releases[s.release-1]()
					serving--
				} else {
					release, got := g.Admit(s.peer, start.Add(s.at))
					if got != s.want {
						t.Fatalf("step %d (%s): %v, want %v", i+1, s.peer, got, s.want)
					}
					if (release != nil) != (got == Admitted) {
						t.Fatalf("step %d (%s): %v with release %t", i+1, s.peer, got, release != nil)
					}
					if release != nil {
						releases[i] = release
						serving++
					}
				}
				if got := g.Serving(); got != serving {
					t.Fatalf("after step %d: serving %d, want %d", i+1, got, serving)
				}
			}
		})
	}
}

func TestRefusal(t *testing.T) {
	tests := []struct {
		r        Refusal
		name     string
		penalize bool
	}{
		{Admitted, "admitted", false},
		{OverRate, "over rate", false},
		{Flooding, "flooding", true},
		{PeerBusy, "peer busy", false},
		{ServerBusy, "server busy", false},
	}
	for _, tt := range tests {
		if got := tt.r.String(); got != tt.name {
			t.Errorf("String() = %q, want %q", got, tt.name)
		}
		if got := tt.r.Penalize(); got != tt.penalize {
			t.Errorf("%v: Penalize() = %t, want %t", tt.r, got, tt.penalize)
		}
	}
}

// AdmitStream serves an admitted stream with its deadline, answers a refused
// one with Refuse and hands a flooding peer to Penalize.
func TestAdmitStream(t *testing.T) {
	const proto = protocol.ID("/gossipchain/test/gate/1.0.0")
	refused := make(chan Refusal, 8)
	penalized := make(chan string, 8)
	g := NewGate(GateConfig{
		Budget:   &RequestBudget{Burst: 2, Rate: 0, Strikes: 2},
		PerPeer:  1,
		Global:   1,
		Timeout:  50 * time.Millisecond,
		Refuse:   func(s network.Stream, r Refusal) { refused <- r; _ = s.Reset() },
		Penalize: func(_ peer.ID, reason string) { penalized <- reason },
		Protocol: "test",
	})
	server, client := rawHost(t), rawHost(t)
	timedOut := make(chan error, 1)
	server.SetStreamHandler(proto, func(s network.Stream) {
		release := g.AdmitStream(s)
		if release == nil {
			return
		}
		defer release()
		// The client sends one byte and nothing more: the read ends on the
		// stream's deadline.
		buf := make([]byte, 2)
		_, err := s.Read(buf)
		if err == nil {
			_, err = s.Read(buf[1:])
		}
		timedOut <- err
		_ = s.Reset()
	})
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	if err := client.Connect(ctx, peer.AddrInfo{ID: server.ID(), Addrs: server.Addrs()}); err != nil {
		t.Fatal(err)
	}
	open := func() network.Stream {
		t.Helper()
		s, err := client.NewStream(network.WithNoDial(ctx, "test"), server.ID(), proto)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Reset() })
		if _, err := s.Write([]byte{1}); err != nil {
			t.Fatal(err)
		}
		return s
	}
	// refusal is the next refusal, within the test's deadline.
	refusal := func(what string) Refusal {
		t.Helper()
		select {
		case r := <-refused:
			return r
		case <-ctx.Done():
			t.Fatalf("%s: not refused", what)
			return Admitted
		}
	}

	open()
	waitFor(t, 10*time.Second, "the first request admitted", func() bool { return g.Serving() == 1 })
	open()
	if r := refusal("second request"); r != PeerBusy {
		t.Fatalf("second request: %v, want %v", r, PeerBusy)
	}
	select {
	case err := <-timedOut:
		if err == nil {
			t.Fatal("the admitted stream read past its deadline")
		}
	case <-ctx.Done():
		t.Fatal("the admitted stream got no deadline")
	}
	waitFor(t, 10*time.Second, "the first request released", func() bool { return g.Serving() == 0 })
	open()
	if r := refusal("third request"); r != OverRate {
		t.Fatalf("third request: %v, want %v", r, OverRate)
	}
	open()
	if r := refusal("fourth request"); r != Flooding {
		t.Fatalf("fourth request: %v, want %v", r, Flooding)
	}
	select {
	case reason := <-penalized:
		if reason != "flooding the test protocol" {
			t.Fatalf("penalised for %q", reason)
		}
	case <-ctx.Done():
		t.Fatal("the flooding peer was not penalised")
	}
}
