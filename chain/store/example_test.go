package store_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/gossipchain/gossipchain/chain"
	"github.com/gossipchain/gossipchain/chain/miner"
	"github.com/gossipchain/gossipchain/chain/store"
)

// Open a node's chain, submit a transaction, mine it into a block and read
// the chain back.
func ExampleOpen() {
	dir, err := os.MkdirTemp("", "gossipchain-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	params, err := chain.NewParams("example", 8) // a cheap proof of work
	if err != nil {
		log.Fatal(err)
	}
	c, err := store.Open(store.Config{Params: params, Path: filepath.Join(dir, "chain.db")})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	tx, err := chain.NewTransaction("alice", "bob", 5)
	if err != nil {
		log.Fatal(err)
	}
	if err := c.AddTransaction(tx); err != nil { // on disk when it returns
		log.Fatal(err)
	}
	fmt.Println("pending:", c.PendingCount())

	miner, err := miner.New(c, miner.Config{Address: "my-node", Threads: 1})
	if err != nil {
		log.Fatal(err)
	}
	block, res, err := miner.MineBlock(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("mined block", block.Index, res.Status, "with", len(block.Transactions), "transactions")
	fmt.Println("head height:", c.Head().Height, "pending:", c.PendingCount())

	loc, _ := c.FindTransaction(tx.ID)
	fmt.Println("alice's payment is in block", loc.Height)

	// The same block again is known: not an error of the sender.
	_, err = c.AddBlock(block)
	fmt.Println(errors.Is(err, chain.ErrKnownBlock))

	_ = c.MainChain(1, 0, func(b *chain.Block) error {
		fmt.Println(b.Index, b.Reward().Recipient)
		return nil
	})
	// Output:
	// pending: 1
	// mined block 2 extended with 2 transactions
	// head height: 2 pending: 0
	// alice's payment is in block 2
	// true
	// 1 gossipchain:example
	// 2 my-node
}

// A signed network: the miner's key earns the reward, signs a payment with
// the nonce its account gives, and the payment is mined.
func ExampleChain_Account() {
	dir, err := os.MkdirTemp("", "gossipchain-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	params, err := chain.NewParams("example", 8)
	if err != nil {
		log.Fatal(err)
	}
	params.Ledger = chain.LedgerSigned
	params.Reward = 50
	c, err := store.Open(store.Config{Params: params, Path: filepath.Join(dir, "chain.db")})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	// A key file in the format of a node's identity.key.
	keyFile := filepath.Join(dir, "wallet.key")
	k, _ := chain.GenerateKey()
	if err := chain.SaveKey(keyFile, k); err != nil {
		log.Fatal(err)
	}
	key, err := chain.LoadKey(keyFile)
	if err != nil {
		log.Fatal(err)
	}
	me, _ := chain.AddressOf(key)
	other, _ := chain.GenerateKey()
	friend, _ := chain.AddressOf(other)

	m, err := miner.New(c, miner.Config{Address: me, Threads: 1})
	if err != nil {
		log.Fatal(err)
	}
	if _, _, err := m.MineBlock(context.Background()); err != nil {
		log.Fatal(err)
	}
	acc, _ := c.Account(me)
	tx, err := chain.SignTransaction(key, friend, 20, acc.PendingNonce, c.Genesis().Hash)
	if err != nil {
		log.Fatal(err)
	}
	if err := c.AddTransaction(tx); err != nil {
		log.Fatal(err)
	}
	// The same nonce again, paying no more, is refused: a replacement must
	// pay at least 10% more.
	again, _ := chain.SignTransaction(key, friend, 5, acc.PendingNonce, c.Genesis().Hash)
	fmt.Println(errors.Is(c.AddTransaction(again), chain.ErrBadNonce))
	if _, _, err := m.MineBlock(context.Background()); err != nil {
		log.Fatal(err)
	}
	mine, _ := c.Account(me)
	theirs, _ := c.Account(friend)
	fmt.Println(mine.Balance, mine.NextNonce, theirs.Balance)
	// Output:
	// true
	// 80 1 20
}
