package main

import (
	"context"
	"crypto/rand"
	"fmt"
	mrand "math/rand/v2"
	"strings"
	"time"

	"github.com/gossipchain/gossipchain/chain"
	"github.com/gossipchain/gossipchain/chain/chaintest"
)

// crafted is one gossip message.
type crafted struct {
	kind  string // "blocks" or "txs"
	data  []byte // content id || payload
	hash  chain.Hash
	index uint64
}

// gossipKinds builds each kind of message from the target's chain (genesis
// first, head last). Each invalid block breaks exactly one rule and is
// otherwise valid, mined included, so that it is refused for that rule.
var gossipKinds = map[string]func(a *attacker, blocks []*chain.Block) (crafted, error){
	// A correctly mined block on the head: the control.
	"valid": func(a *attacker, bs []*chain.Block) (crafted, error) {
		return a.blockMsg(a.child(head(bs), bs, []chain.Transaction{userTx()}, mined)), nil
	},
	"bad_proof": func(a *attacker, bs []*chain.Block) (crafted, error) {
		return a.blockMsg(a.child(head(bs), bs, []chain.Transaction{userTx()}, unmined)), nil
	},
	// The head's own proof under other transactions: a sibling of the head
	// with the same previous hash, index, time and proof.
	"reused_proof": func(a *attacker, bs []*chain.Block) (crafted, error) {
		h := head(bs)
		if h.Index < 2 {
			return crafted{}, fmt.Errorf("the target's chain has no mined block yet")
		}
		for {
			b := *h
			b.Transactions = append([]chain.Transaction{userTx()}, h.Transactions...)
			b.CommitTransactions()
			b.Hash = b.ComputeHash()
			if !b.MeetsTarget() {
				return a.blockMsg(&b), nil
			}
		}
	},
	// A block at the next index whose previous hash names the head's
	// grandparent instead of the head.
	"wrong_previous": func(a *attacker, bs []*chain.Block) (crafted, error) {
		if len(bs) < 3 {
			return crafted{}, fmt.Errorf("the target's chain is shorter than 3 blocks")
		}
		b := a.child(head(bs), bs, []chain.Transaction{userTx()}, nil)
		b.PreviousHash = bs[len(bs)-3].Hash
		mined(a, b)
		return a.blockMsg(b), nil
	},
	"unknown_parent": func(a *attacker, bs []*chain.Block) (crafted, error) {
		b := a.child(head(bs), bs, []chain.Transaction{userTx()}, nil)
		b.PreviousHash = randomHash()
		mined(a, b)
		return a.blockMsg(b), nil
	},
	"bad_reward": func(a *attacker, bs []*chain.Block) (crafted, error) {
		b := a.child(head(bs), bs, []chain.Transaction{userTx()}, nil)
		b.Transactions[len(b.Transactions)-1].Amount = a.params.Reward + 1
		b.Transactions[len(b.Transactions)-1].ID = b.Transactions[len(b.Transactions)-1].ComputeID()
		return a.blockMsg(remine(a, b)), nil
	},
	"misplaced_reward": func(a *attacker, bs []*chain.Block) (crafted, error) {
		b := a.child(head(bs), bs, []chain.Transaction{userTx()}, nil)
		b.Transactions[0], b.Transactions[1] = b.Transactions[1], b.Transactions[0]
		return a.blockMsg(remine(a, b)), nil
	},
	"duplicate_tx": func(a *attacker, bs []*chain.Block) (crafted, error) {
		tx := userTx()
		return a.blockMsg(a.child(head(bs), bs, []chain.Transaction{tx, tx}, mined)), nil
	},
	// A transaction already in the target's chain, included again.
	"replayed_tx": func(a *attacker, bs []*chain.Block) (crafted, error) {
		tx, ok := chainTx(bs)
		if !ok {
			return crafted{}, fmt.Errorf("no ordinary transaction in the target's chain")
		}
		return a.blockMsg(a.child(head(bs), bs, []chain.Transaction{tx}, mined)), nil
	},
	"future_time": func(a *attacker, bs []*chain.Block) (crafted, error) {
		b := a.child(head(bs), bs, []chain.Transaction{userTx()}, nil)
		b.Timestamp = chain.TimestampOf(time.Now().Add(chain.MaxFutureDrift + time.Hour))
		return a.blockMsg(remine(a, b)), nil
	},
	"old_time": func(a *attacker, bs []*chain.Block) (crafted, error) {
		b := a.child(head(bs), bs, []chain.Transaction{userTx()}, nil)
		b.Timestamp = median(bs) - 1
		return a.blockMsg(remine(a, b)), nil
	},
	"bad_difficulty": func(a *attacker, bs []*chain.Block) (crafted, error) {
		b := a.child(head(bs), bs, []chain.Transaction{userTx()}, nil)
		b.Bits = chain.MustCompact(chain.ZeroBitsTarget(a.params.Difficulty() + 1))
		return a.blockMsg(remine(a, b)), nil
	},
	"bad_tx_root": func(a *attacker, bs []*chain.Block) (crafted, error) {
		b := a.child(head(bs), bs, []chain.Transaction{userTx()}, nil)
		b.TxRoot = randomHash()
		mined(a, b)
		return a.blockMsg(b), nil
	},
	"bad_genesis": func(a *attacker, bs []*chain.Block) (crafted, error) {
		g := *a.params.Genesis()
		g.Transactions = []chain.Transaction{chain.NewRewardTransaction("mallory", a.params.Reward, 1)}
		g.CommitTransactions()
		mined(a, &g)
		return a.blockMsg(&g), nil
	},
	"bad_transaction": func(a *attacker, bs []*chain.Block) (crafted, error) {
		tx := chain.Transaction{Sender: "mallory", Recipient: "victim", Amount: 0, Nonce: mrand.Uint64()}
		tx.ID = tx.ComputeID()
		return a.blockMsg(a.child(head(bs), bs, []chain.Transaction{tx}, mined)), nil
	},
	// More transactions than a block may hold (each one small).
	"too_many_txs": func(a *attacker, bs []*chain.Block) (crafted, error) {
		txs := make([]chain.Transaction, a.params.MaxBlockTxs+1)
		for i := range txs {
			txs[i] = chain.Transaction{Sender: "m", Recipient: "v", Amount: 1, Nonce: uint64(i)}
			txs[i].ID = txs[i].ComputeID()
		}
		return a.blockMsg(a.child(head(bs), bs, txs, mined)), nil
	},
	// A block over the size limit, under the message limit.
	"oversized": func(a *attacker, bs []*chain.Block) (crafted, error) {
		long := strings.Repeat("m", chain.MaxAddressLen)
		var txs []chain.Transaction
		b := a.child(head(bs), bs, nil, nil)
		for size := b.BinarySize(); size <= a.params.MaxBlockSize+1024; size += 2 + 2*chain.MaxAddressLen + 2 + 16 {
			tx := chain.Transaction{Sender: long, Recipient: long, Amount: 1, Nonce: uint64(len(txs))}
			tx.ID = tx.ComputeID()
			txs = append(txs, tx)
		}
		return a.blockMsg(a.child(head(bs), bs, txs, mined)), nil
	},
	// A message over the target's pubsub message limit.
	"huge_message": func(a *attacker, bs []*chain.Block) (crafted, error) {
		data := randomBytes(3 << 20)
		return crafted{kind: "blocks", data: data, hash: chain.Hash(data[:32])}, nil
	},
	// A correct block announced under another content id.
	"id_mismatch": func(a *attacker, bs []*chain.Block) (crafted, error) {
		c := a.blockMsg(a.child(head(bs), bs, []chain.Transaction{userTx()}, mined))
		other := randomHash()
		copy(c.data, other[:])
		return c, nil
	},
	"garbage": func(a *attacker, bs []*chain.Block) (crafted, error) {
		data := randomBytes(32 + 400)
		return crafted{kind: "blocks", data: data, hash: chain.Hash(data[:32])}, nil
	},
	"short": func(a *attacker, bs []*chain.Block) (crafted, error) {
		return crafted{kind: "blocks", data: randomBytes(10)}, nil
	},
	"tx_valid": func(a *attacker, bs []*chain.Block) (crafted, error) {
		return txMsg(userTx()), nil
	},
	"tx_garbage": func(a *attacker, bs []*chain.Block) (crafted, error) {
		data := randomBytes(32 + 60)
		return crafted{kind: "txs", data: data, hash: chain.Hash(data[:32])}, nil
	},
	"tx_id_mismatch": func(a *attacker, bs []*chain.Block) (crafted, error) {
		c := txMsg(userTx())
		other := randomHash()
		copy(c.data, other[:])
		return c, nil
	},
	"tx_reward_sender": func(a *attacker, bs []*chain.Block) (crafted, error) {
		tx := chain.Transaction{Sender: chain.RewardSender, Recipient: "mallory", Amount: 1000, Nonce: mrand.Uint64()}
		tx.ID = tx.ComputeID()
		return txMsg(tx), nil
	},
	"tx_oversized": func(a *attacker, bs []*chain.Block) (crafted, error) {
		data := randomBytes(32 + 400)
		return crafted{kind: "txs", data: data, hash: chain.Hash(data[:32])}, nil
	},
	"tx_replayed": func(a *attacker, bs []*chain.Block) (crafted, error) {
		tx, ok := chainTx(bs)
		if !ok {
			return crafted{}, fmt.Errorf("no ordinary transaction in the target's chain")
		}
		return txMsg(tx), nil
	},
}

