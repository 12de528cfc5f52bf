package sync

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"io"
	"math/big"
	"slices"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p"
	pubsub "github.com/libp2p/go-libp2p-pubsub"
	pb "github.com/libp2p/go-libp2p-pubsub/pb"
	"github.com/libp2p/go-libp2p/core/control"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/multiformats/go-multiaddr"

	"github.com/gossipchain/gossipchain/chain"
	"github.com/gossipchain/gossipchain/chain/chaintest"
	"github.com/gossipchain/gossipchain/p2p"
)

// newRawHost starts a bare libp2p host on 127.0.0.1: a peer that speaks the
// protocols as the test writes them.
func newRawHost(t testing.TB, opts ...libp2p.Option) host.Host {
	t.Helper()
	h, err := libp2p.New(append([]libp2p.Option{libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0")}, opts...)...)
	if err != nil {
		t.Fatalf("libp2p.New: %v", err)
	}
	t.Cleanup(func() { h.Close() })
	return h
}

// dialRaw makes n dial the raw host h.
func dialRaw(t testing.TB, n *testNode, h host.Host) {
	t.Helper()
	addrs, err := peer.AddrInfoToP2pAddrs(&peer.AddrInfo{ID: h.ID(), Addrs: h.Addrs()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := n.node.Connect(ctx, addrs[0]); err != nil {
		t.Fatalf("connect to raw host: %v", err)
	}
}

func randomHash() chain.Hash {
	var h chain.Hash
	rand.Read(h[:])
	return h
}

// frameMsg is a gossip message: id || payload.
func frameMsg(id chain.Hash, payload []byte) []byte { return append(id[:], payload...) }

// onlyPeer is a connection gater that secures connections with one peer
// alone.
type onlyPeer struct{ id peer.ID }

func (g onlyPeer) InterceptPeerDial(p peer.ID) bool                        { return p == g.id }
func (g onlyPeer) InterceptAddrDial(p peer.ID, _ multiaddr.Multiaddr) bool { return p == g.id }
func (g onlyPeer) InterceptAccept(network.ConnMultiaddrs) bool             { return true }
func (g onlyPeer) InterceptSecured(_ network.Direction, p peer.ID, _ network.ConnMultiaddrs) bool {
	return p == g.id
}
func (g onlyPeer) InterceptUpgraded(network.Conn) (bool, control.DisconnectReason) { return true, 0 }

// evilGossiper is a raw peer with its own GossipSub, joined to both topics.
type evilGossiper struct {
	host.Host
	blocks, txs *pubsub.Topic
}

// newEvilGossiper starts a gossiper and makes victim dial it. It talks to
// victim alone, so that whatever another node receives from it came through
// victim: the victim's other peers learn its address by peer exchange and
// would dial it.
func newEvilGossiper(t testing.TB, victim *testNode) *evilGossiper {
	t.Helper()
	h := newRawHost(t, libp2p.ConnectionGater(onlyPeer{victim.node.ID()}))
	ps, err := pubsub.NewGossipSub(context.Background(), h, append(p2p.SignaturePolicy(),
		pubsub.WithMessageIdFn(func(m *pb.Message) string { return p2p.MessageID(m.GetData()) }),
		pubsub.WithFloodPublish(true),
		pubsub.WithPeerOutboundQueueSize(4096), // floods are not dropped on our side
		// The victim's mesh (at most p2p.MeshDhi) prunes some of the evil
		// hosts with peer exchange: they must not dial the victim's peers.
		pubsub.WithPeerScore(p2p.PeerScoreParams(), &pubsub.PeerScoreThresholds{
			GossipThreshold: -1, PublishThreshold: -2, GraylistThreshold: -3, AcceptPXThreshold: 1e9}),
		pubsub.WithMaxMessageSize(4<<20))...)
	if err != nil {
		t.Fatal(err)
	}
	e := &evilGossiper{Host: h}
	for _, j := range []struct {
		kind string
		dst  **pubsub.Topic
	}{{BlocksTopicName(testNetwork), &e.blocks}, {p2p.TopicName(testNetwork, TransactionsTopic), &e.txs}} {
		tp, err := ps.Join(j.kind)
		if err != nil {
			t.Fatal(err)
		}
		sub, err := tp.Subscribe()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(sub.Cancel)
		*j.dst = tp
	}
	dialRaw(t, victim, h)
	waitFor(t, 30*time.Second, "topic peers known", func() bool {
		has := func(ps []peer.ID, id peer.ID) bool { return slices.Contains(ps, id) }
		return has(e.blocks.ListPeers(), victim.node.ID()) && has(e.txs.ListPeers(), victim.node.ID()) &&
			has(victim.svc.blocks.ListPeers(), h.ID()) && has(victim.svc.txs.ListPeers(), h.ID())
	})
	return e
}

// TestMisbehavingGossip: peers gossiping garbage, undecodable, invalid,
// mislabelled and oversized blocks and transactions are rejected and their
// score falls below zero; nothing invalid is stored or forwarded, and the
// honest nodes keep converging.
func TestMisbehavingGossip(t *testing.T) {
	h1 := newTestNode(t, testNetwork)
	h2 := newTestNode(t, testNetwork)
	connect(t, h1, h2)

	params := h1.params
	valid := buildBlocks(t, params, h1.chain.Genesis(), 1, "evil")[0]
	badProof := *valid
	chaintest.Unmine(t, &badProof, badProof.Bits)
	badReward := buildBlocks(t, params, h1.chain.Genesis(), 1, "evil")[0]
	badReward.Transactions[0].Amount = 1000
	badReward.Transactions[0].ID = badReward.Transactions[0].ComputeID()
	chaintest.Seal(t, badReward)
	garbage := make([]byte, 300)
	rand.Read(garbage)
	oversized := make([]byte, params.MaxBlockSize+10)
	copy(oversized, valid.AppendBinary(nil))
	tx, err := chain.NewTransaction("mallory", "bob", 1)
	if err != nil {
		t.Fatal(err)
	}
	badTx := tx
	badTx.Amount = 0

	cases := []struct {
		name   string
		block  bool   // on the block topic, else the transaction topic
		msg    []byte // the gossip message
		reason string // the rejection counted
	}{
		{"short block message", true, []byte("short"), ""},
		{"undecodable block", true, frameMsg(randomHash(), garbage), "malformed"},
		{"no proof of work", true, frameMsg(badProof.Hash, badProof.AppendBinary(nil)), "bad_proof"},
		{"wrong reward", true, frameMsg(badReward.Hash, badReward.AppendBinary(nil)), "bad_reward"},
		{"block id mismatch", true, frameMsg(randomHash(), valid.AppendBinary(nil)), reasonIDMismatch},
		{"oversized block", true, frameMsg(randomHash(), oversized), "too_large"},
		{"undecodable transaction", false, frameMsg(randomHash(), []byte{0, 3, 'a'}), "malformed"},
		{"oversized transaction", false, frameMsg(randomHash(), make([]byte, maxTxWireSize+1)), "malformed"},
		{"transaction id mismatch", false, frameMsg(randomHash(), tx.AppendBinary(nil)), reasonIDMismatch},
		{"zero amount", false, frameMsg(badTx.ComputeID(), badTx.AppendBinary(nil)), "bad_transaction"},
	}
	evil := make([]*evilGossiper, len(cases))
	for i := range cases {
		evil[i] = newEvilGossiper(t, h1)
	}
	for i, tc := range cases {
		tp := evil[i].txs
		if tc.block {
			tp = evil[i].blocks
		}
		if err := tp.Publish(context.Background(), tc.msg); err != nil {
			t.Fatalf("%s: publish: %v", tc.name, err)
		}
	}
	for i, tc := range cases {
		if tc.reason != "" {
			waitFor(t, 30*time.Second, tc.name+" rejected as "+tc.reason, func() bool {
				st := h1.svc.Stats()
				if tc.block {
					return st.BlocksRejected[tc.reason] > 0
				}
				return st.TxsRejected[tc.reason] > 0
			})
		}
		waitFor(t, 30*time.Second, tc.name+": sender's score below zero", func() bool {
			return h1.node.Score(evil[i].ID()) < 0
		})
	}
	last := evil[len(evil)-1]
	if h1.head().Height != 1 || h1.chain.PendingCount() != 0 {
		t.Fatalf("invalid content was stored: height %d, %d pending", h1.head().Height, h1.chain.PendingCount())
	}
	if st := h2.svc.Stats(); len(st.BlocksRejected) != 0 || len(st.TxsRejected) != 0 {
		t.Fatalf("invalid messages were forwarded: %+v", st)
	}

	// A valid block from a peer that misbehaved once is still accepted and
	// forwarded, and the honest nodes keep converging.
	if err := last.blocks.Publish(context.Background(), frameMsg(valid.Hash, valid.AppendBinary(nil))); err != nil {
		t.Fatal(err)
	}
	waitSameHead(t, []*testNode{h1, h2}, valid.Hash, 30*time.Second)
	// h1's meshes keep none of the senders: their scores are negative. (h2
	// may be out of them too: h1 pruned its meshes while they were
	// oversubscribed, and a pruned peer waits a minute to graft again. Own
	// blocks are published to every topic peer, and gossip reaches the rest.)
	waitFor(t, 30*time.Second, "senders out of h1's meshes", func() bool {
		for _, e := range evil {
			if slices.Contains(h1.svc.blocks.MeshPeers(), e.ID()) || slices.Contains(h1.svc.txs.MeshPeers(), e.ID()) {
				return false
			}
		}
		return true
	})
	b := h2.mine()
	waitSameHead(t, []*testNode{h1, h2}, b.Hash, 30*time.Second)
}

// evilServer is a raw peer that claims a very heavy chain of the right
// network and answers block requests with serve.
type evilServer struct {
	host.Host
}

func newEvilServer(t testing.TB, params chain.Params, serve func(s network.Stream, req blockRequest)) *evilServer {
	t.Helper()
	h := newRawHost(t)
	heavy := Status{Genesis: params.Genesis().Hash, Head: randomHash(), Height: 1 << 20, Work: new(big.Int).Lsh(big.NewInt(1), 200)}
	h.SetStreamHandler(StatusProtocol, func(s network.Stream) {
		defer s.Close()
		if _, err := readFrame(bufio.NewReader(s), nil, maxStatusFrame); err != nil {
			s.Reset()
			return
		}
		s.Write(appendFrame(nil, appendStatus(nil, heavy)))
	})
	h.SetStreamHandler(BlocksProtocol, func(s network.Stream) {
		body, err := readFrame(bufio.NewReader(s), nil, maxRequestSize)
		if err != nil {
			s.Reset()
			return
		}
		req, err := decodeRequest(body)
		if err != nil {
			s.Reset()
			return
		}
		serve(s, req)
		s.Close()
	})
	return &evilServer{Host: h}
}

// okHeader is a CodeOK reply header claiming a far head.
func okHeader() []byte {
	var hdr [headerOKSize]byte
	binary.BigEndian.PutUint64(hdr[1:9], 1<<20)
	return appendFrame(nil, hdr[:])
}

func blockFrames(blocks ...*chain.Block) []byte {
	var out []byte
	for _, b := range blocks {
		out = appendFrame(out, b.AppendBinary(nil))
	}
	return out
}

// TestMisbehavingServer: peers that serve forged, unlinked, endless or
// oversized chain-exchange replies, or a malformed status, are penalised
// (disconnected and banned); one that stalls is dropped after the request
// timeout and another peer is used. The victim ends on the honest chain.
func TestMisbehavingServer(t *testing.T) {
	honest := newTestNode(t, testNetwork)
	params := honest.params
	genesis := params.Genesis()
	addBlocks(t, honest.chain, buildBlocks(t, params, genesis, 40, "honest"))
	evilChain := buildBlocks(t, params, genesis, 40, "evil")
	other := buildBlocks(t, params, genesis, 3, "other")

	forged := *evilChain[0]
	forged.Transactions = append([]chain.Transaction(nil), forged.Transactions...)
	forged.Transactions[0].Recipient = "thief"
	forged.Transactions[0].ID = forged.Transactions[0].ComputeID()
	forged.Hash = forged.ComputeHash() // tx root no longer matches, proof likely broken

	cases := []struct {
		name    string
		serve   func(s network.Stream, req blockRequest)
		penalty bool // the victim must ban the server; otherwise it must not
	}{
		{"forged block", func(s network.Stream, _ blockRequest) {
			s.Write(okHeader())
			s.Write(blockFrames(&forged))
			s.Write([]byte{0})
		}, true},
		{"unlinked blocks", func(s network.Stream, _ blockRequest) {
			s.Write(okHeader())
			s.Write(blockFrames(evilChain[0], other[1]))
			s.Write([]byte{0})
		}, true},
		{"wrong start", func(s network.Stream, _ blockRequest) {
			s.Write(okHeader())
			s.Write(blockFrames(evilChain[5], evilChain[6]))
			s.Write([]byte{0})
		}, true},
		{"endless reply", func(s network.Stream, req blockRequest) {
			s.Write(okHeader())
			s.Write(blockFrames(evilChain[:req.Max]...))
			for { // valid frames beyond what was asked, forever
				if _, err := s.Write(blockFrames(evilChain[req.Max])); err != nil {
					return
				}
			}
		}, true},
		{"oversized frame", func(s network.Stream, _ blockRequest) {
			s.Write(okHeader())
			s.Write(binary.AppendUvarint(nil, 1<<40))
			io.Copy(s, rand.Reader)
		}, true},
		{"garbage header", func(s network.Stream, _ blockRequest) {
			junk := make([]byte, 4096)
			rand.Read(junk)
			s.Write(junk)
		}, true},
		{"unknown code", func(s network.Stream, _ blockRequest) {
			s.Write(appendFrame(nil, []byte{200}))
		}, true},
		{"undecodable block", func(s network.Stream, _ blockRequest) {
			s.Write(okHeader())
			s.Write(appendFrame(nil, []byte("not a block at all, but long enough to pass for one........................................................")))
			s.Write([]byte{0})
		}, true},
		{"stall", func(s network.Stream, _ blockRequest) {
			// A frame dripped a byte at a time: never finished in time.
			s.Write(okHeader())
			s.Write(binary.AppendUvarint(nil, 200))
			for i := 0; i < 200; i++ {
				time.Sleep(100 * time.Millisecond)
				if _, err := s.Write([]byte{0}); err != nil {
					return // the client gave up and reset the stream
				}
			}
		}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			victim := newTestNode(t, testNetwork, func(c *Config) {
				c.BatchSize = 16
				c.RequestTimeout = time.Second
			})
			evil := newEvilServer(t, params, tc.serve)
			dialRaw(t, victim, evil)
			if tc.penalty {
				waitFor(t, 30*time.Second, "the evil server banned", func() bool {
					return victim.node.Banned(evil.ID()) && victim.svc.Stats().PeersPenalized > 0
				})
			} else {
				waitFor(t, 30*time.Second, "the stalled sync given up", func() bool {
					return victim.svc.Stats().SyncsFailed > 0
				})
			}
			connect(t, victim, honest)
			if !tc.penalty {
				// The stalling peer still claims more work: Resolve tries it,
				// gives up after the timeout and syncs from the honest node.
				if _, err := victim.svc.Resolve(context.Background()); err != nil {
					t.Fatalf("Resolve: %v", err)
				}
				if victim.node.Banned(evil.ID()) {
					t.Fatalf("a stalling peer was banned")
				}
			}
			waitSameHead(t, []*testNode{victim}, honest.head().Hash, 30*time.Second)
			if victim.chain.HasBlock(forged.Hash) {
				t.Fatalf("forged block stored")
			}
		})
	}

	t.Run("malformed status", func(t *testing.T) {
		victim := newTestNode(t, testNetwork)
		evil := newRawHost(t)
		evil.SetStreamHandler(StatusProtocol, func(s network.Stream) {
			readFrame(bufio.NewReader(s), nil, maxStatusFrame)
			s.Write(appendFrame(nil, []byte("short status")))
			s.Close()
		})
		dialRaw(t, victim, evil)
		waitFor(t, 30*time.Second, "the evil peer banned", func() bool { return victim.node.Banned(evil.ID()) })
	})

	t.Run("bad requests", func(t *testing.T) {
		client := newRawHost(t)
		addrs := honest.node.Addrs()
		ai, err := peer.AddrInfoFromP2pAddr(addrs[0])
		if err != nil {
			t.Fatal(err)
		}
		if err := client.Connect(context.Background(), *ai); err != nil {
			t.Fatal(err)
		}
		ask := func(req []byte) []byte {
			t.Helper()
			s, err := client.NewStream(context.Background(), honest.node.ID(), BlocksProtocol)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			s.SetDeadline(time.Now().Add(10 * time.Second))
			s.Write(req)
			s.CloseWrite()
			reply, _ := io.ReadAll(io.LimitReader(s, 1<<20))
			return reply
		}
		codeOf := func(reply []byte) Code {
			if len(reply) < 2 {
				t.Fatalf("reply too short: %x", reply)
			}
			return Code(reply[1])
		}
		cases := []struct {
			name string
			req  []byte
			want Code
		}{
			{"no locator", appendFrame(nil, appendRequest(nil, blockRequest{Max: 10})), CodeBadRequest},
			{"zero blocks", appendFrame(nil, appendRequest(nil, blockRequest{Locator: []chain.Hash{genesis.Hash}, Max: 0})), CodeBadRequest},
			{"too many blocks", appendFrame(nil, appendRequest(nil, blockRequest{Locator: []chain.Hash{genesis.Hash}, Max: MaxBlocksPerRequest + 1})), CodeBadRequest},
			{"too many hashes", appendFrame(nil, appendRequest(nil, blockRequest{Locator: make([]chain.Hash, MaxLocatorHashes+1), Max: 1})), CodeBadRequest},
			{"oversized frame", binary.AppendUvarint(nil, 1<<30), CodeBadRequest},
			{"unknown locator", appendFrame(nil, appendRequest(nil, blockRequest{Locator: []chain.Hash{randomHash()}, Max: 1})), CodeNotFound},
		}
		for _, c := range cases {
			if got := codeOf(ask(c.req)); got != c.want {
				t.Errorf("%s: code %v, want %v", c.name, got, c.want)
			}
		}
		// A whole chain from the genesis, in one reply of 41 blocks at most.
		reply := ask(appendFrame(nil, appendRequest(nil, blockRequest{Locator: []chain.Hash{genesis.Hash}, Max: 100})))
		if codeOf(reply) != CodeOK {
			t.Fatalf("code %v, want ok", codeOf(reply))
		}
		r := bufio.NewReader(bytesReader(reply))
		hdr, err := readFrame(r, nil, maxHeaderSize)
		if err != nil || binary.BigEndian.Uint64(hdr[1:9]) != honest.head().Height {
			t.Fatalf("header %x, %v", hdr, err)
		}
		prev := genesis.Hash
		n := 0
		for {
			body, err := readFrame(r, nil, params.MaxBlockSize)
			if err != nil {
				t.Fatalf("block frame %d: %v", n, err)
			}
			if len(body) == 0 {
				break
			}
			b, err := chain.DecodeBlock(body, params.MaxBlockTxs)
			if err != nil || b.PreviousHash != prev {
				t.Fatalf("block %d: %v, links to %s, want %s", n, err, b.PreviousHash, prev)
			}
			prev = b.Hash
			n++
		}
		if n != 40 || prev != honest.head().Hash {
			t.Fatalf("served %d blocks ending at %s, want 40 ending at %s", n, prev, honest.head().Hash)
		}
	})
}

func bytesReader(b []byte) io.Reader { return bytes.NewReader(b) }

// TestOrphans: a gossiped block whose parent is unknown is kept and connects
// when its parent arrives; missing ancestors are fetched from the sender.
func TestOrphans(t *testing.T) {
	a := newTestNode(t, testNetwork)
	b := newTestNode(t, testNetwork)

	// A gossiper without chain exchange sends a child before its parent.
	e := newEvilGossiper(t, b)
	pair := buildBlocks(t, b.params, b.chain.Genesis(), 2, "gossiper")
	if err := e.blocks.Publish(context.Background(), frameMsg(pair[1].Hash, pair[1].AppendBinary(nil))); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "orphan kept", func() bool { return b.svc.Stats().Orphans == 1 })
	if err := e.blocks.Publish(context.Background(), frameMsg(pair[0].Hash, pair[0].AppendBinary(nil))); err != nil {
		t.Fatal(err)
	}
	waitSameHead(t, []*testNode{b}, pair[1].Hash, 30*time.Second)
	if st := b.svc.Stats(); st.OrphansConnected != 1 || st.Orphans != 0 {
		t.Fatalf("orphans connected %d, left %d; want 1, 0", st.OrphansConnected, st.Orphans)
	}

	// a grows heavier silently (no gossip, no status), then gossips a block:
	// b sees an unknown parent and fetches the missing blocks from a.
	connect(t, a, b)
	waitMesh(t, []*testNode{a, b})
	addBlocks(t, a.chain, buildBlocks(t, a.params, a.chain.Genesis(), 20, "silent"))
	blk := a.mine()
	waitSameHead(t, []*testNode{b}, blk.Hash, 30*time.Second)
	// The head moves when the store commits, a moment before the count.
	waitFor(t, 30*time.Second, "at least 2 orphans added and 20 blocks synced", func() bool {
		st := b.svc.Stats()
		return st.OrphansAdded >= 2 && st.BlocksSynced >= 20
	})
}
