package store

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/gossipchain/gossipchain/chain"
)

// History of an address.

// MaxAccountPage is the most transactions AccountTransactions returns at
// once; DefaultAccountPage is what it returns when no limit is given.
const (
	MaxAccountPage     = 1000
	DefaultAccountPage = 100
)

// ErrBadCursor: a cursor that AccountTransactions did not make.
var ErrBadCursor = errors.New("bad cursor")

// AccountPage is one page of an address's confirmed transactions.
type AccountPage struct {
	// Transactions are those sent or received by the address, newest
	// first (by height, then by position in the block, last first).
	Transactions []TxLocation
	// Next is the cursor of the next (older) page; "" when there is none.
	Next string
}

// AccountTransactions returns up to limit (at most MaxAccountPage; <= 0:
// DefaultAccountPage) main-chain transactions sent or received by addr,
// newest first, older than cursor ("" starts at the head; otherwise the
// Next of a previous page, an opaque string of the form
// "<height>.<position>"). The mining rewards an address received count
// as received. On an open network the error is ErrNotSigned, for a string
// that is no address ErrNotAddress, for a cursor that is not one
// ErrBadCursor.
//
// The address index finds the blocks (see addrindex.go); a reorganisation
// between two pages moves the cursor's meaning to the new main chain.
func (c *Chain) AccountTransactions(addr, cursor string, limit int) (AccountPage, error) {
	if !c.params.Signed() {
		return AccountPage{}, chain.ErrNotSigned
	}
	if _, err := chain.PublicKeyOf(addr); err != nil {
		return AccountPage{}, err
	}
	if limit <= 0 {
		limit = DefaultAccountPage
	}
	limit = min(limit, MaxAccountPage)
	beforeH, beforeP := uint64(1)<<63, 0
	if cursor != "" {
		h, p, ok := parseCursor(cursor)
		if !ok {
			return AccountPage{}, fmt.Errorf("%w %q: want the next cursor of a previous page", ErrBadCursor, cursor)
		}
		beforeH, beforeP = h, p
	}
	for {
		// A flush between this snapshot and the read of the tail would
		// hide the entries it moved (see Chain.readIndexed): read again.
		gen := c.ix.gen.Load()
		page, err := c.accountPage(addr, beforeH, beforeP, limit)
		if err != nil || c.ix.gen.Load() == gen {
			return page, err
		}
	}
}

// accountPage reads one page of AccountTransactions from one snapshot.
func (c *Chain) accountPage(addr string, beforeH uint64, beforeP, limit int) (AccountPage, error) {
	var page AccountPage
	err := c.read(func(v *view) error {
		heights, err := c.addrHeights(v, addr, beforeH)
		if err != nil {
			return err
		}
		for _, h := range heights {
			b, err := c.recordBlock(v, h)
			if errors.Is(err, chain.ErrNotFound) {
				continue // above the head since a reorganisation
			}
			if err != nil {
				return err
			}
			last := len(b.Transactions) - 1
			if h == beforeH {
				last = beforeP - 1
			}
			for i := last; i >= 0; i-- {
				t := &b.Transactions[i]
				if t.Recipient != addr && (t.IsReward() || t.Sender != addr) {
					continue
				}
				if len(page.Transactions) == limit {
					p := i + 1
					page.Next = fmt.Sprintf("%d.%d", h, p)
					return nil
				}
				page.Transactions = append(page.Transactions, TxLocation{Tx: *t, Height: h, BlockHash: b.Hash})
			}
		}
		return nil
	})
	return page, err
}

func parseCursor(s string) (height uint64, pos int, ok bool) {
	hs, ps, found := strings.Cut(s, ".")
	if !found {
		return 0, 0, false
	}
	h, err1 := strconv.ParseUint(hs, 10, 63)
	p, err2 := strconv.ParseUint(ps, 10, 17)
	if err1 != nil || err2 != nil || h < 2 || p > chain.MaxTxsLimit || strconv.FormatUint(h, 10) != hs || strconv.FormatUint(p, 10) != ps {
		return 0, 0, false
	}
	return h, int(p), true
}

// addrHeights returns the main-chain heights at or below before whose
// blocks may involve addr, highest first, without repeats.
func (c *Chain) addrHeights(v *view, addr string, before uint64) ([]uint64, error) {
	var out []uint64
	for _, h := range c.ix.addrs.heights(v, addr) {
		if h <= before && h >= 2 {
			out = append(out, h)
		}
	}
	return out, nil
}
