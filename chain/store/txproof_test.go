package store

import (
	"errors"
	"fmt"
	"testing"

	"github.com/gossipchain/gossipchain/chain"
	"github.com/gossipchain/gossipchain/chain/chaintest"
	"github.com/gossipchain/gossipchain/chain/proof"
)

// checkTxProofs checks that the proof of every transaction of blocks
// verifies, through its binary form, against the header of the block
// that holds it.
func checkTxProofs(t *testing.T, c *Chain, blocks []*chain.Block) {
	t.Helper()
	for _, b := range blocks {
		for i, tx := range b.Transactions {
			p, err := c.TxProof(tx.ID)
			if err != nil {
				t.Fatalf("block %d, transaction %d: %v", b.Index, i, err)
			}
			enc, err := p.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			dec, err := proof.DecodeTx(enc)
			if err != nil {
				t.Fatalf("block %d, transaction %d: %v", b.Index, i, err)
			}
			hdr, err := dec.Verify(tx.ID)
			if err != nil {
				t.Fatalf("block %d, transaction %d: %v", b.Index, i, err)
			}
			if hdr.Hash != b.Hash || dec.Index != uint32(i) {
				t.Fatalf("transaction %d of block %d is proven at %d of block %s", i, b.Hash, dec.Index, hdr.Hash)
			}
		}
	}
}

// TestTxProof builds a chain of blocks of 1 to 40 transactions and checks
// that every transaction's proof verifies against its block's header;
// that after a reorganisation the transactions of the new branch are
// proven in its blocks and those only of the abandoned one are not found;
// and that a pending or unknown transaction is not found.
func TestTxProof(t *testing.T) {
	c := newTestChain(t, chaintest.Difficulty)
	p := c.Params()
	txs := func(tag string, n int) func(i int) []chain.Transaction {
		return func(i int) []chain.Transaction {
			var out []chain.Transaction
			for j := range (i*7+n)%40 + n {
				out = append(out, chaintest.Tx(fmt.Sprintf("%s-%d", tag, i), "bob", uint64(j+1), uint64(j)))
			}
			return out
		}
	}
	blocks := chaintest.Run{Miner: chaintest.Pay("miner"), Txs: txs("main", 0)}.Blocks(t, &p, c.Genesis(), 12)
	mustAddAll(t, c, blocks)
	checkTxProofs(t, c, append([]*chain.Block{c.Genesis()}, blocks...))

	// A heavier branch from block 8 replaces blocks 9.. with others,
	// holding one transaction of the abandoned blocks.
	fork := blocks[6]
	branch := chaintest.Run{Miner: chaintest.Pay("other"), Txs: func(i int) []chain.Transaction {
		if i == 0 {
			return []chain.Transaction{blocks[7].Transactions[0]}
		}
		return txs("branch", 1)(i)
	}}.Blocks(t, &p, fork, 7)
	mustAddAll(t, c, branch)
	if c.IsMain(blocks[7].Hash) || c.Head().Hash != branch[len(branch)-1].Hash {
		t.Fatal("the branch did not replace the main chain")
	}
	checkTxProofs(t, c, append(blocks[:7:7], branch...))
	for _, b := range blocks[7:] {
		for _, tx := range b.Transactions[1:] {
			if _, err := c.TxProof(tx.ID); !errors.Is(err, chain.ErrNotFound) {
				t.Fatalf("a transaction of abandoned block %d: %v, want ErrNotFound", b.Index, err)
			}
		}
	}
	pending := chaintest.Tx("pending", "bob", 1, 0)
	if err := c.AddTransaction(pending); err != nil {
		t.Fatal(err)
	}
	for _, id := range []chain.Hash{pending.ID, {1}} {
		if _, err := c.TxProof(id); !errors.Is(err, chain.ErrNotFound) {
			t.Fatalf("proof of %s, not in the main chain: %v, want ErrNotFound", id, err)
		}
	}
}

// TestAccountProofBinary checks that the binary form of the store's
// account proofs verifies with package proof for several accounts, at
// the head (a zero block) and at earlier blocks, and that a side block
// has none.
func TestAccountProofBinary(t *testing.T) {
	p, _, c := openSigned(t, 50)
	alice, aliceAddr := chaintest.Key(t, "alice")
	_, bobAddr := chaintest.Key(t, "bob")
	_, unused := chaintest.Key(t, "nobody")
	blocks := chaintest.Run{Miner: chaintest.Pay(aliceAddr, bobAddr)}.Blocks(t, &p, c.Genesis(), 3)
	blocks = append(blocks, chaintest.NextBlock(t, &p, blocks[2], bobAddr, signedTx(t, c, alice, bobAddr, 30, 0)))
	mustAddAll(t, c, blocks)
	for _, b := range append(blocks, &chain.Block{}) {
		for _, addr := range []string{aliceAddr, bobAddr, unused} {
			ap, err := c.AccountProof(addr, b.Hash)
			if err != nil {
				t.Fatal(err)
			}
			enc, err := ap.Binary().MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			dec, err := proof.DecodeAccount(enc)
			if err != nil {
				t.Fatal(err)
			}
			hdr, err := dec.Verify(addr)
			if err != nil {
				t.Fatalf("%s at block %s: %v", addr, b.Hash, err)
			}
			want := b.Hash
			if want.IsZero() {
				want = c.Head().Hash
			}
			acc, _ := chaintest.AccountAt(want, addr)
			if hdr.Hash != want || dec.Balance != acc.Balance || dec.NextNonce != acc.Nonce {
				t.Fatalf("%s at %s: proven %d/%d at %s, want %d/%d", addr, want, dec.Balance, dec.NextNonce, hdr.Hash, acc.Balance, acc.Nonce)
			}
		}
	}
}
