// Command gchostile is a hostile gossipchain peer for resilience tests. It
// speaks the wire protocols of PROTOCOL.md directly, with a bare libp2p host
// and its own GossipSub router (it uses neither the p2p nor the sync package),
// and sends an honest node everything a broken or malicious peer could:
// invalid blocks and transactions, garbage and oversized gossip, floods of
// chain-exchange requests, forged, endless and stalled chain-exchange replies,
// and malformed statuses.
//
// It reads one command per line on stdin and answers each with one JSON
// object per line on stdout ({"ok": true, ...} or {"ok": false, "error"}).
// Most attacks use a fresh identity, so that a ban or a low gossip score
// earned by one attack does not hide the next one. Commands:
//
//	chain                 fetch the target's main chain (an honest request)
//	gossip <kind>         publish one crafted message (see gossipKinds)
//	valid                 publish a correctly mined block on the target's head
//	listen                join the block topic with a fresh identity and
//	                      record what it receives
//	offend <n>            like listen, then publish n blocks with a bad proof
//	received <peer> <id>  whether that identity received the content id
//	serve <mode>          connect with a forged heavy status and answer the
//	                      target's chain-exchange requests per mode (see serveModes)
//	serve slow <source> <delay>
//	                      connect claiming a chain a million blocks heavier and
//	                      answer each chain-exchange request after <delay>
//	                      seconds with one real block, the next one on the main
//	                      chain of the honest node <source> (a multiaddr)
//	badstatus             send a malformed status
//	flood <idle> <requests> <malformed> <concurrency>
//	                      open idle chain-exchange streams, then send valid and
//	                      malformed requests
//	streams <n> <each>    open <each> streams that never negotiate a protocol
//	                      from each of <n> fresh identities, and keep them
//	idlereq <n> <each>    likewise, chain-exchange streams whose request
//	                      starts and never ends
//	unread <n> <each>     likewise, whole-chain requests whose replies are
//	                      never read
//	siblings <n>          publish n valid blocks competing with the head
//	txflood <n>           publish n valid transactions as fast as possible
//	orphans <n> <txs>     publish n valid blocks of txs transactions each whose
//	                      parent nobody has
//	subs <n>              announce n made-up topics, one per RPC
//	unfunded <n> <keys>   publish n correctly signed transactions of the
//	                      target's network, taken as signed, from <keys>
//	                      fresh keys that own nothing
//	redial <peer>         dial the target again with an earlier identity and
//	                      send it a chain-exchange request: "usable" tells
//	                      whether it answered
//	close <peer>          close an earlier identity
//	quit
//
// Example:
//
//	gchostile --target /ip4/127.0.0.1/tcp/4001/p2p/12D3KooW... --network devnet --difficulty 20
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/multiformats/go-multiaddr"

	"github.com/gossipchain/gossipchain/chain"
)

func main() {
	target := flag.String("target", "", "multiaddr of the node to attack, ending in /p2p/<peer id>")
	network := flag.String("network", chain.DefaultNetwork, "network `name` of the target")
	difficulty := flag.Uint("difficulty", chain.DefaultDifficulty, "proof-of-work difficulty of the target's network")
	flag.Parse()

	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	params, err := chain.NewParams(*network, uint32(*difficulty))
	if err != nil {
		fatal(log, "network parameters", err)
	}
	ma, err := multiaddr.NewMultiaddr(*target)
	if err != nil {
		fatal(log, "--target", err)
	}
	ai, err := peer.AddrInfoFromP2pAddr(ma)
	if err != nil {
		fatal(log, "--target", err)
	}
	a := newAttacker(params, *ai, log)
	defer a.closeAll()

	out := json.NewEncoder(os.Stdout)
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		line := strings.TrimSpace(in.Text())
		if line == "" {
			continue
		}
		if line == "quit" {
			break
		}
		res, err := a.run(strings.Fields(line))
		if res == nil {
			res = map[string]any{}
		}
		res["ok"] = err == nil
		if err != nil {
			res["error"] = err.Error()
			log.Warn("command failed", "command", line, "err", err)
		}
		if err := out.Encode(res); err != nil {
			fatal(log, "write answer", err)
		}
	}
}

func fatal(log *slog.Logger, what string, err error) {
	log.Error(what, "err", err)
	os.Exit(1)
}

// attacker holds the identities used against one target.
type attacker struct {
	params chain.Params
	target peer.AddrInfo
	log    *slog.Logger
	ctx    context.Context
	cancel context.CancelFunc

	mu         sync.Mutex
	identities map[peer.ID]*identity
}

func newAttacker(params chain.Params, target peer.AddrInfo, log *slog.Logger) *attacker {
	a := &attacker{params: params, target: target, log: log, identities: make(map[peer.ID]*identity)}
	a.ctx, a.cancel = context.WithCancel(context.Background())
	return a
}

func (a *attacker) closeAll() {
	a.cancel()
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, id := range a.identities {
		id.close()
	}
}

