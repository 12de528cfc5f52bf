package sync_test

import (
	"context"
	"log"
	"path/filepath"

	"github.com/gossipchain/gossipchain/chain"
	"github.com/gossipchain/gossipchain/chain/miner"
	"github.com/gossipchain/gossipchain/chain/store"
	"github.com/gossipchain/gossipchain/p2p"
	gsync "github.com/gossipchain/gossipchain/sync"
)

// A node joins its chain to the network with a Service, then publishes what
// it mines and resolves on demand.
func Example() {
	ctx := context.Background()
	dir := "/var/lib/gossipchain"
	params, err := chain.NewParams(chain.DefaultNetwork, chain.DefaultDifficulty)
	if err != nil {
		log.Fatal(err)
	}
	c, err := store.Open(store.Config{Params: params, Path: filepath.Join(dir, "chain.db")})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	node, err := p2p.New(ctx, p2p.Config{DataDir: dir, Network: params.Name, MDNS: true, MaxMessageSize: gsync.MaxMessageSize(params)})
	if err != nil {
		log.Fatal(err)
	}
	defer node.Close()
	svc, err := gsync.New(gsync.Config{Chain: c, Node: node})
	if err != nil {
		log.Fatal(err)
	}
	defer svc.Close() // before the node and the chain
	if err := node.Start(ctx); err != nil {
		log.Fatal(err)
	}
	if err := svc.Start(ctx); err != nil {
		log.Fatal(err)
	}

	miner, err := miner.New(c, miner.Config{Address: "alice"})
	if err != nil {
		log.Fatal(err)
	}
	b, _, err := miner.MineBlock(ctx)
	if err != nil {
		log.Fatal(err)
	}
	if err := svc.PublishBlock(ctx, b); err != nil {
		log.Print(err)
	}
	if replaced, err := svc.Resolve(ctx); err == nil && replaced {
		log.Print("our chain was replaced")
	}
}
