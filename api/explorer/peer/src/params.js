// The network's parameters (PROTOCOL.md 10.2) and its genesis (10.5),
// computed in the tab: the node states its parameters (GET /status), the
// tab encodes them canonically, and their SHA-256, the commitment, is the
// genesis's previous_hash; the genesis hash the tab computes from them is
// the one every header chain of the network starts from. A node that
// misstated a parameter would name a genesis that its chain does not start
// from, so the tab never takes the node's word for one.
import { compactToTarget, sha256 } from './pow.js'
import { hex } from './header.js'
import { compactOf } from './retarget.js'

const MAGIC = 'gossipchain/netparams'
const VERSION = 1
const NAME_RE = /^[a-z0-9][a-z0-9_-]{0,31}$/
const HOUR_US = 3_600_000_000n
const MAX_AMOUNT = (1n << 53n) - 1n
const MIN_BLOCK_SIZE = 136 + 4 + 22 // a header, the count, the smallest transaction
const MAX_LEDGER_LEN = 16

/**
 * paramsFromJSON reads the parameters of network name from their JSON
 * form: GET /status's "params" (initial_bits and max_bits numbers) or
 * testdata's (initial_target and max_target "0x…" strings). It throws for
 * a set out of its bounds (validate).
 *
 * @returns {{name: string, targetBlockTime: bigint, halfLife: bigint, initialBits: number, maxBits: number, fixed: boolean, reward: bigint, maxBlockSize: number, maxBlockTxs: number, ledger: string}}
 */
export function paramsFromJSON (name, p) {
  const params = {
    name,
    targetBlockTime: BigInt(p.target_block_time_us),
    halfLife: BigInt(p.half_life_us),
    initialBits: Number(p.initial_bits ?? p.initial_target) >>> 0,
    maxBits: Number(p.max_bits ?? p.max_target) >>> 0,
    fixed: p.fixed_difficulty === true,
    reward: BigInt(p.reward),
    maxBlockSize: Number(p.max_block_size),
    maxBlockTxs: Number(p.max_block_txs),
    ledger: String(p.ledger)
  }
  validate(params)
  return params
}

/** validate throws an Error naming the first field out of its bounds (chain.NetParams.Validate). */
export function validate (p) {
  const T = p.targetBlockTime
  const fail = (what) => { throw new Error(`network parameters: ${what}`) }
  if (!NAME_RE.test(p.name)) fail(`name ${JSON.stringify(p.name)}`)
  if (T < 1000n || T > HOUR_US) fail(`target block time ${T} µs`)
  if (p.halfLife < 2n * T || p.halfLife > 1_000_000n * T) fail(`half-life ${p.halfLife} µs`)
  if (p.reward < 1n || p.reward > MAX_AMOUNT) fail(`reward ${p.reward}`)
  if (!(p.maxBlockTxs >= 1 && p.maxBlockTxs <= 65536)) fail(`max block transactions ${p.maxBlockTxs}`)
  if (!(p.maxBlockSize >= MIN_BLOCK_SIZE && p.maxBlockSize <= 64 << 20)) fail(`max block size ${p.maxBlockSize}`)
  if (p.ledger !== 'open' && p.ledger !== 'signed') fail(`ledger mode ${JSON.stringify(p.ledger)}`)
  const initial = canonicalTarget('initial target', p.initialBits, fail)
  const max = canonicalTarget('maximum target', p.maxBits, fail)
  if (initial > max) fail('the initial target is easier than the maximum target')
}

function canonicalTarget (what, bits, fail) {
  let t
  try {
    t = compactToTarget(bits)
  } catch (err) {
    fail(`${what}: ${err.message}`)
  }
  if (t < 1n << 32n) fail(`${what} 0x${bits.toString(16)} is below 2^32`)
  if (compactOf(t) !== bits) fail(`${what} 0x${bits.toString(16)} is not canonical`)
  return t
}

const encoder = new TextEncoder()

