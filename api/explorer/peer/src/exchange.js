// One request and one reply per stream (PROTOCOL.md 5, 12, 13): the
// client writes one frame (a uvarint length, then the body), closes its
// write side and reads the reply until the server closes, never more than
// it allows, within a deadline.
import { concat } from './bytes.js'

/**
 * exchange sends body as one frame on a new stream of protocol to peer
 * and returns the whole reply (its frames, unparsed). It fails when the
 * reply is longer than maxReply bytes or not finished within timeout ms,
 * and resets the stream then.
 *
 * @param {import('libp2p').Libp2p} node
 * @param {import('@libp2p/interface').PeerId} peer
 * @param {string} protocol
 * @param {Uint8Array} body
 * @param {{maxReply: number, timeout: number}} limits
 * @returns {Promise<Uint8Array>}
 */
export async function exchange (node, peer, protocol, body, { maxReply, timeout }) {
  const stream = await node.dialProtocol(peer, protocol, { signal: AbortSignal.timeout(timeout) })
  return new Promise((resolve, reject) => {
    const chunks = []
    let size = 0
    const fail = (err) => {
      clearTimeout(timer)
      stream.abort(err)
      reject(err)
    }
    const timer = setTimeout(() => fail(new Error(`no whole reply within ${timeout / 1000} s`)), timeout)
    const done = () => {
      clearTimeout(timer)
      resolve(concat(...chunks))
    }
    stream.addEventListener('message', (evt) => {
      const b = evt.data.subarray()
      size += b.length
      if (size > maxReply) {
        fail(new Error(`a reply longer than ${maxReply} bytes`))
        return
      }
      chunks.push(b)
    })
    stream.addEventListener('remoteCloseWrite', done)
    stream.addEventListener('close', (evt) => evt.error ? fail(evt.error) : done())
    stream.send(frame(body))
    stream.close().catch(fail)
  })
}

/** frame returns body with its uvarint length before it. */
export function frame (body) {
  const len = []
  let n = body.length
  while (n >= 0x80) {
    len.push((n & 0x7f) | 0x80)
    n >>>= 7
  }
  len.push(n)
  return concat(len, body)
}

/**
 * readFrame reads the frame at the start of bytes and returns its body
 * and what follows it. Throws for a cut or malformed length, or a body
 * longer than max.
 *
 * @param {Uint8Array} bytes
 * @param {number} max
 * @returns {{body: Uint8Array, rest: Uint8Array}}
 */
export function readFrame (bytes, max) {
  let n = 0
  for (let i = 0; i < 5; i++) {
    if (i >= bytes.length) throw new Error('a frame length cut short')
    n += (bytes[i] & 0x7f) * 2 ** (7 * i)
    if ((bytes[i] & 0x80) === 0) {
      if (n > max) throw new Error(`a frame of ${n} bytes, at most ${max}`)
      if (bytes.length < i + 1 + n) throw new Error(`a frame of ${n} bytes cut short at ${bytes.length - i - 1}`)
      return { body: bytes.subarray(i + 1, i + 1 + n), rest: bytes.subarray(i + 1 + n) }
    }
  }
  throw new Error('a frame length of more than 5 bytes')
}
