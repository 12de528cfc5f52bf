// The tab's libp2p node: WebTransport only (a browser opens no TCP or raw
// QUIC connection), Noise, identify, ping, and a GossipSub router with the
// network's exact settings (PROTOCOL.md 3, p2p/gossip.go, p2p/params.go).
import { createLibp2p } from 'libp2p'
import { webTransport } from '@libp2p/webtransport'
import { noise } from '@libp2p/noise'
import { identify } from '@libp2p/identify'
import { ping } from '@libp2p/ping'
import { gossipsub, StrictNoSign } from '@libp2p/gossipsub'
import { sha256 } from './pow.js'
import { hex } from './header.js'

// TOPIC_VERSIONS are p2p.TopicVersions: the current version of each topic.
const TOPIC_VERSIONS = { blocks: 3, txs: 2 }

/** topicName is p2p.TopicName: "/gossipchain/<network>/<kind>/<v>". */
export function topicName (network, kind) {
  return `/gossipchain/${network}/${kind}/${TOPIC_VERSIONS[kind] ?? 1}`
}

const encoder = new TextEncoder()
const decoder = new TextDecoder()

/**
 * messageId is p2p.MessageID: the lower-case hex of the 32-byte content id
 * that starts the message, as ASCII bytes (the form message ids take in
 * IHAVE, IWANT and IDONTWANT); the hex of the SHA-256 of a message too
 * short to carry one.
 */
async function messageId (msg) {
  const data = msg.data
  const id = data.length >= 32 ? data.subarray(0, 32) : await sha256(data)
  return encoder.encode(hex(new DataView(id.buffer, id.byteOffset, 32), 0, 32))
}

// FRAMING is the room p2p.Config.MaxMessageSize leaves for pubsub's framing
// and the content id around the largest block (PROTOCOL.md 3).
const FRAMING = 32 + 4096

/**
 * Starts the tab's node for network, whose blocks are at most maxBlockSize
 * bytes (no RPC longer than a message of one is decoded), with
 * validators[topic] deciding on
 * every message of the topic ('accept', 'reject' or 'ignore', as pubsub's
 * TopicValidatorResult) before it is delivered or forwarded.
 *
 * @param {string} network
 * @param {number} maxBlockSize
 * @param {Record<string, (data: Uint8Array, from: string) => Promise<string>>} validators
 */
export async function startPeer (network, maxBlockSize, validators) {
  const topics = [topicName(network, 'blocks'), topicName(network, 'txs')]
  const node = await createLibp2p({
    transports: [webTransport()],
    connectionEncrypters: [noise()],
    // The nodes of a LAN have private addresses, which a browser node
    // refuses to dial by default.
    connectionGater: { denyDialMultiaddr: () => false },
    services: {
      identify: identify(),
      ping: ping(), // the node measures its peers' latency with it
      pubsub: gossipsub({
        globalSignaturePolicy: StrictNoSign,
        msgIdFn: messageId,
        msgIdToStrFn: (id) => decoder.decode(id),
        // p2p.GossipSubParams
        D: 4,
        Dlo: 3,
        Dhi: 6,
        Dscore: 2,
        Dout: 1,
        Dlazy: 3,
        gossipFactor: 0.15,
        heartbeatInterval: 1000,
        mcacheLength: 5,
        mcacheGossip: 2,
        seenTTL: 2 * 60 * 1000,
        idontwantMinDataSize: 128,
        floodPublish: true,
        doPX: true,
        // The subscription filter: only the network's two topics, and an
        // RPC announcing more than 16 subscriptions is refused.
        allowedTopics: topics,
        decodeRpcLimits: {
          maxSubscriptions: 16,
          maxMessages: 5000,
          maxIhaveMessageIDs: 5000,
          maxIwantMessageIDs: 5000,
          maxControlMessages: 5000,
          maxIdontwantMessageIDs: 512,
          maxPeerInfos: 16
        },
        maxInboundDataLength: maxBlockSize + FRAMING,
        allowPublishToZeroTopicPeers: true,
        emitSelf: false
      })
    }
  })
  const pubsub = node.services.pubsub
  for (const [kind, validate] of Object.entries(validators)) {
    const topic = topicName(network, kind)
    pubsub.topicValidators.set(topic, async (from, msg) => validate(msg.data, from.toString()))
  }
  for (const t of topics) {
    pubsub.subscribe(t)
  }
  return node
}
