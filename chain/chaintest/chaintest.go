package chaintest

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"

	"github.com/gossipchain/gossipchain/chain"
)

// Difficulty makes proofs of work nearly free: about 2^6 attempts.
const Difficulty = 6

// Second is one second as a Timestamp difference.
const Second chain.Timestamp = 1_000_000

// Millisecond is one millisecond as a Timestamp difference.
const Millisecond chain.Timestamp = 1_000

// Now is the fixed clock of test chains: thirty days after the genesis.
var Now = chain.GenesisTimestamp.Time().Add(30 * 24 * time.Hour)

// ParamsAt returns the parameters of the "testnet" network at difficulty d
// (a fixed target of d leading zero bits).
func ParamsAt(t testing.TB, d uint32) chain.Params {
	t.Helper()
	p, err := chain.NewParams("testnet", d)
	if err != nil {
		t.Fatalf("NewParams: %v", err)
	}
	return p
}

// SignedParams returns the parameters of a signed "testnet" network at
// Difficulty.
func SignedParams(t testing.TB) chain.Params {
	t.Helper()
	p := ParamsAt(t, Difficulty)
	p.Ledger = chain.LedgerSigned
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	return p
}

// Tx builds an unsigned transaction with a fixed nonce and its id.
func Tx(sender, recipient string, amount, nonce uint64) chain.Transaction {
	tx := chain.Transaction{Sender: sender, Recipient: recipient, Amount: amount, Nonce: nonce}
	tx.ID = tx.ComputeID()
	return tx
}

// Key returns a deterministic Ed25519 key for name and its address.
func Key(t testing.TB, name string) (crypto.PrivKey, string) {
	t.Helper()
	seed := sha256.Sum256([]byte("gossipchain test key " + name))
	k, err := crypto.UnmarshalEd25519PrivateKey(ed25519.NewKeyFromSeed(seed[:]))
	if err != nil {
		t.Fatal(err)
	}
	addr, err := chain.AddressOf(k)
	if err != nil {
		t.Fatal(err)
	}
	return k, addr
}

// SignedTx signs a payment from key on the network of genesis.
func SignedTx(t testing.TB, genesis chain.Hash, key crypto.PrivKey, to string, amount, nonce uint64) chain.Transaction {
	t.Helper()
	tx, err := chain.SignTransaction(key, to, amount, nonce, genesis)
	if err != nil {
		t.Fatal(err)
	}
	return tx
}

// NewBlock returns an unmined block on parent holding txs followed by the
// reward to miner (the network's reward and the fees of txs), one second
// after the parent, at the network's initial target. On a signed network
// its state_root is the root of the accounts after it (see state.go).
func NewBlock(p *chain.Params, parent *chain.Block, miner string, txs ...chain.Transaction) *chain.Block {
	if p.Signed() && parent.Index == 1 {
		trackGenesis(parent)
	}
	index := parent.Index + 1
	all := append(slices.Clone(txs), chain.NewRewardTransaction(miner, p.Reward+chain.BlockFees(txs), index))
	b := &chain.Block{
		Index:        index,
		Timestamp:    parent.Timestamp + Second,
		Transactions: all,
		PreviousHash: parent.Hash,
		Bits:         p.InitialTarget,
	}
	b.CommitTransactions()
	setStateRoot(b)
	return b
}

// Mine searches the proof of b, from 0, until its hash
// meets the target of bits, and sets Proof and Hash. It is the one
// proof-of-work search of tests and tools; nodes mine with chain/miner.
func Mine(t testing.TB, b *chain.Block, bits chain.Compact) {
	t.Helper()
	if err := MineBlock(b, bits); err != nil {
		t.Fatal(err)
	}
}

// MineBlock is Mine for callers without a testing.TB: it returns an error
// when bits is no valid target or no proof is found in 2^40 proofs.
func MineBlock(b *chain.Block, bits chain.Compact) error {
	return MineFrom(b, bits, 0)
}

