package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gossipchain/gossipchain/chain"
)

// Goals of items 2 and 3: sync end to end in blocks per second, and bytes
// written for one block on a long chain.
const (
	syncGoal          = 150_000
	singleBlockGoal   = 12 << 10
	singleBlocksCount = 20
)

// runStore measures item 2: blocks per second to validate and store a long
// chain with chain.AddBlocks in batches, into a fresh store.
func runStore(ctx context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("store", flag.ContinueOnError)
	sizes := intList{10_000, 100_000}
	fs.Var(&sizes, "blocks", "chain `lengths` to store, comma-separated")
	runs := fs.Int("runs", 3, "runs per length (median, min, max)")
	txs := fs.Int("txs", 50, "transactions added to the pending pool one after another")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if len(sizes) == 0 || *runs < 1 {
		return fmt.Errorf("want --blocks and --runs >= 1")
	}
	p, err := benchParams()
	if err != nil {
		return err
	}
	longest := slices.Max(sizes)
	e.logf("store: building a chain of %d blocks in memory", longest)
	blocks, err := buildBlocks(p, longest+singleBlocksCount, genTxsPerBlock)
	if err != nil {
		return err
	}
	extra := blocks[longest:]
	blocks = blocks[:longest]
	var single []float64 // bytes written per single block on the longest chain
	// singleCommitted: the same with the commit of their bbolt changes,
	// which waits for 64 blocks or Close (chain/store deferred.go).
	var singleCommitted []float64
	// bareAppend: the reference, each of the same blocks appended to a
	// plain file and fsynced, run by run.
	var bareAppend []float64
	singleSit := startSitting()

	for i, n := range sizes {
		var rates, secs, written, fileSizes []float64
		for run := range *runs {
			if err := ctx.Err(); err != nil {
				return err
			}
			dir := filepath.Join(e.workDir, fmt.Sprintf("store-%d-%d", n, run))
			c, err := openStore(dir, p)
			if err != nil {
				return err
			}
			runtime.GC()
			w0, _ := procWriteBytes(0)
			start := time.Now()
			err = addAll(c, blocks[:n])
			elapsed := time.Since(start)
			w1, _ := procWriteBytes(0)
			if err == nil && n == longest {
				// Then single blocks, as a mined or gossiped block is added.
				for _, b := range extra {
					if _, err = c.AddBlock(b); err != nil {
						break
					}
				}
				w2, _ := procWriteBytes(0)
				single = append(single, (w2-w1)/float64(len(extra)))
			}
			if cerr := c.Close(); err == nil {
				err = cerr
			}
			if len(single) > len(singleCommitted) {
				w3, _ := procWriteBytes(0)
				singleCommitted = append(singleCommitted, (w3-w1)/float64(len(extra)))
				bare, berr := appendBytesPerBlock(e.workDir, extra)
				if err == nil {
					err = berr
				}
				bareAppend = append(bareAppend, bare)
			}
			if fi, serr := os.Stat(filepath.Join(dir, "chain.db")); serr == nil {
				fileSizes = append(fileSizes, float64(fi.Size()))
			}
			os.RemoveAll(dir)
			if err != nil {
				return err
			}
			written = append(written, w1-w0)
			rates = append(rates, float64(n)/elapsed.Seconds())
			secs = append(secs, elapsed.Seconds())
			e.logf("store: %d blocks in %s (%s blocks/s)", n, fmtDur(elapsed), fmtSI(float64(n)/elapsed.Seconds()))
		}
		r := summarize(rates)
		t := summarize(secs)
		e.sink.add(Row{
			ID:   fmt.Sprintf("2%c", 'a'+i),
			Item: "Validation and storage",
			What: fmt.Sprintf("blocks/s to validate and store %s blocks (%d txs + reward each) with chain.AddBlocks, batches of %d, fresh store",
				groupDigits(n), genTxsPerBlock, addBatch),
			Figure:  r.format(fmtRate),
			Ratio:   fmt.Sprintf("%s for %s blocks; %s of the %s blocks/s sync goal (item 3)", t.format(fmtSeconds), groupDigits(n), fmtRatio(r.Median/syncGoal), fmtSI(syncGoal)),
			Command: e.command,
			Notes: []string{fmt.Sprintf("%s blocks: %s written to disk (write_bytes of /proc/self/io) for a store file of %s, %s per block",
				groupDigits(n), fmtBytes(median(written)), fmtBytes(median(fileSizes)), fmtBytes(median(written)/float64(n)))},
		})
	}

	singleSit.end()
	if len(single) > 0 {
		b := summarize(single)
		bare := median(bareAppend)
		e.sink.add(singleSit.stamp(Row{
			ID:   fmt.Sprintf("2%c", 'a'+len(sizes)+1),
			Item: "Validation and storage",
			What: fmt.Sprintf("bytes written to disk for a single block (chain.AddBlock, as a mined or gossiped block) on a chain of %s blocks, mean of %d (write_bytes of /proc/self/io)",
				groupDigits(longest), singleBlocksCount),
			Figure: b.format(fmtBytes) + "; " + cpuModel(),
			Ratio: fmt.Sprintf("%s the same blocks each appended to a plain file and fsynced (%s per block, median of %d, same runs); %s of the goal",
				fmtRatio(b.Median/bare), fmtBytes(bare), len(bareAppend), fmtRatio(b.Median/singleBlockGoal)),
			Goal:    "≤ 12 KiB",
			Verdict: verdict(b.Median <= singleBlockGoal),
			Command: e.command,
			Notes: []string{fmt.Sprintf("each acknowledged once its block-file record is fsynced; with the commit of their index changes that follows (on Close here, for the %d; every 64 blocks in a running node), %s per block (median of %d)",
				singleBlocksCount, fmtBytes(median(singleCommitted)), len(singleCommitted))},
		}, b))
	}

	// The pending pool: one caller adding transactions one after another,
	// against the latency of one fsync on the same disk.
	dir := filepath.Join(e.workDir, "pool")
	c, err := openStore(dir, p)
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	defer c.Close()
	var lat []time.Duration
	for i := range *txs {
		tx := chain.Transaction{Sender: "pool-bench", Recipient: "bench", Amount: uint64(i + 1), Nonce: uint64(i)}
		tx.ID = tx.ComputeID()
		start := time.Now()
		if err := c.AddTransaction(tx); err != nil {
			return err
		}
		lat = append(lat, time.Since(start))
	}
	fsync, err := fsyncLatency(e.workDir, 50)
	if err != nil {
		return err
	}
	l := summarizeDurations(lat)
	e.logf("store: AddTransaction %s; fsync %s", l, fmtDur(fsync))
	e.sink.add(Row{
		ID:      fmt.Sprintf("2%c", 'a'+len(sizes)),
		Item:    "Validation and storage",
		What:    fmt.Sprintf("chain.AddTransaction into the pending pool, one caller, %d transactions one after another: latency", *txs),
		Figure:  l.String(),
		Ratio:   fmt.Sprintf("%s one 4 kB write + fsync on the same disk (%s, median of 50, same run)", fmtRatio(float64(l.P50)/float64(fsync)), fmtDur(fsync)),
		Command: e.command,
	})
	return nil
}

