package client

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/gossipchain/gossipchain/chain"
)

// This file holds one method per endpoint.

// Status returns GET /status.
func (c *Client) Status(ctx context.Context) (Status, error) {
	return get[Status](ctx, c, "/status")
}

// Peers returns GET /peers.
func (c *Client) Peers(ctx context.Context) ([]Peer, error) {
	return get[[]Peer](ctx, c, "/peers")
}

// Chain returns the whole main chain (GET /chain).
func (c *Client) Chain(ctx context.Context) (Chain, error) {
	return get[Chain](ctx, c, "/chain")
}

// ChainPage returns up to limit main-chain blocks from index from (GET
// /chain?from=&limit=); its Length is the height of the whole chain.
func (c *Client) ChainPage(ctx context.Context, from uint64, limit int) (Chain, error) {
	return get[Chain](ctx, c, fmt.Sprintf("/chain?from=%d&limit=%d", from, limit))
}

// Block returns GET /blocks/{id}: id is a main-chain index (decimal) or the
// hash of any stored block.
func (c *Client) Block(ctx context.Context, id string) (*chain.Block, error) {
	return get[*chain.Block](ctx, c, "/blocks/"+url.PathEscape(id))
}

// Mine mines one block (GET /mine).
func (c *Client) Mine(ctx context.Context) (Mined, error) {
	return get[Mined](ctx, c, "/mine")
}

// MineBlocks mines n blocks one after another (GET /mine?blocks=n).
func (c *Client) MineBlocks(ctx context.Context, n int) (MinedBlocks, error) {
	return get[MinedBlocks](ctx, c, "/mine?blocks="+strconv.Itoa(n))
}

// NewTransaction submits a transaction of an open ledger (POST
// /transactions/new).
func (c *Client) NewTransaction(ctx context.Context, sender, recipient string, amount uint64) (TxAccepted, error) {
	body := struct {
		Sender    string `json:"sender"`
		Recipient string `json:"recipient"`
		Amount    uint64 `json:"amount"`
	}{sender, recipient, amount}
	return post[TxAccepted](ctx, c, "/transactions/new", body)
}

// SubmitTransaction submits a signed transaction (POST /transactions).
func (c *Client) SubmitTransaction(ctx context.Context, tx chain.Transaction) (SignedTxAccepted, error) {
	return post[SignedTxAccepted](ctx, c, "/transactions", tx)
}

// SubmitBatch submits up to MaxBatch transactions in one request (POST
// /transactions/batch): signed ones as POST /transactions takes them, the
// others as POST /transactions/new does. The answer has one result per
// transaction, in order; a transaction that was refused is not an error of
// the call.
func (c *Client) SubmitBatch(ctx context.Context, txs []chain.Transaction) (Batch, error) {
	type open struct {
		Sender    string `json:"sender"`
		Recipient string `json:"recipient"`
		Amount    uint64 `json:"amount"`
	}
	items := make([]any, len(txs))
	for i, tx := range txs {
		if tx.IsSigned() {
			items[i] = tx
		} else {
			items[i] = open{tx.Sender, tx.Recipient, tx.Amount}
		}
	}
	return post[Batch](ctx, c, "/transactions/batch", struct {
		Transactions []any `json:"transactions"`
	}{items})
}

// Transaction returns GET /transactions/{id}.
func (c *Client) Transaction(ctx context.Context, id chain.Hash) (TxStatus, error) {
	return get[TxStatus](ctx, c, "/transactions/"+id.String())
}

// Pending returns up to limit pending transactions, oldest first (GET
// /transactions/pending); limit 0 takes the node's default.
func (c *Client) Pending(ctx context.Context, limit int) (Pending, error) {
	path := "/transactions/pending"
	if limit > 0 {
		path += "?limit=" + strconv.Itoa(limit)
	}
	return get[Pending](ctx, c, path)
}

// SubmitBlock submits a block mined elsewhere (POST /blocks).
func (c *Client) SubmitBlock(ctx context.Context, b *chain.Block) (BlockSubmitted, error) {
	return post[BlockSubmitted](ctx, c, "/blocks", b)
}

// Register connects the node to other nodes, by multiaddr or HTTP URL
// (POST /nodes/register).
func (c *Client) Register(ctx context.Context, nodes ...string) (Registered, error) {
	body := struct {
		Nodes []string `json:"nodes"`
	}{nodes}
	return post[Registered](ctx, c, "/nodes/register", body)
}

// Resolve runs the consensus algorithm against the node's peers (GET
// /nodes/resolve).
func (c *Client) Resolve(ctx context.Context) (Resolved, error) {
	return get[Resolved](ctx, c, "/nodes/resolve")
}

// Account returns GET /accounts/{address} of a signed ledger.
func (c *Client) Account(ctx context.Context, address string) (Account, error) {
	return get[Account](ctx, c, "/accounts/"+url.PathEscape(address))
}

// Fees returns the fee estimates of a signed network (GET /fees); an open
// network answers 404.
func (c *Client) Fees(ctx context.Context) (FeeEstimates, error) {
	return get[FeeEstimates](ctx, c, "/fees")
}

// AccountTransactions returns one page of an address's confirmed
// transactions, newest first (GET /accounts/{address}/transactions);
// cursor "" starts at the head, limit 0 takes the node's default.
func (c *Client) AccountTransactions(ctx context.Context, address, cursor string, limit int) (AccountHistory, error) {
	q := url.Values{}
	if cursor != "" {
		q.Set("cursor", cursor)
	}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	path := "/accounts/" + url.PathEscape(address) + "/transactions"
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	return get[AccountHistory](ctx, c, path)
}

// Address returns GET /addresses/{address}: the address's pending
// transactions and those of the node's default number of recent blocks.
func (c *Client) Address(ctx context.Context, address string) (AddressActivity, error) {
	return get[AddressActivity](ctx, c, "/addresses/"+url.PathEscape(address))
}

// Metrics returns the samples of GET /metrics by series: the metric's name
// for an unlabelled one (go_goroutines), with its labels otherwise
// (gossipchain_sync_blocks_rejected_total{reason="bad_proof"}).
func (c *Client) Metrics(ctx context.Context) (map[string]float64, error) {
	status, data, err := c.Raw(ctx, http.MethodGet, "/metrics", nil)
	if err != nil {
		return nil, err
	}
	if status != http.StatusOK {
		return nil, answerError(http.MethodGet, "/metrics", status, data)
	}
	return ParseMetrics(bytes.NewReader(data))
}

// ParseMetrics reads the samples of the Prometheus text format by series,
// as Metrics returns them.
func ParseMetrics(r io.Reader) (map[string]float64, error) {
	out := map[string]float64{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			continue
		}
		out[line[:i]] = v
	}
	return out, sc.Err()
}
