// Package p2p is gossipchain's networking layer: a libp2p host with a persistent
// identity, peer discovery (mDNS, a bootstrap list and peer exchange), an address book,
// a connection target, a ban list, and one GossipSub
// router carrying the network's topics. It knows peers and bytes, never blocks or
// transactions, and imports no other gossipchain package; the sync package gives meaning
// to the bytes through the validators it passes to Node.Join.
//
// # Lifecycle
//
// New builds the host and the router and dials nobody; Start starts mDNS (when enabled)
// and the bootstrap dialer and returns at once; Close stops every goroutine the node
// started, waits for them, stops pubsub and closes the host. Close is idempotent.
//
// # Host
//
//   - Transports: TCP and QUIC (v1). Listen addresses default to DefaultListenAddrs
//     (/ip4/0.0.0.0/tcp/4001 and /ip4/0.0.0.0/udp/4001/quic-v1). No DHT, no public
//     bootstrappers: a node only ever talks to peers it was given, found on its LAN, or
//     learned from those (relays included).
//   - NAT traversal (nat.go, relay.go): AutoNAT v1 and v2 (client and server), the
//     circuit relay v2 client reserving slots on up to MaxRelays known relays while
//     AutoNAT says private, a bounded relay service with Config.RelayService (Relay*
//     limits; reservations and circuits shared by address group, the largest holder
//     evicted for a newcomer: relaylimit.go), hole punching (DCUtR, over QUIC: outgoing TCP has no port reuse),
//     optional port mapping (Config.NATPortMap) and announced addresses
//     (Config.Announce). A relayed connection is limited: no discovery, gossip, status,
//     chain or pool stream runs on it (LimitedConnection, DirectOnly). NATStatus reports
//     what the node learned.
//   - Identity: an Ed25519 key, stored by crypto.MarshalPrivateKey in
//     <DataDir>/identity.key (mode 0600, DataDir created 0700). It is created on first
//     start and reused afterwards, so the peer ID and multiaddrs survive restarts. A
//     corrupt file is an error, never silently replaced.
//   - Peer set (peerset.go): at most TargetPeers (D) outbound peers and MaxInbound (D by
//     default) inbound ones; outbound peers above D (bootstrap and registered peers are
//     redialled whatever the count) take their places from the inbound allowance, so
//     the set stays within TargetPeers+MaxInbound. Above the allowance the gater admits up to
//     max(2, MaxInbound/2) newcomers (beyond, only by evicting an unprotected inbound
//     peer), and the node sheds its least useful inbound peers (protected: bootstrap and
//     registered ones, the 4 best first deliverers, the longer-connected half; then
//     fewer meshes, fewer first deliveries, newest; none connected for less than 10 s),
//     refusing a shed peer for a minute.
//   - Connection manager: watermarks LowWater/HighWater (default 2D and 2D plus the
//     inbound headroom), one minute of grace for new connections. Bootstrap peers and
//     mesh peers are protected (tags "bootstrap", "mesh:<topic>"); peers added through
//     Connect carry a tag of weight 10 ("register"), outbound peers one of weight 10
//     ("outbound"), and every peer one of its first deliveries ("deliveries", up to 100).
//   - Traffic (traffic.go): bytes in and out by stream protocol, gossip by topic, and by
//     connected peer (TrafficStats, PeerInfo.BytesIn and BytesOut).
//   - Resource manager: go-libp2p's defaults (which leave connections from loopback
//     unlimited) with fixed stream limits below the global ones (limits.go): at most
//     MaxInboundStreamsPerPeer (16) inbound streams of one peer, negotiated or not, and
//     MaxInboundStreamsPerProtocolPeer (8) on one protocol; at most MaxTransientStreams
//     (1024) not yet negotiated and MaxInboundStreamsPerProtocol (512) on one protocol,
//     all peers together. They do not scale with memory, so they hold on every machine.
//   - Connection gater: refuses, in both directions, peers serving a ban (Penalize), and
//     inbound peers beyond the allowance and its headroom.
//
// # Discovery
//
//   - mDNS (Config.MDNS) under the service name "gossipchain-<network>" (MDNSServiceName):
//     every peer found, unless it is this node, banned or already connected, is dialled
//     in the background with a 15 s timeout.
//   - Bootstrap (Config.Bootstrap, multiaddrs ending in /p2p/<id>): each peer is dialled
//     by Start and, whenever the node is not connected to it, redialled with exponential
//     backoff from 1 s doubling to 1 min, with up to 20% jitter. The backoff restarts
//     from 1 s only after a connection that lasted a minute, so a peer that keeps
//     dropping us is not hammered. Losses are seen through the event bus
//     (EvtPeerConnectednessChanged), with a periodic check as a safety net.
//   - Connect (used by POST /nodes/register) dials one multiaddr ending in /p2p/<id>.
//   - Peer exchange (discovery.go, DiscoveryProtocol "/gossipchain/<network>/peers/1.0.0"):
//     a node asks its peers for signed peer records of peers they were connected to
//     within the hour, verifies each signature, and keeps the peers in its address book.
//     Every request and reply is bounded before decoding, has a deadline, and counts
//     against a per-peer RequestBudget; a flooding or malformed peer is penalised.
//   - Address book (addrbook.go, addrtable.go, addrlearn.go, <DataDir>/peers.json):
//     listen addresses from identify and peer exchange, bootstrap and registered peers
//     kept; as Bitcoin Core's addrman, a new and a tried table bucketed by address
//     group, anchors, and peers known only inbound handed out but not dialled; bounded
//     (MaxAddrBookEntries), aged out (AddrBookTTL), written atomically.
//   - Outbound target (connect.go, Config.TargetPeers, DefaultTargetPeers = 8): while
//     fewer connected peers were dialled by the node, peers of the book are dialled,
//     anchors and tried peers first, spread across address groups, with a per-peer
//     backoff; bootstrap and registered peers of the book are redialled whatever the
//     count, also after a restart. The keeper's timers are jittered (schedule.go).
//   - Peers reports each connected peer with its source: "bootstrap", "register",
//     "mdns", "discovery", "inbound" (it dialled us and was not known otherwise) or
//     "unknown" (dialled by something else, e.g. pubsub peer exchange), its listen
//     addresses, whether it is in the address book, and its ping latency. A peer known
//     by several sources reports the most specific, in that order.
//
// # Topics
//
// One topic per kind of message, named TopicName(network, kind) =
// "/gossipchain/<network>/<kind>/<version>": "/gossipchain/devnet/blocks/3" and
// "/gossipchain/devnet/txs/2" (TopicVersions). The network name keeps devnets apart; a
// change of message format is a new version number, never an edit of an old one.
//
// # Message framing and ids
//
// Every gossip message is a 32-byte content id (the block hash or the transaction id)
// followed by the payload (see Frame and Unframe). The pubsub message id (MessageID) is
// the hex of those 32 bytes, so the same block published or relayed by several nodes has
// a single id and is validated and delivered once per node; a message shorter than 32
// bytes gets the hex of its SHA-256 and is rejected. Validators check that the id matches
// the content. Messages carry no author, sequence number or signature
// (SignaturePolicy: pubsub.StrictNoSign, pubsub.WithNoAuthor); one that does is rejected.
// Config.MaxMessageSize bounds a whole message; the chain layer passes the size of the
// largest valid block plus overhead.
//
// # Validation and our own messages
//
// Node.Join registers the caller's validator with a timeout of ValidatorTimeout (5 s) and
// a per-topic concurrency of ValidatorConcurrency (1024, pubsub's own default, made
// explicit: it is a throttle, beyond which messages are dropped, not a worker pool).
// Accept delivers and forwards; Ignore drops without penalty (already known, parent
// unknown, or invalid only in our context, such as a transaction conflicting with our
// pending pool); Reject drops and counts an invalid delivery against the peer that sent
// it (only for messages invalid in any context).
//
// A node does not process its own messages twice. On Publish the validator runs once,
// synchronously, with from set to our own ID; a Reject or Ignore makes Publish fail. The
// message is then delivered once to our own subscriptions (ReceivedFrom is our ID) and
// marked seen, so copies relayed back by peers are dropped as duplicates before any
// validator runs. Publishing content we already delivered (received first from a peer) is
// a no-op.
//
// A joined topic is relayed even without a Subscribe: every node takes part in the mesh.
// Gossip is best effort: the mesh forms at the first heartbeat (about a second) after a
// connection, and the chain exchange covers whatever gossip missed.
//
// # Router options
//
//   - One GossipSub router per host, with the message id function above.
//   - WithPeerExchange(PeerExchange = false), and AcceptPXThreshold above any reachable
//     score: prunes carry no peers, and a PX received is never dialled, since the router
//     dials PX peers outside the bounded peer set; the discovery protocol finds peers.
//   - WithFloodPublish(true): our own messages go to every topic peer above the publish
//     threshold, not just the mesh, so a freshly mined block leaves in one hop.
//   - WithMaxMessageSize(Config.MaxMessageSize).
//   - WithSubscriptionFilter: only the topics of Config.TopicKinds in this network are
//     tracked for peers (made-up topics cost no memory), and an RPC announcing more than
//     MaxSubscriptionsPerRPC (16) subscriptions is ignored whole.
//   - WithPeerOutboundQueueSize(4096) and WithValidateQueueSize(4096): with pubsub's
//     default of 32, about 5% of 200 messages published at once across 10 hosts were lost.
//   - WithPeerScore(PeerScoreParams(), PeerScoreThresholds()), and
//     WithPeerScoreInspect sampling every score each second for Node.Score.
//
// # Peer scoring and router parameters
//
// The GossipSub parameters (GossipSubParams, params.go) and the score parameters and
// thresholds (PeerScoreParams, TopicScoreParams, PeerScoreThresholds, score.go) are part
// of the protocol: PROTOCOL.md section 3 ("Peer scoring", "Router parameters") states
// every value and why, and a change of one is a change of that section. In short: silence
// costs nothing on these low-traffic topics, usefulness earns a little, and each invalid
// message costs -10 × count², so three from a fresh peer put it below the graylist
// threshold. Node.Penalize is the separate, harder tool for misbehaviour outside gossip:
// it disconnects the peer and refuses it for DefaultBanDuration (10 min).
package p2p
