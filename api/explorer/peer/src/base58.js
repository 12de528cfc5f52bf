// base58btc (Bitcoin's alphabet), the text form of peer IDs and so of
// addresses (PROTOCOL.md 2.4).

const ALPHABET = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz'
const DIGITS = new Map([...ALPHABET].map((c, i) => [c, i]))

/**
 * Encodes bytes in base58btc: each leading zero byte is a '1', the rest
 * the big-endian number in base 58.
 *
 * @param {Uint8Array} bytes
 * @returns {string}
 */
export function encode (bytes) {
  let zeros = 0
  while (zeros < bytes.length && bytes[zeros] === 0) zeros++
  let n = 0n
  for (const b of bytes.subarray(zeros)) n = (n << 8n) | BigInt(b)
  let s = ''
  while (n > 0n) {
    s = ALPHABET[Number(n % 58n)] + s
    n /= 58n
  }
  return '1'.repeat(zeros) + s
}

/**
 * Decodes base58btc text. Throws for a character that is not a base58
 * digit.
 *
 * @param {string} text
 * @returns {Uint8Array}
 */
export function decode (text) {
  let zeros = 0
  while (zeros < text.length && text[zeros] === '1') zeros++
  let n = 0n
  for (const c of text.slice(zeros)) {
    const d = DIGITS.get(c)
    if (d === undefined) throw new Error(`${JSON.stringify(c)} is not a base58 digit`)
    n = n * 58n + BigInt(d)
  }
  const body = []
  while (n > 0n) {
    body.unshift(Number(n & 0xffn))
    n >>= 8n
  }
  return Uint8Array.from([...new Array(zeros).fill(0), ...body])
}
