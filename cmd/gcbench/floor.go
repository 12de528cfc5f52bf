package main

import (
	"bufio"
	"context"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p"
	pubsub "github.com/libp2p/go-libp2p-pubsub"
	pb "github.com/libp2p/go-libp2p-pubsub/pb"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/net/swarm"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"
	"github.com/multiformats/go-multiaddr"

	"github.com/gossipchain/gossipchain/e2e/launch"
	"github.com/gossipchain/gossipchain/p2p"
)

// The bare pubsub hosts of the propagation floor join two topics, as nodes
// do: one for blocks and one for transactions.
var floorTopics = []string{p2p.TopicName("floor", "blocks"), p2p.TopicName("floor", "txs")}

// floorQueueSize is p2p's outbound and validation queue size.
const floorQueueSize = 4096

// cmdPubsubHost runs one bare libp2p host with a GossipSub router configured
// like package p2p's (message ids, flood publishing, queue sizes, score
// parameters; peer exchange off, since the hosts are connected in a given
// graph, the nodes', which pruned peers would otherwise leave for the peers
// offered in exchange), on loopback TCP, with no validator (with
// --validate, one that accepts every message, registered with p2p's timeout
// and concurrency, so that messages take pubsub's validation path). It is driven
// through stdin and reports on stdout, one line each:
//
//	out: addr <multiaddr>                      once, when listening
//	in:  connect <multiaddr>...                out: connected | error <text>
//	in:  peers                                 out: peers <connected> <fewest topic peers>
//	in:  publish <topic index> <hex id> <size> out: published <hex id> <unix ns before Publish>
//	out: recv <hex id> <unix ns>               for every message delivered from another host
//
// It exits when stdin closes.
func cmdPubsubHost(ctx context.Context, args []string, in io.Reader, out io.Writer) error {
	fs := flag.NewFlagSet("pubsub-host", flag.ContinueOnError)
	maxSize := fs.Int("max-message-size", 1<<20+64<<10, "largest pubsub message in `bytes`")
	validate := fs.Bool("validate", false, "register a validator that accepts every message")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	h, err := libp2p.New(
		libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"),
		libp2p.Transport(tcp.NewTCPTransport),
		libp2p.DisableRelay(),
	)
	if err != nil {
		return err
	}
	defer h.Close()
	ps, err := pubsub.NewGossipSub(ctx, h, append(p2p.SignaturePolicy(),
		pubsub.WithMessageIdFn(func(m *pb.Message) string { return p2p.MessageID(m.GetData()) }),
		pubsub.WithPeerExchange(false),
		pubsub.WithFloodPublish(true),
		pubsub.WithGossipSubParams(p2p.GossipSubParams()),
		pubsub.WithMaxMessageSize(*maxSize),
		pubsub.WithPeerOutboundQueueSize(floorQueueSize),
		pubsub.WithValidateQueueSize(floorQueueSize),
		pubsub.WithPeerScore(p2p.PeerScoreParams(), p2p.PeerScoreThresholds()),
	)...)
	if err != nil {
		return err
	}

	var mu sync.Mutex
	w := bufio.NewWriter(out)
	say := func(format string, args ...any) {
		mu.Lock()
		fmt.Fprintf(w, format+"\n", args...)
		w.Flush()
		mu.Unlock()
	}

	topics := make([]*pubsub.Topic, len(floorTopics))
	for i, name := range floorTopics {
		if *validate {
			accept := func(context.Context, peer.ID, *pubsub.Message) pubsub.ValidationResult {
				return pubsub.ValidationAccept
			}
			if err := ps.RegisterTopicValidator(name, accept, pubsub.WithValidatorTimeout(p2p.ValidatorTimeout),
				pubsub.WithValidatorConcurrency(p2p.ValidatorConcurrency)); err != nil {
				return err
			}
		}
		t, err := ps.Join(name)
		if err != nil {
			return err
		}
		if err := t.SetScoreParams(p2p.TopicScoreParams()); err != nil {
			return err
		}
		sub, err := t.Subscribe()
		if err != nil {
			return err
		}
		topics[i] = t
		go func() {
			for {
				m, err := sub.Next(ctx)
				if err != nil {
					return
				}
				now := time.Now().UnixNano()
				if m.ReceivedFrom == h.ID() || len(m.Data) < p2p.ContentIDSize {
					continue
				}
				say("recv %s %d", hex.EncodeToString(m.Data[:p2p.ContentIDSize]), now)
			}
		}()
	}

	addrs, err := peer.AddrInfoToP2pAddrs(&peer.AddrInfo{ID: h.ID(), Addrs: h.Addrs()})
	if err != nil || len(addrs) == 0 {
		return fmt.Errorf("no listen address: %v", err)
	}
	say("addr %s", addrs[0])

	sc := bufio.NewScanner(in)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		switch f[0] {
		case "connect":
			var errs []error
			for _, s := range f[1:] {
				ma, err := multiaddr.NewMultiaddr(s)
				if err == nil {
					var ai *peer.AddrInfo
					if ai, err = peer.AddrInfoFromP2pAddr(ma); err == nil {
						err = connectRetry(ctx, h, *ai)
					}
				}
				if err != nil {
					errs = append(errs, err)
				}
			}
			if err := errors.Join(errs...); err != nil {
				say("error %s", strings.ReplaceAll(err.Error(), "\n", "; "))
			} else {
				say("connected")
			}
		case "peers":
			fewest := -1
			for _, t := range topics {
				if n := len(t.ListPeers()); fewest < 0 || n < fewest {
					fewest = n
				}
			}
			say("peers %d %d", len(h.Network().Peers()), fewest)
		case "publish":
			if len(f) != 4 {
				say("error publish wants <topic index> <hex id> <size>")
				continue
			}
			ti, err1 := strconv.Atoi(f[1])
			id, err2 := hex.DecodeString(f[2])
			size, err3 := strconv.Atoi(f[3])
			if err := errors.Join(err1, err2, err3); err != nil || ti < 0 || ti >= len(topics) ||
				len(id) != p2p.ContentIDSize || size < p2p.ContentIDSize {
				say("error bad publish command %q", sc.Text())
				continue
			}
			data := make([]byte, size)
			copy(data, id)
			now := time.Now().UnixNano()
			if err := topics[ti].Publish(ctx, data); err != nil {
				say("error %v", err)
				continue
			}
			say("published %s %d", f[2], now)
		default:
			say("error unknown command %q", f[0])
		}
	}
	return sc.Err()
}

