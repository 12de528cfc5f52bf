// Checks the page's consensus code against the Go node's vectors
// (testdata/, PROTOCOL.md 10 and 12.4): compact targets and their
// encoding, work, all 14,000 published aserti3-2d vectors and the
// retargeting chains, the parameters' encoding, commitment and genesis
// (the devnet genesis of 10.5 among them), the verdict of the header chain
// on every header of the consensus chain that a header alone can break,
// and the verdict on gossiped block messages. Run by TestJSVectors
// (peer_test.go): node test/vectors.mjs TESTDATA_DIR.
import { readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { compactToTarget } from '../src/pow.js'
import { verifyBlockMessage } from '../src/verify.js'
import { compactOf, work, asert, nextBits } from '../src/retarget.js'
import { paramsFromJSON, encodeParams, decodeParams, commitment, genesisHeader, hexOf } from '../src/params.js'
import { HeaderChain } from '../src/headers.js'
import { existsSync } from 'node:fs'
import { addressOf, publicKeyOf, keyFromSeed, marshalKeyFile, parseKeyFile } from '../src/keyfile.js'
import { signPayment, signingBytes, unsignedEncoding } from '../src/sign.js'
import { accountKey, accountValueHash, decodeAccountProof, verifyAccountProof, verifyMapProof } from '../src/proof.js'
import { fromHex, toHex } from '../src/bytes.js'

if (globalThis.crypto?.subtle === undefined) {
  globalThis.crypto = (await import('node:crypto')).webcrypto // node 18
}

const dir = process.argv[2]
const load = (name) => JSON.parse(readFileSync(join(dir, name), 'utf8'))
const failures = []
const counts = {}
function check (group, what, got, want) {
  counts[group] = (counts[group] ?? 0) + 1
  if (got !== want) failures.push(`${group}: ${what}: got ${got}, want ${want}`)
}
const hexInt = (n) => '0x' + n.toString(16)
const bitsHex = (c) => '0x' + c.toString(16).padStart(8, '0')
const hexBytes = (s) => Uint8Array.from(s.match(/../g) ?? [], (h) => parseInt(h, 16))

// Compact targets: decoding with its refusals, and encoding.
const compact = load('compact.json')
for (const tc of compact.decode) {
  let got
  try {
    const t = compactToTarget(Number(tc.compact))
    got = hexInt(t)
    check('compact', `canonical of ${tc.compact}`, bitsHex(compactOf(t)), tc.canonical ?? bitsHex(compactOf(t)))
  } catch (err) {
    got = err.message.includes('negative') ? 'negative' : err.message.includes('overflow') ? 'overflow' : err.message
  }
  check('compact', `decode ${tc.compact}`, got, tc.error ?? tc.target)
}
for (const tc of compact.encode) check('compact', `encode ${tc.target}`, bitsHex(compactOf(BigInt(tc.target))), tc.compact)

// Work.
const works = load('work.json')
for (const tc of works.targets) check('work', `target ${tc.target}`, hexInt(work(BigInt(tc.target))), tc.work)
for (const tc of works.chains) {
  check('work', `chain of ${tc.compacts.length}`, hexInt(tc.compacts.reduce((s, c) => s + work(compactToTarget(Number(c))), 0n)), tc.total_work)
}

// The published aserti3-2d vectors: Bitcoin Cash's parameters, seconds.
const bchMax = (1n << 224n) - 1n
for (const file of readdirSync(join(dir, 'asert')).sort()) {
  let anchorHeight, anchorTime, anchorTarget
  for (const line of readFileSync(join(dir, 'asert', file), 'utf8').split('\n')) {
    const m = line.match(/^##\s+anchor (height|ancestor time|parent time|nBits):\s*(\S+)/)
    if (m) {
      if (m[1] === 'height') anchorHeight = BigInt(m[2])
      else if (m[1] === 'nBits') anchorTarget = compactToTarget(Number(m[2]))
      else anchorTime = BigInt(m[2])
      continue
    }
    if (line.startsWith('#') || line.trim() === '') continue
    const [, height, time, target] = line.trim().split(/\s+/)
    const got = compactOf(asert(anchorTarget, BigInt(time) - anchorTime, BigInt(height) - anchorHeight, 600n, 172800n, bchMax))
    check('asert published', `${file} height ${height}`, bitsHex(got), target)
  }
}

// retarget.json: the formula beyond 2^224, and chains from a genesis.
const retarget = load('retarget.json')
for (const tc of retarget.asert) {
  const t = asert(BigInt(tc.anchor_target), BigInt(tc.time_diff), BigInt(tc.height_diff), BigInt(tc.spacing), BigInt(tc.half_life), BigInt(tc.max_target))
  check('asert', `${tc.anchor_target} after ${tc.time_diff}`, hexInt(t), tc.target)
  check('asert', `compact of ${tc.target}`, bitsHex(compactOf(t)), tc.compact)
}
const networks = Object.fromEntries(retarget.networks.map((n) => [n.name, {
  targetBlockTime: BigInt(n.target_block_time_us), halfLife: BigInt(n.half_life_us), initialBits: Number(n.initial_target), maxBits: Number(n.max_target), fixed: n.fixed_difficulty
}]))
for (const c of retarget.chains) {
  const p = networks[c.network]
  let parent = null
  for (const [i, b] of c.blocks.entries()) {
    const ts = BigInt(b.timestamp)
    if (parent !== null) check('retarget chain', `${c.description}, block ${i + 1}`, bitsHex(nextBits(p, parent)), b.target)
    const bits = Number(b.target)
    const mark = parent === null || ts > parent.mark ? ts : parent.mark
    parent = { index: BigInt(i + 1), bits, timestamp: ts, prevMark: parent === null ? ts : parent.mark, mark }
  }
}

// Parameters, commitments and genesis blocks; the devnet of 10.5.
const netparams = load('netparams.json')
for (const tc of netparams.valid) {
  const p = paramsFromJSON(tc.params.name, tc.params)
  check('params', `encoding of ${tc.description}`, hexOf(encodeParams(p)), tc.encoding)
  check('params', `commitment of ${tc.description}`, await commitment(p), tc.commitment)
  const g = await genesisHeader(p)
  check('params', `genesis of ${tc.description}`, g.hash, tc.genesis_hash)
  check('params', `genesis header of ${tc.description}`, hexOf(g.bytes), tc.genesis_binary.slice(0, 272))
  check('params', `decoding of ${tc.description}`, hexOf(encodeParams(decodeParams(hexBytes(tc.encoding)))), tc.encoding)
}
for (const tc of netparams.invalid) {
  let refused = false
  try { decodeParams(hexBytes(tc.encoding)) } catch { refused = true }
  check('params', `decoding ${tc.description}`, refused, true)
}
const devnet = paramsFromJSON('devnet', { target_block_time_us: 10000000, half_life_us: 40000000, initial_bits: 0x1e03ffff, max_bits: 0x1e03ffff, fixed_difficulty: false, reward: 1, max_block_size: 1048576, max_block_txs: 2000, ledger: 'open' })
const devnetGenesis = await genesisHeader(devnet)
check('params', 'devnet commitment (10.2)', devnetGenesis.commitment, '585a153fbd69f09ebdd4990feacb1f470bcbc545dcdae8b9f86c66b493511302')
check('params', 'devnet genesis (10.5)', devnetGenesis.hash, 'f42ccfa649a2086afbe30afa118d0989ffa68c28721894bbb059c4e391f29981')

// The consensus chains: each network's genesis computed from its
// parameters, and the header chain's verdict on every header. A rule that
// needs the body (the transactions, the size) cannot be broken by a
// header: those blocks are left out, as are blocks with no binary form.
const headerCodes = new Set(['ok', 'bad_index', 'bad_genesis', 'bad_difficulty', 'bad_proof', 'time_too_new', 'time_too_old', 'unknown_parent', 'bad_prev_hash'])
const consensus = load('consensus.json')
const chainParams = {}
for (const n of consensus.networks) {
  const p = paramsFromJSON(n.params.name, n.params)
  const g = await genesisHeader(p)
  check('genesis', `${n.params.name} commitment`, g.commitment, n.commitment)
  check('genesis', `${n.params.name} genesis`, g.hash, n.genesis_hash)
  chainParams[n.params.name] = { p, g }
}
for (const c of consensus.chains) {
  const { p, g } = chainParams[c.network]
  const chain = new HeaderChain(p, g)
  const now = c.now_us / 1000
  for (const b of c.blocks) {
    if (!headerCodes.has(b.expect) || b.binary === undefined) continue
    const v = await chain.add(hexBytes(b.binary).subarray(0, 136), now)
    check('headers', `"${b.description}"`, v.ok ? 'ok' : v.code, b.expect)
    if (b.expect === 'ok' && v.ok) {
      const head = chain.head()
      check('headers', `"${b.description}" head`, head.hash, b.json.hash)
      check('headers', `"${b.description}" work`, hexInt(head.work), b.work)
      const e = chain.entries.get(head.hash)
      check('headers', `"${b.description}" next bits`, bitsHex(nextBits(p, { index: BigInt(e.height), bits: e.header.bits, timestamp: e.header.timestamp, prevMark: e.prevMark })), b.next_bits)
    }
  }
}

// Gossiped block messages: content id || binary block, judged alone.
function message (hash, binary) {
  const data = new Uint8Array(32 + binary.length)
  data.set(hash)
  data.set(binary, 32)
  return data
}
const verdicts = { ok: true, bad_proof: false }
for (const chain of consensus.chains) {
  for (const b of chain.blocks) {
    if (!(b.expect in verdicts) || b.binary === undefined) continue
    const hash = hexBytes(b.json.hash)
    check('gossip', `block "${b.description}" (${b.expect})`, (await verifyBlockMessage(message(hash, hexBytes(b.binary)))).ok, verdicts[b.expect])
    if (b.expect === 'ok') {
      hash[31] ^= 1 // a content id that is not the header's hash
      check('gossip', `block "${b.description}" under another content id`, (await verifyBlockMessage(message(hash, hexBytes(b.binary)))).ok, false)
    }
  }
}

// The wallet's vectors: keys, addresses, key files, signatures, map and
// account proofs (proofs.json when present).
await walletKeyVectors(load('ledger.json'))
addressVectors(load('addresses.json'))
await signatureVectors(load('ledger.json'))
await mapProofVectors(load('smt.json'))
// proofs.json holds uint64 balances and nonces above 2^53: they are read
// as strings, so that BigInt takes them exactly.
const loadExact = (name) => JSON.parse(readFileSync(join(dir, name), 'utf8').replace(/(:\s*)(\d{16,})\b/g, '$1"$2"'))
if (existsSync(join(dir, 'proofs.json'))) await accountProofVectors(loadExact('proofs.json'))

if (failures.length > 0) {
  console.error(failures.slice(0, 50).join('\n') + (failures.length > 50 ? `\n… and ${failures.length - 50} more` : ''))
  process.exit(1)
}
console.log('vectors agree: ' + Object.entries(counts).map(([g, n]) => `${g} ${n}`).join(', '))

// tally counts n checks of group.
function tally (group, n = 1) {
  counts[group] = (counts[group] ?? 0) + n
}

// walletKeyVectors: a seed gives the key and address of the vectors, its
// key file reads back as the same key, and a key file that is not one is
// refused.
async function walletKeyVectors (ledger) {
  for (const k of ledger.keys) {
    tally('wallet keys')
    const key = await keyFromSeed(fromHex(k.seed))
    if (toHex(key.publicKey) !== k.public_key || key.address !== k.address) {
      failures.push(`key ${k.seed}: public key ${toHex(key.publicKey)}, address ${key.address}; want ${k.public_key}, ${k.address}`)
    }
    const file = marshalKeyFile(key)
    const back = await parseKeyFile(file)
    if (back.address !== k.address) failures.push(`key file of ${k.address} reads back as ${back.address}`)
    const other = Uint8Array.from(file)
    other[other.length - 1] ^= 1 // a public key that is not the seed's
    for (const [what, bad] of [['another public key', other], ['cut short', file.subarray(0, 60)], ['a secp256k1 key', Uint8Array.of(0x08, 0x02, 0x12, 0x40, ...file.subarray(4))]]) {
      tally('wallet keys')
      const refused = await parseKeyFile(bad).then(() => false, () => true)
      if (!refused) failures.push(`key file of ${k.address}, ${what}: read, want refused`)
    }
  }
}

// addressVectors: every text form of addresses.json is an address, with
// its key, exactly when the network says so.
function addressVectors (vectors) {
  for (const a of vectors.addresses) {
    tally('addresses')
    let key = null
    try {
      key = toHex(publicKeyOf(a.address))
    } catch {}
    if ((key !== null) !== a.consensus || (a.consensus && key !== a.public_key)) {
      failures.push(`address ${JSON.stringify(a.address)} (${a.description}): key ${key}, want ${a.consensus ? a.public_key : 'not an address'}`)
    }
    if (a.consensus && addressOf(fromHex(a.public_key)) !== a.address) failures.push(`address of ${a.public_key}: not ${a.address}`)
  }
}

// signatureVectors: the tab's encoding, signing bytes, signature (Ed25519
// is deterministic), id and gossip message of every transaction of
// ledger.json.
async function signatureVectors (ledger) {
  const keys = new Map()
  for (const k of ledger.keys) keys.set(k.address, await keyFromSeed(fromHex(k.seed)))
  for (const tx of ledger.transactions) {
    tally('signatures')
    const what = `transaction ${tx.id}`
    const p = { sender: tx.sender, recipient: tx.recipient, amount: BigInt(tx.amount), fee: BigInt(tx.fee), nonce: BigInt(tx.nonce) }
    if (toHex(unsignedEncoding(p)) !== tx.unsigned_encoding) failures.push(`${what}: unsigned encoding differs`)
    if (toHex(signingBytes(ledger.network.genesis, p)) !== tx.signing_bytes) failures.push(`${what}: signing bytes differ`)
    const signed = await signPayment(keys.get(tx.sender), ledger.network.genesis, p)
    if (signed.signature !== tx.signature) failures.push(`${what}: signature ${signed.signature}, want ${tx.signature}`)
    if (toHex(signed.encoding) !== tx.encoding || signed.id !== tx.id) failures.push(`${what}: encoding or id differs (id ${signed.id})`)
    if (toHex(signed.message) !== tx.id + tx.encoding) failures.push(`${what}: gossip message is not id || encoding`)
  }
}

// mapProofVectors: every proof of smt.json's maps verifies against its
// root, and none with another value or absence claimed; every invalid
// proof is refused.
async function mapProofVectors (smt) {
  const verdict = (root, key, value, proof) => verifyMapProof(fromHex(root), fromHex(key), value === null ? null : fromHex(value), fromHex(proof)).then(() => 'valid', (err) => err.message)
  for (const m of smt.maps) {
    for (const p of m.proofs ?? []) {
      tally('map proofs', 2)
      const got = await verdict(m.root, p.key, p.value, p.proof)
      if (got !== 'valid') failures.push(`map "${m.description}", proof of ${p.key.slice(0, 12)}…: ${got}`)
      const other = p.value === null ? '00'.repeat(32) : null // inclusion claimed for an absence, and the reverse
      if (await verdict(m.root, p.key, other, p.proof) === 'valid') failures.push(`map "${m.description}", proof of ${p.key.slice(0, 12)}…: verifies with ${other === null ? 'absence' : 'a value'} claimed`)
    }
  }
  for (const p of smt.invalid_proofs) {
    tally('map proofs')
    if (await verdict(p.root, p.key, p.value ?? null, p.proof) === 'valid') failures.push(`invalid proof "${p.description}": verified`)
  }
}

// accountProofVectors: the account-level vectors of proofs.json: every
// address's map key and value hash; every account proof of the maps
// decodes to its account and header and verifies; every refused account
// proof is refused, at decoding or verification.
async function accountProofVectors (vectors) {
  const refused = (vectors.refused ?? []).filter((x) => x.type === 'account')
  if (!Array.isArray(vectors.accounts) || !Array.isArray(vectors.account_maps) || refused.length === 0) {
    failures.push('proofs.json: no accounts, account_maps or refused account proofs to read')
    return
  }
  for (const a of vectors.accounts) {
    tally('account proofs')
    const key = toHex(await accountKey(a.address))
    const value = toHex(await accountValueHash(BigInt(a.balance), BigInt(a.next_nonce)))
    if (key !== a.key || value !== a.value_hash) failures.push(`account ${a.address}: key ${key}, value hash ${value}; want ${a.key}, ${a.value_hash}`)
  }
  for (const m of vectors.account_maps) {
    for (const p of m.proofs) {
      tally('account proofs')
      const what = `map "${m.description}", proof of ${p.address}`
      try {
        const d = decodeAccountProof(fromHex(p.proof))
        const hash = await verifyAccountProof(d, p.address)
        const got = [hash, d.header.stateRoot, d.balance, d.nextNonce, toHex(d.map)].join(' ')
        const want = [m.hash, m.root, BigInt(p.balance), BigInt(p.next_nonce), p.map_proof].join(' ')
        if (got !== want) failures.push(`${what}: got ${got}, want ${want}`)
      } catch (err) {
        failures.push(`${what}: refused: ${err.message}`)
      }
    }
  }
  for (const x of refused) {
    tally('account proofs')
    const got = await (async () => verifyAccountProof(decodeAccountProof(fromHex(x.proof)), x.address))().then(() => 'verified', (err) => err.message)
    if (got === 'verified') failures.push(`refused account proof "${x.description}" (${x.reason}): verified`)
  }
}
