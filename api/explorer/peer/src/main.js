// The peer page: reads the node's /status, dials its WebTransport
// addresses (and those named by ?peer=<multiaddr>), joins the block and
// transaction topics, and shows every gossiped block with the verdict of
// this tab's own check. Every string from the network is set as text.
import { multiaddr } from '@multiformats/multiaddr'
import { startPeer } from './gossip.js'
import { verifyBlockMessage } from './verify.js'
import { cell } from './dom.js'
import { startWallet, GossipHeaders } from './wallet.js'

const $ = (id) => document.getElementById(id)

// state is what the page did, for a reader of the console or a test:
// blocks with their verdict and the moment (ms since the epoch) the tab
// decided, the tab's peers, and its libp2p node.
const state = { phase: 'starting', blocks: [], peers: [], txs: 0, error: '', node: null }
window.gossipchainPeer = state

function setPhase (phase, text) {
  state.phase = phase
  $('state').dataset.state = phase
  $('state').textContent = text
}

// fallback says why this tab cannot join, and links the HTTP explorer.
function fallback (why) {
  setPhase('unavailable', 'This tab cannot join the network from here.')
  const p = $('fallback')
  p.hidden = false
  p.textContent = why + ' '
  const a = document.createElement('a')
  a.href = '/'
  a.id = 'fallback-explorer'
  a.textContent = 'Open the HTTP explorer instead.'
  p.append(a)
}

function transportOf (addr) {
  const s = addr.toString()
  if (s.includes('/webtransport')) return 'webtransport'
  if (s.includes('/webrtc')) return 'webrtc'
  return s
}

function showPeers (node) {
  const body = $('peers-body')
  body.replaceChildren()
  state.peers = node.getConnections().map((c) => ({ id: c.remotePeer.toString(), transport: transportOf(c.remoteAddr) }))
  for (const p of state.peers) {
    const tr = document.createElement('tr')
    tr.dataset.peer = p.id
    cell(tr, p.id.slice(0, 8) + '…' + p.id.slice(-6), 'mono').title = p.id
    cell(tr, p.transport)
    body.append(tr)
  }
  $('live').className = state.peers.length > 0 ? 'live on' : 'live off'
  $('live').textContent = state.peers.length > 0 ? `${state.peers.length} peer(s)` : 'not connected'
}

function showBlock (v, from) {
  const at = Date.now()
  const index = v.header ? v.header.index.toString() : '?'
  state.blocks.push({ hash: v.hash, index, ok: v.ok, check: v.check, reason: v.reason, from, at })
  const tr = document.createElement('tr')
  tr.dataset.hash = v.hash
  tr.dataset.verdict = v.ok ? 'verified' : 'refused'
  tr.className = 'fresh'
  cell(tr, index, 'num')
  cell(tr, v.hash ? v.hash.slice(0, 16) + '…' : '', 'mono').title = v.hash
  cell(tr, v.header ? '0x' + v.header.bits.toString(16).padStart(8, '0') : '', 'mono')
  cell(tr, from.slice(-6), 'mono').title = from
  const verdict = cell(tr, '')
  const badge = document.createElement('span')
  badge.className = v.ok ? 'badge confirmed' : 'badge abandoned'
  badge.textContent = v.ok ? 'verified by this tab' : 'refused: ' + v.check
  badge.title = v.reason
  verdict.append(badge)
  $('blocks-body').prepend(tr)
}

// dialable returns the WebTransport addresses of the node, those on the
// host this page came from first.
function dialable (status) {
  const wt = (status.browser_addrs || []).filter((a) => a.includes('/webtransport/'))
  const here = wt.filter((a) => a.includes('/' + location.hostname + '/'))
  return [...here, ...wt.filter((a) => !here.includes(a))]
}

async function main () {
  let status
  try {
    const res = await fetch('/status')
    status = await res.json()
  } catch (err) {
    fallback(`The node's /status could not be read (${err.message}).`)
    return
  }
  const addrs = dialable(status)
  if (addrs.length === 0) {
    fallback('This node has no browser transport listening (it runs with --browser-transports=false, or listens on no QUIC address).')
    return
  }
  if (!window.isSecureContext || typeof WebTransport === 'undefined') {
    fallback(`This page was loaded from ${location.origin}, which is not a secure context: a browser opens WebTransport sessions only from https:// pages or from http://localhost. Reach the node's HTTP port through localhost (README, "Browser peer": an SSH tunnel) to use this page.`)
    return
  }
  setPhase('dialling', `Dialling ${status.peer_id} over WebTransport…`)
  const node = await startPeer(status.network, status.params.max_block_size || 1 << 20, {
    blocks: async (data, from) => {
      const v = await verifyBlockMessage(data)
      showBlock(v, from)
      return v.ok ? 'accept' : 'reject'
    },
    // A transaction needs the ledger's state to be checked: the tab counts
    // it and neither delivers nor forwards it.
    txs: async () => { state.txs++; return 'ignore' }
  })
  state.node = node // for the console and the tests
  $('me').textContent = `This tab is peer ${node.peerId.toString()}.`
  node.addEventListener('connection:open', () => showPeers(node))
  node.addEventListener('connection:close', () => {
    showPeers(node)
    if (!node.getConnections().some((c) => c.remotePeer.toString() === status.peer_id) && state.phase === 'connected') {
      redial(node, status)
    }
  })
  try {
    await node.dial(addrs.map((a) => multiaddr(a)))
  } catch (err) {
    state.error = err.message
    fallback(`Dialling the node over WebTransport failed: ${err.message}.`)
    return
  }
  for (const a of new URLSearchParams(location.search).getAll('peer')) {
    node.dial(multiaddr(a)).catch((err) => console.warn('dial', a, err.message))
  }
  connected(node, status)

  // wallet: on a signed network, balances proven against the blocks this
  // tab verified from gossip (the header chain, once the page builds one),
  // payments signed here.
  state.wallet = startWallet(node, status, new GossipHeaders(node, status.network, state))
}

function connected (node, status) {
  setPhase('connected', `Connected to the ${status.network} network over WebTransport; waiting for blocks.`)
  showPeers(node)
}

// REDIAL_MS is the pause between two attempts to reach the node again.
const REDIAL_MS = 2000

// redial reaches the node again after its connection closed (a restart):
// it reads /status anew, for the addresses and certificate hashes of now,
// and dials them, every REDIAL_MS until it succeeds.
async function redial (node, status) {
  setPhase('reconnecting', `Lost the connection to ${status.peer_id}; dialling it again…`)
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, REDIAL_MS))
    try {
      const now = await (await fetch('/status')).json()
      if (now.peer_id !== status.peer_id) {
        fallback('The node behind this page changed its identity: reload the page.')
        return
      }
      await node.dial(dialable(now).map((a) => multiaddr(a)))
      connected(node, now)
      return
    } catch (err) {
      state.error = err.message
    }
  }
}

main().catch((err) => {
  state.error = err.message
  fallback(`The peer failed to start: ${err.message}.`)
})
