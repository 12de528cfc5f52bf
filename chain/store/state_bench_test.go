package store

import (
	"fmt"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	bolt "go.etcd.io/bbolt"

	"github.com/gossipchain/gossipchain/chain"
	"github.com/gossipchain/gossipchain/chain/chaintest"
	"github.com/gossipchain/gossipchain/chain/smt"
)

// widestSignedBlock returns a chain on which 1,999 senders are funded and
// a block on its head of the network's largest allowed count: 1,999
// signed payments, each from its own sender to a recipient never seen,
// and the reward, so that it touches 3,999 accounts, about the most a
// block can.
func widestSignedBlock(b *testing.B) (*Chain, *chain.Block) {
	p := chaintest.SignedParams(b)
	p.Reward = 1 << 40
	c := openChain(b, testConfig(b, p))
	n := p.MaxBlockTxs - 1
	rich, richAddr := chaintest.Key(b, "rich")
	keys := make([]crypto.PrivKey, n)
	senders := make([]string, n)
	funding := make([]chain.Transaction, n)
	for i := range n {
		keys[i], senders[i] = chaintest.Key(b, fmt.Sprint("sender", i))
		funding[i] = signedTx(b, c, rich, senders[i], 10, uint64(i))
	}
	b2 := chaintest.NextBlock(b, &p, c.Genesis(), richAddr)
	b3 := chaintest.NextBlock(b, &p, b2, richAddr, funding...)
	if _, _, err := c.AddBlocks([]*chain.Block{b2, b3}); err != nil {
		b.Fatal(err)
	}
	txs := make([]chain.Transaction, n)
	for i := range n {
		_, to := chaintest.Key(b, fmt.Sprint("recipient", i))
		txs[i] = signedTx(b, c, keys[i], to, 1, 0)
	}
	return c, chaintest.NextBlock(b, &p, b3, richAddr, txs...)
}

// BenchmarkStateCommitment measures, in one loop, what the account-state
// commitment adds to the validation of the widest block
// (widestSignedBlock): the validation without it (the context-free rules
// with every signature verified, then the account rules and undo data
// against the store) and the commitment (the map's update for the 3,999
// accounts the block touched, the nodes staged for the commit). Metrics:
// milliseconds of each, their ratio, the nodes the block adds and their
// stored size (keys and values, before bbolt's page overhead); and the
// transaction root of the same block (ms-txroot, the Merkle tree over its
// ids, which the validation above includes), timed on its own.
func BenchmarkStateCommitment(b *testing.B) {
	c, blk := widestSignedBlock(b)
	var validate, commit, txroot time.Duration
	var nodes, bytes int
	_ = c.db.View(func(tx *bolt.Tx) error {
		v := c.newView(tx)
		root, err := v.stateRootAt(c.Head().Height)
		if err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			t0 := time.Now()
			if err := c.params.CheckBlockSanity(blk, chaintest.Now); err != nil {
				b.Fatal(err)
			}
			if err := c.checkSignatures(blk, nil); err != nil {
				b.Fatal(err)
			}
			led := newLedgerState(v)
			undo, err := led.applyBlock(blk)
			if err != nil {
				b.Fatal(err)
			}
			t1 := time.Now()
			sn := &stateNodes{v: v, staged: map[smt.Hash][]byte{}}
			if _, err := sn.update(&c.params, blk, root, undo, led); err != nil {
				b.Fatal(err)
			}
			t2 := time.Now()
			chain.TxRoot(blk.Transactions)
			t3 := time.Now()
			validate, commit, txroot = validate+t1.Sub(t0), commit+t2.Sub(t1), txroot+t3.Sub(t2)
			nodes, bytes = len(sn.staged), 0
			for _, d := range sn.staged {
				bytes += smt.HashSize + len(d)
			}
		}
		return nil
	})
	n := float64(b.N)
	b.ReportMetric(validate.Seconds()*1e3/n, "ms-validate")
	b.ReportMetric(commit.Seconds()*1e3/n, "ms-commitment")
	b.ReportMetric(commit.Seconds()/validate.Seconds(), "commitment/validate")
	b.ReportMetric(txroot.Seconds()*1e3/n, "ms-txroot")
	b.ReportMetric(float64(nodes), "nodes/block")
	b.ReportMetric(float64(bytes)/1e3, "node-kB/block")
}

// BenchmarkStateDisk measures what keeping every node costs the disk for
// small blocks: a chain of blocks each holding one payment between ten
// accounts and the reward (three accounts touched), added in one batch.
// Metrics: the account-state bucket's bytes per block (keys and values,
// and as bbolt pages) beside the block bodies' bytes per block.
func BenchmarkStateDisk(b *testing.B) {
	const blocks = 500
	p := chaintest.SignedParams(b)
	p.Reward = 1000
	keys := make([]crypto.PrivKey, 10)
	addrs := make([]string, 10)
	for i := range keys {
		keys[i], addrs[i] = chaintest.Key(b, fmt.Sprint("user", i))
	}
	for b.Loop() {
		b.StopTimer()
		c := openChain(b, testConfig(b, p))
		nonce := make([]uint64, len(keys))
		run := chaintest.Run{Miner: chaintest.Pay(addrs...), Txs: func(i int) []chain.Transaction {
			if i < len(keys) {
				return nil // every user mines once first
			}
			s := i % len(keys)
			nonce[s]++
			return []chain.Transaction{signedTx(b, c, keys[s], addrs[(s+3)%len(keys)], 1, nonce[s]-1)}
		}}
		bs := run.Blocks(b, &p, c.Genesis(), blocks)
		b.StartTimer()
		if _, _, err := c.AddBlocks(bs); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		var kv, pages, body int
		_ = c.db.View(func(tx *bolt.Tx) error {
			bkt := tx.Bucket(bucketStateNodes)
			_ = bkt.ForEach(func(k, v []byte) error { kv += len(k) + len(v); return nil })
			st := bkt.Stats()
			pages = (st.LeafPageN + st.BranchPageN) * tx.DB().Info().PageSize
			return nil
		})
		for _, blk := range bs {
			body += blk.BinarySize()
		}
		b.ReportMetric(float64(kv)/blocks, "node-B/block")
		b.ReportMetric(float64(pages)/blocks, "node-page-B/block")
		b.ReportMetric(float64(body)/blocks, "body-B/block")
		c.Close()
		b.StartTimer()
	}
}
