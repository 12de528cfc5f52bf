// The wallet section of the peer page, on a signed network: a key made in
// this tab (or imported from a `gossipchain key` file) and kept in its
// storage, balances shown only with a proof checked here against a header
// this tab trusts, and payments signed here and published on the
// transaction topic. The page's node never sees the key.
import { generateKey, keyFromSeed, marshalKeyFile, parseKeyFile, publicKeyOf } from './keyfile.js'
import { fetchAccountProof } from './proof.js'
import { signPayment } from './sign.js'
import { topicName } from './gossip.js'
import { fromHex, toHex } from './bytes.js'
import { cell } from './dom.js'

const $ = (id) => document.getElementById(id)

// STORAGE_KEY names the key's seed (hex) in the tab's localStorage.
const STORAGE_KEY = 'gossipchain.wallet.seed'

/**
 * The header chain the wallet checks proofs against, as headers.js's
 * HeaderChain offers it: head() is its best header ({hash, height}, hash
 * hex) or null, onMain(hash) whether a header is on its main chain, and
 * it fires 'head' on every new head.
 *
 * @typedef {EventTarget & {head: () => ({hash: string, height: number}|null), onMain: (hash: string) => boolean}} Headers
 */

/**
 * startWallet shows the wallet section for the network of status (the
 * node's /status), with node the tab's libp2p node and headers the chain
 * proofs are checked against. It returns the wallet, whose refresh()
 * the page calls when the header chain has a new head; wallet.accounts
 * and wallet.sent show what it did, for the console and the tests.
 */
export function startWallet (node, status, headers) {
  const wallet = { key: null, accounts: new Map(), sent: [], refusals: [], refresh: () => {}, nextNonce: 0n }
  if (status.params?.ledger !== 'signed') {
    $('wallet-state').textContent = 'This network is open: it has no accounts and no signatures, so this tab has no wallet.'
    $('wallet-state').dataset.state = 'open'
    return wallet
  }
  $('wallet-keys').hidden = false
  headers.addEventListener('head', () => wallet.refresh())
  let running = null
  let again = false
  // refresh asks for the proofs of every shown account at the head, one
  // round at a time (a head that arrives meanwhile starts one more).
  wallet.refresh = () => {
    if (running !== null) {
      again = true
      return running
    }
    running = proveAll(node, headers, wallet).finally(() => {
      running = null
      if (again) {
        again = false
        wallet.refresh()
      }
    })
    return running
  }
  const use = (key, how) => {
    wallet.key = key
    localStorage.setItem(STORAGE_KEY, toHex(key.seed))
    wallet.accounts.clear()
    watch(wallet, key.address)
    showKey(wallet, how)
  }
  $('wallet-new').addEventListener('click', () => generateKey().then((k) => use(k, 'made in this tab')).catch((err) => keyError(err)))
  $('wallet-import').addEventListener('change', async (evt) => {
    const file = evt.target.files[0]
    evt.target.value = ''
    if (file === undefined) return
    try {
      if (file.size > 4096) throw new Error(`${file.size} bytes: not a key file`)
      use(await parseKeyFile(new Uint8Array(await file.arrayBuffer())), `imported from ${file.name}`)
    } catch (err) {
      keyError(new Error(`${file.name}: ${err.message}`))
    }
  })
  $('wallet-watch').addEventListener('submit', (evt) => {
    evt.preventDefault()
    const address = $('watch-address').value.trim()
    try {
      publicKeyOf(address)
      watch(wallet, address)
      $('watch-address').value = ''
    } catch (err) {
      keyError(err)
    }
  })
  $('wallet-pay').addEventListener('submit', (evt) => {
    evt.preventDefault()
    pay(node, status, wallet).catch((err) => {
      $('pay-result').dataset.state = 'error'
      $('pay-result').textContent = `Not sent: ${err.message}`
    })
  })
  const seed = localStorage.getItem(STORAGE_KEY)
  if (seed !== null) {
    keyFromSeed(fromHex(seed)).then((k) => use(k, 'kept in this tab\'s storage')).catch((err) => keyError(new Error(`the stored key: ${err.message}`)))
  } else {
    $('wallet-state').textContent = 'No key yet: make one in this tab, or import a gossipchain key file.'
  }
  return wallet
}

function keyError (err) {
  $('wallet-state').dataset.state = 'error'
  $('wallet-state').textContent = err.message
}

// showKey shows the wallet's key: its address and its key file to save.
function showKey (wallet, how) {
  const { key } = wallet
  $('wallet-state').dataset.state = 'key'
  $('wallet-state').textContent = `Key ${how}. It stays in this tab: payments are signed here.`
  $('wallet-address').textContent = key.address
  // A data: address, which the page's content security policy lets it
  // save and read (it allows no blob: connections).
  const a = $('wallet-export')
  a.href = 'data:application/octet-stream;base64,' + btoa(String.fromCharCode(...marshalKeyFile(key)))
  a.hidden = false
  $('wallet-pay').hidden = false
  wallet.refresh()
}

// watch adds address to the accounts shown (and proven at every head).
function watch (wallet, address) {
  if (wallet.accounts.has(address)) return
  wallet.accounts.set(address, { address, verdict: 'waiting', balance: null, nextNonce: null, block: null, reason: '' })
  showAccounts(wallet)
  wallet.refresh()
}

