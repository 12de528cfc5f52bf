// Byte arrays: joining, comparing, hex and big-endian integers, for the
// wallet's encodings.

/** concat joins byte arrays. */
export function concat (...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let at = 0
  for (const p of parts) {
    out.set(p, at)
    at += p.length
  }
  return out
}

/** equal reports whether two byte arrays hold the same bytes. */
export function equal (a, b) {
  return a.length === b.length && a.every((x, i) => x === b[i])
}

/** toHex returns the lower-case hex of bytes. */
export function toHex (bytes) {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')
}

/** fromHex decodes lower- or upper-case hex; throws for anything else. */
export function fromHex (s) {
  if (s.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(s)) throw new Error(`${JSON.stringify(s.slice(0, 20))} is not hex`)
  return Uint8Array.from(s.match(/../g) ?? [], (h) => parseInt(h, 16))
}

/** uint64 returns n (a bigint or a safe integer) as 8 big-endian bytes. */
export function uint64 (n) {
  const out = new Uint8Array(8)
  new DataView(out.buffer).setBigUint64(0, BigInt(n))
  return out
}

/** uint16 returns n as 2 big-endian bytes. */
export function uint16 (n) {
  return Uint8Array.of(n >> 8, n & 0xff)
}