// gossip publishes one crafted message from a fresh identity.
func (a *attacker) gossip(ctx context.Context, kind string) (map[string]any, error) {
	build, ok := gossipKinds[kind]
	if !ok {
		return nil, fmt.Errorf("unknown gossip kind %q", kind)
	}
	blocks, err := a.fetchChain(ctx)
	if err != nil {
		return nil, fmt.Errorf("fetch the target's chain: %w", err)
	}
	msg, err := build(a, blocks)
	if err != nil {
		return nil, err
	}
	id, err := a.newIdentity()
	if err != nil {
		return nil, err
	}
	topic := topicName(a.params.Name, msg.kind)
	if err := id.joinTopics(topic); err != nil {
		return nil, err
	}
	if err := id.connect(ctx, a.target); err != nil {
		return nil, fmt.Errorf("connect: %w", err)
	}
	wctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := id.waitTopicPeer(wctx, topic, a.target.ID); err != nil {
		return nil, err
	}
	if err := id.publish(ctx, topic, msg.data); err != nil {
		return nil, fmt.Errorf("publish: %w", err)
	}
	a.log.Info("published", "kind", kind, "topic", topic, "bytes", len(msg.data), "hash", msg.hash)
	res := map[string]any{"peer": id.host.ID().String(), "kind": kind, "topic": msg.kind, "bytes": len(msg.data)}
	if msg.hash != (chain.Hash{}) {
		res["hash"] = msg.hash.String()
	}
	if msg.index != 0 {
		res["index"] = msg.index
	}
	return res, nil
}