// connectRetry connects h to ai, trying 3 times, 15 s each: on a loaded
// machine a handshake among dozens of busy processes can time out.
func connectRetry(ctx context.Context, h host.Host, ai peer.AddrInfo) error {
	var err error
	for range 3 {
		cctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		err = h.Connect(cctx, ai)
		cancel()
		if err == nil || ctx.Err() != nil {
			return err
		}
		if sw, ok := h.Network().(*swarm.Swarm); ok {
			sw.Backoff().Clear(ai.ID) // else the retry fails at once on the dial backoff
		}
	}
	return err
}

// floorHost is a pubsub-host child process seen from the orchestrator.
type floorHost struct {
	*launch.Process
	index   int
	addr    string
	stdin   io.WriteCloser
	replies chan string // every line but "recv" and "addr"
}

// floorNet is a set of pubsub-host children and the deliveries they report.
type floorNet struct {
	hosts []*floorHost

	mu   sync.Mutex
	recv map[string]map[int]time.Time // message id → host index → delivery time
}

// startFloor starts n pubsub-host children and waits for their addresses.
// validate gives them an accept-all validator.
func (e *env) startFloor(ctx context.Context, n, maxSize int, validate bool) (*floorNet, error) {
	bin, err := self()
	if err != nil {
		return nil, err
	}
	fn := &floorNet{recv: make(map[string]map[int]time.Time)}
	for i := range n {
		cmd := launch.Command(bin, "pubsub-host", "--max-message-size", strconv.Itoa(maxSize), "--validate="+strconv.FormatBool(validate))
		p, stdin, stdout, err := e.procs.startPiped(fmt.Sprintf("pubsub-host-%d", i), cmd)
		if err != nil {
			return nil, err
		}
		fh := &floorHost{Process: p, index: i, stdin: stdin, replies: make(chan string, 16)}
		addr := make(chan string, 1)
		go fn.read(fh, stdout, addr)
		select {
		case a := <-addr:
			fh.addr = a
		case <-p.Done():
			return nil, fmt.Errorf("pubsub-host %d exited during start-up: %v", i, p.Err())
		case <-time.After(30 * time.Second):
			return nil, fmt.Errorf("pubsub-host %d did not start", i)
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		fn.hosts = append(fn.hosts, fh)
	}
	return fn, nil
}

// read dispatches the lines a host prints.
func (fn *floorNet) read(fh *floorHost, r io.Reader, addr chan<- string) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Text()
		kind, rest, _ := strings.Cut(line, " ")
		switch kind {
		case "addr":
			addr <- rest
		case "recv":
			id, ns, _ := strings.Cut(rest, " ")
			t, err := strconv.ParseInt(ns, 10, 64)
			if err != nil {
				continue
			}
			fn.mu.Lock()
			m := fn.recv[id]
			if m == nil {
				m = make(map[int]time.Time)
				fn.recv[id] = m
			}
			if _, dup := m[fh.index]; !dup {
				m[fh.index] = time.Unix(0, t)
			}
			fn.mu.Unlock()
		default:
			fh.replies <- line
		}
	}
	close(fh.replies)
}

