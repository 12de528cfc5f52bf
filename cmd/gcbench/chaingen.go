package main

import (
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"slices"

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
	return newChainGen(p, txsPerBlock).next(n)
}

// chainGen makes the chain of buildBlocks a part at a time, each part on the
// last block of the one before, so that a chain of any length is made in
// bounded memory: the first n blocks it makes, in any parts, are those of
// buildBlocks(p, n, txsPerBlock).
type chainGen struct {
	p      chain.Params
	txs    int
	parent *chain.Block
	made   int // blocks made so far
}

func newChainGen(p chain.Params, txsPerBlock int) *chainGen {
	return &chainGen{p: p, txs: txsPerBlock, parent: p.Genesis()}
}

// next returns the next n blocks.
func (g *chainGen) next(n int) ([]*chain.Block, error) {
	from := g.made
	run := chaintest.Run{Miner: chaintest.Pay("bench-miner"), Txs: func(i int) []chain.Transaction { return benchTxs(from+i, g.txs) }}
	blocks, err := run.Build(&g.p, g.parent, n)
	if err != nil {
		return nil, err
	}
	if n > 0 {
		g.parent = blocks[n-1]
		g.made += n
	}
	return blocks, nil
}

// benchTxs returns the transactions of block i (counted from 0) of a bench
// chain: n of them, each with a nonce of its own.
func benchTxs(i, n int) []chain.Transaction {
	out := make([]chain.Transaction, 0, n)
	for j := range n {
		nonce := uint64(i*n + j + 1)
		out = append(out, chaintest.Tx(fmt.Sprintf("sender-%d", (i+j)%97), fmt.Sprintf("recipient-%d", (i*7+j)%89), uint64(1+(i+j)%1000), nonce))
	}
	return out
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

// sourceChain is what streamChain made: the block file, and the bytes of
// the block encodings in the first sizes[i] blocks.
type sourceChain struct {
	blockFile string
	bytes     []int64
}

// streamChain makes the bench chain of the longest of sizes (ascending),
// addBatch blocks at a time, and writes it as it goes into one node data
// directory per size (dirs[i] holding sizes[i] blocks) and into the block
// file blockFile (os.DevNull for none). One batch is in memory at a time. mark, if not nil, is
// called as each size is reached.
func streamChain(p chain.Params, sizes []int, dirs []string, blockFile string, mark func(n int)) (sourceChain, error) {
	src := sourceChain{blockFile: blockFile}
	if !slices.IsSorted(sizes) || len(sizes) != len(dirs) || len(sizes) == 0 {
		return src, fmt.Errorf("want sizes in ascending order, one data directory each")
	}
	bw, err := createBlockFile(blockFile)
	if err != nil {
		return src, err
	}
	stores := make([]*store.Chain, len(sizes))
	defer func() {
		if bw != nil {
			bw.close()
		}
		for _, c := range stores {
			if c != nil {
				c.Close()
			}
		}
	}()
	for i, dir := range dirs {
		if stores[i], err = openStore(dir, p); err != nil {
			return src, err
		}
	}
	gen := newChainGen(p, genTxsPerBlock)
	longest := sizes[len(sizes)-1]
	next := 0 // the first size not reached
	for gen.made < longest {
		from := gen.made
		blocks, err := gen.next(min(addBatch, sizes[next]-from))
		if err != nil {
			return src, err
		}
		if err := bw.add(blocks); err != nil {
			return src, err
		}
		for _, c := range stores[next:] {
			if err := addAll(c, blocks); err != nil {
				return src, err
			}
		}
		if gen.made < sizes[next] {
			continue
		}
		c := stores[next]
		stores[next] = nil
		if h := c.Head().Height; h != uint64(sizes[next])+1 {
			c.Close()
			return src, fmt.Errorf("store height %d after adding %d blocks", h, sizes[next])
		}
		if err := c.Close(); err != nil {
			return src, err
		}
		src.bytes = append(src.bytes, bw.bytes)
		if mark != nil {
			mark(sizes[next])
		}
		next++
	}
	err = bw.close()
	bw = nil
	return src, err
}
