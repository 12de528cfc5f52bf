// The peer page: reads the node's /status, checks the parameters it
// states against the genesis they commit to, dials its WebTransport
// addresses (those named by ?peer=<multiaddr>, and those of the nodes its
// /peers lists), joins the block and transaction topics, downloads the
// heaviest header chain and checks every header itself, and shows every
// gossiped block with the verdict of this tab's own check. Every string
// from the network is set as text.
import { multiaddr } from '@multiformats/multiaddr'
import { startPeer } from './gossip.js'
import { verifyBlockMessage } from './verify.js'
import { HeaderChain } from './headers.js'
import { paramsFromJSON, genesisHeader } from './params.js'
import { Syncer, checkBlock } from './follow.js'
import { cell } from './dom.js'
import { startWallet } from './wallet.js'

const $ = (id) => document.getElementById(id)

// state is what the page did, for a reader of the console or a test:
// blocks with their verdict and the moment (ms since the epoch) the tab
// decided, the tab's peers, and its libp2p node.
// headers is the tab's header chain (headers.js), refused the headers
// refused by it with the peer that offered them.
const state = { phase: 'starting', blocks: [], peers: [], txs: 0, error: '', node: null, headers: null, refused: [] }
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

// header chain: the head, the last main-chain headers, the refusals.

// SHOWN_HEADERS is how many main-chain headers the page lists.
const SHOWN_HEADERS = 12
let headPending = false

// scheduleHead shows the head at most every HEAD_MS, however many headers
// a download adds meanwhile.
const HEAD_MS = 50
function scheduleHead (headers) {
  if (headPending) return
  headPending = true
  setTimeout(() => {
    headPending = false
    showHead(headers)
  }, HEAD_MS)
}

function showHead (headers) {
  const head = headers.head()
  const el = $('head')
  el.dataset.hash = head.hash
  el.dataset.height = String(head.height)
  $('head-height').textContent = String(head.height)
  $('head-hash').textContent = head.hash
  $('head-work').textContent = '0x' + head.work.toString(16)
  $('head-count').textContent = String(headers.entries.size)
  const body = $('chain-body')
  body.replaceChildren()
  for (let h = head.height; h >= 1 && h > head.height - SHOWN_HEADERS; h--) {
    const e = headers.headerAt(h)
    const tr = document.createElement('tr')
    tr.dataset.hash = e.hash
    cell(tr, String(h), 'num')
    cell(tr, e.hash.slice(0, 16) + '…', 'mono').title = e.hash
    cell(tr, '0x' + e.header.bits.toString(16).padStart(8, '0'), 'mono')
    const badge = document.createElement('span')
    badge.className = 'badge confirmed'
    badge.textContent = h === 1 ? 'computed by this tab' : 'verified by this tab'
    cell(tr, '').append(badge)
    body.append(tr)
  }
}

function onRefused (r) {
  state.refused.push({ ...r, at: Date.now() })
  const tr = document.createElement('tr')
  tr.dataset.hash = r.hash
  tr.dataset.code = r.code
  cell(tr, r.peer.slice(-6), 'mono').title = r.peer
  cell(tr, r.hash ? r.hash.slice(0, 16) + '…' : '', 'mono').title = r.hash
  cell(tr, r.code + ': ' + r.reason)
  $('refused-body').prepend(tr)
  $('refused').hidden = false
}
// end header chain

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
  // header chain: the parameters checked against the genesis they commit to.
  let headers
  try {
    const params = paramsFromJSON(status.network, status.params)
    const genesis = await genesisHeader(params)
    if (genesis.hash !== status.genesis) {
      throw new Error(`the parameters it states commit to the genesis ${genesis.hash.slice(0, 16)}…, not to its genesis ${String(status.genesis).slice(0, 16)}…`)
    }
    headers = new HeaderChain(params, genesis)
  } catch (err) {
    fallback(`This tab does not take the node's word for its network: ${err.message}.`)
    return
  }
  state.headers = headers
  headers.addEventListener('head', () => scheduleHead(headers))
  showHead(headers)
  // end header chain
  setPhase('dialling', `Dialling ${status.peer_id} over WebTransport…`)
  let syncer = null // set once the node runs; a block gossiped before waits for no sync
  const node = await startPeer(status.network, status.params.max_block_size || 1 << 20, {
    blocks: async (data, from) => {
      const v = await checkBlock(data, from, headers, syncer)
      showBlock(v, from)
      return v.ok ? 'accept' : v.check === 'unknown_parent' || v.check === 'time_too_new' ? 'ignore' : 'reject'
    },
    // A transaction needs the ledger's state to be checked: the tab counts
    // it and neither delivers nor forwards it.
    txs: async () => { state.txs++; return 'ignore' }
  })
  state.node = node // for the console and the tests
  syncer = new Syncer(node, headers, onRefused)
  state.syncer = syncer
  $('me').textContent = `This tab is peer ${node.peerId.toString()}.`
  node.addEventListener('connection:open', (e) => {
    showPeers(node)
    syncer.sync(e.detail.remotePeer)
  })
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
  syncer.every()

  // wallet: on a signed network, balances proven against this tab's own
  // header chain, payments signed here.
  state.wallet = startWallet(node, status, headers)
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