// listen joins the block topic with a fresh identity that only listens.
func (a *attacker) listen(ctx context.Context) (map[string]any, error) {
	id, topic, err := a.joined(ctx)
	if err != nil {
		return nil, err
	}
	return map[string]any{"peer": id.host.ID().String(), "topic": topic}, nil
}

// offend publishes n blocks with a bad proof from one fresh identity, which
// stays subscribed: the target's verdict on it shows in what it is sent.
func (a *attacker) offend(ctx context.Context, n int) (map[string]any, error) {
	blocks, err := a.fetchChain(ctx)
	if err != nil {
		return nil, fmt.Errorf("fetch the target's chain: %w", err)
	}
	id, topic, err := a.joined(ctx)
	if err != nil {
		return nil, err
	}
	var hashes []string
	for range n {
		msg := a.blockMsg(a.child(head(blocks), blocks, []chain.Transaction{userTx()}, unmined))
		if err := id.publish(ctx, topic, msg.data); err != nil {
			return nil, fmt.Errorf("publish: %w", err)
		}
		hashes = append(hashes, msg.hash.String())
	}
	return map[string]any{"peer": id.host.ID().String(), "hashes": hashes}, nil
}

// joined returns a fresh identity subscribed to the block topic, once the
// target is known to be subscribed to it.
func (a *attacker) joined(ctx context.Context) (*identity, string, error) {
	return a.joinedTopic(ctx, "blocks")
}

