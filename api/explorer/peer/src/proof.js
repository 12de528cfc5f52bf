// Account proofs (PROTOCOL.md 10.8 and 13): the binary account proof, the
// account-state map proof inside it, and their verification with
// WebCrypto SHA-256 against the header's state_root. Every decoder is
// strict: a short or long input, or any other encoding than the one
// valid form, is refused.
import { parseHeader } from './header.js'
import { publicKeyOf } from './keyfile.js'
import { concat, equal, fromHex, toHex, uint64 } from './bytes.js'
import { sha256 } from './pow.js'
import { exchange, readFrame } from './exchange.js'

// PROOFS_PROTOCOL serves proofs, one request and one reply per stream.
export const PROOFS_PROTOCOL = '/gossipchain/proofs/1.0.0'
export const TYPE_ACCOUNT = 0x02
// MAX_REPLY is what the client reads of a reply at most (16 KiB).
const MAX_REPLY = 16 << 10
// REPLY_TIMEOUT is how long the server has to answer.
const REPLY_TIMEOUT = 30000
// CODES names the reply codes other than ok (PROTOCOL.md 5.2).
const CODES = { 1: 'bad_request', 2: 'not_found', 3: 'unavailable', 4: 'internal_error' }
const HEADER_SIZE = 136
const ADDRESS_SIZE = 52
const HASH_SIZE = 32
const MAX_LEVELS = 8 * HASH_SIZE
const MIN_MAP_PROOF = 3
const MAX_MAP_PROOF = 8291
export const MAX_ACCOUNT_PROOF = 1 + HEADER_SIZE + ADDRESS_SIZE + 16 + 2 + MAX_MAP_PROOF // 8498

// Map proof kinds.
const INCLUDED = 0
const ABSENT_EMPTY = 1
const ABSENT_OTHER = 2
const EMPTY = new Uint8Array(HASH_SIZE)

/**
 * An account proof, decoded.
 *
 * @typedef {{header: ReturnType<typeof parseHeader>, address: string, balance: bigint, nextNonce: bigint, map: Uint8Array}} AccountProof
 */

/**
 * decodeAccountProof decodes the binary account proof (type 0x02).
 *
 * @param {Uint8Array} b
 * @returns {AccountProof}
 */
export function decodeAccountProof (b) {
  const fixed = 1 + HEADER_SIZE + ADDRESS_SIZE + 16 + 2
  if (b.length < fixed + MIN_MAP_PROOF || b.length > MAX_ACCOUNT_PROOF) {
    throw new Error(`an account proof of ${b.length} bytes, want ${fixed + MIN_MAP_PROOF} to ${MAX_ACCOUNT_PROOF}`)
  }
  if (b[0] !== TYPE_ACCOUNT) throw new Error(`proof type 0x${b[0].toString(16).padStart(2, '0')}, want 0x02 (account)`)
  const header = parseHeader(b.subarray(1, 1 + HEADER_SIZE))
  if (header.size !== HEADER_SIZE) throw new Error(`a header of ${header.size} bytes`)
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength)
  let at = 1 + HEADER_SIZE
  const addressBytes = b.subarray(at, at + ADDRESS_SIZE)
  if (!addressBytes.every((c) => c > 0x20 && c < 0x7f)) throw new Error('the address is not ASCII text')
  const address = String.fromCharCode(...addressBytes)
  at += ADDRESS_SIZE
  const balance = view.getBigUint64(at)
  const nextNonce = view.getBigUint64(at + 8)
  const p = view.getUint16(at + 16)
  at += 18
  if (p < MIN_MAP_PROOF || p > MAX_MAP_PROOF || at + p !== b.length) {
    throw new Error(`a map proof of ${p} bytes in ${b.length - at} (3 to ${MAX_MAP_PROOF}, nothing after it)`)
  }
  return { header, address, balance, nextNonce, map: b.subarray(at) }
}

