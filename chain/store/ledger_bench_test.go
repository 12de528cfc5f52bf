package store

import (
	"crypto/ed25519"
	"fmt"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	bolt "go.etcd.io/bbolt"

	"github.com/gossipchain/gossipchain/chain"
	"github.com/gossipchain/gossipchain/chain/chaintest"
)

// BenchmarkVerifySignature compares, in one run and interleaved (so that a
// shared machine's load falls on all three alike), crypto/ed25519.Verify
// alone, the network's rule (VerifySignature: the key checks, then
// crypto/ed25519.Verify) and a whole transaction's verification (the key
// recovered from the address, the signing bytes built), on the same
// signature. Run with -cpu 1: the rates are per core. Metrics: each one's
// verifications per second and its time relative to crypto/ed25519.
func BenchmarkVerifySignature(b *testing.B) {
	p := chaintest.SignedParams(b)
	genesis := p.Genesis().Hash
	key, _ := chaintest.Key(b, "alice")
	_, bob := chaintest.Key(b, "bob")
	tx, err := chain.SignTransaction(key, bob, 5, 0, genesis)
	if err != nil {
		b.Fatal(err)
	}
	pub, _ := chain.PublicKeyOf(tx.Sender)
	msg := tx.SigningBytes(genesis)
	var std, rule, whole time.Duration
	for b.Loop() {
		t0 := time.Now()
		if !ed25519.Verify(pub, msg, tx.Signature[:]) {
			b.Fatal("invalid")
		}
		t1 := time.Now()
		if err := chain.VerifySignature(pub, msg, tx.Signature); err != nil {
			b.Fatal(err)
		}
		t2 := time.Now()
		if err := verifyTx(&tx, genesis); err != nil {
			b.Fatal(err)
		}
		t3 := time.Now()
		std, rule, whole = std+t1.Sub(t0), rule+t2.Sub(t1), whole+t3.Sub(t2)
	}
	n := float64(b.N)
	b.ReportMetric(n/std.Seconds(), "ed25519-verify/s")
	b.ReportMetric(n/rule.Seconds(), "rule-verify/s")
	b.ReportMetric(n/whole.Seconds(), "tx-verify/s")
	b.ReportMetric(rule.Seconds()/std.Seconds(), "rule/ed25519")
	b.ReportMetric(whole.Seconds()/std.Seconds(), "tx/ed25519")
}

// fullSignedBlock returns a chain whose 100 accounts are funded and a
// block on its head of the network's largest allowed size: MaxBlockTxs
// transactions (the reward included), each a signed payment.
func fullSignedBlock(b *testing.B) (*Chain, *chain.Block) {
	p := chaintest.SignedParams(b)
	p.Reward = 1 << 40
	cfg := testConfig(b, p)
	c := openChain(b, cfg)
	const senders = 100
	keys := make([]crypto.PrivKey, senders)
	addrs := make([]string, senders)
	parent := c.Genesis()
	for i := range keys {
		keys[i], addrs[i] = chaintest.Key(b, fmt.Sprint("sender", i))
	}
	// Fund every sender with one block each, in one batch.
	var funding []*chain.Block
	for i := range keys {
		parent = chaintest.NextBlock(b, &p, parent, addrs[i])
		funding = append(funding, parent)
	}
	if _, _, err := c.AddBlocks(funding); err != nil {
		b.Fatal(err)
	}
	txs := make([]chain.Transaction, p.MaxBlockTxs-1)
	for i := range txs {
		s := i % senders
		txs[i] = signedTx(b, c, keys[s], addrs[(s+1)%senders], 1, uint64(i/senders))
	}
	blk := chaintest.NextBlock(b, &p, parent, addrs[0], txs...)
	if size := blk.BinarySize(); size > p.MaxBlockSize {
		b.Fatalf("block of %d bytes", size)
	}
	return c, blk
}

