// Checks a gossiped block message (PROTOCOL.md 3): content id (the block
// hash, 32 bytes) || binary block. What this tab checks by itself: the
// header decodes, its SHA-256 is the content id, and the hash meets the
// target of the header's bits. Checks that need the parent (that bits is
// what retargeting requires, the timestamp rules) come with the header
// chain.
import { parseHeader, hex } from './header.js'
import { compactToTarget, sha256, hashToInt } from './pow.js'

const CONTENT_ID_SIZE = 32

/**
 * @param {Uint8Array} data - the pubsub message data
 * @returns {Promise<{ok: boolean, check: string, reason: string, hash: string, header: object|null}>}
 *   check names the check that failed: 'message', 'header', 'hash', 'target'
 *   or 'proof of work'
 */
export async function verifyBlockMessage (data) {
  if (data.length < CONTENT_ID_SIZE) {
    return refused('message', 'message shorter than its 32-byte content id', '', null)
  }
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength)
  const id = hex(view, 0, CONTENT_ID_SIZE)
  let header
  try {
    header = parseHeader(data.subarray(CONTENT_ID_SIZE))
  } catch (err) {
    return refused('header', err.message, id, null)
  }
  const hash = await sha256(header.bytes)
  const hashHex = hex(new DataView(hash.buffer), 0, hash.length)
  if (hashHex !== id) {
    return refused('hash', `content id ${id.slice(0, 12)}… is not the header's hash ${hashHex.slice(0, 12)}…`, id, header)
  }
  let target
  try {
    target = compactToTarget(header.bits)
  } catch (err) {
    return refused('target', err.message, id, header)
  }
  if (hashToInt(hash) > target) {
    return refused('proof of work', 'the hash is above the target of its bits', id, header)
  }
  return { ok: true, check: '', reason: 'hash and proof of work checked in this tab', hash: id, header }
}

function refused (check, reason, hash, header) {
  return { ok: false, check, reason, hash, header }
}
