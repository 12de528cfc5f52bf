package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/gossipchain/gossipchain/e2e/launch"
)

// stopTimeout is how long a process has to exit after SIGTERM before it is
// killed.
const stopTimeout = 10 * time.Second

// stopper is a tracked child: a node (*node) or a helper process
// (*launch.Process).
type stopper interface {
	Stop() error
	Kill()
}

// procSet tracks every child process, so that all of them are stopped on
// the way out, whatever happened.
type procSet struct {
	mu    sync.Mutex
	procs map[stopper]struct{}
}

func newProcSet() *procSet { return &procSet{procs: make(map[stopper]struct{})} }

// add tracks p until it is stopped.
func (s *procSet) add(p stopper) {
	s.mu.Lock()
	s.procs[p] = struct{}{}
	s.mu.Unlock()
}

// start starts cmd (made with launch.Command) and tracks it until it is
// stopped.
func (s *procSet) start(name string, cmd *exec.Cmd) (*launch.Process, error) {
	p, err := launch.StartProcess(name, cmd, stopTimeout)
	if err != nil {
		return nil, err
	}
	s.add(p)
	return p, nil
}

// startPiped starts cmd with its standard input and output piped to the
// caller (its standard error goes to ours) and tracks it like start.
func (s *procSet) startPiped(name string, cmd *exec.Cmd) (*launch.Process, io.WriteCloser, io.ReadCloser, error) {
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, nil, nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, nil, nil, err
	}
	cmd.Stderr = os.Stderr
	p, err := s.start(name, cmd)
	if err != nil {
		return nil, nil, nil, err
	}
	return p, stdin, stdout, nil
}

// stop stops p (SIGTERM, then SIGKILL after stopTimeout) and forgets it.
func (s *procSet) stop(p stopper) {
	if err := p.Stop(); err != nil {
		fmt.Fprintf(os.Stderr, "gcbench: %v\n", err)
	}
	s.mu.Lock()
	delete(s.procs, p)
	s.mu.Unlock()
}

// stopAll stops every tracked process, concurrently.
func (s *procSet) stopAll() {
	s.mu.Lock()
	ps := make([]stopper, 0, len(s.procs))
	for p := range s.procs {
		ps = append(ps, p)
	}
	s.mu.Unlock()
	var wg sync.WaitGroup
	for _, p := range ps {
		wg.Go(func() { s.stop(p) })
	}
	wg.Wait()
}

// killAll kills every tracked process at once and waits until they are
// gone.
func (s *procSet) killAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	var wg sync.WaitGroup
	for p := range s.procs {
		wg.Go(p.Kill)
	}
	wg.Wait()
}

// procStatus returns the fields of /proc/<pid>/status measured in kB (VmRSS,
// VmHWM, ...), in bytes.
func procStatus(pid int) (map[string]float64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := make(map[string]float64)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		var n float64
		if _, err := fmt.Sscanf(strings.TrimSpace(v), "%f kB", &n); err == nil {
			out[k] = n * 1024
		}
	}
	return out, sc.Err()
}

// fdCount returns the number of open file descriptors of pid.
func fdCount(pid int) (int, error) {
	entries, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return 0, err
	}
	return len(entries), nil
}

// procWriteBytes returns the bytes pid has caused to be written to storage
// (write_bytes of /proc/<pid>/io); pid 0 means this process.
func procWriteBytes(pid int) (float64, error) {
	path := "/proc/self/io"
	if pid != 0 {
		path = fmt.Sprintf("/proc/%d/io", pid)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "write_bytes:"); ok {
			var n float64
			if _, err := fmt.Sscan(strings.TrimSpace(v), &n); err != nil {
				return 0, err
			}
			return n, nil
		}
	}
	return 0, fmt.Errorf("%s: no write_bytes", path)
}
