// Checks the page's header and proof-of-work code against the Go node's
// vectors (testdata/): every compact target decodes to the same target or
// is refused for the same reason, and every block of the consensus chain
// that the tab can judge alone gets the tab's verdict. Run by
// TestJSVectors (peer_test.go): node test/vectors.mjs COMPACT CONSENSUS.
import { readFileSync } from 'node:fs'
import { compactToTarget } from '../src/pow.js'
import { verifyBlockMessage } from '../src/verify.js'
import { dirname, join } from 'node:path'
import { existsSync } from 'node:fs'
import { addressOf, publicKeyOf, keyFromSeed, marshalKeyFile, parseKeyFile } from '../src/keyfile.js'
import { signPayment, signingBytes, unsignedEncoding } from '../src/sign.js'
import { decodeAccountProof, verifyAccountProof, verifyMapProof } from '../src/proof.js'
import { fromHex, toHex } from '../src/bytes.js'

if (globalThis.crypto?.subtle === undefined) {
  globalThis.crypto = (await import('node:crypto')).webcrypto // node 18
}

const [compactPath, consensusPath] = process.argv.slice(2)
const failures = []
let checked = 0

const compact = JSON.parse(readFileSync(compactPath, 'utf8'))
for (const tc of compact.decode) {
  checked++
  let got
  try {
    got = '0x' + compactToTarget(Number(tc.compact)).toString(16)
  } catch (err) {
    got = err.message.includes('negative') ? 'negative' : err.message.includes('overflow') ? 'overflow' : err.message
  }
  const want = tc.error ?? tc.target
  if (got !== want) failures.push(`compact ${tc.compact}: got ${got}, want ${want}`)
}

const hexBytes = (s) => Uint8Array.from(s.match(/../g) ?? [], (h) => parseInt(h, 16))
// message is a gossip message: content id || binary block.
function message (hash, binary) {
  const data = new Uint8Array(32 + binary.length)
  data.set(hash)
  data.set(binary, 32)
  return data
}

async function expect (what, data, ok) {
  checked++
  const v = await verifyBlockMessage(data)
  if (v.ok !== ok) failures.push(`${what}: tab says ${v.ok ? 'verified' : 'refused: ' + v.reason}`)
}

// What the tab judges alone, by the Go node's error codes; every other
// code needs the chain (the parent, retargeting, the ledger). A case with
// no binary form (a stated JSON hash) does not occur in gossip.
const verdicts = { ok: true, bad_proof: false }
const consensus = JSON.parse(readFileSync(consensusPath, 'utf8'))
for (const chain of consensus.chains) {
  for (const b of chain.blocks) {
    if (!(b.expect in verdicts) || b.binary === undefined) continue
    const hash = hexBytes(b.json.hash)
    await expect(`block "${b.description}" (${b.expect})`, message(hash, hexBytes(b.binary)), verdicts[b.expect])
    if (b.expect === 'ok') {
      hash[31] ^= 1 // a content id that is not the header's hash
      await expect(`block "${b.description}" under another content id`, message(hash, hexBytes(b.binary)), false)
    }
  }
}

// The wallet's vectors (ledger.json, addresses.json, smt.json and, when
// present, proofs.json) are in the same testdata directory.
const testdata = dirname(compactPath)
const readVectors = (name) => JSON.parse(readFileSync(join(testdata, name), 'utf8'))
await walletKeyVectors(readVectors('ledger.json'))
addressVectors(readVectors('addresses.json'))
await signatureVectors(readVectors('ledger.json'))
await mapProofVectors(readVectors('smt.json'))
if (existsSync(join(testdata, 'proofs.json'))) await accountProofVectors(readVectors('proofs.json'))

if (failures.length > 0) {
  console.error(failures.join('\n'))
  process.exit(1)
}
console.log(`${checked} vectors agree`)

// walletKeyVectors: a seed gives the key and address of the vectors, its
// key file reads back as the same key, and a key file that is not one is
// refused.
async function walletKeyVectors (ledger) {
  for (const k of ledger.keys) {
    checked++
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
      checked++
      const refused = await parseKeyFile(bad).then(() => false, () => true)
      if (!refused) failures.push(`key file of ${k.address}, ${what}: read, want refused`)
    }
  }
}

// addressVectors: every text form of addresses.json is an address, with
// its key, exactly when the network says so.
function addressVectors (vectors) {
  for (const a of vectors.addresses) {
    checked++
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
    checked++
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
      checked += 2
      const got = await verdict(m.root, p.key, p.value, p.proof)
      if (got !== 'valid') failures.push(`map "${m.description}", proof of ${p.key.slice(0, 12)}…: ${got}`)
      const other = p.value === null ? '00'.repeat(32) : null // inclusion claimed for an absence, and the reverse
      if (await verdict(m.root, p.key, other, p.proof) === 'valid') failures.push(`map "${m.description}", proof of ${p.key.slice(0, 12)}…: verifies with ${other === null ? 'absence' : 'a value'} claimed`)
    }
  }
  for (const p of smt.invalid_proofs) {
    checked++
    if (await verdict(p.root, p.key, p.value ?? null, p.proof) === 'valid') failures.push(`invalid proof "${p.description}": verified`)
  }
}

// accountProofVectors: the account proofs of proofs.json decode and verify
// exactly when they are valid.
async function accountProofVectors (vectors) {
  for (const v of vectors.account_proofs ?? []) {
    checked++
    const got = await (async () => verifyAccountProof(decodeAccountProof(fromHex(v.proof)), v.address))().then(() => true, (err) => err.message)
    if ((got === true) !== v.valid) failures.push(`account proof "${v.description}": ${got === true ? 'verified' : got}, want ${v.valid ? 'valid' : 'refused'}`)
  }
}
