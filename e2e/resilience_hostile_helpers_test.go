package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gossipchain/gossipchain/e2e/launch"
)

// hostileBuild builds cmd/gchostile once, next to the node binary.
var hostileBuild struct {
	once sync.Once
	path string
	err  error
}

func hostileBinary(t testing.TB) string {
	t.Helper()
	hostileBuild.once.Do(func() {
		path := filepath.Join(filepath.Dir(binary), "gchostile")
		if hostileBuild.err = launch.Build(context.Background(), "../cmd/gchostile", path); hostileBuild.err == nil {
			hostileBuild.path = path
		}
	})
	if hostileBuild.err != nil {
		t.Fatal(hostileBuild.err)
	}
	return hostileBuild.path
}

// hostile is a running gchostile process aimed at one node. Each command is
// one line on its stdin, each answer one JSON line on its stdout.
type hostile struct {
	t       testing.TB
	proc    *launch.Process
	in      io.WriteCloser
	answers chan string
	logs    *syncBuffer // its standard error
}

func startHostile(t testing.TB, target *node) *hostile {
	t.Helper()
	cmd := launch.Command(hostileBinary(t),
		"--target", target.multiaddr(),
		"--network", target.opts.network,
		"--difficulty", fmt.Sprint(target.opts.difficulty))
	h := &hostile{t: t, answers: make(chan string, 16), logs: &syncBuffer{}}
	cmd.Stderr = h.logs
	var err error
	if h.in, err = cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if h.proc, err = launch.StartProcess("gchostile", cmd, 0); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 64<<10), 16<<20)
		for sc.Scan() {
			h.answers <- sc.Text()
		}
		close(h.answers)
	}()
	t.Cleanup(h.stop)
	return h
}

// stop asks the process to quit, killing it if it does not within 10 s.
func (h *hostile) stop() {
	if h.proc.Exited() {
		return
	}
	fmt.Fprintln(h.in, "quit")
	h.in.Close()
	select {
	case <-h.proc.Done():
	case <-time.After(10 * time.Second):
		h.proc.Kill()
	}
}

// do runs one command and returns its answer, failing the test on an error.
func (h *hostile) do(format string, args ...any) map[string]any {
	h.t.Helper()
	out := h.try(format, args...)
	if out["ok"] != true {
		h.t.Fatalf("gchostile %s: %v\n%s", fmt.Sprintf(format, args...), out["error"], lastLinesOf(h.logs.String(), 20))
	}
	return out
}

// try runs one command and returns its answer; a failure is an answer with
// "ok" false and "error". It may run in a goroutine of its own.
func (h *hostile) try(format string, args ...any) map[string]any {
	line := fmt.Sprintf(format, args...)
	fail := func(err string) map[string]any { return map[string]any{"ok": false, "error": err} }
	if _, err := fmt.Fprintln(h.in, line); err != nil {
		return fail(err.Error())
	}
	select {
	case a, ok := <-h.answers:
		if !ok {
			return fail("gchostile exited:\n" + h.logs.String())
		}
		var out map[string]any
		if err := json.Unmarshal([]byte(a), &out); err != nil {
			return fail(fmt.Sprintf("bad answer %q: %v", a, err))
		}
		return out
	case <-time.After(3 * time.Minute):
		return fail("no answer within 3 minutes")
	}
}

func lastLinesOf(s string, k int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > k {
		lines = lines[len(lines)-k:]
	}
	return strings.Join(lines, "\n")
}

// syncBuffer is a bytes.Buffer safe for concurrent use.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