// MineFrom is MineBlock searching from the proof start on (past the largest
// proof it goes on from 0): a tool that publishes many blocks starts each
// search at a random proof.
func MineFrom(b *chain.Block, bits chain.Compact, start uint64) error {
	return searchProof(b, bits, start, true)
}

// Unmine sets a proof whose hash does not meet the target of bits, and the
// matching Hash: the first one after b's own proof.
func Unmine(t testing.TB, b *chain.Block, bits chain.Compact) {
	t.Helper()
	if err := UnmineFrom(b, bits, b.Proof+1); err != nil {
		t.Fatal(err)
	}
}

// UnmineFrom is Unmine for callers without a testing.TB, searching from the
// proof start on.
func UnmineFrom(b *chain.Block, bits chain.Compact, start uint64) error {
	return searchProof(b, bits, start, false)
}

// searchProof sets the first proof from start on whose hash meets the
// target of bits (or, when meet is false, misses it), and the matching
// Hash. It gives up after 2^40 proofs.
func searchProof(b *chain.Block, bits chain.Compact, start uint64, meet bool) error {
	target, err := bits.PowTarget()
	if err != nil {
		return err
	}
	for i := uint64(0); i < 1<<40; i++ {
		b.Proof = start + i
		if h := b.ComputeHash(); target.Met(h) == meet {
			b.Hash = h
			if meet {
				track(b)
			}
			return nil
		}
	}
	return fmt.Errorf("no proof found in 2^40 proofs from %d", start)
}

// Seal recomputes the transaction count and root and, on a tracked signed
// chain, the state root, and mines b at its own bits.
func Seal(t testing.TB, b *chain.Block) *chain.Block {
	t.Helper()
	b.CommitTransactions()
	setStateRoot(b)
	Mine(t, b, b.Bits)
	return b
}

// NextBlock is NewBlock followed by Seal.
func NextBlock(t testing.TB, p *chain.Params, parent *chain.Block, miner string, txs ...chain.Transaction) *chain.Block {
	t.Helper()
	return Seal(t, NewBlock(p, parent, miner, txs...))
}

// Branch returns n mined blocks on parent, rewarding miner.
func Branch(t testing.TB, p *chain.Params, parent *chain.Block, n int, miner string) []*chain.Block {
	t.Helper()
	return Run{Miner: Pay(miner)}.Blocks(t, p, parent, n)
}

// CloneBlock deep-copies b.
func CloneBlock(b *chain.Block) *chain.Block {
	c := *b
	c.Transactions = slices.Clone(b.Transactions)
	return &c
}

// HashesOf returns the hashes of bs.
func HashesOf(bs ...*chain.Block) []chain.Hash {
	out := make([]chain.Hash, len(bs))
	for i, b := range bs {
		out[i] = b.Hash
	}
	return out
}

// IDsOf returns the ids of txs.
func IDsOf(txs []chain.Transaction) []chain.Hash {
	out := make([]chain.Hash, len(txs))
	for i := range txs {
		out[i] = txs[i].ID
	}
	return out
}

// WantErr fails the test unless errors.Is(err, want).
func WantErr(t testing.TB, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("got error %v, want %v", err, want)
	}
}

// ReadVectors decodes the JSON file name of the repository's testdata
// directory (PROTOCOL.md's vectors) into v.
func ReadVectors(t testing.TB, name string, v any) {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("no source path for chaintest")
	}
	path := filepath.Join(filepath.Dir(file), "..", "..", "testdata", name)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

// ParseCompact parses a compact target as the vectors write it: a 32-bit
// integer in Go syntax, usually hexadecimal ("0x1d00ffff").
func ParseCompact(t testing.TB, s string) chain.Compact {
	t.Helper()
	v, err := strconv.ParseUint(s, 0, 32)
	if err != nil {
		t.Fatalf("compact %q is not a 32-bit integer: %v", s, err)
	}
	return chain.Compact(v)
}