/**
 * decodeMapProof decodes an account-state map proof (10.8).
 *
 * @param {Uint8Array} b
 * @returns {{kind: number, siblings: Uint8Array[], otherKey?: Uint8Array, otherValue?: Uint8Array}}
 */
export function decodeMapProof (b) {
  if (b.length < 3) throw new Error(`a map proof of ${b.length} bytes, shorter than a proof`)
  const kind = b[0]
  if (kind > ABSENT_OTHER) throw new Error(`map proof kind ${kind}`)
  const n = (b[1] << 8) | b[2]
  if (n > MAX_LEVELS) throw new Error(`a map proof of ${n} levels, at most ${MAX_LEVELS}`)
  const bitmapSize = (n + 7) >> 3
  if (b.length < 3 + bitmapSize) throw new Error('the map proof\'s bitmap is cut short')
  const bitmap = b.subarray(3, 3 + bitmapSize)
  if (n % 8 !== 0 && (bitmap[bitmapSize - 1] & (0xff >> (n % 8))) !== 0) throw new Error(`bitmap bits set beyond level ${n}`)
  let at = 3 + bitmapSize
  const siblings = []
  for (let i = 0; i < n; i++) {
    if ((bitmap[i >> 3] & (0x80 >> (i % 8))) === 0) {
      siblings.push(EMPTY)
      continue
    }
    if (b.length < at + HASH_SIZE) throw new Error(`sibling ${i} is cut short`)
    const s = b.subarray(at, at + HASH_SIZE)
    if (equal(s, EMPTY)) throw new Error(`sibling ${i} is marked but empty`)
    siblings.push(s)
    at += HASH_SIZE
  }
  if (n > 0 && siblings[n - 1] === EMPTY) throw new Error('the deepest sibling is empty')
  const proof = { kind, siblings }
  if (kind === ABSENT_OTHER) {
    if (b.length < at + 2 * HASH_SIZE) throw new Error('the other leaf is cut short')
    proof.otherKey = b.subarray(at, at + HASH_SIZE)
    proof.otherValue = b.subarray(at + HASH_SIZE, at + 2 * HASH_SIZE)
    at += 2 * HASH_SIZE
  }
  if (at !== b.length) throw new Error(`${b.length - at} bytes after the map proof`)
  return proof
}

const bit = (key, i) => (key[i >> 3] >> (7 - (i % 8))) & 1

/**
 * verifyMapProof checks that the map of root holds key with value hash
 * value (or holds no key, value null), and throws, saying why, when the
 * proof does not show it.
 *
 * @param {Uint8Array} root
 * @param {Uint8Array} key
 * @param {Uint8Array|null} value
 * @param {Uint8Array} encoded - the map proof
 */
export async function verifyMapProof (root, key, value, encoded) {
  const p = decodeMapProof(encoded)
  const n = p.siblings.length
  let h
  if (value !== null && p.kind !== INCLUDED) throw new Error('a proof of absence, where an account was claimed')
  if (value === null && p.kind === INCLUDED) throw new Error('a proof of inclusion, where no account was claimed')
  if (p.kind === INCLUDED) {
    h = await sha256(concat([0x00], key, value))
  } else if (p.kind === ABSENT_EMPTY) {
    h = EMPTY
  } else {
    for (let i = 0; i < n; i++) {
      if (bit(p.otherKey, i) !== bit(key, i)) throw new Error(`the other leaf's key is not on the key's path at depth ${n}`)
    }
    if (equal(p.otherKey, key)) throw new Error('the "other" leaf is the key\'s own')
    h = await sha256(concat([0x00], p.otherKey, p.otherValue))
  }
  for (let i = n - 1; i >= 0; i--) {
    h = await sha256(bit(key, i) === 0 ? concat([0x01], h, p.siblings[i]) : concat([0x01], p.siblings[i], h))
  }
  if (!equal(h, root)) throw new Error(`the proof gives the root ${toHex(h).slice(0, 12)}…, not the header's state_root ${toHex(root).slice(0, 12)}…`)
}

