// Downloads headers over /gossipchain/headers/1.0.0 (PROTOCOL.md 12): one
// request and one reply per stream, frames of a uvarint length and a body,
// every read bounded before it is made (12.3), and the reply checked as
// 12.4 says before any header is handed to the header chain, which checks
// each one itself.
import { HEADER_SIZE } from './headers.js'
import { parseHeader } from './header.js'
import { sha256 } from './pow.js'
import { hexOf } from './params.js'

export const HEADERS_PROTOCOL = '/gossipchain/headers/1.0.0'

// The limits of 12.3.
const MAX_HEADERS = 2000
const MAX_REPLY_HEADER = 64
const REPLY_TIMEOUT_MS = 30_000
const CODES = ['ok', 'bad_request', 'not_found', 'unavailable', 'internal_error']

/** appendUvarint appends n as a uvarint to out (an array of bytes). */
function appendUvarint (out, n) {
  while (n >= 0x80) {
    out.push((n & 0x7f) | 0x80)
    n >>>= 7
  }
  out.push(n)
  return out
}

/** requestFrame returns the framed request for locator (hex hashes) and max. */
export function requestFrame (locator, max) {
  const body = new Uint8Array(2 + 32 * locator.length + 4)
  const v = new DataView(body.buffer)
  v.setUint16(0, locator.length)
  locator.forEach((h, i) => body.set(Uint8Array.from(h.match(/../g), (x) => parseInt(x, 16)), 2 + 32 * i))
  v.setUint32(body.length - 4, max)
  const len = appendUvarint([], body.length)
  const out = new Uint8Array(len.length + body.length)
  out.set(len)
  out.set(body, len.length)
  return out
}

// Reader reads frames from an async iterator of chunks, holding at most
// what the frame being read needs.
class Reader {
  constructor (chunks) {
    this.it = chunks[Symbol.asyncIterator]()
    this.buf = new Uint8Array(0)
  }

  async more () {
    const { value, done } = await this.it.next()
    if (done) throw new Error('the stream ended early')
    const chunk = value.subarray ? value.subarray() : value
    const next = new Uint8Array(this.buf.length + chunk.length)
    next.set(this.buf)
    next.set(chunk, this.buf.length)
    this.buf = next
  }

  // frame reads one frame of at most limit bytes; a longer one throws.
  async frame (limit, what) {
    let n = 0
    let i = 0
    for (;; i++) {
      while (this.buf.length <= i) await this.more()
      if (i >= 5) throw new Error(`${what}: bad frame length`)
      n += (this.buf[i] & 0x7f) * 2 ** (7 * i)
      if ((this.buf[i] & 0x80) === 0) break
    }
    if (n > limit) throw new Error(`${what} frame of ${n} bytes, more than ${limit}`)
    this.buf = this.buf.subarray(i + 1)
    while (this.buf.length < n) await this.more()
    const body = this.buf.slice(0, n)
    this.buf = this.buf.subarray(n)
    return body
  }
}

/**
 * fetchHeaders asks peerId for at most max headers after locator and
 * checks the reply (12.4): a known code, a headers frame no longer than
 * asked and a whole number of headers, the first one following a locator
 * hash and each further one its predecessor. Throws for a code other than
 * ok, a broken reply or a timeout.
 *
 * @returns {Promise<Uint8Array[]>} the headers, in order
 */
export async function fetchHeaders (node, peerId, locator, max = MAX_HEADERS) {
  const signal = AbortSignal.timeout(REPLY_TIMEOUT_MS)
  const stream = await node.dialProtocol(peerId, HEADERS_PROTOCOL, { signal, runOnLimitedConnection: false })
  const abort = () => stream.abort(new Error('header request timed out'))
  signal.addEventListener('abort', abort)
  try {
    stream.send(requestFrame(locator, max))
    await stream.close({ signal }) // our write side: the request is complete
    const r = new Reader(stream)
    const hdr = await r.frame(MAX_REPLY_HEADER, 'reply header')
    const code = hdr[0]
    if (code !== 0) throw new Error(`the peer answered ${CODES[code] ?? 'unknown code ' + code}`)
    if (hdr.length !== 41) throw new Error(`ok reply header of ${hdr.length} bytes, want 41`)
    const body = await r.frame(max * HEADER_SIZE, 'headers')
    if (body.length % HEADER_SIZE !== 0) throw new Error(`headers frame of ${body.length} bytes is no whole number of headers`)
    const out = []
    for (let o = 0; o < body.length; o += HEADER_SIZE) out.push(body.subarray(o, o + HEADER_SIZE))
    await checkLinks(out, locator)
    return out
  } catch (err) {
    stream.abort(err)
    throw err
  } finally {
    signal.removeEventListener('abort', abort)
  }
}

// checkLinks checks that headers link: the first to a locator hash, each
// further one to its predecessor (previous_hash and index).
async function checkLinks (headers, locator) {
  let prev = null
  for (const [i, bytes] of headers.entries()) {
    const h = parseHeader(bytes)
    if (i === 0 ? !locator.includes(h.previousHash) : h.previousHash !== prev.hash || h.index !== prev.index + 1n) {
      throw new Error(`header ${i} of the reply does not link`)
    }
    prev = { hash: hexOf(await sha256(bytes)), index: h.index }
  }
}

/**
 * syncFrom downloads from peerId every header the chain lacks, 2,000 a
 * request, and adds them to chain; it stops at a short reply, or at the
 * first header the chain refuses (returning its verdict), and returns
 * {added, refused}. Each request after the first puts the last header
 * received first in its locator, so that a branch lighter than the head
 * so far is downloaded on, not asked for again.
 */
export async function syncFrom (node, chain, peerId) {
  let added = 0
  let last = null
  for (;;) {
    const locator = chain.locator()
    if (last !== null && !locator.includes(last)) locator.splice(0, locator.length === 64 ? 1 : 0, last)
    const headers = await fetchHeaders(node, peerId, locator)
    for (const bytes of headers) {
      const v = await chain.add(bytes)
      if (!v.ok) return { added, refused: v }
      if (!v.known) added++
      last = v.hash
    }
    if (headers.length < MAX_HEADERS) return { added, refused: null }
  }
}
