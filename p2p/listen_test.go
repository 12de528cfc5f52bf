package p2p

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"testing"
)

// holdPort takes a TCP port on 127.0.0.1 for the test's duration.
func holdPort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln.Addr().(*net.TCPAddr).Port
}

// TestListenPortInUse checks the error of a port clash: one line naming the
// address and the reason, whether every listen address fails or only some.
func TestListenPortInUse(t *testing.T) {
	port := holdPort(t)
	tcp := fmt.Sprintf("/ip4/127.0.0.1/tcp/%d", port)
	quic := fmt.Sprintf("/ip4/127.0.0.1/udp/%d/quic-v1", port) // the UDP port is free
	for _, listen := range [][]string{{tcp}, {tcp, quic}} {
		cfg := testConfig(t)
		cfg.ListenAddrs = listen
		n, err := New(t.Context(), cfg)
		if err == nil {
			n.Close()
			t.Fatalf("%v: New listened on a port in use", listen)
		}
		var le *ListenError
		if !errors.As(err, &le) || !le.InUse() {
			t.Fatalf("%v: error %v, want a ListenError of a port in use", listen, err)
		}
		if want := "cannot listen on " + tcp + ": address already in use"; err.Error() != want {
			t.Errorf("%v: error %q, want %q", listen, err, want)
		}
	}
}

// TestListenFixedPorts checks that a host listening on fixed TCP and QUIC
// ports, as the command's default, is not taken for one that failed.
func TestListenFixedPorts(t *testing.T) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	cfg := testConfig(t)
	cfg.ListenAddrs = []string{fmt.Sprintf("/ip4/127.0.0.1/tcp/%d", port), fmt.Sprintf("/ip4/127.0.0.1/udp/%d/quic-v1", port)}
	newNode(t, cfg)
}

// TestLibraryHandler checks how go-libp2p's records reach the node's
// handler: in its format, at error unless GOLOG_LOG_LEVEL says otherwise,
// and never fx's lifecycle events.
func TestLibraryHandler(t *testing.T) {
	var buf bytes.Buffer
	lib := slog.New(libraryHandler{h: slog.NewTextHandler(&buf, nil), level: slog.LevelError})
	swarm := lib.With("logger", "swarm2")
	swarm.Warn("listening failed")
	swarm.Error("dial failed", "err", "boom")
	fx := lib.With("logger", "p2p-config").With("system", "fx")
	fx.Error("OnStart hook failed")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 1 || !strings.HasSuffix(lines[0], ` level=ERROR msg="dial failed" logger=swarm2 err=boom`) {
		t.Fatalf("routed lines:\n%s", buf.String())
	}
}