/** accountKey is the map key of an address: SHA-256 of its text. */
export function accountKey (address) {
  return sha256(new TextEncoder().encode(address))
}

/** accountValueHash is SHA-256(balance || next nonce), big-endian. */
export function accountValueHash (balance, nextNonce) {
  return sha256(concat(uint64(balance), uint64(nextNonce)))
}

/**
 * verifyAccountProof checks an account proof for address: the proof is
 * of that address, and its map proof shows the balance and next nonce
 * (an absence for a zero account) under the header's state_root. It
 * returns the header's hash (hex); the caller checks that the header is
 * on the header chain it trusts. Throws, saying why, otherwise.
 *
 * @param {AccountProof} p
 * @param {string} address
 * @returns {Promise<string>}
 */
export async function verifyAccountProof (p, address) {
  if (p.address !== address) throw new Error(`a proof of ${p.address}, not of ${address}`)
  publicKeyOf(address)
  const key = await accountKey(address)
  const zero = p.balance === 0n && p.nextNonce === 0n
  const value = zero ? null : await accountValueHash(p.balance, p.nextNonce)
  await verifyMapProof(fromHex(p.header.stateRoot), key, value, p.map)
  return toHex(await sha256(p.header.bytes))
}

/**
 * fetchAccountProof asks peer over PROOFS_PROTOCOL for the account proof
 * of address after block at (hex; 64 zeros: the peer's head), and checks
 * that it is one: it decodes strictly, is of address and of block at
 * (when one was named), and verifies against its own header's
 * state_root. It returns the proof and its header's hash (hex). The
 * caller still checks that the header is on its own header chain.
 * Throws, saying why: with err.badProof set for an answer that is not
 * such a proof, with err.code set ('not_found', 'unavailable', ...) for a
 * refusal to answer, and with neither when no answer came (the stream
 * failed or timed out).
 *
 * @param {import('libp2p').Libp2p} node
 * @param {import('@libp2p/interface').PeerId} peer
 * @param {string} address
 * @param {string} at
 * @returns {Promise<{proof: AccountProof, hash: string}>}
 */
export async function fetchAccountProof (node, peer, address, at) {
  publicKeyOf(address)
  const atBytes = fromHex(at)
  if (atBytes.length !== HASH_SIZE) throw new Error(`a block hash of ${atBytes.length} bytes`)
  const request = concat([TYPE_ACCOUNT], new TextEncoder().encode(address), atBytes)
  const reply = await exchange(node, peer, PROOFS_PROTOCOL, request, { maxReply: MAX_REPLY, timeout: REPLY_TIMEOUT })
  let body
  try {
    const frame = readFrame(reply, MAX_REPLY)
    if (frame.rest.length !== 0) throw new Error(`${frame.rest.length} bytes after the reply`)
    body = frame.body
  } catch (err) {
    throw badProof(err)
  }
  if (body.length === 1 && CODES[body[0]] !== undefined) {
    const err = new Error(`the peer answered ${CODES[body[0]]}`)
    err.code = CODES[body[0]]
    throw err
  }
  try {
    if (body.length < 2 || body[0] !== 0) throw new Error(`a reply of ${body.length} bytes that is neither a proof nor a known code`)
    const proof = decodeAccountProof(body.subarray(1))
    const hash = await verifyAccountProof(proof, address)
    if (!equal(atBytes, EMPTY) && hash !== at) throw new Error(`a proof at block ${hash.slice(0, 12)}…, not at the block asked, ${at.slice(0, 12)}…`)
    return { proof, hash }
  } catch (err) {
    throw badProof(err)
  }
}

// badProof marks err as a reply that is no valid proof (the peer's fault,
// not the network's): err.badProof is true.
function badProof (err) {
  err.badProof = true
  return err
}
