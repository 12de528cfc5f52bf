package launch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/gossipchain/gossipchain/api/client"
)

// DefaultStartTimeout bounds a node's start-up, which includes verifying
// its stored chain.
const DefaultStartTimeout = 3 * time.Minute

// Options say how to run one node.
type Options struct {
	// Binary is the gossipchain command (see Build). Required.
	Binary string
	// Name names the node in errors; by default its HTTP address.
	Name string
	// DataDir is the node's --datadir. Required.
	DataDir string
	// HTTP is the node's --http address, 127.0.0.1:0 by default: with port
	// 0 the node chooses one, which its log tells.
	HTTP string
	// Args are the node's other flags.
	Args []string
	// Netns, when set, runs the node in this network namespace (ip netns
	// exec).
	Netns string
	// Log is the file of the node's standard output and error, DataDir +
	// ".log" by default. Start truncates it; Restart appends to it.
	Log string
	// HTTPClient sends the requests of Client; http.DefaultClient by
	// default.
	HTTPClient *http.Client
	// StartTimeout bounds the start-up until GET /status answers;
	// DefaultStartTimeout by default.
	StartTimeout time.Duration
	// StopTimeout is how long Stop waits after SIGTERM before SIGKILL;
	// DefaultStopTimeout by default.
	StopTimeout time.Duration
}

// Node is a gossipchain node process. Its methods are safe for concurrent
// use, but Restart must not run alongside Stop or Kill.
type Node struct {
	opts Options

	mu      sync.Mutex
	proc    *Process
	api     *client.Client
	logFrom int64 // offset in the log where Log starts
	started time.Time
	ready   time.Time
}

// Start starts a node and waits until its HTTP API answers GET /status. A
// node that does not start is killed.
func Start(ctx context.Context, opts Options) (*Node, error) {
	if opts.Binary == "" || opts.DataDir == "" {
		return nil, errors.New("launch: a node needs a binary and a data directory")
	}
	if opts.HTTP == "" {
		opts.HTTP = "127.0.0.1:0"
	}
	if opts.Name == "" {
		opts.Name = "node " + opts.HTTP
	}
	if opts.Log == "" {
		opts.Log = opts.DataDir + ".log"
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = http.DefaultClient
	}
	if opts.StartTimeout <= 0 {
		opts.StartTimeout = DefaultStartTimeout
	}
	n := &Node{opts: opts}
	if err := n.start(ctx, true); err != nil {
		return nil, err
	}
	return n, nil
}

// Restart starts a node that was stopped or killed again, on the same data
// directory, HTTP address and log; args, when given, replace its other
// flags.
func (n *Node) Restart(ctx context.Context, args ...string) error {
	if !n.process().Exited() {
		return fmt.Errorf("%s is still running", n.opts.Name)
	}
	if args != nil {
		n.opts.Args = args
	}
	return n.start(ctx, false)
}

// start runs the node's command and waits until it is ready; fresh
// truncates the log.
func (n *Node) start(ctx context.Context, fresh bool) error {
	o := n.opts
	args := append([]string{"--datadir", o.DataDir, "--http", o.HTTP}, o.Args...)
	name := o.Binary
	if o.Netns != "" {
		name, args = "ip", append([]string{"netns", "exec", o.Netns, o.Binary}, args...)
	}
	if err := os.MkdirAll(filepath.Dir(o.Log), 0o755); err != nil {
		return err
	}
	flags := os.O_CREATE | os.O_WRONLY | os.O_APPEND
	if fresh {
		flags |= os.O_TRUNC
	}
	log, err := os.OpenFile(o.Log, flags, 0o644)
	if err != nil {
		return err
	}
	from, err := log.Seek(0, io.SeekEnd)
	if err != nil {
		log.Close()
		return err
	}
	cmd := Command(name, args...)
	cmd.Stdout, cmd.Stderr = log, log
	started := time.Now()
	p, err := StartProcess(o.Name, cmd, o.StopTimeout)
	log.Close() // the child has its own descriptor
	if err != nil {
		return err
	}
	n.mu.Lock()
	n.proc, n.started = p, started
	if fresh {
		n.logFrom = 0
	}
	n.mu.Unlock()
	if err := n.waitReady(ctx, p, from); err != nil {
		p.Kill()
		return err
	}
	return nil
}

