package chain

import (
	"crypto/ed25519"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// testDifficulty makes proofs of work nearly free: about 2^6 attempts.
const testDifficulty = 6

// second is one second as a Timestamp difference.
const second Timestamp = 1_000_000

// testNow is the fixed clock of test chains: thirty days after the genesis.
var testNow = GenesisTimestamp.Time().Add(30 * 24 * time.Hour)

// testParams returns the parameters of the "testnet" network at difficulty d.
func testParams(t testing.TB, d uint32) Params {
	t.Helper()
	p, err := NewParams("testnet", d)
	if err != nil {
		t.Fatalf("NewParams: %v", err)
	}
	return p
}

// quietLogger discards log output.
func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// testConfig returns a Config for a store in a fresh temporary directory with
// the fixed test clock.
func testConfig(t testing.TB, p Params) Config {
	t.Helper()
	return Config{
		Params: p,
		Path:   filepath.Join(t.TempDir(), "chain.db"),
		Now:    func() time.Time { return testNow },
		Logger: quietLogger(),
	}
}

// openChain opens cfg and closes the chain when the test ends.
func openChain(t testing.TB, cfg Config) *Chain {
	t.Helper()
	c, err := Open(cfg)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// newTestChain opens a fresh test chain at difficulty d.
func newTestChain(t testing.TB, d uint32) *Chain {
	t.Helper()
	return openChain(t, testConfig(t, testParams(t, d)))
}

// makeTx builds a transaction with a fixed nonce and its id.
func makeTx(sender, recipient string, amount, nonce uint64) Transaction {
	tx := Transaction{Sender: sender, Recipient: recipient, Amount: amount, Nonce: nonce}
	tx.ID = tx.ComputeID()
	return tx
}

// newBlock returns an unmined block on parent holding txs followed by the
// reward to miner, one second after the parent.
func newBlock(p *Params, parent *Block, miner string, txs ...Transaction) *Block {
	index := parent.Index + 1
	all := append(slices.Clone(txs), NewRewardTransaction(miner, p.Reward, index))
	b := &Block{
		Index:        index,
		Timestamp:    parent.Timestamp + second,
		Transactions: all,
		PreviousHash: parent.Hash,
		Bits:         p.InitialTarget,
	}
	b.TxRoot = TxRoot(all)
	return b
}

// mine searches the proof of b, from 0, until its hash meets the target
// of bits, and sets Proof and Hash.
func mine(t testing.TB, b *Block, bits Compact) {
	t.Helper()
	target, err := bits.PowTarget()
	if err != nil {
		t.Fatal(err)
	}
	for proof := uint64(0); proof < 1<<40; proof++ {
		b.Proof = proof
		if h := b.ComputeHash(); target.Met(h) {
			b.Hash = h
			return
		}
	}
	t.Fatalf("no proof found for block %d at bits %s", b.Index, bits)
}

// unmine sets a proof whose hash does not meet the target of bits, and the
// matching Hash.
func unmine(t testing.TB, b *Block, bits Compact) {
	t.Helper()
	target, err := bits.PowTarget()
	if err != nil {
		t.Fatal(err)
	}
	for proof := b.Proof + 1; ; proof++ {
		b.Proof = proof
		if h := b.ComputeHash(); !target.Met(h) {
			b.Hash = h
			return
		}
	}
}

// seal recomputes the transaction root and mines b at its own bits.
func seal(t testing.TB, b *Block) *Block {
	t.Helper()
	b.TxRoot = TxRoot(b.Transactions)
	mine(t, b, b.Bits)
	return b
}

// nextBlock is newBlock followed by seal.
func nextBlock(t testing.TB, p *Params, parent *Block, miner string, txs ...Transaction) *Block {
	t.Helper()
	return seal(t, newBlock(p, parent, miner, txs...))
}

// buildBranch returns n mined blocks on parent, rewarding miner.
func buildBranch(t testing.TB, p *Params, parent *Block, n int, miner string) []*Block {
	t.Helper()
	out := make([]*Block, 0, n)
	for range n {
		parent = nextBlock(t, p, parent, miner)
		out = append(out, parent)
	}
	return out
}

// cloneBlock deep-copies b.
func cloneBlock(b *Block) *Block {
	c := *b
	c.Transactions = slices.Clone(b.Transactions)
	return &c
}

// mustAdd adds b and fails the test on error.
func mustAdd(t testing.TB, c *Chain, b *Block) AddResult {
	t.Helper()
	res, err := c.AddBlock(b)
	if err != nil {
		t.Fatalf("AddBlock(%d %s): %v", b.Index, b.Hash, err)
	}
	return res
}

// mustAddAll adds bs one by one.
func mustAddAll(t testing.TB, c *Chain, bs []*Block) AddResult {
	t.Helper()
	var res AddResult
	for _, b := range bs {
		res = mustAdd(t, c, b)
	}
	return res
}

// mainHashes returns the hashes of the main chain from genesis to head.
func mainHashes(t testing.TB, c *Chain) []Hash {
	t.Helper()
	var out []Hash
	if err := c.MainChain(1, 0, func(b *Block) error { out = append(out, b.Hash); return nil }); err != nil {
		t.Fatalf("MainChain: %v", err)
	}
	return out
}

// hashesOf returns the hashes of bs.
func hashesOf(bs ...*Block) []Hash {
	out := make([]Hash, len(bs))
	for i, b := range bs {
		out[i] = b.Hash
	}
	return out
}

// wantErr fails unless errors.Is(err, want).
func wantErr(t testing.TB, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("got error %v, want %v", err, want)
	}
}

// idsOf returns the ids of txs.
func idsOf(txs []Transaction) []Hash {
	out := make([]Hash, len(txs))
	for i := range txs {
		out[i] = txs[i].ID
	}
	return out
}

// ed25519Expand returns the 64-byte private key of a 32-byte seed.
func ed25519Expand(seed []byte) []byte { return ed25519.NewKeyFromSeed(seed) }