// proveAll asks every connected peer for the proof of each account at the
// head of headers, and shows for each the first proof that verifies and
// whose header is on headers; every refused answer is listed with the
// peer that gave it.
async function proveAll (node, headers, wallet) {
  const head = headers.head()
  if (head === null) {
    for (const a of wallet.accounts.values()) Object.assign(a, { verdict: 'waiting', reason: 'waiting for a block this tab has verified itself' })
    showAccounts(wallet)
    return
  }
  const peers = node.getConnections().map((c) => c.remotePeer).filter((p, i, all) => all.findIndex((q) => q.equals(p)) === i)
  for (const account of [...wallet.accounts.values()]) {
    const answers = await Promise.all(peers.map((peer) => proveAt(node, headers, peer, account.address, head.hash)))
    const proven = answers.find((x) => x.proof !== undefined)
    for (const x of answers.filter((x) => x.refused !== undefined)) {
      wallet.refusals.push({ peer: x.peer, address: account.address, reason: x.refused, at: Date.now() })
    }
    if (proven !== undefined) {
      const p = proven.proof
      Object.assign(account, { verdict: 'proven', balance: p.balance, nextNonce: p.nextNonce, block: p.header.index, hash: proven.hash, by: proven.peer, reason: '' })
    } else if (account.verdict !== 'proven' || answers.some((x) => x.refused !== undefined)) {
      const why = answers.map((x) => x.refused ?? x.unanswered).filter((x) => x !== undefined)
      Object.assign(account, { verdict: 'unproven', reason: why.length > 0 ? why.join('; ') : 'no peer serves proofs' })
    }
  }
  showAccounts(wallet)
  showRefusals(wallet)
}

// proveAt asks one peer: {proof, hash, peer} for a proof checked in full,
// {refused} for an answer that is no valid proof on our header chain,
// {unanswered} for a peer that gave no proof (it does not have the block,
// is busy, the stream failed), and nothing for a peer that does not speak
// the protocol.
async function proveAt (node, headers, peer, address, at) {
  const id = peer.toString()
  try {
    const { proof, hash } = await fetchAccountProof(node, peer, address, at)
    if (!headers.onMain(hash)) return { refused: `block ${proof.header.index} (${hash.slice(0, 12)}…) is not on this tab's header chain`, peer: id }
    return { proof, hash, peer: id }
  } catch (err) {
    if (err.name === 'UnsupportedProtocolError') return {}
    if (err.badProof === true) return { refused: err.message, peer: id }
    return { unanswered: `${short(id)}: ${err.message}` }
  }
}

const short = (id) => id.slice(0, 8) + '…' + id.slice(-6)

function showAccounts (wallet) {
  const body = $('wallet-accounts-body')
  body.replaceChildren()
  for (const a of wallet.accounts.values()) {
    const tr = document.createElement('tr')
    tr.dataset.address = a.address
    tr.dataset.verdict = a.verdict
    cell(tr, short(a.address) + (wallet.key?.address === a.address ? ' (this tab)' : ''), 'mono').title = a.address
    cell(tr, a.balance === null ? '' : a.balance.toString(), 'num balance')
    cell(tr, a.nextNonce === null ? '' : a.nextNonce.toString(), 'num')
    const badge = document.createElement('span')
    badge.className = a.verdict === 'proven' ? 'badge confirmed' : a.verdict === 'waiting' ? 'badge' : 'badge abandoned'
    badge.textContent = a.verdict === 'proven' ? `proven at block ${a.block}` : a.verdict === 'waiting' ? 'waiting for a verified block' : 'not proven: ' + a.reason
    badge.title = a.verdict === 'proven' ? `block ${a.hash}, proof from ${a.by}` : a.reason
    cell(tr, '').append(badge)
    body.append(tr)
  }
}

// MAX_REFUSALS is how many refused proofs the page lists, newest first.
const MAX_REFUSALS = 20

function showRefusals (wallet) {
  wallet.refusals = wallet.refusals.slice(-MAX_REFUSALS)
  const list = $('wallet-refusals')
  list.replaceChildren()
  list.hidden = wallet.refusals.length === 0
  for (const r of [...wallet.refusals].reverse()) {
    const li = document.createElement('li')
    li.dataset.peer = r.peer
    li.textContent = `Refused a proof of ${short(r.address)} from peer ${short(r.peer)}: ${r.reason}`
    li.title = r.peer
    list.append(li)
  }
}

// pay signs the payment of the form with the next nonce of the proven
// account (after the payments this tab already sent) and publishes it on
// the transaction topic.
async function pay (node, status, wallet) {
  const me = wallet.accounts.get(wallet.key?.address)
  if (me === undefined || me.verdict !== 'proven') throw new Error('this tab has no proven account yet: wait for its balance to be proven')
  const nonce = me.nextNonce > wallet.nextNonce ? me.nextNonce : wallet.nextNonce
  const p = {
    sender: wallet.key.address,
    recipient: $('pay-to').value.trim(),
    amount: integer($('pay-amount').value, 'amount'),
    fee: integer($('pay-fee').value || '0', 'fee'),
    nonce
  }
  const spend = p.amount + p.fee
  if (spend > me.balance) throw new Error(`amount and fee ${spend} are more than the proven balance ${me.balance}`)
  const signed = await signPayment(wallet.key, status.genesis, p)
  const { recipients } = await node.services.pubsub.publish(topicName(status.network, 'txs'), signed.message)
  wallet.nextNonce = nonce + 1n
  wallet.sent.push({ id: signed.id, nonce: nonce.toString(), recipient: p.recipient, amount: p.amount.toString(), peers: recipients.length })
  $('pay-result').dataset.state = 'sent'
  $('pay-result').dataset.id = signed.id
  $('pay-result').textContent = `Signed in this tab and published by gossip to ${recipients.length} peer(s): transaction ${signed.id} (nonce ${nonce}).`
  watch(wallet, p.recipient)
}

function integer (text, what) {
  if (!/^[0-9]{1,16}$/.test(text.trim())) throw new Error(`${what} ${JSON.stringify(text)} is not a whole number`)
  return BigInt(text.trim())
}
