// Wallet keys and addresses (PROTOCOL.md 2.4): an Ed25519 key held by
// WebCrypto, its address (the text of its libp2p peer ID), and the key
// file of `gossipchain key` (libp2p's MarshalPrivateKey bytes, the format
// of a node's identity.key).
import { encode, decode } from './base58.js'
import { concat, equal } from './bytes.js'

// ADDRESS_PREFIX is the identity multihash (0x00, 36 bytes) of the
// protobuf PublicKey {Type: Ed25519, Data: 32 bytes} before the key.
const ADDRESS_PREFIX = Uint8Array.from([0x00, 0x24, 0x08, 0x01, 0x12, 0x20])
const ADDRESS_LENGTH = 52

// KEY_FILE_PREFIX is the protobuf PrivateKey {Type: Ed25519 (1), Data: 64
// bytes} before seed || public key: MarshalPrivateKey of an Ed25519 key.
const KEY_FILE_PREFIX = Uint8Array.from([0x08, 0x01, 0x12, 0x40])
// LEGACY_DATA_SIZE is the Data of old libp2p key files: seed || public
// key || public key again, which libp2p still reads.
const LEGACY_DATA_SIZE = 96
const KEY_TYPES = ['RSA', 'Ed25519', 'Secp256k1', 'ECDSA']

// PKCS8_PREFIX is the PKCS #8 wrapping of an Ed25519 seed (RFC 8410),
// the form in which WebCrypto imports and exports private keys.
const PKCS8_PREFIX = Uint8Array.from([0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20])

/** addressOf returns the address of a 32-byte Ed25519 public key. */
export function addressOf (publicKey) {
  if (publicKey.length !== 32) throw new Error(`a public key of ${publicKey.length} bytes, want 32`)
  return encode(concat(ADDRESS_PREFIX, publicKey))
}

/**
 * publicKeyOf returns the key of an address, and throws for a string
 * that is not one (PROTOCOL.md 2.4, "Addresses", exactly: no curve check).
 *
 * @param {string} address
 * @returns {Uint8Array}
 */
export function publicKeyOf (address) {
  if (typeof address !== 'string' || address.length !== ADDRESS_LENGTH || !address.startsWith('12D3KooW')) {
    throw new Error(`${JSON.stringify(String(address).slice(0, 60))} is not an address (52 characters starting 12D3KooW)`)
  }
  const bytes = decode(address)
  if (bytes.length !== ADDRESS_PREFIX.length + 32 || !ADDRESS_PREFIX.every((b, i) => bytes[i] === b)) {
    throw new Error(`${address} is not the peer ID of an Ed25519 key`)
  }
  const key = bytes.subarray(ADDRESS_PREFIX.length)
  if (addressOf(key) !== address) throw new Error(`${address} is not the canonical text of its key`)
  return key
}

/**
 * A wallet key: the WebCrypto private key, its seed and public key (32
 * bytes each) and its address.
 *
 * @typedef {{privateKey: CryptoKey, seed: Uint8Array, publicKey: Uint8Array, address: string}} Key
 */

/** generateKey makes a new key with WebCrypto. @returns {Promise<Key>} */
export async function generateKey () {
  const pair = await crypto.subtle.generateKey({ name: 'Ed25519' }, true, ['sign', 'verify'])
  const pkcs8 = new Uint8Array(await crypto.subtle.exportKey('pkcs8', pair.privateKey))
  return keyFromSeed(pkcs8.subarray(PKCS8_PREFIX.length))
}

/**
 * keyFromSeed imports a 32-byte Ed25519 seed (RFC 8032's private key).
 *
 * @param {Uint8Array} seed
 * @returns {Promise<Key>}
 */
export async function keyFromSeed (seed) {
  if (seed.length !== 32) throw new Error(`a seed of ${seed.length} bytes, want 32`)
  seed = Uint8Array.from(seed)
  const privateKey = await crypto.subtle.importKey('pkcs8', concat(PKCS8_PREFIX, seed), { name: 'Ed25519' }, true, ['sign'])
  const jwk = await crypto.subtle.exportKey('jwk', privateKey)
  const publicKey = fromBase64url(jwk.x)
  return { privateKey, seed, publicKey, address: addressOf(publicKey) }
}

/** marshalKeyFile returns the bytes of key's `gossipchain key` file. */
export function marshalKeyFile (key) {
  return concat(KEY_FILE_PREFIX, key.seed, key.publicKey)
}

/**
 * parseKeyFile reads the bytes of a `gossipchain key` file (or a node's
 * identity.key). Throws, saying why, for anything else, and for a file
 * whose public key is not its seed's (its signatures would not verify).
 *
 * @param {Uint8Array} bytes
 * @returns {Promise<Key>}
 */
export async function parseKeyFile (bytes) {
  if (bytes.length > 4096) throw new Error(`${bytes.length} bytes: not a key file`)
  if (bytes.length < 4 || bytes[0] !== 0x08 || bytes[2] !== 0x12) throw new Error('not a gossipchain key file')
  if (bytes[1] !== 0x01) throw new Error(`the file holds ${KEY_TYPES[bytes[1]] === undefined ? 'an unknown kind of' : 'a ' + KEY_TYPES[bytes[1]]} key, want Ed25519`)
  const data = bytes.subarray(4)
  if (bytes[3] !== data.length || (data.length !== 64 && data.length !== LEGACY_DATA_SIZE)) {
    throw new Error(`an Ed25519 key file of ${bytes.length} bytes, want ${KEY_FILE_PREFIX.length + 64}`)
  }
  if (data.length === LEGACY_DATA_SIZE && !equal(data.subarray(32, 64), data.subarray(64))) {
    throw new Error('the key file repeats another public key')
  }
  const key = await keyFromSeed(data.subarray(0, 32))
  if (!equal(key.publicKey, data.subarray(32, 64))) {
    throw new Error('the key file holds a public key that is not its seed\'s')
  }
  return key
}

function fromBase64url (s) {
  const b64 = s.replace(/-/g, '+').replace(/_/g, '/')
  return Uint8Array.from(atob(b64 + '='.repeat((4 - b64.length % 4) % 4)), (c) => c.charCodeAt(0))
}
