package main

import (
	"context"
	"fmt"
	"syscall"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"

	"github.com/gossipchain/gossipchain/chain"
)

// unfunded publishes n correctly signed transactions of the target's
// network, taken to be signed, from keys fresh keys that own nothing (key
// i%keys, nonce i/keys: the first of each key overspends, the later ones
// skip nonces), from one fresh identity. It reports the CPU time this
// process spent making and publishing them.
func (a *attacker) unfunded(ctx context.Context, n, keys int) (map[string]any, error) {
	id, topic, err := a.joinedTopic(ctx, "txs")
	if err != nil {
		return nil, err
	}
	signed := a.params
	signed.Ledger = chain.LedgerSigned
	genesis := signed.Genesis().Hash
	cpu, start := cpuSeconds(), time.Now()
	ks := make([]crypto.PrivKey, keys)
	for i := range ks {
		if ks[i], err = chain.GenerateKey(); err != nil {
			return nil, err
		}
	}
	to, err := chain.AddressOf(ks[0])
	if err != nil {
		return nil, err
	}
	for i := range n {
		tx, err := chain.SignTransaction(ks[i%keys], to, 1, uint64(i/keys), genesis)
		if err != nil {
			return nil, err
		}
		if err := id.publish(ctx, topic, txMsg(tx).data); err != nil {
			return nil, fmt.Errorf("publish %d: %w", i, err)
		}
	}
	return map[string]any{"peer": id.host.ID().String(), "sent": n, "seconds": time.Since(start).Seconds(), "cpu_seconds": cpuSeconds() - cpu}, nil
}

// cpuSeconds is the user and system CPU time of this process so far.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}