/** encodeParams returns the canonical encoding of valid parameters (10.2). */
export function encodeParams (p) {
  const name = encoder.encode(p.name)
  const ledger = encoder.encode(p.ledger)
  const out = new Uint8Array(MAGIC.length + 2 + name.length + 42 + ledger.length)
  const v = new DataView(out.buffer)
  out.set(encoder.encode(MAGIC))
  let o = MAGIC.length
  out[o++] = VERSION
  out[o++] = name.length
  out.set(name, o)
  o += name.length
  v.setBigUint64(o, p.targetBlockTime)
  v.setBigUint64(o + 8, p.halfLife)
  v.setUint32(o + 16, p.initialBits)
  v.setUint32(o + 20, p.maxBits)
  out[o + 24] = p.fixed ? 1 : 0
  v.setBigUint64(o + 25, p.reward)
  v.setUint32(o + 33, p.maxBlockSize)
  v.setUint32(o + 37, p.maxBlockTxs)
  out[o + 41] = ledger.length
  out.set(ledger, o + 42)
  return out
}

/**
 * decodeParams decodes a canonical encoding strictly (chain.DecodeNetParams):
 * the magic, the version, every length, nothing after the ledger mode, and
 * a valid set. It throws otherwise.
 */
export function decodeParams (data) {
  const fail = (what) => { throw new Error(`network parameters: ${what}`) }
  const v = new DataView(data.buffer, data.byteOffset, data.byteLength)
  const text = (o, n) => {
    if (o + n > data.length) fail('truncated')
    return new TextDecoder().decode(data.subarray(o, o + n))
  }
  if (text(0, MAGIC.length) !== MAGIC) fail('not a gossipchain parameter set')
  let o = MAGIC.length
  if (data.length < o + 2) fail('truncated')
  if (data[o] !== VERSION) fail(`version ${data[o]}`)
  const name = text(o + 2, data[o + 1])
  o += 2 + name.length
  if (data.length < o + 42) fail('truncated')
  const mode = data[o + 24]
  if (mode > 1) fail(`difficulty mode ${mode}`)
  const n = data[o + 41]
  if (n > MAX_LEDGER_LEN) fail(`ledger mode of ${n} bytes`)
  const ledger = text(o + 42, n)
  if (o + 42 + n !== data.length) fail(`${data.length - o - 42 - n} trailing bytes`)
  const p = {
    name,
    targetBlockTime: v.getBigUint64(o),
    halfLife: v.getBigUint64(o + 8),
    initialBits: v.getUint32(o + 16),
    maxBits: v.getUint32(o + 20),
    fixed: mode === 1,
    reward: v.getBigUint64(o + 25),
    maxBlockSize: v.getUint32(o + 33),
    maxBlockTxs: v.getUint32(o + 37),
    ledger
  }
  validate(p)
  return p
}

/** commitment returns the hex SHA-256 of the parameters' encoding. */
export async function commitment (p) {
  return hexOf(await sha256(encodeParams(p)))
}

/** GENESIS_TIMESTAMP is every genesis's, 2024-01-01T00:00:00Z in µs. */
const GENESIS_TIMESTAMP = 1_704_067_200_000_000n

/**
 * genesisHeader computes the network's genesis header (10.5) from its
 * parameters alone: previous_hash the commitment, tx_root the tree of its
 * one transaction (the reward to "gossipchain:<name>", nonce 1),
 * state_root zero (the genesis changes no account on any network).
 *
 * @returns {Promise<{bytes: Uint8Array, hash: string, commitment: string}>}
 */
export async function genesisHeader (p) {
  const recipient = encoder.encode('gossipchain:' + p.name)
  const tx = new Uint8Array(2 + 1 + 2 + recipient.length + 16)
  const tv = new DataView(tx.buffer)
  tv.setUint16(0, 1)
  tx[2] = 0x30 // "0", the reward's sender
  tv.setUint16(3, recipient.length)
  tx.set(recipient, 5)
  tv.setBigUint64(5 + recipient.length, p.reward)
  tv.setBigUint64(13 + recipient.length, 1n)
  const leaf = new Uint8Array(33) // a one-leaf tree: SHA-256(0x00 || id)
  leaf.set(await sha256(tx), 1)
  const root = await sha256(leaf)

  const commit = await sha256(encodeParams(p))
  const bytes = new Uint8Array(136)
  const v = new DataView(bytes.buffer)
  bytes.set(commit, 0)
  bytes.set(root, 32)
  v.setUint32(96, 3)
  v.setBigUint64(100, 1n)
  v.setBigInt64(108, GENESIS_TIMESTAMP)
  v.setUint32(116, p.initialBits)
  v.setBigUint64(120, 1n)
  return { bytes, hash: hexOf(await sha256(bytes)), commitment: hexOf(commit) }
}

/** hexOf returns the lower-case hex of bytes. */
export function hexOf (bytes) {
  return hex(new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength), 0, bytes.length)
}
