package main

import (
	"fmt"
	"strings"
)

// syncRows adds the rows of gcbench sync: per chain length its rate, bytes
// written, memory and start-up; the start-up on an empty store; and, for
// two lengths or more, the flatness of the rate and of the memory between
// the two longest, and gcbench's own memory while it made the chain.
func syncRows(e *env, results []syncRuns, emptySit *sitting, empty, genAnon []float64) {
	id := 'a'
	add := func(sit *sitting, s spread, r Row) {
		r.ID, r.Item, r.Command = fmt.Sprintf("3%c", id), "Sync", e.command
		id++
		e.sink.add(sit.stamp(r, s))
	}
	emptyUp := summarize(empty)
	add(emptySit, emptyUp, Row{
		What:   "start-up of a node on an empty data directory, no peers: exec to its first answered GET /status (tried every millisecond)",
		Figure: emptyUp.format(fmtSeconds),
	})
	for _, r := range results {
		rate, bolt, stream := summarize(r.rates), median(r.bolt), median(r.stream)
		add(r.sit, rate, Row{
			What: fmt.Sprintf("fresh node process catching up %s blocks from a peer process over loopback, blocks/s from its own start of sync (%s of its /metrics) to its /status at the peer's height",
				groupDigits(r.n), firstSyncMetric),
			Figure: rate.format(fmtRate) + fmt.Sprintf("; from its exec %s", summarize(r.execRates).format(fmtRate)),
			Ratio: fmt.Sprintf("%s bare bbolt sequential puts of the same bytes (%s, median of %d, same sitting); bare libp2p stream moving them %s",
				fmtRatio(rate.Median/bolt), fmtRate(bolt), len(r.bolt), fmtRate(stream)),
			Goal:    fmt.Sprintf("≥ %s blocks/s, ≥ %.1f× bare bbolt", fmtSI(syncGoal), syncBoltGoal),
			Verdict: verdict(rate.Median >= syncGoal && rate.Median/bolt >= syncBoltGoal),
			Notes: []string{fmt.Sprintf("%s blocks: the node's start of sync came %s after its exec (start-up, connection, status exchange)",
				groupDigits(r.n), summarize(r.lead).format(fmtSeconds))},
		})
		w := summarize(r.written)
		add(r.sit, w, Row{
			What:    fmt.Sprintf("bytes the syncing node wrote to disk per block, %s blocks (write_bytes of /proc/PID/io)", groupDigits(r.n)),
			Figure:  w.format(fmtBytes),
			Ratio:   fmt.Sprintf("%s the binary encoding of a block (%s on average)", fmtRatio(w.Median/r.binary), fmtBytes(r.binary)),
			Goal:    fmt.Sprintf("≤ %.1f× the binary size", syncBytesGoal),
			Verdict: verdict(w.Median/r.binary <= syncBytesGoal),
		})
		anon := summarize(r.anon)
		add(r.sit, anon, Row{
			What:   fmt.Sprintf("peak anonymous memory of the syncing node (RssAnon of /proc/PID/status, sampled every 10 ms), %s blocks", groupDigits(r.n)),
			Figure: anon.format(fmtBytes),
			Ratio:  fmt.Sprintf("VmHWM, with the file-backed binary and mapped store, %s", summarize(r.hwm).format(fmtBytes)),
		})
		up := summarize(r.startups)
		add(r.sit, up, Row{
			What:    fmt.Sprintf("start-up of a node holding %s blocks, no peers: exec to its first answered GET /status", groupDigits(r.n)),
			Figure:  up.format(fmtSeconds),
			Ratio:   fmt.Sprintf("%s the empty data directory (%s)", fmtRatio(up.Median/emptyUp.Median), fmtSeconds(emptyUp.Median)),
			Goal:    fmt.Sprintf("≤ %s, ≤ %.1f× empty", fmtDur(startupGoal), startupRatioGoal),
			Verdict: verdict(up.Median <= startupGoal.Seconds() && up.Median/emptyUp.Median <= startupRatioGoal),
		})
	}
	if len(results) < 2 {
		return
	}
	short, long := results[len(results)-2], results[len(results)-1]
	// Both from the same sitting: pair the runs of either length in order.
	sit := &sitting{load: span{Start: short.sit.load.Start, End: long.sit.load.End}}
	flat := summarize(ratios(short.rates, long.rates))
	add(sit, flat, Row{
		What:    fmt.Sprintf("flatness of the sync rate: rate at %s ÷ rate at %s blocks (run by run)", groupDigits(short.n), groupDigits(long.n)),
		Figure:  flat.format(sig3),
		Ratio:   fmt.Sprintf("medians %s vs %s", fmtRate(median(short.rates)), fmtRate(median(long.rates))),
		Goal:    fmt.Sprintf("≤ %s (rate at the longer ≥ 0.9× the shorter)", sig3(syncFlatGoal)),
		Verdict: verdict(flat.Median <= syncFlatGoal),
	})
	mem := summarize(ratios(long.anon, short.anon))
	add(sit, mem, Row{
		What:    fmt.Sprintf("peak anonymous memory of the syncing node, %s ÷ %s blocks (run by run)", groupDigits(long.n), groupDigits(short.n)),
		Figure:  mem.format(fmtRatio),
		Ratio:   fmt.Sprintf("medians %s vs %s for %s× the blocks", fmtBytes(median(long.anon)), fmtBytes(median(short.anon)), sig3(float64(long.n)/float64(short.n))),
		Goal:    fmt.Sprintf("≤ %.2f×", memoryGrowthLimit),
		Verdict: verdict(mem.Median <= memoryGrowthLimit),
	})
	var at []string
	for i, r := range results {
		at = append(at, fmt.Sprintf("%s at %s blocks", fmtBytes(genAnon[i]), groupDigits(r.n)))
	}
	e.sink.add(Row{
		ID: fmt.Sprintf("3%c", id), Item: "Sync", Command: e.command,
		What:   fmt.Sprintf("gcbench's own anonymous memory while it made the source chain, %d blocks at a time, into the data directories and the block file", addBatch),
		Figure: strings.Join(at, ", "),
		Ratio:  fmt.Sprintf("%s from the shortest to the longest", fmtRatio(genAnon[len(genAnon)-1]/genAnon[0])),
	})
}
