// The tab's header chain (PROTOCOL.md 12.4), kept in memory: every header
// is checked here as a full node checks a block's header without its body
// (10.6): index, bits within the network's range, proof of work, future
// limit, then against its parent previous_hash, index, bits equal to the
// retargeting rule's target (10.3) and the median-time rule (10.4). The
// chain follows the most cumulative work (ties: the head seen first stays)
// and reorganises to a heavier branch.
//
// The API other parts of the page use (the wallet among them): head(),
// headerAt(height), has(hash), onMain(hash), params, and the event 'head'
// after every change of head, with detail {hash, height, work, reorg}.
import { parseHeader, hex } from './header.js'
import { compactToTarget, sha256, hashToInt } from './pow.js'
import { nextBits, work, medianTime, futureLimit, MEDIAN_TIME_BLOCKS } from './retarget.js'

/** HEADER_SIZE is the size of a version 3 header. */
export const HEADER_SIZE = 136

/**
 * A verdict: ok, or the code of the rule broken (PROTOCOL.md 10.6's names:
 * malformed, bad_index, bad_genesis, bad_difficulty, bad_proof,
 * time_too_new, unknown_parent, bad_prev_hash, time_too_old) and why.
 *
 * @typedef {{ok: boolean, code: string, reason: string, hash: string, known?: boolean}} Verdict
 */

export class HeaderChain extends EventTarget {
  /**
   * @param {object} params - the network's parameters (params.js)
   * @param {{bytes: Uint8Array, hash: string}} genesis - computed by genesisHeader
   */
  constructor (params, genesis) {
    super()
    this.params = params
    this.maxTarget = compactToTarget(params.maxBits)
    this.limit = futureLimit(params.targetBlockTime)
    const h = parseHeader(genesis.bytes)
    const g = { hash: genesis.hash, bytes: genesis.bytes, header: h, height: 1, parent: null, work: work(compactToTarget(h.bits)), mark: h.timestamp, prevMark: h.timestamp }
    this.entries = new Map([[g.hash, g]])
    this.main = [g] // main[i] is the header at height i + 1
  }

  /** head returns the head: {hash, height, work, bytes}. */
  head () {
    const e = this.main[this.main.length - 1]
    return { hash: e.hash, height: e.height, work: e.work, bytes: e.bytes }
  }

  /** headerAt returns the main-chain header at height (the genesis is 1), or null. */
  headerAt (height) {
    const e = this.main[height - 1]
    return e === undefined ? null : { hash: e.hash, bytes: e.bytes, header: e.header }
  }

  /** has reports whether the header of hash was verified (main chain or side branch). */
  has (hash) { return this.entries.has(hash) }

  /** onMain reports whether the header of hash is on the main chain. */
  onMain (hash) {
    const e = this.entries.get(hash)
    return e !== undefined && this.main[e.height - 1] === e
  }

  /**
   * locator returns the hashes a header request starts from (12.1): the
   * head and the 9 below it, then a doubling spacing, then the genesis.
   */
  locator () {
    const out = []
    let step = 1
    for (let h = this.main.length; h > 1 && out.length < 63; h -= step) {
      out.push(this.main[h - 1].hash)
      if (out.length >= 10) step *= 2
    }
    out.push(this.main[0].hash)
    return out
  }

  /**
   * add checks one header (HEADER_SIZE bytes) and keeps it when valid; a
   * header heavier than the head becomes the head. A known header is ok
   * with known set. now is the clock in ms since the epoch.
   *
   * @param {Uint8Array} bytes
   * @param {number} [now]
   * @returns {Promise<Verdict>}
   */
  async add (bytes, now = Date.now()) {
    const digest = await sha256(bytes)
    const hash = hex(new DataView(digest.buffer), 0, 32)
    const refuse = (code, reason) => ({ ok: false, code, reason, hash })
    if (this.entries.has(hash)) return { ok: true, code: '', reason: 'known', hash, known: true }
    let h
    try {
      if (bytes.length !== HEADER_SIZE) throw new Error(`header of ${bytes.length} bytes, want ${HEADER_SIZE}`)
      h = parseHeader(bytes)
    } catch (err) {
      return refuse('malformed', err.message)
    }
    // The checks without the parent.
    if (h.index === 0n) return refuse('bad_index', 'index 0: the genesis has index 1')
    if (h.index === 1n) return refuse('bad_genesis', 'index 1: only the network\'s genesis has index 1')
    let target
    try {
      target = compactToTarget(h.bits)
    } catch (err) {
      return refuse('bad_difficulty', err.message)
    }
    if (target <= 0n || target > this.maxTarget) return refuse('bad_difficulty', `bits ${bitsText(h.bits)}: target outside [1, the network's maximum ${bitsText(this.params.maxBits)}]`)
    if (hashToInt(digest) > target) return refuse('bad_proof', `the hash is above the target of bits ${bitsText(h.bits)}`)
    if (h.timestamp > BigInt(now) * 1000n + this.limit) return refuse('time_too_new', `timestamp more than ${this.limit / 1000n} ms ahead of this tab's clock`)
    // The checks against the parent.
    const parent = this.entries.get(h.previousHash)
    if (parent === undefined) return refuse('unknown_parent', `previous_hash ${h.previousHash.slice(0, 16)}… is no header this tab holds`)
    if (h.index !== BigInt(parent.height + 1)) return refuse('bad_index', `index ${h.index}, the parent's is ${parent.height}`)
    const want = nextBits(this.params, { index: BigInt(parent.height), bits: parent.header.bits, timestamp: parent.header.timestamp, prevMark: parent.prevMark })
    if (h.bits !== want) return refuse('bad_difficulty', `bits ${bitsText(h.bits)}, the retargeting rule requires ${bitsText(want)}`)
    const median = medianTime(ancestorTimes(parent))
    if (h.timestamp < median) return refuse('time_too_old', `timestamp before the median of the last ${MEDIAN_TIME_BLOCKS} blocks`)

    const e = { hash, bytes, header: h, height: parent.height + 1, parent, work: parent.work + work(target), mark: h.timestamp > parent.mark ? h.timestamp : parent.mark, prevMark: parent.mark }
    this.entries.set(hash, e)
    const head = this.main[this.main.length - 1]
    if (e.work > head.work) this.setHead(e, parent !== head)
    return { ok: true, code: '', reason: 'checked in this tab', hash }
  }

  /** setHead makes e the head, replacing the main chain above the fork. */
  setHead (e, reorg) {
    const branch = []
    for (let x = e; this.main[x.height - 1] !== x; x = x.parent) branch.push(x)
    this.main.length = e.height - branch.length
    for (let i = branch.length - 1; i >= 0; i--) this.main.push(branch[i])
    this.dispatchEvent(new CustomEvent('head', { detail: { hash: e.hash, height: e.height, work: e.work, reorg } }))
  }
}

// ancestorTimes returns the timestamps of e and its ancestors, at most
// MEDIAN_TIME_BLOCKS.
function ancestorTimes (e) {
  const times = []
  for (let x = e; x !== null && times.length < MEDIAN_TIME_BLOCKS; x = x.parent) times.push(x.header.timestamp)
  return times
}

function bitsText (bits) {
  return '0x' + bits.toString(16).padStart(8, '0')
}
