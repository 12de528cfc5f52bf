// Package launch runs gossipchain node processes for the end-to-end tests
// and the benchmarks: it builds the command once, starts a node with given
// flags on a data directory, waits until its HTTP API answers, and stops,
// kills and restarts it. Process is the child process underneath, for the
// other helper programs a test or benchmark starts.
//
// Every child gets its own process group, so that a Ctrl-C on the terminal
// reaches only its parent, which stops its children in order, and SIGKILL
// should its parent die.
package launch

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"syscall"
	"time"
)

// Gossipchain is the package of the node command, for Build.
const Gossipchain = "github.com/gossipchain/gossipchain/cmd/gossipchain"

// Build compiles the main package pkg (an import path, or a directory
// relative to the working directory) into the executable out, with go
// build's flags (e.g. "-tags", "nopeerpage") before the package.
func Build(ctx context.Context, pkg, out string, flags ...string) error {
	args := append(append([]string{"build", "-o", out}, flags...), pkg)
	cmd := exec.CommandContext(ctx, "go", args...)
	var output bytes.Buffer
	cmd.Stdout, cmd.Stderr = &output, &output
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("build %s: %w\n%s", pkg, err, output.Bytes())
	}
	return nil
}

// DefaultStopTimeout is how long Stop waits after SIGTERM before SIGKILL.
const DefaultStopTimeout = 20 * time.Second

// Command is exec.Command for a child that must not outlive its parent:
// it gets its own process group, and SIGKILL when the parent dies.
func Command(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(name, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	return cmd
}

// Process is a started child process, reaped by a goroutine of its own
// that ends when the process exits.
type Process struct {
	name        string
	cmd         *exec.Cmd
	stopTimeout time.Duration
	done        chan struct{} // closed once the process exited and was reaped
	err         error         // Wait's result, set before done is closed
}

// StartProcess starts cmd (made with Command) as the process name; Stop
// gives it stopTimeout (DefaultStopTimeout when 0) to exit after SIGTERM.
func StartProcess(name string, cmd *exec.Cmd, stopTimeout time.Duration) (*Process, error) {
	if stopTimeout <= 0 {
		stopTimeout = DefaultStopTimeout
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &Process{name: name, cmd: cmd, stopTimeout: stopTimeout, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// Name returns the name the process was started as.
func (p *Process) Name() string { return p.name }

// Pid returns the process id.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Done is closed once the process has exited and been reaped.
func (p *Process) Done() <-chan struct{} { return p.done }

// Exited reports whether the process has exited.
func (p *Process) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Err returns how the process ended (exec.Cmd.Wait's error): nil before
// it exits and after a clean exit.
func (p *Process) Err() error {
	if !p.Exited() {
		return nil
	}
	return p.err
}

// Stop sends SIGTERM and waits for the process to exit, killing it after
// its stop timeout. It reports a process that had to be killed or exited
// with another code than 0; one that had exited before is no error.
func (p *Process) Stop() error {
	if p.Exited() {
		return nil
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		if code := p.cmd.ProcessState.ExitCode(); code != 0 {
			return fmt.Errorf("%s exited with code %d after SIGTERM", p.name, code)
		}
		return nil
	case <-time.After(p.stopTimeout):
		p.Kill()
		return fmt.Errorf("%s (pid %d) did not stop within %s of SIGTERM: killed", p.name, p.Pid(), p.stopTimeout)
	}
}

// Kill sends SIGKILL and waits until the process is gone.
func (p *Process) Kill() {
	_ = p.cmd.Process.Kill() // fails only for a process already gone
	<-p.done
}
