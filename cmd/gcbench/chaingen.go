package main

import (
	"encoding/binary"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/gossipchain/gossipchain/chain"
	"github.com/gossipchain/gossipchain/chain/chaintest"
	"github.com/gossipchain/gossipchain/chain/store"
)

// Shape of the generated chains: a few transactions per block besides the
// reward, and the batch size of chain.AddBlocks (the most a syncing node
// adds in one store transaction: four chain-exchange replies).
const (
	genTxsPerBlock = 3
	addBatch       = 2000
)

// benchParams returns the parameters a node derives from --network
// benchNetwork --difficulty benchDifficulty.
func benchParams() (chain.Params, error) {
	return chain.NewParams(benchNetwork, benchDifficulty)
}

// buildBlocks returns n valid blocks after p's genesis, each with
// txsPerBlock transactions and the reward, one second apart from the
// genesis time on (so, well in the past).
func buildBlocks(p chain.Params, n, txsPerBlock int) ([]*chain.Block, error) {
	txs := func(i int) []chain.Transaction {
		out := make([]chain.Transaction, 0, txsPerBlock)
		for j := range txsPerBlock {
			nonce := uint64(i*txsPerBlock + j + 1)
			out = append(out, chaintest.Tx(fmt.Sprintf("sender-%d", (i+j)%97), fmt.Sprintf("recipient-%d", (i*7+j)%89), uint64(1+(i+j)%1000), nonce))
		}
		return out
	}
	return chaintest.Run{Miner: chaintest.Pay("bench-miner"), Txs: txs}.Build(&p, p.Genesis(), n)
}

// quietLogger discards the chain's logs.
func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// openStore opens (or creates) the store a node with p keeps in dataDir.
func openStore(dataDir string, p chain.Params) (*store.Chain, error) {
	return store.Open(store.Config{Params: p, Path: filepath.Join(dataDir, "chain.db"), Logger: quietLogger()})
}

// addAll adds blocks to c in batches of addBatch.
func addAll(c *store.Chain, blocks []*chain.Block) error {
	for i := 0; i < len(blocks); i += addBatch {
		batch := blocks[i:min(i+addBatch, len(blocks))]
		if _, n, err := c.AddBlocks(batch); err != nil {
			return fmt.Errorf("add block %d: %w", batch[n].Index, err)
		}
	}
	return nil
}

// writeDataDir writes blocks into the store of a node data directory, as
// the node itself would keep them.
func writeDataDir(dataDir string, p chain.Params, blocks []*chain.Block) error {
	c, err := openStore(dataDir, p)
	if err != nil {
		return err
	}
	if err := addAll(c, blocks); err != nil {
		c.Close()
		return err
	}
	if h := c.Head().Height; h != uint64(len(blocks))+1 {
		c.Close()
		return fmt.Errorf("store height %d after adding %d blocks", h, len(blocks))
	}
	return c.Close()
}

// boltSequential is the storage reference: it writes the binary encodings
// of blocks into a fresh bbolt file under sequential height keys, addBatch
// per transaction (one fsync each), and returns the time it took.
func boltSequential(path string, blocks []*chain.Block) (time.Duration, error) {
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		return 0, err
	}
	defer os.Remove(path)
	defer db.Close()
	bucket := []byte("blocks")
	start := time.Now()
	for i := 0; i < len(blocks); i += addBatch {
		err := db.Update(func(tx *bolt.Tx) error {
			b, err := tx.CreateBucketIfNotExists(bucket)
			if err != nil {
				return err
			}
			b.FillPercent = 1
			for _, blk := range blocks[i:min(i+addBatch, len(blocks))] {
				if err := b.Put(binary.BigEndian.AppendUint64(nil, blk.Index), blk.AppendBinary(nil)); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return 0, err
		}
	}
	return time.Since(start), nil
}
