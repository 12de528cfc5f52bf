package main

import (
	"context"
	"sync"
	"syscall"
	"time"
)

// throttle duty-cycles a process with SIGSTOP and SIGCONT: it lets it run
// for on out of every period and keeps it stopped for the rest. It is how
// gcbench divides a miner's hash rate without changing the node: the
// process runs at full speed while it runs. The returned function ends the
// duty cycle, leaves the process running and returns the fraction of wall
// time it was let run.
func throttle(ctx context.Context, pid int, on, period time.Duration) (stop func() float64) {
	ctx, cancel := context.WithCancel(ctx)
	var (
		wg      sync.WaitGroup
		running time.Duration
		began   = time.Now()
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			cont := time.Now()
			_ = syscall.Kill(pid, syscall.SIGCONT)
			if sleepCtx(ctx, on) != nil {
				running += time.Since(cont)
				return
			}
			_ = syscall.Kill(pid, syscall.SIGSTOP)
			running += time.Since(cont)
			if sleepCtx(ctx, period-on) != nil {
				_ = syscall.Kill(pid, syscall.SIGCONT)
				return
			}
		}
	}()
	return func() float64 {
		cancel()
		wg.Wait()
		_ = syscall.Kill(pid, syscall.SIGCONT)
		return running.Seconds() / time.Since(began).Seconds()
	}
}
