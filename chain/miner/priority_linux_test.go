package miner

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// The main goroutine keeps the main thread, so that TestMain can check
// what a search started there does.
func init() { runtime.LockOSThread() }

// TestMain checks, on the main thread, that a search started there runs on
// another thread at the lowest priority, leaves the main thread's priority
// alone (the runtime cannot end the main thread) and leaves no thread at
// that priority behind; then it runs the tests.
func TestMain(m *testing.M) {
	if niceOf(syscall.Getpid()) == searchNice {
		os.Exit(m.Run()) // started at nice 19: nothing to tell apart
	}
	pid := syscall.Getpid()
	var tid, nice int
	atLowPriority(func() {
		tid = syscall.Gettid()
		nice = niceOf(tid)
	})
	if tid == pid || nice != searchNice || niceOf(pid) == searchNice {
		fmt.Fprintf(os.Stderr, "a search started on the main thread (%d) ran on thread %d at nice %d; the main thread is at nice %d\n",
			pid, tid, nice, niceOf(pid))
		os.Exit(1)
	}
	if err := waitNiced(0); err != nil {
		fmt.Fprintf(os.Stderr, "after a search started on the main thread: %v\n", err)
		os.Exit(1)
	}
	os.Exit(m.Run())
}

// niceOf returns the nice value of thread tid (getpriority returns 20 -
// nice on Linux), or searchNice+1 if it cannot be read.
func niceOf(tid int) int {
	prio, err := syscall.Getpriority(syscall.PRIO_PROCESS, tid)
	if err != nil {
		return searchNice + 1
	}
	return 20 - prio
}

// nicedThreads returns how many threads of this process run at searchNice.
func nicedThreads() (int, error) {
	tasks, err := filepath.Glob("/proc/self/task/*")
	if err != nil {
		return 0, err
	}
	n := 0
	for _, task := range tasks {
		tid, err := strconv.Atoi(filepath.Base(task))
		if err != nil {
			return 0, fmt.Errorf("%s: %w", task, err)
		}
		if niceOf(tid) == searchNice {
			n++
		}
	}
	return n, nil
}

// waitNiced waits, with a generous deadline, until want threads of the
// process run at searchNice.
func waitNiced(want int) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		got, err := nicedThreads()
		if err == nil && got == want {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d threads at nice %d, want %d (%v)", got, searchNice, want, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestSearchThreadsNiced checks that each search thread, and only it, runs
// at the lowest priority while the search lasts, and that no thread of
// lowered priority is left to the runtime once the search has ended.
func TestSearchThreadsNiced(t *testing.T) {
	if niceOf(syscall.Getpid()) == searchNice {
		t.Skipf("the test runs at nice %d already", searchNice)
	}
	c := newTestChain(t, 64) // out of reach
	m := newTestMiner(t, c, 2)
	for round := 1; round <= 2; round++ { // threads of an ended search are not reused
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan bool)
		go func() {
			_, ok := m.search(ctx, c.BlockTemplate(m.Address()), nil)
			done <- ok
		}()
		if err := waitNiced(2); err != nil {
			t.Fatalf("search %d running: %v", round, err)
		}
		cancel()
		if <-done {
			t.Fatal("search reported a proof at difficulty 64")
		}
		if err := waitNiced(0); err != nil {
			t.Fatalf("search %d ended: %v", round, err)
		}
	}
}