// BenchmarkValidateFullSignedBlock measures the validation of a block of
// the largest allowed size full of signed transactions (2000 with the
// reward, 376 kB): the context-free rules with every signature, without
// and with the signature cache holding every transaction (as when the
// pool admitted them), interleaved in one loop, and the account rules
// (nonce, balance, undo data) against the store. Metrics: milliseconds of
// each and the ratio without ÷ with the cache.
func BenchmarkValidateFullSignedBlock(b *testing.B) {
	c, blk := fullSignedBlock(b)
	cache := newSigCache(len(blk.Transactions))
	for i := range blk.Transactions {
		cache.add(blk.Transactions[i].ID)
	}
	var without, with, accounts time.Duration
	_ = c.db.View(func(tx *bolt.Tx) error {
		for b.Loop() {
			t0 := time.Now()
			if err := c.params.CheckBlockSanity(blk, chaintest.Now); err != nil {
				b.Fatal(err)
			}
			if err := c.checkSignatures(blk, nil); err != nil {
				b.Fatal(err)
			}
			t1 := time.Now()
			if err := c.params.CheckBlockSanity(blk, chaintest.Now); err != nil {
				b.Fatal(err)
			}
			if err := c.checkSignatures(blk, cache); err != nil {
				b.Fatal(err)
			}
			t2 := time.Now()
			if _, err := newLedgerState(c.newView(tx)).applyBlock(blk); err != nil {
				b.Fatal(err)
			}
			t3 := time.Now()
			without, with, accounts = without+t1.Sub(t0), with+t2.Sub(t1), accounts+t3.Sub(t2)
		}
		return nil
	})
	n := float64(b.N)
	b.ReportMetric(without.Seconds()*1e3/n, "ms-without-cache")
	b.ReportMetric(with.Seconds()*1e3/n, "ms-with-cache")
	b.ReportMetric(accounts.Seconds()*1e3/n, "ms-accounts")
	b.ReportMetric(without.Seconds()/with.Seconds(), "without/with")
}

// BenchmarkAddFullSignedBlock measures AddBlock of a block of the largest
// allowed size full of signed transactions on the head: every rule, the
// accounts and their undo data, the store commit with its disk sync.
// Iterations alternate: in one the signatures are in the signature cache,
// as if the pool had admitted the transactions, in the next every one is
// verified. Metrics: milliseconds of each and the ratio without ÷ with.
func BenchmarkAddFullSignedBlock(b *testing.B) {
	c, first := fullSignedBlock(b)
	p := c.Params()
	parent, _ := c.BlockByHash(c.Head().Hash)
	keysOf := map[string]crypto.PrivKey{}
	for i := range 100 {
		k, a := chaintest.Key(b, fmt.Sprint("sender", i))
		keysOf[a] = k
	}
	next := map[string]uint64{}
	var with, without time.Duration
	var nWith, nWithout int
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		cached := i%2 == 0
		txs := make([]chain.Transaction, len(first.Transactions)-1)
		for j, t := range first.Transactions[:len(txs)] {
			txs[j] = signedTx(b, c, keysOf[t.Sender], t.Recipient, t.Amount, next[t.Sender])
			next[t.Sender]++
			if cached {
				c.sigs.add(txs[j].ID)
			}
		}
		blk := chaintest.NextBlock(b, &p, parent, first.Reward().Recipient, txs...)
		b.StartTimer()
		t0 := time.Now()
		if _, err := c.AddBlock(blk); err != nil {
			b.Fatal(err)
		}
		if d := time.Since(t0); cached {
			with, nWith = with+d, nWith+1
		} else {
			without, nWithout = without+d, nWithout+1
		}
		parent = blk
	}
	if nWith > 0 && nWithout > 0 {
		mw, mo := with.Seconds()*1e3/float64(nWith), without.Seconds()*1e3/float64(nWithout)
		b.ReportMetric(mw, "ms-with-cache")
		b.ReportMetric(mo, "ms-without-cache")
		b.ReportMetric(mo/mw, "without/with")
	}
}
