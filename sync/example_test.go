package sync_test

import (
	"context"
	"log"

	"github.com/gossipchain/gossipchain/chain"
	"github.com/gossipchain/gossipchain/p2p"
	gsync "github.com/gossipchain/gossipchain/sync"
)

// A node is assembled by NewNode: its chain store, p2p host, sync service
// and miner. It then publishes what it mines and resolves on demand.
func Example() {
	ctx := context.Background()
	params, err := chain.NewParams(chain.DefaultNetwork, chain.DefaultDifficulty)
	if err != nil {
		log.Fatal(err)
	}
	n, err := gsync.NewNode(ctx, gsync.NodeConfig{
		Params:       params,
		DataDir:      "/var/lib/gossipchain",
		P2P:          p2p.Config{MDNS: true},
		MinerAddress: "alice",
	})
	if err != nil {
		log.Fatal(err)
	}
	defer n.Close() // sync, then the p2p host, then the chain
	if err := n.Start(ctx); err != nil {
		log.Fatal(err)
	}

	b, _, err := n.Miner.MineBlock(ctx)
	if err != nil {
		log.Fatal(err)
	}
	if err := n.Sync.PublishBlock(ctx, b); err != nil {
		log.Print(err)
	}
	if replaced, err := n.Sync.Resolve(ctx); err == nil && replaced {
		log.Print("our chain was replaced")
	}
}
