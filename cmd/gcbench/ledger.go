package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"

	"github.com/gossipchain/gossipchain/chain"
	"github.com/gossipchain/gossipchain/chain/chaintest"
	"github.com/gossipchain/gossipchain/chain/store"
)

// This file measures the pool admission of signed transactions over HTTP:
// POST /transactions on a node of a signed network, from workers that each
// spend accounts of their own in nonce order, against the reference
// net/http server answering a body of the same size, and beside the open
// network's POST /transactions/new in the same run.

// ledgerNetwork is the signed bench network; a node derives its parameters
// from --network ledgerNetwork --difficulty benchDifficulty --ledger signed.
const ledgerNetwork = "bench-signed"

// ledgerParams returns the parameters of the signed bench network.
func ledgerParams() (chain.Params, error) {
	p, err := chain.NewParams(ledgerNetwork, benchDifficulty)
	if err != nil {
		return p, err
	}
	p.Ledger = chain.LedgerSigned
	return p, p.Validate()
}

// ledgerAccount is a funded account of the bench with its signed payments,
// in nonce order.
type ledgerAccount struct {
	key     crypto.PrivKey
	address string
	txs     [][]byte // JSON bodies of POST /transactions
}

// runLedger measures POST /transactions with --workers concurrent workers.
func runLedger(ctx context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("ledger", flag.ContinueOnError)
	workers := intList{8, 64}
	fs.Var(&workers, "workers", "concurrent keep-alive `workers` for POST /transactions, comma-separated")
	window := fs.Duration("duration", 3*time.Second, "measured time per worker count (the prepared transactions, fewer than a pool holds, must last warmup+duration)")
	warmup := fs.Duration("warmup", 500*time.Millisecond, "unrecorded time before each measurement")
	budget := fs.Int("txs", 48_000, "signed transactions prepared per worker count: more than the node admits in warmup+duration, fewer than its pool holds (50,000)")
	perAccount := fs.Int("per-account", store.DefaultPoolMaxPerAccount, "transactions of one account (at most the pool's per-account bound)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if len(workers) == 0 || *budget < 1 || *perAccount < 1 || *perAccount > store.DefaultPoolMaxPerAccount {
		return fmt.Errorf("want --workers, --txs >= 1 and --per-account 1..%d", store.DefaultPoolMaxPerAccount)
	}
	p, err := ledgerParams()
	if err != nil {
		return err
	}
	ref, err := e.startStatic(ctx)
	if err != nil {
		return err
	}
	defer e.stopStatic(ref)

	// Accounts funded by the rewards of a chain built in memory: account
	// i gets the reward of every block whose index is i modulo the number
	// of accounts, as much as its payments of 1 need.
	n := (*budget + *perAccount - 1) / *perAccount
	accounts := make([]*ledgerAccount, n)
	for i := range accounts {
		k, err := chain.GenerateKey()
		if err != nil {
			return err
		}
		addr, err := chain.AddressOf(k)
		if err != nil {
			return err
		}
		accounts[i] = &ledgerAccount{key: k, address: addr}
	}
	funding := n * *perAccount / int(p.Reward)
	e.logf("ledger: funding %d accounts with a chain of %d blocks", n, funding)
	blocks, err := buildFundingBlocks(p, funding, func(i int) string { return accounts[i%n].address })
	if err != nil {
		return err
	}
	recipient := accounts[0].address
	genesis := p.Genesis().Hash
	e.logf("ledger: signing %d transactions", n**perAccount)
	for _, a := range accounts {
		for nonce := range *perAccount {
			tx, err := chain.SignTransaction(a.key, recipient, 1, uint64(nonce), genesis)
			if err != nil {
				return err
			}
			body, err := json.Marshal(tx)
			if err != nil {
				return err
			}
			a.txs = append(a.txs, body)
		}
	}

	// The open network's POST /transactions/new, for comparison in the
	// same run, on a fresh node of the bench network per worker count (a
	// pool holds 50,000 transactions).
	openBody := func(w, i int) []byte {
		return fmt.Appendf(nil, `{"sender":"load-%d","recipient":"bench","amount":%d}`, w, i+1)
	}

	letter := 'a'
	for _, w := range workers {
		if w > n {
			return fmt.Errorf("%d workers but %d accounts: raise --txs or lower --per-account", w, n)
		}
		dir := filepath.Join(e.workDir, fmt.Sprintf("signed-%d", w))
		if err := writeDataDir(dir, p, blocks); err != nil {
			return err
		}
		nd, err := e.startNode(ctx, nodeOpts{name: fmt.Sprintf("signed-%d", w), dataDir: dir,
			network: []string{"--network", ledgerNetwork, "--difficulty", strconv.Itoa(benchDifficulty), "--ledger", "signed"}})
		if err != nil {
			return err
		}
		// Worker k spends accounts k, k+w, k+2w, … one after the other,
		// each in nonce order.
		var exhausted atomic.Int64
		body := func(k, i int) []byte {
			mine := (n - k + w - 1) / w
			acct, j := k+(i / *perAccount)*w, i%*perAccount
			if i / *perAccount >= mine {
				exhausted.Add(1)
				acct, j = k, 0
			}
			return accounts[acct].txs[j]
		}
		spec := loadSpec{method: http.MethodPost, url: nd.URL() + "/transactions", body: body,
			workers: w, warmup: *warmup, window: *window}
		ours := runLoad(ctx, spec)
		if ours.ok == 0 {
			return fmt.Errorf("POST /transactions: no successful answer: %s", ours.failures())
		}
		if exhausted.Load() > 0 {
			return fmt.Errorf("%d workers ran out of prepared transactions (%s/s, %s): raise --txs", w, fmtSI(ours.rate()), ours.failures())
		}
		rs := spec
		rs.url = fmt.Sprintf("%s/bytes/%d", ref.url, ours.size)
		base := runLoad(ctx, rs)
		if base.ok == 0 {
			return fmt.Errorf("reference server: no successful answer: %s", base.failures())
		}
		st, err := nd.Client().Status(ctx)
		if err != nil {
			return err
		}
		pending := st.Pending
		e.procs.stop(nd)
		openNode, err := e.startNode(ctx, nodeOpts{name: fmt.Sprintf("open-%d", w), dataDir: filepath.Join(e.workDir, fmt.Sprintf("open-%d", w))})
		if err != nil {
			return err
		}
		open := runLoad(ctx, loadSpec{method: http.MethodPost, url: openNode.URL() + "/transactions/new", body: openBody,
			workers: w, warmup: *warmup, window: *window})
		e.procs.stop(openNode)
		if open.ok == 0 {
			return fmt.Errorf("POST /transactions/new: no successful answer: %s", open.failures())
		}
		e.logf("ledger: POST /transactions ×%d: %s/s, %s; reference %s/s, %s; open POST /transactions/new %s/s, %s; %d pending", w,
			fmtSI(ours.rate()), summarizeDurations(ours.lat), fmtSI(base.rate()), summarizeDurations(base.lat),
			fmtSI(open.rate()), summarizeDurations(open.lat), pending)
		o, b := summarizeDurations(ours.lat), summarizeDurations(base.lat)
		r := Row{
			ID: fmt.Sprintf("9%c", letter), Item: "Signed ledger", Command: e.command,
			What:   fmt.Sprintf("POST /transactions, signed (Ed25519) payments admitted to the pool (no peers), %d workers, %s: requests/s and latency", w, *window),
			Figure: fmt.Sprintf("%s; p50 %s, p99 %s; %d pending after the run", fmtRate(ours.rate()), fmtDur(o.P50), fmtDur(o.P99), pending),
			Ratio: fmt.Sprintf("reference net/http, same body size (%s): %s, p99 %s; ratio req/s %s, p99 %s",
				fmtBytes(float64(ours.size)), fmtRate(base.rate()), fmtDur(b.P99),
				fmtRatio(ours.rate()/base.rate()), fmtRatio(float64(o.P99)/float64(b.P99))) +
				fmt.Sprintf("; the open network's POST /transactions/new (unsigned), same run: %s, ratio %s",
					fmtRate(open.rate()), fmtRatio(ours.rate()/open.rate())),
		}
		if f := ours.failures(); f != "" {
			r.Notes = append(r.Notes, "POST /transactions: "+f)
		}
		e.sink.add(r)
		letter++
	}
	return nil
}

// buildFundingBlocks returns n valid blocks after p's genesis holding only
// their reward, block i's to to(i), one second apart from the genesis time.
func buildFundingBlocks(p chain.Params, n int, to func(i int) string) ([]*chain.Block, error) {
	return chaintest.Run{Miner: to}.Build(&p, p.Genesis(), n)
}