// request sends a command to a host and returns its reply.
func (fh *floorHost) request(ctx context.Context, cmd string) (string, error) {
	if _, err := io.WriteString(fh.stdin, cmd+"\n"); err != nil {
		return "", fmt.Errorf("pubsub-host %d: %w", fh.index, err)
	}
	select {
	case r, ok := <-fh.replies:
		if !ok {
			return "", fmt.Errorf("pubsub-host %d exited", fh.index)
		}
		if strings.HasPrefix(r, "error ") {
			return "", fmt.Errorf("pubsub-host %d: %s", fh.index, r)
		}
		return r, nil
	case <-time.After(30 * time.Second):
		return "", fmt.Errorf("pubsub-host %d: no reply to %q", fh.index, cmd)
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// peers returns the host's connection count and its fewest topic peers.
func (fh *floorHost) peers(ctx context.Context) (conns, topicPeers int, err error) {
	r, err := fh.request(ctx, "peers")
	if err != nil {
		return 0, 0, err
	}
	if _, err := fmt.Sscanf(r, "peers %d %d", &conns, &topicPeers); err != nil {
		return 0, 0, fmt.Errorf("pubsub-host %d: bad reply %q", fh.index, r)
	}
	return conns, topicPeers, nil
}

// degrees returns every host's connection count.
func (fn *floorNet) degrees(ctx context.Context) ([]int, error) {
	deg := make([]int, len(fn.hosts))
	for i, h := range fn.hosts {
		conns, _, err := h.peers(ctx)
		if err != nil {
			return nil, err
		}
		deg[i] = conns
	}
	return deg, nil
}

// close ends every host's input, so that the hosts exit.
func (fn *floorNet) close(e *env) {
	for _, h := range fn.hosts {
		h.stdin.Close()
	}
	for _, h := range fn.hosts {
		select {
		case <-h.Done():
		case <-time.After(stopTimeout):
		}
		e.procs.stop(h.Process)
	}
}

// deliveries returns the delivery times of message id by host index.
func (fn *floorNet) deliveries(id string) map[int]time.Time {
	fn.mu.Lock()
	defer fn.mu.Unlock()
	out := make(map[int]time.Time, len(fn.recv[id]))
	for k, v := range fn.recv[id] {
		out[k] = v
	}
	return out
}
