package api

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/gossipchain/gossipchain/api/client"
	"github.com/gossipchain/gossipchain/chain"
)

// Bounds of GET /addresses/{address}.
const (
	// DefaultAddressScan is how many of the most recent main-chain blocks
	// are searched when ?scan is not given; MaxAddressScan bounds ?scan.
	DefaultAddressScan = 10000
	MaxAddressScan     = 100000
	// MaxAddressLimit bounds ?limit, the history entries answered.
	MaxAddressLimit = 1000
	// addressPoolScan is how many pending transactions are searched.
	addressPoolScan = 10000
)

// The answer's types are the client's, which the command-line client
// decodes.
type (
	addressEntry    = client.AddressEntry
	addressResponse = client.AddressActivity
)

// handleAddress serves GET /addresses/{address}?limit=&scan=: the
// transactions that send to or from an address, pending ones first, then
// those of the most recent scan main-chain blocks, newest first. The open
// ledger keeps no balances; received and sent are the totals of the
// blocks searched; on a signed network the answer also gives the account's
// balance and next nonce.
func (s *Server) handleAddress(w http.ResponseWriter, r *http.Request) {
	addr := r.PathValue("address")
	if addr == "" || len(addr) > chain.MaxAddressLen {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("address must be 1 to %d bytes", chain.MaxAddressLen))
		return
	}
	limit, ok := intParam(w, r, "limit", 100, 1, MaxAddressLimit)
	if !ok {
		return
	}
	scan, ok := intParam(w, r, "scan", DefaultAddressScan, 1, MaxAddressScan)
	if !ok {
		return
	}
	resp := addressResponse{Address: addr, Transactions: []addressEntry{}}
	if s.chain.Ledger() == chain.LedgerSigned {
		// Any string is searched for in the history; only an address has an account.
		if acct, err := s.chain.Account(addr); err == nil {
			resp.Balance, resp.NextNonce = &acct.Balance, &acct.NextNonce
		} else if !errors.Is(err, chain.ErrNotAddress) {
			s.fail(w, r, fmt.Errorf("read account %s: %w", addr, err))
			return
		}
	}
	add := func(e addressEntry) bool {
		if len(resp.Transactions) >= limit {
			resp.Truncated = true
			return false
		}
		resp.Transactions = append(resp.Transactions, e)
		return true
	}
	for _, tx := range s.chain.Pending(addressPoolScan) {
		if d := direction(tx, addr); d != "" {
			add(addressEntry{Direction: d, Pending: true, Transaction: tx})
		}
	}
	head := s.chain.Head().Height
	resp.ScannedTo = head
	low := uint64(1)
	if head > uint64(scan) {
		low = head - uint64(scan) + 1
	}
	resp.ScannedFrom, resp.Complete = low, low == 1
	// Newest first, in windows read oldest first.
	const window = 500
	for top := head; top >= low; {
		from := low
		if top >= low+window {
			from = top - window + 1
		}
		var found []addressEntry
		err := s.chain.MainChain(from, int(top-from+1), func(b *chain.Block) error {
			for _, tx := range b.Transactions {
				d := direction(tx, addr)
				if d == "" {
					continue
				}
				if tx.Recipient == addr {
					resp.Received += tx.Amount
				}
				if tx.Sender == addr {
					resp.Sent += tx.Amount
				}
				h := b.Hash
				found = append(found, addressEntry{Direction: d, BlockIndex: b.Index, BlockHash: &h, Transaction: tx})
			}
			return nil
		})
		if err != nil {
			s.fail(w, r, fmt.Errorf("read blocks %d-%d: %w", from, top, err))
			return
		}
		for i := len(found) - 1; i >= 0; i-- {
			add(found[i])
		}
		if from == low {
			break
		}
		top = from - 1
	}
	writeJSON(w, http.StatusOK, resp)
}

// direction says how tx concerns addr: "" when it does not.
func direction(tx chain.Transaction, addr string) string {
	switch {
	case tx.IsReward() && tx.Recipient == addr:
		return "reward"
	case tx.Sender == addr && tx.Recipient == addr:
		return "self"
	case tx.Sender == addr:
		return "out"
	case tx.Recipient == addr:
		return "in"
	}
	return ""
}

// intParam reads the integer query parameter name, def when absent,
// answering 400 when it is not within lo..hi.
func intParam(w http.ResponseWriter, r *http.Request, name string, def, lo, hi int) (int, bool) {
	v, ok := r.URL.Query()[name]
	if !ok {
		return def, true
	}
	n, err := strconv.Atoi(v[0])
	if err != nil || n < lo || n > hi {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("%s must be an integer from %d to %d, got %q", name, lo, hi, v[0]))
		return 0, false
	}
	return n, true
}
