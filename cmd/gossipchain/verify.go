package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"text/tabwriter"
	"time"

	"github.com/gossipchain/gossipchain/api/client"
	"github.com/gossipchain/gossipchain/chain"
	"github.com/gossipchain/gossipchain/chain/proof"
)

// This file holds gossipchain verify, which checks a proof offline
// against a header chain it checks itself, and gossipchain headers, which
// saves a node's header chain for it.

// networkFlagNames are the node's flags that make the network's
// parameters; verify takes them to know the genesis and the rules.
var networkFlagNames = []string{"network", "ledger", "difficulty", "initial-difficulty", "target-block-time", "half-life"}

// maxProofInput bounds a proof read from a file or stdin: its JSON, or
// the hex of the largest proof, with room to spare.
const maxProofInput = 1 << 20

// maxHeaderFile bounds a header file: 2^24 headers (about 2.3 GB).
const maxHeaderFile = 1 << 24 * chain.HeaderSize

// rawFlag records the text of a flag that verify hands on to the node's
// parser; String gives the default that the node's --help shows.
type rawFlag struct {
	def, value string
	set        bool
}

func (f *rawFlag) String() string {
	if f == nil {
		return ""
	}
	return f.def
}

func (f *rawFlag) Set(v string) error { f.value, f.set = v, true; return nil }

// newRawFlag returns a rawFlag with the node's usage of the flag name.
func newRawFlag(name string) (*rawFlag, string) {
	fs, _ := newNodeFlagSet()
	nf := fs.Lookup(name)
	f := &rawFlag{}
	switch nf.DefValue {
	case "", "0", "0s", "false": // the node's zero defaults, which its help leaves out
	default:
		f.def = nf.DefValue
	}
	return f, nf.Usage
}

// networkParams makes the network's parameters from the network flags
// given, exactly as the node does.
func networkParams(flags map[string]*rawFlag) (chain.Params, error) {
	var args []string
	for _, name := range networkFlagNames {
		if f := flags[name]; f != nil && f.set {
			args = append(args, "--"+name+"="+f.value)
		}
	}
	cfg, err := parseFlags(args, io.Discard)
	if err != nil {
		return chain.Params{}, err
	}
	return cfg.params, nil
}

// verify checks the proof of cfg.args[0] against the header chain of
// --headers FILE, or the node's, and prints what it proves.
func verify(ctx context.Context, c *client.Client, cfg clientConfig, out io.Writer) error {
	params, err := networkParams(cfg.netFlags)
	if err != nil {
		return err
	}
	bin, err := readProof(cfg.args[0])
	if err != nil {
		return err
	}
	var headers []byte
	if cfg.headers != "" {
		headers, err = readHeaderFile(cfg.headers)
	} else {
		headers, err = downloadHeaders(ctx, c)
	}
	if err != nil {
		return err
	}
	hashes, err := checkHeaderChain(&params, headers, time.Now())
	if err != nil {
		return err
	}
	p, err := proof.Decode(bin)
	if err != nil {
		return fmt.Errorf("the proof does not decode: %w", err)
	}
	res := verified{Chain: uint64(len(hashes))}
	var hdr chain.Block
	switch p := p.(type) {
	case proof.Tx:
		id := chain.Hash(sha256.Sum256(p.Tx))
		if hdr, err = p.Verify(id); err != nil {
			return fmt.Errorf("the transaction proof does not verify: %w", err)
		}
		res.Type, res.ID, res.Index, res.TxCount = "transaction", &id, &p.Index, hdr.TxCount
	case proof.Account:
		if hdr, err = p.Verify(p.Address); err != nil {
			return fmt.Errorf("the account proof does not verify: %w", err)
		}
		res.Type, res.Address, res.Balance, res.NextNonce = "account", p.Address, &p.Balance, &p.NextNonce
	default:
		return fmt.Errorf("unknown proof %T", p)
	}
	res.Block, res.Height = hdr.Hash, hdr.Index
	if hdr.Index < 1 || hdr.Index > uint64(len(hashes)) {
		return fmt.Errorf("the proof's block %s at height %d is not on the header chain, whose tip is at height %d",
			hdr.Hash, hdr.Index, len(hashes))
	}
	if on := hashes[hdr.Index-1]; on != hdr.Hash {
		return fmt.Errorf("the proof's block %s at height %d is not on the header chain, which has %s there", hdr.Hash, hdr.Index, on)
	}
	res.Confirmations = res.Chain - hdr.Index + 1
	return res.print(out, cfg.json)
}