// joinedTopic returns a fresh identity subscribed to the topic of kind
// ("blocks", "txs"), once the target is known to be subscribed to it.
func (a *attacker) joinedTopic(ctx context.Context, kind string) (*identity, string, error) {
	id, err := a.newIdentity()
	if err != nil {
		return nil, "", err
	}
	topic := topicName(a.params.Name, kind)
	if err := id.joinTopics(topic); err != nil {
		return nil, "", err
	}
	if err := id.connect(ctx, a.target); err != nil {
		return nil, "", fmt.Errorf("connect: %w", err)
	}
	wctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := id.waitTopicPeer(wctx, topic, a.target.ID); err != nil {
		return nil, "", err
	}
	return id, topic, nil
}

func head(bs []*chain.Block) *chain.Block { return bs[len(bs)-1] }

// child builds a block on parent holding txs and the reward, timestamped now
// (or just after the median time), then applies seal (mined, unmined or nil).
func (a *attacker) child(parent *chain.Block, bs []*chain.Block, txs []chain.Transaction, seal func(*attacker, *chain.Block)) *chain.Block {
	ts := chain.TimestampOf(time.Now())
	if m := median(bs); ts <= m {
		ts = m + 1
	}
	b := chaintest.NewBlock(&a.params, parent, "mallory", txs...)
	b.Timestamp = ts
	if seal != nil {
		seal(a, b)
	}
	return b
}

// mined searches a proof meeting the block's own difficulty field, from a
// random proof on.
func mined(_ *attacker, b *chain.Block) {
	if err := chaintest.MineFrom(b, b.Bits, mrand.Uint64()); err != nil {
		panic(err) // the target is valid, and 2^40 proofs outlast any difficulty attacked
	}
}

// unmined picks a proof whose hash misses the difficulty, from a random
// proof on.
func unmined(_ *attacker, b *chain.Block) {
	if err := chaintest.UnmineFrom(b, b.Bits, mrand.Uint64()); err != nil {
		panic(err) // the target is valid, and most hashes miss it
	}
}

// remine recomputes the transaction count and root and mines again after
// an edit.
func remine(a *attacker, b *chain.Block) *chain.Block {
	b.CommitTransactions()
	mined(a, b)
	return b
}

// median is the median time of the head and up to ten of its ancestors.
func median(bs []*chain.Block) chain.Timestamp {
	var ts []chain.Timestamp
	for i := len(bs) - 1; i >= 0 && len(ts) < chain.MedianTimeBlocks; i-- {
		ts = append(ts, bs[i].Timestamp)
	}
	return chain.MedianTime(ts)
}

func chainTx(bs []*chain.Block) (chain.Transaction, bool) {
	for i := len(bs) - 1; i >= 0; i-- {
		for _, tx := range bs[i].Transactions {
			if !tx.IsReward() {
				return tx, true
			}
		}
	}
	return chain.Transaction{}, false
}

func (a *attacker) blockMsg(b *chain.Block) crafted {
	data := append(append([]byte{}, b.Hash[:]...), b.AppendBinary(nil)...)
	return crafted{kind: "blocks", data: data, hash: b.Hash, index: b.Index}
}

func txMsg(tx chain.Transaction) crafted {
	data := tx.AppendBinary(append([]byte{}, tx.ID[:]...))
	return crafted{kind: "txs", data: data, hash: tx.ID}
}

func userTx() chain.Transaction {
	tx, err := chain.NewTransaction("mallory", "victim", 1+mrand.Uint64N(1000))
	if err != nil {
		panic(err)
	}
	return tx
}

func randomHash() chain.Hash {
	var h chain.Hash
	_, _ = rand.Read(h[:])
	return h
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}
