// Payments signed in the tab (PROTOCOL.md 2.4): the signing bytes, the
// signed transaction's encoding, its id and its gossip message (3).
import { publicKeyOf } from './keyfile.js'
import { concat, fromHex, toHex, uint16, uint64 } from './bytes.js'
import { sha256 } from './pow.js'

const encoder = new TextEncoder()

// SIGNING_DOMAIN starts the signing bytes: a signature of one version
// never verifies under another.
export const SIGNING_DOMAIN = 'gossipchain/tx-signature/2'

// MAX_AMOUNT is the largest amount, and the largest amount + fee: 2^53 - 1.
const MAX_AMOUNT = 2n ** 53n - 1n
const SIGNED_FLAG = 0x8000

/**
 * A payment: sender and recipient are addresses; amount, fee and nonce
 * integers (numbers or bigints).
 *
 * @typedef {{sender: string, recipient: string, amount: number|bigint, fee: number|bigint, nonce: number|bigint}} Payment
 */

/**
 * checkPayment throws, saying why, for a payment no node would accept:
 * an address that is not one, an amount out of 1..2^53-1, a fee below
 * 0, amount + fee above 2^53-1, a nonce out of uint64.
 *
 * @param {Payment} p
 */
export function checkPayment (p) {
  publicKeyOf(p.sender)
  try {
    publicKeyOf(p.recipient)
  } catch (err) {
    throw new Error(`recipient: ${err.message}`)
  }
  const amount = BigInt(p.amount)
  const fee = BigInt(p.fee)
  const nonce = BigInt(p.nonce)
  if (amount < 1n || amount > MAX_AMOUNT) throw new Error(`amount ${amount}: want 1 to ${MAX_AMOUNT}`)
  if (fee < 0n || amount + fee > MAX_AMOUNT) throw new Error(`fee ${fee}: want 0 to ${MAX_AMOUNT - amount} with amount ${amount}`)
  if (nonce < 0n || nonce >= 2n ** 64n) throw new Error(`nonce ${nonce} is not a uint64`)
}

/**
 * unsignedEncoding is the encoding of 2.1 (bit 15 of the sender's length
 * clear, no fee, no signature).
 *
 * @param {Payment} p
 * @returns {Uint8Array}
 */
export function unsignedEncoding (p) {
  const sender = encoder.encode(p.sender)
  const recipient = encoder.encode(p.recipient)
  return concat(uint16(sender.length), sender, uint16(recipient.length), recipient, uint64(p.amount), uint64(p.nonce))
}

/**
 * signingBytes is what the signature covers: the domain, the genesis hash
 * (so a payment of one network never verifies on another), the encoding
 * of 2.1 and the fee.
 *
 * @param {string} genesis - the network's genesis hash, hex
 * @param {Payment} p
 * @returns {Uint8Array}
 */
export function signingBytes (genesis, p) {
  const g = fromHex(genesis)
  if (g.length !== 32) throw new Error(`genesis hash of ${g.length} bytes`)
  return concat(encoder.encode(SIGNING_DOMAIN), g, unsignedEncoding(p), uint64(p.fee))
}

/**
 * signPayment signs p with key (keyfile.js) for the network of genesis.
 * It returns the signed transaction's encoding (2.4), its id (hex) and
 * its gossip message (content id || encoding), ready to publish on the
 * transaction topic.
 *
 * @param {{privateKey: CryptoKey, address: string}} key
 * @param {string} genesis
 * @param {Payment} p
 * @returns {Promise<{encoding: Uint8Array, id: string, signature: string, message: Uint8Array}>}
 */
export async function signPayment (key, genesis, p) {
  if (p.sender !== key.address) throw new Error(`the key is ${key.address}'s, not the sender ${p.sender}'s`)
  checkPayment(p)
  const signature = new Uint8Array(await crypto.subtle.sign({ name: 'Ed25519' }, key.privateKey, signingBytes(genesis, p)))
  const unsigned = unsignedEncoding(p)
  unsigned[0] |= SIGNED_FLAG >> 8
  const encoding = concat(unsigned, uint64(p.fee), signature)
  const id = await sha256(encoding)
  return { encoding, id: toHex(id), signature: toHex(signature), message: concat(id, encoding) }
}