// verified is what a proof proves, printed by verify.
type verified struct {
	Type          string      `json:"type"`
	Block         chain.Hash  `json:"block"`
	Height        uint64      `json:"height"`
	Chain         uint64      `json:"header_chain_height"`
	Confirmations uint64      `json:"confirmations"`
	ID            *chain.Hash `json:"id,omitempty"`
	Index         *uint32     `json:"index,omitempty"`
	TxCount       uint64      `json:"tx_count,omitempty"`
	Address       string      `json:"address,omitempty"`
	Balance       *uint64     `json:"balance,omitempty"`
	NextNonce     *uint64     `json:"next_nonce,omitempty"`
}

func (v verified) print(out io.Writer, asJSON bool) error {
	if asJSON {
		return printJSONValue(out, v)
	}
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "verified\t%s proof, against a header chain of %d headers checked from the genesis\n", v.Type, v.Chain)
	if v.ID != nil {
		fmt.Fprintf(tw, "transaction\t%s\nposition\t%d of %d in the block\n", v.ID, *v.Index, v.TxCount)
	} else {
		fmt.Fprintf(tw, "address\t%s\nbalance\t%d\nnext nonce\t%d\n", v.Address, *v.Balance, *v.NextNonce)
	}
	fmt.Fprintf(tw, "block\t%s\nheight\t%d\nconfirmations\t%d\n", v.Block, v.Height, v.Confirmations)
	return tw.Flush()
}

// readProof reads a proof: arg is a file or "-" (stdin) holding the JSON
// of GET /proof/... or the hex of the binary proof, or that hex itself.
func readProof(arg string) ([]byte, error) {
	var data []byte
	switch {
	case arg == "-":
		d, err := io.ReadAll(io.LimitReader(os.Stdin, maxProofInput+1))
		if err != nil {
			return nil, fmt.Errorf("read the proof from stdin: %w", err)
		}
		data = d
	case isHex(arg) && !fileExists(arg):
		return hex.DecodeString(arg)
	default:
		f, err := os.Open(arg)
		if err != nil {
			return nil, fmt.Errorf("the proof: %w (give a file of GET /proof/... JSON, - for stdin, or the proof's hex)", err)
		}
		defer f.Close()
		if data, err = io.ReadAll(io.LimitReader(f, maxProofInput+1)); err != nil {
			return nil, fmt.Errorf("read the proof: %w", err)
		}
	}
	if len(data) > maxProofInput {
		return nil, fmt.Errorf("the proof is larger than %d bytes", maxProofInput)
	}
	data = bytes.TrimSpace(data)
	if bytes.HasPrefix(data, []byte("{")) {
		var head client.ProofHead
		if err := json.Unmarshal(data, &head); err != nil {
			return nil, fmt.Errorf("the proof is not the JSON of GET /proof/...: %w", err)
		}
		if head.Proof == "" {
			return nil, errors.New(`the proof's JSON has no "proof" (the hex of the binary proof)`)
		}
		return head.Binary()
	}
	if !isHex(string(data)) {
		return nil, errors.New("the proof is neither JSON nor hex")
	}
	return hex.DecodeString(string(data))
}

