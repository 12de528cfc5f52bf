package launch

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestNodeLifecycle starts a node on ports of its choosing, restarts it
// after a stop and after a kill (the second time logging JSON), and checks
// what the launcher tells of it.
func TestNodeLifecycle(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "gossipchain")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if err := Build(ctx, Gossipchain, bin); err != nil {
		t.Fatal(err)
	}
	args := []string{"--network", "launchtest", "--difficulty", "4", "--listen", "/ip4/127.0.0.1/tcp/0", "--mdns=false"}
	n, err := Start(ctx, Options{Binary: bin, DataDir: filepath.Join(dir, "data"), Args: args, StartTimeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Kill() })
	if !strings.HasPrefix(n.URL(), "http://127.0.0.1:") || n.URL() == "http://127.0.0.1:0" || n.Ready().Before(n.Started()) {
		t.Fatalf("URL %q, started %s, ready %s", n.URL(), n.Started(), n.Ready())
	}
	st, err := n.Client().Status(ctx)
	if err != nil || st.Network != "launchtest" {
		t.Fatalf("status %+v %v", st, err)
	}
	addr, err := n.Multiaddr(ctx, "127.0.0.1")
	if err != nil || !strings.HasSuffix(addr, "/p2p/"+st.PeerID) {
		t.Fatalf("multiaddr %q %v", addr, err)
	}
	if _, err := n.Client().Mine(ctx); err != nil {
		t.Fatal(err)
	}
	if err := n.Restart(ctx); err == nil {
		t.Fatal("a running node restarted")
	}
	if err := n.Stop(); err != nil || !n.Exited() {
		t.Fatalf("stop: %v (exited %v)", err, n.Exited())
	}
	if err := n.Stop(); err != nil {
		t.Fatalf("a second stop: %v", err)
	}
	n.ResetLog()
	if err := n.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	if st, err := n.Client().Status(ctx); err != nil || st.Height != 2 {
		t.Fatalf("after a restart: height %d %v", st.Height, err)
	}
	if log := n.Log(); strings.Count(log, "http api listening") != 1 || !strings.Contains(log, `msg="starting gossipchain"`) {
		t.Fatalf("log after ResetLog and a restart:\n%s", log)
	}
	pid := n.Pid()
	n.Kill()
	if !n.Exited() || n.Err() == nil {
		t.Fatalf("after a kill: exited %v, %v", n.Exited(), n.Err())
	}
	if err := n.Restart(ctx, append(args, "--log-format", "json")...); err != nil {
		t.Fatal(err)
	}
	if n.Pid() == pid || !strings.Contains(n.LogTail(3), `"msg":"http api listening"`) {
		t.Fatalf("after a restart with JSON logs: pid %d (was %d), log tail:\n%s", n.Pid(), pid, n.LogTail(3))
	}
	if st, err := n.Client().Status(ctx); err != nil || st.Height != 2 {
		t.Fatalf("after a kill and a restart: height %d %v", st.Height, err)
	}
	if err := n.Stop(); err != nil {
		t.Fatal(err)
	}
}

// TestStartFailure: a node that exits during its start-up is an error that
// shows its log.
func TestStartFailure(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "fails")
	if err := os.WriteFile(bin, []byte("#!/bin/sh\necho boom\nexit 3\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	_, err := Start(context.Background(), Options{Binary: bin, DataDir: filepath.Join(dir, "data")})
	if err == nil || !strings.Contains(err.Error(), "exited during start-up (exit status 3)") || !strings.Contains(err.Error(), "boom") {
		t.Fatalf("got %v", err)
	}
}