// run executes one command.
func (a *attacker) run(args []string) (map[string]any, error) {
	ctx, cancel := context.WithTimeout(a.ctx, 2*time.Minute)
	defer cancel()
	switch args[0] {
	case "chain":
		blocks, err := a.fetchChain(ctx)
		if err != nil {
			return nil, err
		}
		head := blocks[len(blocks)-1]
		return map[string]any{"height": head.Index, "head": head.Hash.String()}, nil
	case "gossip":
		if len(args) != 2 {
			return nil, fmt.Errorf("usage: gossip <kind>")
		}
		return a.gossip(ctx, args[1])
	case "valid":
		return a.gossip(ctx, "valid")
	case "listen":
		return a.listen(ctx)
	case "offend":
		if len(args) != 2 {
			return nil, fmt.Errorf("usage: offend <count>")
		}
		n, err := strconv.Atoi(args[1])
		if err != nil || n < 1 {
			return nil, fmt.Errorf("offend: %q is not a count", args[1])
		}
		return a.offend(ctx, n)
	case "received":
		if len(args) != 3 {
			return nil, fmt.Errorf("usage: received <peer> <content id>")
		}
		id, err := a.identity(args[1])
		if err != nil {
			return nil, err
		}
		return map[string]any{"peer": args[1], "received": id.hasReceived(args[2])}, nil
	case "serve":
		if len(args) == 4 && args[1] == "slow" {
			delay, err := strconv.ParseFloat(args[3], 64)
			if err != nil || delay < 0 {
				return nil, fmt.Errorf("serve slow: %q is not a delay in seconds", args[3])
			}
			return a.serveSlow(ctx, args[2], time.Duration(delay*float64(time.Second)))
		}
		if len(args) != 2 {
			return nil, fmt.Errorf("usage: serve <mode>, or serve slow <source multiaddr> <delay seconds>")
		}
		return a.serve(ctx, args[1])
	case "badstatus":
		return a.badStatus(ctx)
	case "flood":
		if len(args) != 5 {
			return nil, fmt.Errorf("usage: flood <idle> <requests> <malformed> <concurrency>")
		}
		var n [4]int
		for i := range n {
			v, err := strconv.Atoi(args[i+1])
			if err != nil || v < 0 {
				return nil, fmt.Errorf("flood: %q is not a count", args[i+1])
			}
			n[i] = v
		}
		return a.flood(ctx, n[0], n[1], n[2], max(n[3], 1))
	case "streams", "idlereq", "unread":
		if len(args) != 3 {
			return nil, fmt.Errorf("usage: %s <identities> <streams each>", args[0])
		}
		n, err1 := strconv.Atoi(args[1])
		each, err2 := strconv.Atoi(args[2])
		if err1 != nil || err2 != nil || n < 1 || each < 1 {
			return nil, fmt.Errorf("%s: want two counts", args[0])
		}
		switch args[0] {
		case "streams":
			return a.streams(ctx, n, each)
		case "idlereq":
			return a.idleRequests(ctx, n, each)
		}
		return a.unread(ctx, n, each)
	case "orphans", "unfunded":
		if len(args) != 3 {
			return nil, fmt.Errorf("usage: orphans <count> <transactions each>, unfunded <count> <keys>")
		}
		n, err1 := strconv.Atoi(args[1])
		m, err2 := strconv.Atoi(args[2])
		if err1 != nil || err2 != nil || n < 1 || m < 0 || (m == 0 && args[0] == "unfunded") {
			return nil, fmt.Errorf("%s: want two counts", args[0])
		}
		if args[0] == "unfunded" {
			return a.unfunded(ctx, n, m)
		}
		return a.orphans(ctx, n, m)
	case "siblings", "txflood", "subs":
		if len(args) != 2 {
			return nil, fmt.Errorf("usage: %s <count>", args[0])
		}
		n, err := strconv.Atoi(args[1])
		if err != nil || n < 1 {
			return nil, fmt.Errorf("%s: %q is not a count", args[0], args[1])
		}
		switch args[0] {
		case "siblings":
			return a.siblings(ctx, n)
		case "subs":
			return a.subs(ctx, n)
		}
		return a.txflood(ctx, n)
	case "redial":
		if len(args) != 2 {
			return nil, fmt.Errorf("usage: redial <peer>")
		}
		id, err := a.identity(args[1])
		if err != nil {
			return nil, err
		}
		// A refused peer may see its dial succeed for a moment before the
		// target closes the connection; whether the target answers a
		// request tells.
		dctx, dcancel := context.WithTimeout(ctx, 10*time.Second)
		defer dcancel()
		res := map[string]any{"peer": args[1]}
		if err := id.connect(dctx, a.target); err != nil {
			res["usable"], res["error_dial"] = false, err.Error()
			return res, nil
		}
		req := frame(request([]chain.Hash{a.params.Genesis().Hash}, 1))
		if _, _, err := id.requestBlocksRaw(dctx, a.target, req); err != nil {
			res["usable"], res["error_request"] = false, err.Error()
			return res, nil
		}
		res["usable"] = true
		return res, nil
	case "close":
		if len(args) != 2 {
			return nil, fmt.Errorf("usage: close <peer>")
		}
		id, err := a.identity(args[1])
		if err != nil {
			return nil, err
		}
		id.close()
		a.mu.Lock()
		delete(a.identities, id.host.ID())
		a.mu.Unlock()
		return map[string]any{"peer": args[1]}, nil
	}
	return nil, fmt.Errorf("unknown command %q", args[0])
}

func (a *attacker) identity(s string) (*identity, error) {
	p, err := peer.Decode(s)
	if err != nil {
		return nil, err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	id, ok := a.identities[p]
	if !ok {
		return nil, fmt.Errorf("no identity %s", s)
	}
	return id, nil
}

// newIdentity creates a fresh identity and keeps it until quit or close.
func (a *attacker) newIdentity() (*identity, error) {
	id, err := newIdentity(a.ctx, a.log)
	if err != nil {
		return nil, err
	}
	a.mu.Lock()
	a.identities[id.host.ID()] = id
	a.mu.Unlock()
	return id, nil
}