// fmtSeconds formats seconds as a duration.
func fmtSeconds(s float64) string { return fmtDur(time.Duration(s * float64(time.Second))) }

// groupDigits writes n with thousands separators: 100,000.
func groupDigits(n int) string {
	s := fmt.Sprint(n)
	if n < 0 {
		return "-" + groupDigits(-n)
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// intList is a comma-separated list of integers flag.
type intList []int

func (l *intList) String() string {
	s := ""
	for i, n := range *l {
		if i > 0 {
			s += ","
		}
		s += fmt.Sprint(n)
	}
	return s
}

func (l *intList) Set(v string) error {
	var out []int
	for _, f := range splitComma(v) {
		n, err := strconv.Atoi(f)
		if err != nil || n <= 0 {
			return fmt.Errorf("want positive integers, got %q", f)
		}
		out = append(out, n)
	}
	*l = out
	return nil
}

// splitComma splits a comma-separated list, dropping empty entries.
func splitComma(v string) []string {
	var out []string
	for _, f := range strings.Split(v, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// appendBytesPerBlock appends the binary form of each of blocks to a plain
// file in dir and fsyncs it, as the least a durable block costs, and
// returns the bytes written to disk per block (write_bytes of
// /proc/self/io).
func appendBytesPerBlock(dir string, blocks []*chain.Block) (float64, error) {
	f, err := os.CreateTemp(dir, "append-")
	if err != nil {
		return 0, err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	w0, _ := procWriteBytes(0)
	var buf []byte
	for _, b := range blocks {
		buf = b.AppendBinary(buf[:0])
		if _, err := f.Write(buf); err != nil {
			return 0, err
		}
		if err := f.Sync(); err != nil {
			return 0, err
		}
	}
	w1, _ := procWriteBytes(0)
	return (w1 - w0) / float64(len(blocks)), nil
}
