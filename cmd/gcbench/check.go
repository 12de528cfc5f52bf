package main

import (
	"fmt"
	"io"
	"strings"
)

// A figure is published only if a second run reproduces it: the median of
// the new run lies within the minimum and maximum recorded by the first.
// checkRows compares two runs row by row.

// checked is one row of a comparison of two runs.
type checked struct {
	What       string
	Prev, Cur  *Row // nil when the row is in one run only
	Reproduced bool
}

// comparable says whether both runs recorded the row's spread.
func (c checked) comparable() bool {
	return c.Prev != nil && c.Cur != nil && c.Prev.Spread != nil && c.Cur.Spread != nil
}

// rowKey identifies a measure across runs: its item and what it measures
// (which names the sizes, workers and so on), not its id, which depends on
// the other measures of the run.
func rowKey(r Row) string { return r.Item + ": " + r.What }

// checkRows compares the rows of a new run, cur, with those of a previous
// one, prev: a row is reproduced when its median lies within the previous
// row's min–max. Rows are in the order of cur, then those of prev alone.
func checkRows(prev, cur []Row) []checked {
	byKey := make(map[string]*Row, len(prev))
	for i := range prev {
		byKey[rowKey(prev[i])] = &prev[i]
	}
	var out []checked
	seen := make(map[string]bool)
	for i := range cur {
		k := rowKey(cur[i])
		seen[k] = true
		c := checked{What: k, Prev: byKey[k], Cur: &cur[i]}
		if c.comparable() {
			m := c.Cur.Spread.Median
			c.Reproduced = m >= c.Prev.Spread.Min && m <= c.Prev.Spread.Max
		}
		out = append(out, c)
	}
	for i := range prev {
		if k := rowKey(prev[i]); !seen[k] {
			seen[k] = true
			out = append(out, checked{What: k, Prev: &prev[i]})
		}
	}
	return out
}

// writeCheck writes a comparison as a Markdown table and returns how many
// comparable rows were not reproduced.
func writeCheck(w io.Writer, cs []checked) (failed int) {
	fmt.Fprintln(w, "| Measure | Previous: median (min–max), load | This run: median (min–max), load | Reproduced |")
	fmt.Fprintln(w, "|---|---|---|---|")
	for _, c := range cs {
		verdict := "not comparable"
		switch {
		case c.Prev == nil:
			verdict = "new in this run"
		case c.Cur == nil:
			verdict = "not in this run"
		case c.comparable() && c.Reproduced:
			verdict = "yes"
		case c.comparable():
			verdict = "no"
			failed++
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s |\n", cell(c.What), cell(spreadCell(c.Prev)), cell(spreadCell(c.Cur)), verdict)
	}
	return failed
}

// spreadCell describes a row's spread and load.
func spreadCell(r *Row) string {
	if r == nil || r.Spread == nil {
		return ""
	}
	f := func(v float64) string { return strings.TrimSpace(fmtSI(v)) }
	s := fmt.Sprintf("%s (%s–%s; %d runs)", f(r.Spread.Median), f(r.Spread.Min), f(r.Spread.Max), r.Spread.N)
	if r.Load != nil {
		s += ", " + r.Load.String()
	}
	return s
}

// checkAgainst compares rows with those of the results file prev, writes
// the comparison to w, and returns an error naming the rows not reproduced.
func checkAgainst(w io.Writer, prev string, rows []Row) error {
	old, err := readRows(prev)
	if err != nil {
		return err
	}
	cs := checkRows(old, rows)
	if failed := writeCheck(w, cs); failed > 0 {
		return fmt.Errorf("%d rows not reproduced within the min–max of %s (marked \"no\" above)", failed, prev)
	}
	return nil
}
