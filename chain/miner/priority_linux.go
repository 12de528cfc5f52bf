package miner

import (
	"runtime"
	"syscall"
)

// searchNice is the nice value of a proof-search thread: the lowest
// scheduling priority, so that every other thread of the node (HTTP,
// gossip, validation) and every other program of the machine goes first on
// a busy core, while a search alone on an idle core runs at full speed.
const searchNice = 19

// atLowPriority runs search on an OS thread of its own whose nice value is
// searchNice; the nice value is a property of the thread on Linux, so the
// node's other threads keep theirs. The thread is never returned to the
// runtime: the goroutine ends locked to it, so the runtime ends the thread
// rather than hand other goroutines a priority nobody could raise again.
// Threads the runtime creates later are made by a thread of its own, never
// cloned from a locked one, so they do not inherit it. A failure of
// setpriority (a sandbox that forbids it) leaves the search at the node's
// priority.
func atLowPriority(search func()) {
	runtime.LockOSThread()
	if syscall.Gettid() == syscall.Getpid() {
		// The main thread is not lowered: the runtime cannot end it, so a
		// goroutine that ends locked to it leaves it parked for good, and
		// tools show its priority as the process's. While this goroutine
		// holds it no other can run on it: the search goes to another.
		done := make(chan struct{})
		go func() {
			defer close(done)
			atLowPriority(search)
		}()
		<-done
		runtime.UnlockOSThread()
		return
	}
	_ = syscall.Setpriority(syscall.PRIO_PROCESS, syscall.Gettid(), searchNice)
	search()
	// No runtime.UnlockOSThread: see above.
}
