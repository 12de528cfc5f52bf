package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// stopTimeout is how long a process has to exit after SIGTERM before it is
// killed.
const stopTimeout = 10 * time.Second

// proc is a child process started by gcbench.
type proc struct {
	name string
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited and been reaped
	err  error         // Wait's result, set before done is closed
}

// Pid returns the process id.
func (p *proc) Pid() int { return p.cmd.Process.Pid }

// exited reports whether the process has exited.
func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop sends SIGTERM, waits up to stopTimeout, then kills the process. It
// returns once the process has been reaped.
func (p *proc) stop() {
	if p.exited() {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(stopTimeout):
		fmt.Fprintf(os.Stderr, "gcbench: %s (pid %d) did not stop within %s; killing it\n", p.name, p.Pid(), stopTimeout)
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// procSet tracks every child process, so that all of them are stopped on
// the way out, whatever happened.
type procSet struct {
	mu    sync.Mutex
	procs map[*proc]struct{}
}

func newProcSet() *procSet { return &procSet{procs: make(map[*proc]struct{})} }

// execCommand is exec.Command for a child that must not outlive gcbench:
// it gets its own process group (a Ctrl-C on the terminal reaches gcbench
// only, which stops its children in order) and SIGKILL should gcbench die.
func execCommand(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(name, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	return cmd
}

// start starts cmd and tracks it until it is stopped.
func (s *procSet) start(name string, cmd *exec.Cmd) (*proc, error) {
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd, done: make(chan struct{})}
	s.mu.Lock()
	s.procs[p] = struct{}{}
	s.mu.Unlock()
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// startPiped starts cmd with its standard input and output piped to the
// caller (its standard error goes to ours) and tracks it like start.
func (s *procSet) startPiped(name string, cmd *exec.Cmd) (*proc, io.WriteCloser, io.ReadCloser, error) {
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

// stop stops p and forgets it.
func (s *procSet) stop(p *proc) {
	p.stop()
	s.mu.Lock()
	delete(s.procs, p)
	s.mu.Unlock()
}

// stopAll stops every tracked process, concurrently.
func (s *procSet) stopAll() {
	s.mu.Lock()
	ps := make([]*proc, 0, len(s.procs))
	for p := range s.procs {
		ps = append(ps, p)
	}
	s.mu.Unlock()
	var wg sync.WaitGroup
	for _, p := range ps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.stop(p)
		}()
	}
	wg.Wait()
}

// killAll kills every tracked process at once.
func (s *procSet) killAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for p := range s.procs {
		_ = p.cmd.Process.Kill()
	}
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