// fileExists reports whether path names a file.
func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// isHex reports whether s is a non-empty even run of hex digits.
func isHex(s string) bool {
	if s == "" || len(s)%2 != 0 {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil
}

// readHeaderFile reads a file of back-to-back headers.
func readHeaderFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("--headers: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxHeaderFile+1))
	if err != nil {
		return nil, fmt.Errorf("--headers %s: %w", path, err)
	}
	if len(data) > maxHeaderFile {
		return nil, fmt.Errorf("--headers %s: larger than %d bytes", path, maxHeaderFile)
	}
	return data, nil
}

// downloadHeaders reads the node's whole main chain of headers, in pages
// of client.MaxHeaders.
func downloadHeaders(ctx context.Context, c *client.Client) ([]byte, error) {
	var all []byte
	for from := uint64(1); ; from += client.MaxHeaders {
		page, err := c.Headers(ctx, from, client.MaxHeaders)
		if client.StatusOf(err) == 404 && from > 1 {
			return all, nil // the chain ends at a page boundary
		}
		if err != nil {
			return nil, fmt.Errorf("download the header chain: %w", err)
		}
		if len(all)+len(page) > maxHeaderFile {
			return nil, fmt.Errorf("download the header chain: more than %d bytes", maxHeaderFile)
		}
		all = append(all, page...)
		if len(page) < client.MaxHeaders*chain.HeaderSize {
			return all, nil
		}
	}
}

// checkHeaderChain checks headers, back to back from the genesis, exactly
// as a full node checks a block's header (chain.Params.CheckHeaderSanity
// and CheckBlockContext), and returns their hashes by height - 1.
func checkHeaderChain(p *chain.Params, headers []byte, now time.Time) ([]chain.Hash, error) {
	if len(headers) == 0 || len(headers)%chain.HeaderSize != 0 {
		return nil, fmt.Errorf("the header chain is %d bytes, not a whole number of %d-byte headers", len(headers), chain.HeaderSize)
	}
	g := p.Genesis()
	if gh := g.Header(); !bytes.Equal(headers[:chain.HeaderSize], gh[:]) {
		return nil, fmt.Errorf("the header chain does not start with the genesis %s of network %s (%s ledger): "+
			"give the node's --network, --ledger and difficulty flags", g.Hash, p.Name, p.LedgerMode())
	}
	parent, err := p.ParentOf(g, nil)
	if err != nil {
		return nil, err
	}
	hashes := []chain.Hash{g.Hash}
	recent := []chain.Timestamp{g.Timestamp}
	var times [chain.MedianTimeBlocks]chain.Timestamp
	for off := chain.HeaderSize; off < len(headers); off += chain.HeaderSize {
		b, err := chain.DecodeHeader(headers[off : off+chain.HeaderSize])
		if err == nil {
			err = p.CheckHeaderSanity(&b, now)
		}
		if err == nil {
			err = p.CheckBlockContext(&b, parent, chain.MedianTime(times[:copy(times[:], recent)]))
		}
		if err == nil {
			parent, err = p.ParentOf(&b, parent)
		}
		if err != nil {
			return nil, fmt.Errorf("header %d of the header chain (block %s) is refused: %w", off/chain.HeaderSize+1, b.Hash, err)
		}
		hashes = append(hashes, b.Hash)
		if recent = append(recent, b.Timestamp); len(recent) > chain.MedianTimeBlocks {
			recent = recent[1:]
		}
	}
	return hashes, nil
}

// saveHeaders writes the node's header chain to --out.
func saveHeaders(ctx context.Context, c *client.Client, cfg clientConfig, out io.Writer) error {
	headers, err := downloadHeaders(ctx, c)
	if err != nil {
		return err
	}
	if err := os.WriteFile(cfg.out, headers, 0o644); err != nil {
		return fmt.Errorf("--out: %w", err)
	}
	_, err = fmt.Fprintf(out, "saved %d headers (heights 1-%d) to %s: check a proof against them with gossipchain verify --headers %s PROOF.json\n",
		len(headers)/chain.HeaderSize, len(headers)/chain.HeaderSize, cfg.out, cfg.out)
	return err
}

// checkVerifyArgs checks the arguments of verify and headers.
func checkVerifyArgs(name string, cfg *clientConfig) error {
	switch name {
	case "verify":
		if len(cfg.args) != 1 {
			return errors.New("want verify PROOF.json (a file of GET /proof/... JSON, - for stdin, or the proof's hex)")
		}
		if cfg.headers != "" && cfg.nodeGiven {
			return errors.New("give --headers FILE or --node URL, not both")
		}
	case "headers":
		if len(cfg.args) > 0 {
			return fmt.Errorf("unexpected argument %q", cfg.args[0])
		}
		if cfg.out == "" {
			return errors.New("headers needs --out FILE")
		}
	}
	return nil
}
