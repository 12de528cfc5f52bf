// Package readme follows README.md as written, on a fresh clone of the
// current commit (scripts/readme.sh). It is a package of its own so that
// go test ./... runs it beside the other end-to-end tests: most of its
// time goes to building the command and waiting on its nodes.
package readme

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// portBusy is scripts/readme.sh's exit code when a port the README's
// commands use is taken, before it starts anything.
const portBusy = 3

// TestREADMEWalkthrough runs scripts/readme.sh, which follows README.md as
// written on a fresh clone of the current commit: the devnet of its opening
// and its Ctrl-C, the tutorial's walkthrough, the command-line client and
// the signed ledger's walkthrough, each command's exit code and answer
// checked. It uses the README's own ports (HTTP 5000-5002, p2p 4001-4003),
// which the other tests never take (their ports are drawn above them); when
// something else holds one, such as the README's devnet left running, it
// skips, unless CI is set.
func TestREADMEWalkthrough(t *testing.T) {
	for _, tool := range []string{"bash", "git", "curl"} {
		if _, err := exec.LookPath(tool); err != nil {
			skipUnlessCI(t, "scripts/readme.sh needs "+tool)
		}
	}
	if err := exec.Command("git", "rev-parse", "--show-toplevel").Run(); err != nil {
		skipUnlessCI(t, "scripts/readme.sh clones the repository, and this is not a git work tree (run the tests in a git clone)")
	}

	// The script stops what it started on SIGTERM, also when this test
	// process dies (Pdeathsig); it bounds each of its own waits.
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", filepath.Join("..", "..", "scripts", "readme.sh"))
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 30 * time.Second
	start := time.Now()
	out, err := cmd.CombinedOutput()
	if cmd.ProcessState != nil && cmd.ProcessState.ExitCode() == portBusy {
		// A devnet left running while the suite runs, say: the script's
		// last line names the port.
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		skipUnlessCI(t, "scripts/readme.sh: "+strings.TrimPrefix(lines[len(lines)-1], "FAIL  "))
	}
	if err != nil {
		t.Fatalf("scripts/readme.sh: %v after %s:\n%s", err, time.Since(start).Round(time.Second), out)
	}
	t.Logf("scripts/readme.sh passed in %s:\n%s", time.Since(start).Round(time.Second), out)
}

// skipUnlessCI skips the test for why (a missing tool, a busy port), or
// fails it when CI is set: CI runs every test (.ci/run installs git and
// curl).
func skipUnlessCI(t *testing.T, why string) {
	t.Helper()
	if ci := os.Getenv("CI"); ci != "" && ci != "false" && ci != "0" {
		t.Fatalf("%s, and CI is set", why)
	}
	t.Skipf("skipping: %s", why)
}
