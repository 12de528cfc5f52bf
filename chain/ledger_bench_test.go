package chain

import (
	"crypto/ed25519"
	"fmt"
	"testing"

	"github.com/libp2p/go-libp2p/core/crypto"
	bolt "go.etcd.io/bbolt"
)

// BenchmarkVerifySignature compares, in one run, the network's rule
// (VerifySignature: the key checks, then crypto/ed25519.Verify), a whole
// transaction's verification (the key recovered from the address, the
// signing bytes built) and crypto/ed25519.Verify alone, on the same
// signature. Run with -cpu 1 for verifications per second per core.
func BenchmarkVerifySignature(b *testing.B) {
	p := signedParams(b)
	genesis := p.Genesis().Hash
	key, _ := testKey(b, "alice")
	_, bob := testKey(b, "bob")
	tx, err := SignTransaction(key, bob, 5, 0, genesis)
	if err != nil {
		b.Fatal(err)
	}
	pub, _ := PublicKeyOf(tx.Sender)
	msg := tx.SigningBytes(genesis)
	b.Run("crypto-ed25519", func(b *testing.B) {
		for b.Loop() {
			if !ed25519.Verify(pub, msg, tx.Signature[:]) {
				b.Fatal("invalid")
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "verifications/s")
	})
	b.Run("network-rule", func(b *testing.B) {
		for b.Loop() {
			if err := VerifySignature(pub, msg, tx.Signature); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "verifications/s")
	})
	b.Run("transaction", func(b *testing.B) {
		for b.Loop() {
			if err := verifyTx(&tx, genesis); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "verifications/s")
	})
}

// fullSignedBlock returns a chain whose 100 accounts are funded and a
// block on its head of the network's largest allowed size: MaxBlockTxs
// transactions (the reward included), each a signed payment.
func fullSignedBlock(b *testing.B) (*Chain, *Block) {
	p := signedParams(b)
	p.Reward = 1 << 40
	cfg := testConfig(b, p)
	c := openChain(b, cfg)
	const senders = 100
	keys := make([]crypto.PrivKey, senders)
	addrs := make([]string, senders)
	parent := c.Genesis()
	for i := range keys {
		keys[i], addrs[i] = testKey(b, fmt.Sprint("sender", i))
	}
	// Fund every sender with one block each, in one batch.
	var funding []*Block
	for i := range keys {
		parent = nextBlock(b, &p, parent, addrs[i])
		funding = append(funding, parent)
	}
	if _, _, err := c.AddBlocks(funding); err != nil {
		b.Fatal(err)
	}
	txs := make([]Transaction, p.MaxBlockTxs-1)
	for i := range txs {
		s := i % senders
		txs[i] = signedTx(b, c, keys[s], addrs[(s+1)%senders], 1, uint64(i/senders))
	}
	blk := nextBlock(b, &p, parent, addrs[0], txs...)
	if size := blk.BinarySize(); size > p.MaxBlockSize {
		b.Fatalf("block of %d bytes", size)
	}
	return c, blk
}

// BenchmarkValidateFullSignedBlock measures the validation of a block of
// the largest allowed size full of signed transactions (2000 with the
// reward, 376 kB): the context-free rules with every signature, without
// and with the signature cache holding every transaction (as when the
// pool admitted them), and the account rules (nonce, balance, undo data)
// against the store.
func BenchmarkValidateFullSignedBlock(b *testing.B) {
	c, blk := fullSignedBlock(b)
	b.Run("without-cache", func(b *testing.B) {
		for b.Loop() {
			if err := c.params.CheckBlockSanity(blk, testNow); err != nil {
				b.Fatal(err)
			}
			if err := c.checkSignatures(blk, nil); err != nil {
				b.Fatal(err)
			}
		}
	})
	cache := newSigCache(len(blk.Transactions))
	for i := range blk.Transactions {
		cache.add(blk.Transactions[i].ID)
	}
	b.Run("with-cache", func(b *testing.B) {
		for b.Loop() {
			if err := c.params.CheckBlockSanity(blk, testNow); err != nil {
				b.Fatal(err)
			}
			if err := c.checkSignatures(blk, cache); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("accounts", func(b *testing.B) {
		_ = c.db.View(func(tx *bolt.Tx) error {
			for b.Loop() {
				if _, err := newLedgerState(c.newView(tx)).applyBlock(blk); err != nil {
					b.Fatal(err)
				}
			}
			return nil
		})
	})
}

// BenchmarkAddFullSignedBlock measures AddBlock of a block of the largest
// allowed size full of signed transactions on the head: every rule, the
// accounts and their undo data, the store commit with its disk sync. With
// the cache, the signatures are in the signature cache as if the pool had
// admitted the transactions; without, every one is verified.
func BenchmarkAddFullSignedBlock(b *testing.B) {
	for _, cached := range []bool{false, true} {
		name := "without-cache"
		if cached {
			name = "with-cache"
		}
		b.Run(name, func(b *testing.B) {
			c, first := fullSignedBlock(b)
			p := c.Params()
			parent, _ := c.BlockByHash(c.Head().Hash)
			keysOf := map[string]crypto.PrivKey{}
			for i := range 100 {
				k, a := testKey(b, fmt.Sprint("sender", i))
				keysOf[a] = k
			}
			next := map[string]uint64{}
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				txs := make([]Transaction, len(first.Transactions)-1)
				for j, t := range first.Transactions[:len(txs)] {
					txs[j] = signedTx(b, c, keysOf[t.Sender], t.Recipient, t.Amount, next[t.Sender])
					next[t.Sender]++
					if cached {
						c.sigs.add(txs[j].ID)
					}
				}
				blk := nextBlock(b, &p, parent, first.Reward().Recipient, txs...)
				b.StartTimer()
				if _, err := c.AddBlock(blk); err != nil {
					b.Fatal(err)
				}
				parent = blk
			}
		})
	}
}
