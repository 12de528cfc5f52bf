package store

import (
	"path/filepath"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/gossipchain/gossipchain/chain"
	"github.com/gossipchain/gossipchain/chain/chaintest"
)

// benchChain is a chain of benchChainLen blocks at difficulty 4, each with
// two transactions and the reward, built once.
var benchChain struct {
	once   sync.Once
	p      chain.Params
	blocks []*chain.Block
}

const benchChainLen = 20_000

func longChain(b *testing.B) (chain.Params, []*chain.Block) {
	benchChain.once.Do(func() {
		p := chaintest.ParamsAt(b, 4)
		parent := p.Genesis()
		blocks := make([]*chain.Block, 0, benchChainLen)
		for i := range benchChainLen {
			parent = chaintest.NextBlock(b, &p, parent, "miner",
				chaintest.Tx("alice", "bob", uint64(i+1), uint64(i)), chaintest.Tx("carol", "dave", uint64(i+1), uint64(i)))
			blocks = append(blocks, parent)
		}
		benchChain.p, benchChain.blocks = p, blocks
	})
	return benchChain.p, benchChain.blocks
}

// benchBatches writes blocks in batches of 500, as the sync layer adds
// them, into what open makes fresh for each round (add writes one batch,
// done closes), and reports blocks per second and the bytes written per
// block (write_bytes of /proc/self/io).
func benchBatches(b *testing.B, blocks []*chain.Block, open func() (add func([]*chain.Block) error, done func())) {
	const batch = 500
	var elapsed time.Duration
	var written int64
	n := 0
	for b.Loop() {
		b.StopTimer()
		add, done := open()
		b.StartTimer()
		start, w0 := time.Now(), writeBytes(b)
		for i := 0; i < len(blocks); i += batch {
			if err := add(blocks[i:min(i+batch, len(blocks))]); err != nil {
				b.Fatal(err)
			}
		}
		elapsed += time.Since(start)
		written += writeBytes(b) - w0
		n += len(blocks)
		b.StopTimer()
		done()
		b.StartTimer()
	}
	b.ReportMetric(float64(n)/elapsed.Seconds(), "blocks/s")
	b.ReportMetric(float64(written)/float64(n), "written-B/block")
}

// BenchmarkAddBlocks inserts a chain of 20,000 blocks into a new store in
// batches of 500, as the sync layer does, and reports blocks per second
// and the bytes written per block beside the blocks' binary size.
// BenchmarkBareBolt is its same-run reference.
func BenchmarkAddBlocks(b *testing.B) {
	p, blocks := longChain(b)
	benchBatches(b, blocks, func() (func([]*chain.Block) error, func()) {
		cfg := testConfig(b, p)
		cfg.Now = time.Now
		c, err := Open(cfg)
		if err != nil {
			b.Fatal(err)
		}
		add := func(bs []*chain.Block) error { _, _, err := c.AddBlocks(bs); return err }
		return add, func() { c.Close() }
	})
	b.ReportMetric(float64(blocks[len(blocks)/2].BinarySize()), "binary-B/block")
}

// BenchmarkBareBolt is the reference of BenchmarkAddBlocks: the same
// blocks' binary encodings put into a bare bbolt file under sequential
// keys, in the same batches, one commit each.
func BenchmarkBareBolt(b *testing.B) {
	_, blocks := longChain(b)
	benchBatches(b, blocks, func() (func([]*chain.Block) error, func()) {
		db, err := bolt.Open(filepath.Join(b.TempDir(), "bare.db"), 0o600, &bolt.Options{FreelistType: bolt.FreelistMapType})
		if err != nil {
			b.Fatal(err)
		}
		add := func(bs []*chain.Block) error {
			return db.Update(func(tx *bolt.Tx) error {
				bkt, err := tx.CreateBucketIfNotExists([]byte("blocks"))
				if err != nil {
					return err
				}
				bkt.FillPercent = 1
				for _, bl := range bs {
					if err := bkt.Put(heightKey(bl.Index), bl.AppendBinary(nil)); err != nil {
						return err
					}
				}
				return nil
			})
		}
		return add, func() { db.Close() }
	})
}

// BenchmarkAddBlock adds blocks one at a time: one disk sync per block.
func BenchmarkAddBlock(b *testing.B) {
	p, blocks := longChain(b)
	cfg := testConfig(b, p)
	cfg.Now = time.Now
	c, err := Open(cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	i := 0
	for b.Loop() {
		if i == len(blocks) {
			b.Fatal("chain exhausted")
		}
		if _, err := c.AddBlock(blocks[i]); err != nil {
			b.Fatal(err)
		}
		i++
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "blocks/s")
}

// BenchmarkOpen measures the check of a 20,000-block store on open.
func BenchmarkOpen(b *testing.B) {
	p, blocks := longChain(b)
	cfg := testConfig(b, p)
	cfg.Now = time.Now
	c, err := Open(cfg)
	if err != nil {
		b.Fatal(err)
	}
	if _, _, err := c.AddBlocks(blocks); err != nil {
		b.Fatal(err)
	}
	c.Close()
	for b.Loop() {
		c, err := Open(cfg)
		if err != nil {
			b.Fatal(err)
		}
		c.Close()
	}
	b.ReportMetric(float64(len(blocks)*b.N)/b.Elapsed().Seconds(), "blocks/s")
}
