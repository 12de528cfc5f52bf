// How the tab follows the heaviest header chain: it downloads headers from
// every node it is connected to (one download at a time, so that a branch
// arrives in order), again every RESYNC_MS and whenever a gossiped block's
// parent is unknown; it dials every node whose WebTransport address its
// own node's /peers names; and a peer that offers a header breaking a rule
// is hung up on and not dialled again.
import { multiaddr } from '@multiformats/multiaddr'
import { syncFrom } from './headersync.js'
import { verifyBlockMessage } from './verify.js'

// RESYNC_MS is the pause between two rounds of discovery and downloads.
const RESYNC_MS = 5000

export class Syncer {
  /**
   * @param {object} node - the tab's libp2p node
   * @param {import('./headers.js').HeaderChain} headers
   * @param {(r: {peer: string, code: string, reason: string, hash: string}) => void} onRefused
   */
  constructor (node, headers, onRefused) {
    this.node = node
    this.headers = headers
    this.onRefused = onRefused
    this.queue = Promise.resolve()
    this.queued = new Set() // peers with a download waiting in queue
    this.refused = new Set() // peers that offered an invalid header
    this.failures = new Map() // peer -> why its last download failed
  }

  /**
   * sync queues a download of every header peer (a PeerId or its text)
   * has and the chain lacks, and resolves when it is done. A peer whose
   * download is already waiting is not queued twice.
   */
  sync (peer) {
    const id = peer.toString()
    if (this.queued.has(id)) return this.queue
    this.queued.add(id)
    this.queue = this.queue.then(async () => {
      this.queued.delete(id)
      const conn = this.node.getConnections().find((c) => c.remotePeer.toString() === id)
      if (conn === undefined || this.refused.has(id)) return
      try {
        this.failures.delete(id)
        const { refused } = await syncFrom(this.node, this.headers, conn.remotePeer)
        // A header ahead of our clock breaks no rule for good (10.4).
        if (refused !== null && refused.code !== 'time_too_new') this.refuse(conn.remotePeer, refused)
      } catch (err) {
        this.failures.set(id, err.message)
        if (err.violation) this.refuse(conn.remotePeer, { code: 'reply', reason: err.message, hash: '' })
        // Otherwise the peer speaks no header protocol, or is busy: ask again next round.
      }
    })
    return this.queue
  }

  // refuse hangs up on peer, which offered an invalid header, for good.
  refuse (peer, verdict) {
    this.refused.add(peer.toString())
    this.onRefused({ peer: peer.toString(), code: verdict.code, reason: verdict.reason, hash: verdict.hash })
    this.node.hangUp(peer).catch(() => {})
  }

  /** every starts the rounds: discovery through /peers, then a download from each peer. */
  every () {
    const round = async () => {
      await this.discover().catch((err) => console.warn('discovery', err.message))
      for (const c of this.node.getConnections()) this.sync(c.remotePeer)
    }
    round()
    setInterval(round, RESYNC_MS) // for the page's lifetime
  }

  // discover dials the WebTransport addresses of the nodes that the page's
  // own node lists in /peers and the tab is not connected to.
  async discover () {
    const peers = await (await fetch('/peers')).json()
    const me = this.node.peerId.toString()
    const connected = new Set(this.node.getConnections().map((c) => c.remotePeer.toString()))
    for (const p of Array.isArray(peers) ? peers : []) {
      if (p.id === me || connected.has(p.id) || this.refused.has(p.id)) continue
      const addrs = (p.listen_addrs || []).filter((a) => a.includes('/webtransport/') && a.includes('/certhash/'))
      if (addrs.length === 0) continue
      const full = addrs.map((a) => multiaddr(a.includes('/p2p/') ? a : `${a}/p2p/${p.id}`))
      this.node.dial(full).catch((err) => console.warn('dial', p.id, err.message))
    }
  }
}

/**
 * checkBlock checks a gossiped block message: its hash and proof of work
 * (verify.js), then its header against the header chain, after a download
 * from the sender when its parent is unknown. The verdict's check names
 * the rule broken.
 */
export async function checkBlock (data, from, headers, syncer) {
  const v = await verifyBlockMessage(data)
  if (!v.ok) return v
  let h = await headers.add(v.header.bytes)
  if (h.code === 'unknown_parent' && syncer !== null) {
    await syncer.sync(from)
    h = await headers.add(v.header.bytes)
  }
  if (!h.ok) return { ...v, ok: false, check: h.code, reason: h.reason }
  return { ...v, reason: 'hash, proof of work, retargeting, timestamps and parent checked in this tab' }
}
