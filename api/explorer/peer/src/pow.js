// Proof of work: compact targets (PROTOCOL.md 10.1) and the block hash,
// computed with WebCrypto.

/**
 * Decodes a compact target. Throws for a negative or overflowing one, as
 * the Go node refuses them.
 *
 * @param {number} c - the uint32 compact form (bits)
 * @returns {bigint} the target
 */
export function compactToTarget (c) {
  const size = c >>> 24
  const mantissa = c & 0x007fffff
  const negative = (c & 0x00800000) !== 0
  let word
  let target
  if (size <= 3) {
    word = mantissa >>> (8 * (3 - size))
    target = BigInt(word)
  } else {
    word = mantissa
    target = BigInt(word) << BigInt(8 * (size - 3))
  }
  if (word !== 0 && negative) {
    throw new Error(`compact target 0x${c.toString(16)} is negative`)
  }
  if (word !== 0 && (size > 34 || (word > 0xff && size > 33) || (word > 0xffff && size > 32))) {
    throw new Error(`compact target 0x${c.toString(16)} overflows`)
  }
  return target
}

/**
 * SHA-256 of bytes, by WebCrypto.
 *
 * @param {Uint8Array} bytes
 * @returns {Promise<Uint8Array>}
 */
export async function sha256 (bytes) {
  return new Uint8Array(await crypto.subtle.digest('SHA-256', bytes))
}

/**
 * Reads a hash as a 256-bit big-endian integer.
 *
 * @param {Uint8Array} hash
 * @returns {bigint}
 */
export function hashToInt (hash) {
  let n = 0n
  for (const b of hash) {
    n = (n << 8n) | BigInt(b)
  }
  return n
}