// httpListening matches the node's log line that tells its HTTP API's
// address, in the text and the JSON log formats.
var httpListening = regexp.MustCompile(`msg"?[=:]"http api listening"[ ,]"?url"?[=:]"?(http://[^\s"]+)`)

// waitReady waits for the log line telling the node's HTTP address (written
// from offset from on), then for its GET /status to answer. The client of a
// node that keeps its address stays the same across restarts.
func (n *Node) waitReady(ctx context.Context, p *Process, from int64) error {
	deadline := time.Now().Add(n.opts.StartTimeout)
	ctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	var api *client.Client
	for {
		if api == nil {
			data, _ := readFrom(n.opts.Log, from)
			if m := httpListening.FindSubmatch(data); m != nil {
				n.mu.Lock()
				if n.api == nil || n.api.Base() != string(m[1]) {
					n.api = client.New(string(m[1]), n.opts.HTTPClient)
				}
				api, n.ready = n.api, time.Now()
				n.mu.Unlock()
			}
		}
		if api != nil {
			if _, err := api.Status(ctx); err == nil {
				return nil
			}
		}
		if p.Exited() {
			return fmt.Errorf("%s exited during start-up (%v); log:\n%s", n.opts.Name, p.Err(), n.LogTail(20))
		}
		select {
		case <-ctx.Done():
			if time.Now().After(deadline) {
				return fmt.Errorf("%s did not start within %s; log:\n%s", n.opts.Name, n.opts.StartTimeout, n.LogTail(20))
			}
			return ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
}

func (n *Node) process() *Process {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.proc
}

// Stop sends SIGTERM and waits for the node to exit (see Process.Stop).
func (n *Node) Stop() error { return n.process().Stop() }

// Kill sends SIGKILL and waits until the node is gone.
func (n *Node) Kill() { n.process().Kill() }

// Pid returns the process id of the node (ip netns exec runs it in its own
// process, so with Netns too).
func (n *Node) Pid() int { return n.process().Pid() }

// Exited reports whether the node's process has exited.
func (n *Node) Exited() bool { return n.process().Exited() }

// Err returns how the node's process ended (see Process.Err).
func (n *Node) Err() error { return n.process().Err() }

// Name returns the node's name.
func (n *Node) Name() string { return n.opts.Name }

// Client returns the client of the node's HTTP API.
func (n *Node) Client() *client.Client {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.api
}

// URL returns the base URL of the node's HTTP API.
func (n *Node) URL() string { return n.Client().Base() }

// Started returns when the node's process was last started, and Ready when
// its HTTP API then started listening.
func (n *Node) Started() time.Time {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.started
}

// Ready returns when the node's HTTP API started listening (see Started).
func (n *Node) Ready() time.Time {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.ready
}

// Multiaddr returns the node's TCP multiaddr on ip, with its peer ID, from
// its GET /status.
func (n *Node) Multiaddr(ctx context.Context, ip string) (string, error) {
	st, err := n.Client().Status(ctx)
	if err != nil {
		return "", err
	}
	for _, a := range st.Addrs {
		if strings.HasPrefix(a, "/ip4/"+ip+"/tcp/") {
			return a, nil
		}
	}
	return "", fmt.Errorf("%s: no /ip4/%s/tcp address in %v", n.opts.Name, ip, st.Addrs)
}

// LogPath returns the file of the node's log.
func (n *Node) LogPath() string { return n.opts.Log }

// Log returns what the node logged since it was started, across restarts,
// or since ResetLog.
func (n *Node) Log() string {
	n.mu.Lock()
	from := n.logFrom
	n.mu.Unlock()
	data, _ := readFrom(n.opts.Log, from)
	return string(data)
}

// ResetLog makes Log forget what was logged so far.
func (n *Node) ResetLog() {
	fi, err := os.Stat(n.opts.Log)
	if err != nil {
		return
	}
	n.mu.Lock()
	n.logFrom = fi.Size()
	n.mu.Unlock()
}

// LogTail returns the last k lines of Log.
func (n *Node) LogTail(k int) string {
	lines := strings.Split(strings.TrimRight(n.Log(), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-k):], "\n")
}

// readFrom reads the file path from offset from to its end.
func readFrom(path string, from int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if _, err := f.Seek(from, io.SeekStart); err != nil {
		return nil, err
	}
	return io.ReadAll(f)
}
